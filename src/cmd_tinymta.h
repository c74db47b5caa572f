/*
 * cmd_tinymta.h - the commands of `tinymta` (also `postfix`): each one an
 * entry point int tinymta_<cmd>_main(argc, argv) with argv[0] = command.
 */
#ifndef TINYMTA_CMD_TINYMTA_H
#define TINYMTA_CMD_TINYMTA_H

int tinymta_check_main(int argc, char **argv);

#endif
