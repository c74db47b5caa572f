/*
 * cmd_postqueue.h - the queue listing shared by mailq, postqueue -p/-j
 * and sendmail -bp.
 */
#ifndef TINYMTA_CMD_POSTQUEUE_H
#define TINYMTA_CMD_POSTQUEUE_H

/* List the queue on stdout: Postfix's mailq layout, or (json) one
 * postqueue -j object per message per line. Reads main.cf itself;
 * messages go to stderr under prog's name. Returns the exit code: 0,
 * 77 when the queue cannot be read (not root or mail_owner), 78 for a
 * configuration error, 75 when the queue directory is missing. */
int postqueue_show(const char *prog, int json);

#endif
