/*
 * role.c - common start of the roles the master starts (see role.h).
 * Runs as mail_owner (pickup, qmgr) or a mailbox owner (local).
 */
#include "role.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_requested;

static void
on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

int
role_stopping(void)
{
	return stop_requested != 0;
}

static void
setup_log(const char *name, struct conf *c)
{
	const char *to = getenv("TINYMTA_LOGTO");
	const char *v = getenv("TINYMTA_VERBOSE");

	if (c)
		log_set_syslog_name(conf_get(c, "syslog_name"));
	log_set_verbose(v && strcmp(v, "1") == 0);
	if (to && strcmp(to, "stderr") == 0) {
		log_set_fd(
		    2); /* the console or maillog_file, from the master */
		log_init(name, LOG_TO_FILE);
	} else if (to) {
		log_init(name, LOG_TO_SYSLOG);
	} else {
		log_init(name, LOG_TO_STDERR); /* started by hand */
	}
}

static struct conf *
load(void)
{
	struct conf_problems *ps = conf_problems_new();
	struct conf *c = conf_new(conf_config_dir());

	if (!ps || !c || conf_load(c, ps) < 0) {
		for (size_t i = 0; ps && i < ps->n; i++)
			if (ps->v[i].severity == CONF_SEV_ERROR)
				log_error("%s, line %u: %s", ps->v[i].file,
				          ps->v[i].line, ps->v[i].message);
		if (c)
			conf_free(c);
		c = NULL;
	}
	conf_problems_free(ps);
	return c;
}

int
role_init(struct role *r, const char *name)
{
	struct sigaction sa;

	stop_requested = 0;
	r->name = name;
	setup_log(name, NULL);
	r->conf = load();
	if (!r->conf)
		return -1;
	setup_log(name, r->conf);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0) {
		log_error("sigaction: %s", strerror(errno));
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	return 0;
}

int
role_reload(struct role *r)
{
	struct conf *c = load();

	if (!c) {
		log_warn(
		    "reload: configuration has errors; keeping the old one");
		return -1;
	}
	conf_free(r->conf);
	r->conf = c;
	log_debug("configuration reloaded");
	return 0;
}

int
role_link_read(struct role *r, int fd, unsigned char *buf, struct ipc_msg *m)
{
	int n = ipc_recv(fd, buf, m);

	if (n <= 0) {
		if (n < 0 && errno == EBADMSG)
			log_error("bad frame from the master; exiting");
		return -1;
	}
	if (m->type == IPC_RELOAD) {
		role_reload(r);
		return 0;
	}
	return 1;
}

int
role_link_input(struct role *r, int fd)
{
	unsigned char buf[IPC_FRAME_MAX];
	struct ipc_msg m;
	int n = role_link_read(r, fd, buf, &m);

	if (n == 1)
		for (size_t i = 0; i < m.nfds; i++)
			io_close(m.fds[i]);
	return n < 0 ? -1 : 0;
}
