/*
 * master_ctl.c - the control socket public/control: `tinymta status`,
 * `reload`, `flush`, `stop` and `postqueue -f/-s/-i` talk to the master
 * here. One request line per connection ("status", "reload", "flush [SITE]",
 * "deliver ID", "wakeup", "stop"; "auth-fail ADDR" and "auth-count ADDR"
 * from smtpd, answered "OK N": the client's failed AUTH attempts in the
 * current minute, after counting one more or not), answered by "OK" or "ERR
 * CODE text" and an optional body, then the master closes. Peers are checked
 * with SO_PEERCRED: root, mail_owner or the master's own uid.
 */
#define _GNU_SOURCE /* struct ucred */
#include "ipc.h"
#include "master.h"
#include "master_listen.h"
#include "qfile.h"
#include "util/clock.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>

#define CTL_LINE_MAX 512
#define CTL_REPLY_MAX 8192

static const char *const queue_names[] = {"maildrop", "incoming", "active",
                                          "deferred", "hold",     "corrupt"};

int
master_ctl_open(struct master *m)
{
	struct sockaddr_un sa;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (snprintf(sa.sun_path, sizeof sa.sun_path, "%s/public/control",
	             m->qdir) >= (int)sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (unlink(sa.sun_path) < 0 && errno != ENOENT)
		return -1;
	m->ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m->ctl < 0)
		return -1;
	if (bind(m->ctl, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(m->ctl, 16) < 0)
		return -1;
	if (geteuid() == 0 && chown(sa.sun_path, m->uid, m->gid) < 0)
		return -1;
	return chmod(sa.sun_path, 0600);
}

/* Count one queue directory; *oldest gets the oldest mtime seen. */
static long
count_queue(const char *qdir, const char *name, time_t *oldest)
{
	char path[700];
	DIR *d;
	struct dirent *e;
	long n = 0;

	if (snprintf(path, sizeof path, "%s/%s", qdir, name) >=
	    (int)sizeof path)
		return 0;
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		if (e->d_name[0] == '.' || !qfile_id_valid(e->d_name))
			continue;
		n++;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		        0 &&
		    (*oldest == 0 || st.st_mtime < *oldest))
			*oldest = st.st_mtime;
	}
	closedir(d);
	return n;
}

static void
status_json(struct master *m, char *out, size_t cap)
{
	char queues[400] = "", q[80], fromq[CTL_REPLY_MAX - 1024];
	time_t oldest = 0, now = time(NULL);

	for (size_t i = 0; i < sizeof queue_names / sizeof queue_names[0];
	     i++) {
		long n = count_queue(m->qdir, queue_names[i], &oldest);

		snprintf(q, sizeof q, "%s\"%s\": %ld", i ? ", " : "",
		         queue_names[i], n);
		str_append(queues, sizeof queues, q);
	}
	if (master_kid_send(m, KID_QMGR, IPC_STATUS, NULL, 0) < 0 ||
	    master_kid_reply(m, KID_QMGR, fromq, sizeof fromq, 500) < 0)
		snprintf(fromq, sizeof fromq,
		         "\"deliveries_active\": %zu, \"destinations\": []",
		         m->nagents);
	else if (!strstr(fromq, "\"destinations\""))
		str_append(fromq, sizeof fromq, ", \"destinations\": []");
	snprintf(out, cap,
	         "{\"running\": true, \"pid\": %ld, \"uptime_s\": %lld, "
	         "\"version\": \"%s\", \"clock_set\": %s, \"queues\": {%s}, "
	         "\"oldest_age_s\": %lld, \"listeners\": %zu, "
	         "\"smtpd_sessions\": %zu, %s}\n",
	         (long)getpid(), (long long)(now - m->started), TINYMTA_VERSION,
	         clock_is_set() ? "true" : "false", queues,
	         (long long)(oldest && now > oldest ? now - oldest : 0),
	         master_listen_sockets(m), master_listen_sessions(m), fromq);
}

static void
first_error(const struct conf_problems *ps, char *why, size_t cap)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].severity == CONF_SEV_ERROR) {
			snprintf(why, cap, "%s, line %u: %s", ps->v[i].file,
			         ps->v[i].line, ps->v[i].message);
			return;
		}
	str_copy(why, cap, "configuration errors");
}

int
master_reload(struct master *m, char *why, size_t cap)
{
	struct conf_problems *ps = conf_problems_new();
	struct conf *c = conf_new(m->cfgdir);
	int r = 78;

	str_copy(why, cap, "out of memory");
	if (!ps || !c) {
		r = 71;
	} else if (conf_load(c, ps) < 0) {
		first_error(ps, why, cap);
	} else if ((r = master_listen_configure(m, c, why, cap)) != 0) {
		r = r == -1 ? 78 : 71;
	} else {
		conf_free(m->conf);
		m->conf = c;
		c = NULL;
		for (int k = 0; k < KID_COUNT; k++)
			master_kid_reload(m, (enum master_kid_role)k);
		log_info("reload -- version %s, configuration %s",
		         TINYMTA_VERSION, m->cfgdir);
	}
	if (c)
		conf_free(c);
	conf_problems_free(ps);
	return r;
}

