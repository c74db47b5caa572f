/*
 * cmd_pop3d.c - the POP3 server's two roles (see pop3d.h):
 *   `tinymta pop3d [-o name=value …]`: the login phase, as mail_owner,
 *   connection on 0 and 1, the master link on 3;
 *   `tinymta pop3d-mailbox [-o name=value …] USER`: the mailbox phase, as
 *   USER, connection on 0 and 1.
 * Both are started by the master only (master_accept.c, master_pop3.c).
 * UNTRUSTED: the connection; -o values come from master.cf.
 */
#include "cmd_tinymta.h"
#include "pop3d.h"
#include "role.h"
#include "util/log.h"

#include <signal.h>
#include <string.h>

int
tinymta_pop3d_main(int argc, char **argv)
{
	struct role role;
	struct pop3d d;
	int rc = 78;

	if (role_init(&role, "pop3d") < 0)
		return 78;
	signal(SIGPIPE, SIG_IGN);
	if (tinymta_conf_overrides(role.conf, argc, argv) == 0) {
		pop3d_init(&d, role.conf);
		rc = pop3d_login_main(&d);
	}
	conf_free(role.conf);
	return rc;
}

int
tinymta_pop3d_mailbox_main(int argc, char **argv)
{
	struct role role;
	struct pop3d d;
	int rc = 78;

	if (argc < 2 || argv[argc - 1][0] == '-') {
		log_error("usage: pop3d-mailbox [-o name=value]... USER");
		return 64;
	}
	if (role_init(&role, "pop3d") < 0)
		return 78;
	signal(SIGPIPE, SIG_IGN);
	if (tinymta_conf_overrides(role.conf, argc - 1, argv) == 0) {
		pop3d_init(&d, role.conf);
		rc = pop3d_mailbox_main(&d, argv[argc - 1]);
	}
	conf_free(role.conf);
	return rc;
}
