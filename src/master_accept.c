/*
 * master_accept.c - accepted connections on the master's listeners: the
 * per-client limits (master_anvil.c), the 421 reply when one is exceeded,
 * and otherwise one `tinymta smtpd -o …` (or `pop3d`) process per
 * connection, forked by the master (root) and run as mail_owner with the
 * connection on descriptors 0 and 1; a pop3d also gets a link on fd 3
 * (master_pop3.c). Untrusted input: only the peer address the kernel
 * reports; the master never reads from a client.
 */
#define _GNU_SOURCE /* accept4 */
#include "master_listen_impl.h"
#include "tls.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
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

static void check_tls_files(const struct master_cf *cf,
                            const struct master_service *s,
                            const struct conf *c);

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
	check_tls_files(l->cf, s, c);
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
	master_smtpd_retire(nw);
	memcpy(nw->rate, old->rate, sizeof nw->rate);
	for (size_t i = 0; i < ANVIL_RATE_CLIENTS; i++)
		if (nw->rate[i].svc >= 0)
			nw->rate[i].svc = map[nw->rate[i].svc];
}

/* Room for one more session: below maxproc, or an idle smtpd to take it
 * (idle processes count against maxproc, as in Postfix). */
static int
below_max(const struct master_listen *l, int svc)
{
	return (long)l->svc[svc].nkids < l->svc[svc].maxproc ||
	       master_smtpd_has_idle(l, svc);
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

void
master_addr_of(const struct sockaddr_storage *ss, struct anvil_addr *a,
               unsigned *port, char *text, size_t cap)
{
	memset(a, 0, sizeof *a);
	a->family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		memcpy(a->a, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		memcpy(a->a, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
	} else { /* AF_UNIX: a pop3d TLS relay's socketpair */
		*port = 0;
		str_copy(text, cap, "unknown");
		return;
	}
	if (!inet_ntop(a->family, a->a, text, (socklen_t)cap))
		str_copy(text, cap, "unknown");
}

/* 1 when service s may use TLS: the rule of smtpd_tls.c's tls_level for
 * smtpd; for pop3d, a certificate is configured (pop3d_tls.c). */
static int
svc_tls(const struct master_cf *cf, const struct master_service *s,
        const struct conf *c)
{
	static const char *const yes[] = {"smtpd_tls_wrappermode",
	                                  "smtpd_use_tls", "smtpd_enforce_tls"};
	char v[CONF_VALUE_MAX];

	if (s->cmd == MASTER_CMD_POP3D) {
		svc_value(cf, s, c, "pop3d_tls_cert_file", v, sizeof v);
		return *v != '\0';
	}
	if (s->cmd != MASTER_CMD_SMTPD)
		return 0;
	svc_value(cf, s, c, "smtpd_tls_security_level", v, sizeof v);
	if (*v)
		return strcmp(v, "none") != 0;
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		svc_value(cf, s, c, yes[i], v, sizeof v);
		if (strcmp(v, "yes") == 0)
			return 1;
	}
	return 0;
}

/* The parameters naming service s's certificate and key. */
static const char *
tls_param(const struct master_service *s, int key)
{
	if (s->cmd == MASTER_CMD_POP3D)
		return key ? "pop3d_tls_key_file" : "pop3d_tls_cert_file";
	return key ? "smtpd_tls_key_file" : "smtpd_tls_cert_file";
}

/* At start and reload: load the certificate and key of a TLS service
 * once, so that a broken file is reported now, by name, and not only in
 * each session's log. */
static void
check_tls_files(const struct master_cf *cf, const struct master_service *s,
                const struct conf *c)
{
	char cert[CONF_VALUE_MAX], key[CONF_VALUE_MAX], err[TLS_ERR_MAX];
	struct tls_creds *cr;

	if (!svc_tls(cf, s, c) || !(cr = malloc(sizeof *cr)))
		return;
	svc_value(cf, s, c, tls_param(s, 0), cert, sizeof cert);
	svc_value(cf, s, c, tls_param(s, 1), key, sizeof key);
	if (tls_creds_load(cr, -1, cert, -1, key, err, sizeof err) < 0)
		log_warn("service %s: TLS will not work: %s", s->name, err);
	tls_creds_wipe(cr);
	free(cr);
}

/* In the child, as root: open the certificate and the key of a service
 * that may use TLS and pass them to smtpd as "FD:PATH" in env, so that
 * the key file can stay readable by root only (docs/processes.md). A file
 * that does not open is left to smtpd, which names it in its error. */
static void
pass_tls_file(const struct master_cf *cf, const struct master_service *s,
              const struct conf *c, const char *param, const char *env)
{
	char path[CONF_VALUE_MAX], val[CONF_VALUE_MAX + 16];
	int fd;

	svc_value(cf, s, c, param, path, sizeof path);
	if (!*path || (fd = open(path, O_RDONLY | O_NOCTTY)) < 0)
		return;
	snprintf(val, sizeof val, "%d:%s", fd, path);
	if (setenv(env, val, 1) < 0)
		_exit(71);
}

/* The TLS session cache all smtpd and pop3d processes share (tls_cache.c), made
 * at the first session of a TLS service; -1 until then or if that failed
 * (sessions then are not resumable). It lives as long as the master. */
static int tls_cache_fd = -1;

static void
pass_tls_cache(void)
{
	char num[16];

	if (tls_cache_fd < 0 || fcntl(tls_cache_fd, F_SETFD, 0) < 0)
		return;
	snprintf(num, sizeof num, "%d", tls_cache_fd);
	if (setenv("TINYMTA_TLS_CACHE", num, 1) < 0)
		_exit(71);
}

/* In a session child: environment, descriptors 0 and 1, privileges,
 * exec. */
_Noreturn void
master_accept_exec(struct master *m, const struct master_cf *cf,
                   const struct master_service *s, int fd,
                   const struct lsession *peer, const char *applet,
                   const char *arg, uid_t uid, gid_t gid)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct anvil_addr me;
	char *argv[5 + 2 * MASTER_CF_OPTS_MAX], num[16], text[INET6_ADDRSTRLEN];
	char ip[INET6_ADDRSTRLEN];
	unsigned myport = 0;
	size_t n = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		_exit(71);
	master_addr_of(&ss, &me, &myport, text, sizeof text);
	if (!inet_ntop(peer->addr.family, peer->addr.a, ip, sizeof ip))
		str_copy(ip, sizeof ip, "unknown");
	snprintf(num, sizeof num, "%u", peer->port);
	if (setenv("TINYMTA_CLIENT_ADDR", ip, 1) < 0 ||
	    setenv("TINYMTA_CLIENT_PORT", num, 1) < 0 ||
	    setenv("TINYMTA_SERVER_ADDR", text, 1) < 0 ||
	    snprintf(num, sizeof num, "%u", myport) < 0 ||
	    setenv("TINYMTA_SERVER_PORT", num, 1) < 0 ||
	    setenv("TINYMTA_SERVICE", s->name, 1) < 0)
		_exit(71);
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || (fd > 1 && close(fd) < 0))
		_exit(71);
	/* never to the mailbox phase: it runs as a mail user */
	if (svc_tls(cf, s, m->conf) && strcmp(applet, "pop3d-mailbox") != 0) {
		pass_tls_file(cf, s, m->conf, tls_param(s, 0),
		              "TINYMTA_TLS_CERT");
		pass_tls_file(cf, s, m->conf, tls_param(s, 1),
		              "TINYMTA_TLS_KEY");
		pass_tls_cache();
	}
	argv[n++] = "tinymta";
	argv[n++] = (char *)applet;
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
	if (arg)
		argv[n++] = (char *)arg;
	argv[n] = NULL;
	master_exec_role(m, uid, gid, argv);
}

