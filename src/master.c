/*
 * master.c - the master process: configuration, pid file, signals and the
 * poll loop (see master.h). Runs as root on a device (as the invoking user
 * in development); its only inputs are the configuration and the control
 * socket, whose peers are checked (root, mail_owner or our own uid). The
 * listeners (master_listen.c, master_accept.c) are polled here too.
 */
#define _GNU_SOURCE /* pipe2, O_TMPFILE */
#include "master.h"
#include "master_listen.h"
#include "queue.h"
#include "util/clock.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"
#include "util/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static int sig_fd = -1; /* write end of the self-pipe, for the handler */

static void
on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	if (sig_fd >= 0 && write(sig_fd, &c, 1) < 0) {
		/* pipe full: a wake-up is already pending */
	}
	errno = saved;
}

static const int master_sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};
#define NSIGS (sizeof master_sigs / sizeof master_sigs[0])

void
master_child_signals(const sigset_t *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sig_fd = -1;
	for (size_t i = 0; i < NSIGS; i++)
		if (sigaction(master_sigs[i], &sa, NULL) < 0)
			_exit(71);
	if (sigprocmask(SIG_SETMASK, old, NULL) < 0)
		_exit(71);
}

static int
setup_signals(struct master *m)
{
	struct sigaction sa;

	if (pipe2(m->sigpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	sig_fd = m->sigpipe[1];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NSIGS; i++)
		if (sigaction(master_sigs[i], &sa, NULL) < 0)
			return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Log destination for us and our children: the console (start-fg) or
 * maillog_file, both as descriptor 2, which every child inherits; else
 * syslog. Children learn which from TINYMTA_LOGTO. */
static int
setup_logging(struct master *m)
{
	char file[CONF_VALUE_MAX];
	int fd = -1;

	/* a copy: conf_get's value lasts until the next conf_* call */
	str_copy(file, sizeof file, conf_get(m->conf, "maillog_file"));
	log_set_syslog_name(conf_get(m->conf, "syslog_name"));
	log_set_verbose(m->verbose);
	if (m->foreground)
		fd = dup2(1, 2);
	else if (*file) {
		int f = io_open(file, O_WRONLY | O_APPEND | O_CREAT, 0640);

		fd = f < 0 ? -1 : dup2(f, 2);
		if (f > 2)
			io_close(f);
		if (fd < 0)
			log_error("cannot open log file %s: %s", file,
			          strerror(errno));
	}
	if (fd == 2) {
		log_set_fd(2);
		log_init("master", LOG_TO_FILE);
	} else {
		log_init("master", LOG_TO_SYSLOG);
	}
	if (setenv("TINYMTA_LOGTO", fd == 2 ? "stderr" : "syslog", 1) < 0 ||
	    setenv("TINYMTA_VERBOSE", m->verbose ? "1" : "0", 1) < 0 ||
	    setenv("TINYMTA_CONFIG_DIR", m->cfgdir, 1) < 0)
		return -1;
	return 0;
}

static int
load_config(struct master *m)
{
	struct conf_problems *ps = conf_problems_new();
	int r;

	if (!ps)
		return -1;
	str_copy(m->cfgdir, sizeof m->cfgdir, conf_config_dir());
	m->conf = conf_new(m->cfgdir);
	r = m->conf ? conf_load(m->conf, ps) : -1;
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].severity == CONF_SEV_ERROR)
			log_error("%s, line %u: %s", ps->v[i].file,
			          ps->v[i].line, ps->v[i].message);
	conf_problems_free(ps);
	return r;
}

static int
lookup_owner(struct master *m)
{
	const char *owner = conf_get(m->conf, "mail_owner");
	int r;

	if (geteuid() != 0) {
		m->uid = geteuid();
		m->gid = getegid();
		return 0;
	}
	r = sys_user(owner, &m->uid, &m->gid);
	if (r <= 0) {
		log_error("mail_owner %s: %s", owner,
		          r < 0 ? strerror(errno) : "no such user");
		return -1;
	}
	if (m->uid == 0) {
		log_error("mail_owner %s must not be root", owner);
		return -1;
	}
	return 0;
}

