/*
 * cmd_smtpd.c - `tinymta smtpd [-o name=value …]`: the SMTP server role.
 * The master runs it as mail_owner with the accepted connection on
 * descriptors 0 and 1 and the client's address in TINYMTA_CLIENT_ADDR/PORT
 * (the local one in TINYMTA_SERVER_ADDR/PORT, the master.cf service in
 * TINYMTA_SERVICE); with a link on descriptor 3 (TINYMTA_LINK) it then
 * serves up to max_use connections the master hands over (smtpd_next.c).
 * UNTRUSTED: the connection; -o values come from master.cf (trusted, checked
 * like main.cf).
 */
#include "cmd_tinymta.h"
#include "role.h"
#include "smtpd.h"
#include "util/io.h"
#include "smtpd_next.h"
#include "tls.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Apply -o name=value overrides. 0, or -1 (logged). */
int
tinymta_conf_overrides(struct conf *c, int argc, char **argv)
{
	struct conf_problems *ps;
	int rc = 0;

	if (argc <= 1)
		return 0; /* no -o: no problems list (an mmap'd 120 KiB) */
	ps = conf_problems_new();
	if (!ps)
		return -1;
	for (int i = 1; i < argc && rc == 0; i++) {
		char name[CONF_NAME_MAX];
		const char *eq;

		if (strcmp(argv[i], "-o") != 0 || i + 1 >= argc ||
		    !(eq = strchr(argv[i + 1], '=')) ||
		    (size_t)(eq - argv[i + 1]) >= sizeof name) {
			log_error("usage: %s [-o name=value]...", argv[0]);
			rc = -1;
			break;
		}
		memcpy(name, argv[i + 1], (size_t)(eq - argv[i + 1]));
		name[eq - argv[i + 1]] = '\0';
		if (conf_set(c, name, eq + 1, ps) < 0) {
			log_error("-o %s: %s", argv[i + 1],
			          ps->n ? ps->v[ps->n - 1].message
			                : "bad value");
			rc = -1;
		}
		i++;
	}
	conf_problems_free(ps);
	return rc;
}

int
tinymta_smtpd_main(int argc, char **argv)
{
	struct role role;
	struct smtpd_next next;
	struct smtpd *s;
	struct smtpd_opts o = {
	    .in_fd = 0,
	    .out_fd = 1,
	    .uid = getuid(),
	    .client_addr = getenv("TINYMTA_CLIENT_ADDR"),
	    .client_port = getenv("TINYMTA_CLIENT_PORT"),
	    .service = getenv("TINYMTA_SERVICE"),
	};
	long long uses = 1, max_use;
	int link, wait_ms, rc = 78, wake = -1;

	if (role_init(&role, "smtpd") < 0)
		return 78;
	if (tinymta_conf_overrides(role.conf, argc, argv) < 0) {
		conf_free(role.conf);
		return rc;
	}
	s = malloc(sizeof *s); /* one for all the sessions of this process */
	if (!s) {
		conf_free(role.conf);
		return 75;
	}
	o.creds = smtpd_tls_creds(role.conf);
	o.wake_fd = &wake;
	rc = smtpd_session(s, role.conf, &o);
	/* more connections from the master (smtpd_next.c): max_use in all;
	 * the master ends an idle process after max_idle, we a minute later
	 * should it not */
	link = smtpd_next_link();
	max_use = conf_int(role.conf, "max_use");
	wait_ms = (int)(conf_time(role.conf, "max_idle") + 60) * 1000;
	while (rc == 0 && link >= 0 && uses < max_use && !role_stopping() &&
	       smtpd_next(link, &next, wait_ms) == 1) {
		o.client_addr = next.client_addr;
		o.client_port = next.client_port;
		rc = smtpd_session(s, role.conf, &o);
		uses++;
	}
	tls_service_free_creds(o.creds);
	if (wake >= 0)
		io_close(wake);
	free(s);
	conf_free(role.conf);
	return rc;
}

/* sendmail -bs: the configuration as sendmail reads it; the session on
 * stdin/stdout for the invoking user, into maildrop/. */
int
smtpd_local_main(void)
{
	struct conf_problems *ps = conf_problems_new();
	struct conf *c = conf_new(NULL);
	int rc = 78;

	if (ps && c && conf_load(c, ps) == 0)
		rc = smtpd_session_main(0, 1, c, 1, getuid());
	else if (ps)
		conf_problems_print(ps, stderr, "sendmail");
	if (c)
		conf_free(c);
	conf_problems_free(ps);
	return rc;
}