/* A pop3d login process gets a SOCK_SEQPACKET link on descriptor 3: the
 * only way to ask the master for the mailbox phase (master_pop3.c). */
static _Noreturn void
session_child(struct master *m, const struct master_cf *cf,
              const struct master_service *s, int fd,
              const struct lsession *peer, int link)
{
	if (link >= 0) {
		/* smtpd: fd 3 is the link for more connections (pop3d
		 * always has one) */
		if (setenv("TINYMTA_LINK", "3", 1) < 0)
			_exit(71);
		if (fd == 3 && (fd = fcntl(fd, F_DUPFD_CLOEXEC, 10)) < 0)
			_exit(71);
		/* dup2 onto itself would keep FD_CLOEXEC */
		if (link == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(link, 3) < 0)
			_exit(71);
	}
	master_accept_exec(m, cf, s, fd, peer,
	                   s->cmd == MASTER_CMD_POP3D ? "pop3d" : "smtpd", NULL,
	                   m->uid, m->gid);
}

int
master_accept_room(struct master_listen *l)
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

/* An smtpd of service svc may serve more connections: max_use allows it
 * and the master can poll one more link (LISTEN_LINKS_MAX). */
static int
reusable(const struct master *m, int svc)
{
	const struct master_listen *l = m->listen;
	size_t links = 0;

	if (l->cf->v[svc].cmd != MASTER_CMD_SMTPD ||
	    conf_int(m->conf, "max_use") < 2)
		return 0;
	for (size_t i = 0; i < l->nsess; i++)
		links += l->sess[i].link >= 0;
	return links < LISTEN_LINKS_MAX;
}