/* Take the pid file lock: 1 taken, 0 another master holds it, -1 error. */
static int
lock_pidfile(struct master *m)
{
	char path[600], buf[32];
	int n;

	if (snprintf(path, sizeof path, "%s/pid/master.pid", m->qdir) >=
	    (int)sizeof path)
		return -1;
	m->pidfd = io_open(path, O_RDWR | O_CREAT, 0644);
	if (m->pidfd < 0)
		return -1;
	if (flock(m->pidfd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? 0 : -1;
	n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(m->pidfd, 0) < 0 ||
	    pwrite(m->pidfd, buf, (size_t)n, 0) != n)
		return -1;
	return 1;
}

static void
handle_signals(struct master *m)
{
	unsigned char sigs[64];
	ssize_t n = read(m->sigpipe[0], sigs, sizeof sigs);
	char why[300];

	for (ssize_t i = 0; i < n; i++) {
		if (sigs[i] == SIGTERM || sigs[i] == SIGINT) {
			m->stopping = 1;
		} else if (sigs[i] == SIGHUP) {
			if (master_reload(m, why, sizeof why) != 0)
				log_warn("reload refused: %s", why);
		} else if (sigs[i] == SIGCHLD) {
			master_kids_reap(m);
		}
	}
}

static void
loop(struct master *m)
{
	while (!m->stopping) {
		struct pollfd
		    p[2 + KID_COUNT + LISTEN_FDS_MAX + LISTEN_LINKS_MAX];
		nfds_t n = 0, nl, nk;
		time_t next = master_kids_next_event(m), now = time(NULL);
		int timeout =
		    next ? (int)(next > now ? (next - now) * 1000 : 0) : -1;
		int64_t idle_end = master_smtpd_expire(m);

		if (idle_end) {
			int64_t in = idle_end - clock_mono();
			int t = in > 0 ? (int)(in * 1000) : 0;

			if (timeout < 0 || t < timeout)
				timeout = t;
		}

		p[n++] = (struct pollfd){m->sigpipe[0], POLLIN, 0};
		p[n++] = (struct pollfd){m->ctl, POLLIN, 0};
		for (int k = 0; k < KID_COUNT; k++)
			p[n++] = (struct pollfd){
			    m->kids[k].link,
			    POLLIN | (m->kids[k].reload_pending ? POLLOUT : 0),
			    0};
		nl = master_listen_pollfds(m, p + n, LISTEN_FDS_MAX);
		nk = master_listen_linkfds(m, p + n + nl, LISTEN_LINKS_MAX);
		if (poll(p, n + nl + nk, timeout) < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			sleep(1);
			continue;
		}
		if (p[0].revents)
			handle_signals(m);
		if (p[1].revents)
			master_ctl_accept(m);
		for (int k = 0; k < KID_COUNT; k++) {
			if ((p[2 + k].revents & POLLOUT) &&
			    m->kids[k].reload_pending)
				master_kid_reload(m, (enum master_kid_role)k);
			if ((p[2 + k].revents & ~POLLOUT) &&
			    m->kids[k].link >= 0)
				master_kid_input(m, (enum master_kid_role)k);
		}
		/* links first: an smtpd that became idle takes the next
		 * connection instead of a new process */
		if (!m->stopping)
			master_listen_links_ready(m, p + n + nl, nk);
		if (!m->stopping)
			master_listen_ready(m, p + n, nl);
		master_kids_start(m);
	}
}

static void
remove_files(struct master *m)
{
	char path[600];

	if (snprintf(path, sizeof path, "%s/public/control", m->qdir) <
	    (int)sizeof path)
		unlink(path);
	if (snprintf(path, sizeof path, "%s/pid/master.pid", m->qdir) <
	    (int)sizeof path)
		unlink(path);
	io_close(m->pidfd);
}

static void
shutdown_master(struct master *m)
{
	log_info("terminating on signal or stop request");
	master_listen_close(m);
	master_kids_stop(m);
	master_listen_free(m->listen);
	m->listen = NULL;
	remove_files(m);
	log_info("daemon stopped");
}

static void
tell_ready(int ready_fd, const char *what)
{
	if (ready_fd < 0)
		return;
	if (io_write_all(ready_fd, what, strlen(what)) < 0) {
		/* the starter went away; nothing to tell */
	}
	io_close(ready_fd);
}

/* Bind the listeners (as root, before any child runs). */
static int
listen_first(struct master *m)
{
	char why[400];
	int r = master_listen_configure(m, m->conf, why, sizeof why);

	if (r < 0)
		log_error("%s", why);
	return r == 0 ? 0 : r == -1 ? 78 : 71;
}

static int
prepare(struct master *m)
{
	int r;

	if (load_config(m) < 0)
		return 78;
	str_copy(m->qdir, sizeof m->qdir, conf_get(m->conf, "queue_directory"));
	if (setup_logging(m) < 0 || lookup_owner(m) < 0)
		return 78;
	if (sys_self_exe(m->exe, sizeof m->exe) < 0) {
		log_error("cannot find own executable: %s", strerror(errno));
		return 70;
	}
	if (queue_init(m->qdir, m->uid, m->gid) < 0) {
		log_error("cannot create queue in %s: %s", m->qdir,
		          strerror(errno));
		return 73;
	}
	r = lock_pidfile(m);
	if (r == 0)
		return -1; /* already running */
	if (r < 0) {
		log_error("pid file in %s/pid: %s", m->qdir, strerror(errno));
		return 73;
	}
	if (setup_signals(m) < 0 || master_ctl_open(m) < 0) {
		log_error("cannot set up signals or control socket: %s",
		          strerror(errno));
		return 71;
	}
	return listen_first(m);
}

int
master_run(int foreground, int verbose, int ready_fd)
{
	struct master *m = calloc(1, sizeof *m);
	int r;

	if (!m)
		return 71;
	m->foreground = foreground;
	m->verbose = verbose;
	m->ctl = m->pidfd = -1;
	m->started = time(NULL);
	master_anvil_rate_clear(m->authfail, ANVIL_RATE_CLIENTS);
	for (int k = 0; k < KID_COUNT; k++)
		m->kids[k].link = -1;
	m->kids[KID_PICKUP].role = "pickup";
	m->kids[KID_QMGR].role = "qmgr";
	r = prepare(m);
	if (r != 0) {
		if (r > 0 && m->ctl >= 0)
			remove_files(m);
		tell_ready(ready_fd, r < 0 ? "running" : "failed");
		return r < 0 ? 0 : r;
	}
	log_info("daemon started -- version %s, configuration %s",
	         TINYMTA_VERSION, m->cfgdir);
	master_kids_start(m);
	tell_ready(ready_fd, "ok");
	loop(m);
	shutdown_master(m);
	conf_free(m->conf);
	free(m);
	return 0;
}
