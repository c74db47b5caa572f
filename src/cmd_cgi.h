/*
 * cmd_cgi.h - the parts of `tinymta cgi` (the web UI's CGI): the request,
 * the commands it runs, the actions and the page.
 */
#ifndef TINYMTA_CMD_CGI_H
#define TINYMTA_CMD_CGI_H

#include "cgi_form.h"
#include "cgi_session.h"

#include <stddef.h>

#define CGI_OUT_MAX 65536 /* output of one command shown on the page */

struct cgi {
	struct cgi_form query, post;
	int is_post;
	const char *script; /* SCRIPT_NAME: where forms go */
	char user[CGI_USER_MAX + 1];
	char cookie[CGI_COOKIE_MAX];
	char csrf[CGI_TOKEN_LEN + 1];
	char msg[2048]; /* the result of an action, shown on top */
	int msg_error;
	char *out; /* an action's command output, shown in <pre> */
};

/* Run this binary as applet argv[0] with argv, stdin from input (NULL:
 * /dev/null), stdout and stderr into out[cap] (NUL-terminated, cut when
 * longer). Returns the exit status, 128+N for signal N, -1 when it could
 * not be run (out says why). Values pass as arguments, never through a
 * shell. */
int cgi_run(const char *const *argv, const char *input, char *out, size_t cap);

/* The POST actions once logged in and the form token checked. */
void cgi_action(struct cgi *g, const char *action);

/* Write the page (after the headers). */
void cgi_page(struct cgi *g);

#endif