static void
spawn_session(struct master *m, const struct lsock *ls, int fd,
              const struct anvil_addr *peer, const char *ip, unsigned port)
{
	struct master_listen *l = m->listen;
	sigset_t all, old;
	pid_t pid;

	struct lsession me = {
	    .svc = ls->svc, .addr = *peer, .port = port, .link = -1};
	int sv[2] = {-1, -1};

	if (master_accept_room(l) < 0) {
		log_error("no memory for a session from %s", ip);
		return;
	}
	if (tls_cache_fd == -1 && svc_tls(l->cf, &l->cf->v[ls->svc], m->conf) &&
	    (tls_cache_fd = tls_cache_create()) < 0) {
		log_warn("TLS session cache: %s; sessions are not resumed",
		         strerror(errno));
		tls_cache_fd = -2; /* do not try again */
	}
	me.reuse = reusable(m, ls->svc);
	if ((l->cf->v[ls->svc].cmd == MASTER_CMD_POP3D || me.reuse) &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair for a session from %s: %s", ip,
		          strerror(errno));
		return;
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		master_child_signals(&old);
		session_child(m, l->cf, &l->cf->v[ls->svc], fd, &me, sv[1]);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (sv[1] >= 0)
		io_close(sv[1]);
	if (pid < 0) {
		log_error("fork for a session from %s: %s", ip,
		          strerror(errno));
		if (sv[0] >= 0)
			io_close(sv[0]);
		return;
	}
	me.pid = pid;
	me.link = sv[0];
	l->sess[l->nsess++] = me;
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

	master_addr_of(ss, &peer, &port, ip, sizeof ip);
	what = over_limit(m->listen, ls->svc, &peer, &value);
	if (what)
		refuse(m, fd, ip, what, value, m->listen->cf->v[ls->svc].name);
	else if (!master_smtpd_hand(m, ls->svc, fd, &peer, ip, port))
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
		const char *what = "session";

		if (l->sess[i].svc >= 0) {
			l->svc[l->sess[i].svc].nkids--;
			what = l->cf->v[l->sess[i].svc].cmd == MASTER_CMD_POP3D
			           ? "pop3d"
			           : "smtpd";
		}
		if (l->sess[i].link >= 0)
			io_close(l->sess[i].link);
		l->sess[i] = l->sess[--l->nsess];
		if (WIFSIGNALED(status) && !m->stopping)
			log_warn("%s pid %ld killed by signal %d", what,
			         (long)pid, WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_debug("%s pid %ld exit status %d", what, (long)pid,
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
master_listen_linkfds(struct master *m, struct pollfd *p, size_t cap)
{
	struct master_listen *l = m->listen;
	size_t n = 0;

	for (size_t i = 0; l && i < l->nsess && n < cap; i++)
		if (l->sess[i].link >= 0)
			p[n++] = (struct pollfd){l->sess[i].link, POLLIN, 0};
	return n;
}

void
master_listen_links_ready(struct master *m, const struct pollfd *p, size_t n)
{
	struct master_listen *l = m->listen;

	for (size_t i = 0; l && i < n; i++) {
		if (!p[i].revents)
			continue;
		for (size_t j = 0; j < l->nsess; j++)
			if (l->sess[j].link == p[i].fd) {
				if (l->sess[j].reuse)
					master_smtpd_input(m, j);
				else
					master_pop3_input(m, j);
				break;
			}
	}
}

size_t
master_listen_sessions(const struct master *m)
{
	return m->listen ? m->listen->nsess : 0;
}
