/*
 * master_accept.c - accepted connections on the master's listeners: the
 * per-client limits (master_anvil.c), the 421 reply when one is exceeded,
 * and otherwise one `tinymta smtpd -o …` process per connection, forked
 * by the master (root) and run as mail_owner with the connection on
 * descriptors 0 and 1. Untrusted input: only the peer address the kernel
 * reports; the master never reads from a client.
 */
#define _GNU_SOURCE /* accept4 */
#include "master_listen_impl.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The value of name for service s: its last -o name=value, else main.cf. */
static void
svc_value(const struct master_cf *cf, const struct master_service *s,
          const struct conf *c, const char *name, char *buf, size_t cap)
{
	const char *v;

	for (size_t i = s->nopts; i-- > 0;)
		if (strcmp(master_cf_str(cf, s->opts[i].name), name) == 0 &&
		    conf_expand_text(c, name,
		                     master_cf_str(cf, s->opts[i].value), buf,
		                     cap) == 0)
			return;
	v = conf_get(c, name);
	str_copy(buf, cap, v ? v : "");
}

void
master_accept_policy(struct master_listen *l, int svc, const struct conf *c)
{
	const struct master_service *s = &l->cf->v[svc];
	struct lsvc *ls = &l->svc[svc];
	char *buf = malloc(CONF_VALUE_MAX);
	size_t skipped;

	ls->maxproc =
	    s->maxproc < 0 ? conf_int(c, "default_process_limit") : s->maxproc;
	if (ls->maxproc == 0)
		ls->maxproc = LONG_MAX; /* Postfix: 0 means no limit */
	if (!buf) {
		ls->pol.count_limit =
		    conf_int(c, "smtpd_client_connection_count_limit");
		ls->pol.rate_limit =
		    conf_int(c, "smtpd_client_connection_rate_limit");
		ls->pol.nets.n = 0;
		return;
	}
	svc_value(l->cf, s, c, "smtpd_client_connection_count_limit", buf,
	          CONF_VALUE_MAX);
	ls->pol.count_limit = strtol(buf, NULL, 10);
	svc_value(l->cf, s, c, "smtpd_client_connection_rate_limit", buf,
	          CONF_VALUE_MAX);
	ls->pol.rate_limit = strtol(buf, NULL, 10);
	svc_value(l->cf, s, c, "mynetworks", buf, CONF_VALUE_MAX);
	skipped = master_anvil_nets(&ls->pol, buf);
	if (skipped)
		log_debug("service %s: %zu mynetworks entries unusable "
		          "(logged above); they exempt nobody from connection "
		          "limits",
		          s->name, skipped);
	free(buf);
}

void
master_accept_adopt(struct master_listen *nw, struct master_listen *old)
{
	int map[MASTER_CF_SERVICES_MAX];

	if (!old)
		return;
	for (size_t i = 0; i < MASTER_CF_SERVICES_MAX; i++) {
		map[i] = -1;
		for (size_t j = 0; old->cf && i < old->cf->n && j < nw->cf->n;
		     j++)
			if (nw->svc[j].active &&
			    strcmp(old->cf->v[i].name, nw->cf->v[j].name) == 0)
				map[i] = (int)j;
	}
	nw->sess = old->sess;
	nw->nsess = old->nsess;
	nw->capsess = old->capsess;
	old->sess = NULL;
	old->nsess = old->capsess = 0;
	for (size_t i = 0; i < nw->nsess; i++) {
		int *svc = &nw->sess[i].svc;

		*svc = *svc >= 0 ? map[*svc] : -1;
		if (*svc >= 0)
			nw->svc[*svc].nkids++;
	}
	memcpy(nw->rate, old->rate, sizeof nw->rate);
	for (size_t i = 0; i < ANVIL_RATE_CLIENTS; i++)
		if (nw->rate[i].svc >= 0)
			nw->rate[i].svc = map[nw->rate[i].svc];
}

static int
below_max(const struct master_listen *l, int svc)
{
	return (long)l->svc[svc].nkids < l->svc[svc].maxproc;
}