static int
peer_allowed(struct master *m, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return 0;
	return cr.uid == 0 || cr.uid == m->uid || cr.uid == geteuid();
}

/* Read one request line with a deadline; 0, or -1. */
static int
read_line(int fd, char *line, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t r;
		int k;

		/* a SIGCHLD (an smtpd ending) must not drop the request:
		 * the client would die of SIGPIPE or see no reply */
		do
			k = poll(&p, 1, 2000);
		while (k < 0 && errno == EINTR);
		if (k <= 0)
			return -1;
		r = io_read(fd, line + n, cap - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		line[n] = '\0';
		char *nl = memchr(line, '\n', n);
		if (nl) {
			*nl = '\0';
			return 0;
		}
	}
	return -1;
}

static void
forward(struct master *m, unsigned type, const char *arg, char *reply,
        size_t cap)
{
	const char *f[] = {arg ? arg : ""};

	if (master_kid_send(m, KID_QMGR, type, f, 1) < 0)
		snprintf(reply, cap, "ERR 75 queue manager %s\n",
		         errno == EAGAIN ? "busy: try again later"
		                         : "not running");
	else
		str_copy(reply, cap, "OK\n");
}

/* "auth-fail ADDR" / "auth-count ADDR": one table for every service, so
 * that failures on submission and smtps add up. */
static void
auth_failures(struct master *m, int count, const char *ip, char *reply,
              size_t cap)
{
	struct anvil_addr a;
	unsigned long n;

	memset(&a, 0, sizeof a);
	a.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(a.family, ip, a.a) != 1) {
		str_copy(reply, cap, "ERR 64 bad address\n");
		return;
	}
	n = count ? master_anvil_rate(m->authfail, ANVIL_RATE_CLIENTS, 0, &a,
	                              time(NULL))
	          : master_anvil_peek(m->authfail, ANVIL_RATE_CLIENTS, 0, &a,
	                              time(NULL));
	snprintf(reply, cap, "OK %lu\n", n);
}

/* "flush SITE": a site qmgr can hold (postqueue checks it better). */
static int
site_ok(const char *site)
{
	if (!site)
		return 1;
	if (strlen(site) >= 256)
		return 0;
	for (; *site; site++)
		if ((unsigned char)*site <= ' ' || *site == 0x7f)
			return 0;
	return 1;
}

static void
dispatch(struct master *m, char *line, char *reply, size_t cap)
{
	char *arg = strchr(line, ' '), why[400];

	if (arg)
		*arg++ = '\0';
	if (strcmp(line, "status") == 0) {
		str_copy(reply, cap, "OK\n");
		status_json(m, reply + 3, cap - 3);
	} else if (strcmp(line, "reload") == 0) {
		int r = master_reload(m, why, sizeof why);

		if (r == 0)
			str_copy(reply, cap, "OK\n");
		else
			snprintf(reply, cap, "ERR %d %s\n", r, why);
	} else if (strcmp(line, "flush") == 0 && !site_ok(arg)) {
		str_copy(reply, cap, "ERR 64 bad site\n");
	} else if (strcmp(line, "flush") == 0) {
		forward(m, IPC_FLUSH, arg, reply, cap);
	} else if (strcmp(line, "deliver") == 0 && arg && qfile_id_valid(arg)) {
		forward(m, IPC_DELIVER_ID, arg, reply, cap);
	} else if (strcmp(line, "wakeup") == 0) {
		forward(m, IPC_WAKEUP, NULL, reply, cap);
	} else if ((strcmp(line, "auth-fail") == 0 ||
	            strcmp(line, "auth-count") == 0) &&
	           arg) {
		auth_failures(m, line[5] == 'f', arg, reply, cap);
	} else if (strcmp(line, "stop") == 0) {
		m->stopping = 1;
		str_copy(reply, cap, "OK\n");
	} else {
		str_copy(reply, cap, "ERR 64 unknown request\n");
	}
}

void
master_ctl_accept(struct master *m)
{
	char line[CTL_LINE_MAX], reply[CTL_REPLY_MAX];
	int fd = accept4(m->ctl, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (!peer_allowed(m, fd)) {
		str_copy(reply, sizeof reply, "ERR 77 permission denied\n");
	} else if (read_line(fd, line, sizeof line) < 0) {
		io_close(fd);
		return;
	} else {
		dispatch(m, line, reply, sizeof reply);
	}
	if (io_write_all(fd, reply, strlen(reply)) < 0)
		log_debug("control reply: %s", strerror(errno));
	io_close(fd);
}
