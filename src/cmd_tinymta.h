/*
 * cmd_tinymta.h - the commands of `tinymta` (also `postfix`): each one an
 * entry point int tinymta_<cmd>_main(argc, argv) with argv[0] = command.
 */
#ifndef TINYMTA_CMD_TINYMTA_H
#define TINYMTA_CMD_TINYMTA_H

int tinymta_check_main(int argc, char **argv);
int tinymta_start_main(int argc, char **argv);
int tinymta_start_fg_main(int argc, char **argv);
int tinymta_stop_main(int argc, char **argv);
int tinymta_reload_main(int argc, char **argv);
int tinymta_status_main(int argc, char **argv);
int tinymta_flush_main(int argc, char **argv);
int tinymta_dnsq_main(int argc, char **argv);
int tinymta_passwd_main(int argc, char **argv);
int tinymta_relay_password_main(int argc, char **argv);
int tinymta_test_relay_main(int argc, char **argv);
int tinymta_gencert_main(int argc, char **argv);
int tinymta_cgi_main(int argc, char **argv);
/* Roles the master starts (not for people; hidden from --help). */
int tinymta_pickup_main(int argc, char **argv);
int tinymta_qmgr_main(int argc, char **argv);
int tinymta_local_main(int argc, char **argv);
int tinymta_smtpd_main(int argc, char **argv);
int tinymta_smtp_main(int argc, char **argv);
int tinymta_pop3d_main(int argc, char **argv);
int tinymta_pop3d_mailbox_main(int argc, char **argv);
/* cmd_smtpd.c: apply argv's "-o name=value" pairs (argv[0] is the role)
 * to c. 0, or -1 (logged). */
struct conf;
int tinymta_conf_overrides(struct conf *c, int argc, char **argv);

#endif