size_t
master_listen_pollfds(struct master *m, struct pollfd *p, size_t cap)
{
	struct master_listen *l = m->listen;
	size_t n = 0;

	for (size_t i = 0; l && i < l->nsock && n < cap; i++)
		if (l->sock[i].fd >= 0 && below_max(l, l->sock[i].svc))
			p[n++] = (struct pollfd){l->sock[i].fd, POLLIN, 0};
	return n;
}

/* Concurrency is checked before rate, as Postfix's smtpd does; the rate
 * counts every connection, refused ones too. NULL: within the limits. */
static const char *
over_limit(struct master_listen *l, int svc, const struct anvil_addr *a,
           long *value)
{
	const struct anvil_policy *pol = &l->svc[svc].pol;
	unsigned long rate = 0;
	long count = 1;

	if (master_anvil_exempt(pol, a))
		return NULL;
	if (pol->rate_limit > 0)
		rate = master_anvil_rate(l->rate, ANVIL_RATE_CLIENTS, svc, a,
		                         time(NULL));
	for (size_t i = 0; pol->count_limit > 0 && i < l->nsess; i++)
		count += l->sess[i].svc == svc &&
		         master_anvil_same(&l->sess[i].addr, a);
	if (pol->count_limit > 0 && count > pol->count_limit) {
		*value = count;
		return "concurrency";
	}
	if (pol->rate_limit > 0 && rate > (unsigned long)pol->rate_limit) {
		*value = (long)rate;
		return "rate";
	}
	return NULL;
}

static void
refuse(struct master *m, int fd, const char *ip, const char *what, long value,
       const char *service)
{
	char msg[600];
	int n = snprintf(msg, sizeof msg,
	                 "421 4.7.0 %s Error: too many connections from %s\r\n",
	                 conf_get(m->conf, "myhostname"), ip);

	log_warn("Connection %s limit exceeded: %ld from unknown[%s] for "
	         "service %s",
	         what, value, ip, service);
	if (n > 0 && n < (int)sizeof msg &&
	    send(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("421 to %s: %s", ip, strerror(errno));
	if (shutdown(fd, SHUT_WR) < 0)
		log_debug("shutdown to %s: %s", ip, strerror(errno));
}

static void
addr_of(const struct sockaddr_storage *ss, struct anvil_addr *a, unsigned *port,
        char *text, size_t cap)
{
	memset(a, 0, sizeof *a);
	a->family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		memcpy(a->a, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		memcpy(a->a, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
	}
	if (!inet_ntop(a->family, a->a, text, (socklen_t)cap))
		str_copy(text, cap, "unknown");
}

/* In the child: environment, descriptors 0 and 1, privileges, exec. */
static _Noreturn void
session_child(struct master *m, const struct master_cf *cf,
              const struct master_service *s, int fd, const char *ip,
              unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct anvil_addr me;
	char *argv[4 + 2 * MASTER_CF_OPTS_MAX], num[16], text[INET6_ADDRSTRLEN];
	unsigned myport = 0;
	size_t n = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		_exit(71);
	addr_of(&ss, &me, &myport, text, sizeof text);
	snprintf(num, sizeof num, "%u", port);
	if (setenv("TINYMTA_CLIENT_ADDR", ip, 1) < 0 ||
	    setenv("TINYMTA_CLIENT_PORT", num, 1) < 0 ||
	    setenv("TINYMTA_SERVER_ADDR", text, 1) < 0 ||
	    snprintf(num, sizeof num, "%u", myport) < 0 ||
	    setenv("TINYMTA_SERVER_PORT", num, 1) < 0 ||
	    setenv("TINYMTA_SERVICE", s->name, 1) < 0)
		_exit(71);
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || (fd > 1 && close(fd) < 0))
		_exit(71);
	argv[n++] = "tinymta";
	argv[n++] = "smtpd";
	for (size_t i = 0; i < s->nopts; i++) {
		const char *k = master_cf_str(cf, s->opts[i].name);
		const char *v = master_cf_str(cf, s->opts[i].value);
		size_t need = strlen(k) + strlen(v) + 2;

		argv[n] = malloc(need);
		if (!argv[n])
			_exit(71);
		snprintf(argv[n], need, "%s=%s", k, v);
		argv[n + 1] = argv[n];
		argv[n] = "-o";
		n += 2;
	}
	argv[n] = NULL;
	master_exec_role(m, m->uid, m->gid, argv);
}

static int
room_for_session(struct master_listen *l)
{
	struct lsession *v;
	size_t cap = l->capsess ? 2 * l->capsess : 16;

	if (l->nsess < l->capsess)
		return 0;
	v = realloc(l->sess, cap * sizeof *v);
	if (!v)
		return -1;
	l->sess = v;
	l->capsess = cap;
	return 0;
}

static void
spawn_session(struct master *m, const struct lsock *ls, int fd,
              const struct anvil_addr *peer, const char *ip, unsigned port)
{
	struct master_listen *l = m->listen;
	sigset_t all, old;
	pid_t pid;

	if (room_for_session(l) < 0) {
		log_error("no memory for a session from %s", ip);
		return;
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		master_child_signals(&old);
		session_child(m, l->cf, &l->cf->v[ls->svc], fd, ip, port);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		log_error("fork for a session from %s: %s", ip,
		          strerror(errno));
		return;
	}
	l->sess[l->nsess++] = (struct lsession){pid, ls->svc, *peer};
	l->svc[ls->svc].nkids++;
	log_debug("connect from [%s]:%u to %s port %u, pid %ld", ip, port,
	          ls->text, ls->port, (long)pid);
}

static void
connection(struct master *m, const struct lsock *ls, int fd,
           const struct sockaddr_storage *ss)
{
	struct anvil_addr peer;
	char ip[INET6_ADDRSTRLEN];
	unsigned port = 0;
	long value = 0;
	const char *what;

	addr_of(ss, &peer, &port, ip, sizeof ip);
	what = over_limit(m->listen, ls->svc, &peer, &value);
	if (what)
		refuse(m, fd, ip, what, value, m->listen->cf->v[ls->svc].name);
	else
		spawn_session(m, ls, fd, &peer, ip, port);
	io_close(fd);
}

static void
accept_some(struct master *m, const struct lsock *ls)
{
	for (int k = 0;
	     k < LISTEN_ACCEPT_BURST && below_max(m->listen, ls->svc); k++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		int fd =
		    accept4(ls->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			log_warn("accept on %s port %u: %s", ls->text, ls->port,
			         strerror(errno));
			poll(NULL, 0, 100); /* EMFILE and the like: no spin */
			return;
		}
		connection(m, ls, fd, &ss);
	}
}

void
master_listen_ready(struct master *m, const struct pollfd *p, size_t n)
{
	struct master_listen *l = m->listen;

	for (size_t i = 0; l && i < n; i++) {
		if (!p[i].revents)
			continue;
		for (size_t j = 0; j < l->nsock; j++)
			if (l->sock[j].fd == p[i].fd && l->sock[j].fd >= 0)
				accept_some(m, &l->sock[j]);
	}
}

int
master_listen_reaped(struct master *m, pid_t pid, int status)
{
	struct master_listen *l = m->listen;

	for (size_t i = 0; l && i < l->nsess; i++) {
		if (l->sess[i].pid != pid)
			continue;
		if (l->sess[i].svc >= 0)
			l->svc[l->sess[i].svc].nkids--;
		l->sess[i] = l->sess[--l->nsess];
		if (WIFSIGNALED(status) && !m->stopping)
			log_warn("smtpd pid %ld killed by signal %d", (long)pid,
			         WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_debug("smtpd pid %ld exit status %d", (long)pid,
			          WEXITSTATUS(status));
		return 1;
	}
	return 0;
}

void
master_listen_kill(struct master *m, int sig)
{
	for (size_t i = 0; m->listen && i < m->listen->nsess; i++)
		if (kill(m->listen->sess[i].pid, sig) < 0 && errno != ESRCH)
			log_warn("kill %ld: %s", (long)m->listen->sess[i].pid,
			         strerror(errno));
}

size_t
master_listen_sessions(const struct master *m)
{
	return m->listen ? m->listen->nsess : 0;
}
