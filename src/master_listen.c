/*
 * master_listen.c - the master's listeners (see master_listen.h): which
 * addresses each master.cf inet service listens on, and the sockets. Runs
 * in the master as root (binding ports below 1024); the only input from
 * the network handled here is none: accepted connections are dealt with
 * by master_accept.c. Inputs: main.cf and master.cf.
 */
#include "master_listen_impl.h"
#include "util/io.h"
#include "util/mem.h"
#include "util/log.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct master_listen *
master_listen_new(void)
{
	/* Its own pages: the tables are large and mostly untouched. */
	struct master_listen *l = mem_big_alloc(sizeof *l);

	if (l)
		master_anvil_rate_clear(l->rate, ANVIL_RATE_CLIENTS);
	return l;
}

void
master_listen_free(struct master_listen *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nsock; i++)
		if (l->sock[i].fd >= 0)
			io_close(l->sock[i].fd);
	free(l->cf);
	free(l->sess);
	mem_big_free(l, sizeof *l);
}

/* One wanted address; optional: a failure to bind it is only a warning
 * (IPv6 of "all"/"loopback-only" on a host without IPv6). */
struct want {
	struct anvil_addr addr;
	int optional;
};

struct wants {
	struct want v[LISTEN_FDS_MAX];
	size_t n;
	int v4, v6; /* inet_protocols */
};

static int
want_add(struct wants *w, int family, const void *a, int optional)
{
	struct anvil_addr x;

	if ((family == AF_INET && !w->v4) || (family == AF_INET6 && !w->v6))
		return 0;
	memset(&x, 0, sizeof x);
	x.family = family;
	memcpy(x.a, a, family == AF_INET ? 4 : 16);
	for (size_t i = 0; i < w->n; i++)
		if (master_anvil_same(&w->v[i].addr, &x))
			return 0;
	if (w->n >= LISTEN_FDS_MAX) {
		errno = EMFILE;
		return -1;
	}
	w->v[w->n].addr = x;
	w->v[w->n++].optional = optional;
	return 0;
}

/* A literal address, [v6], or a host name (every address it has). */
static int
want_host(struct wants *w, const char *host, char *why, size_t cap)
{
	char h[MASTER_CF_HOST_MAX];
	struct addrinfo hints, *res, *ai;
	size_t len = strlen(host);
	int r;

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	if (str_copy_n(h, sizeof h, host, len) < 0) {
		snprintf(why, cap, "host name too long: %.60s", host);
		return -1;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = w->v4 && w->v6 ? AF_UNSPEC
	                  : w->v4        ? AF_INET
	                                 : AF_INET6;
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(h, NULL, &hints, &res);
	if (r != 0) {
		snprintf(why, cap, "host %.200s: %s", h, gai_strerror(r));
		return -1;
	}
	for (ai = res, r = 0; ai && r == 0; ai = ai->ai_next)
		r = ai->ai_family == AF_INET
		        ? want_add(w, AF_INET,
		                   &((struct sockaddr_in *)(void *)ai->ai_addr)
		                        ->sin_addr,
		                   0)
		    : ai->ai_family == AF_INET6
		        ? want_add(w, AF_INET6,
		                   &((struct sockaddr_in6 *)(void *)ai->ai_addr)
		                        ->sin6_addr,
		                   0)
		        : 0;
	freeaddrinfo(res);
	if (r < 0)
		snprintf(why, cap, "more than %d listening addresses",
		         LISTEN_FDS_MAX);
	return r;
}

/* inet_interfaces: all, loopback-only, or addresses and host names. */
static int
want_interfaces(struct wants *w, const struct conf *c, char *why, size_t cap)
{
	const char *cur = conf_get(c, "inet_interfaces");
	static const unsigned char any4[4], lo4[4] = {127, 0, 0, 1};
	static const unsigned char any6[16], lo6[16] = {[15] = 1};
	char item[CONF_VALUE_MAX];
	int opt6 = w->v4; /* IPv6 optional unless it is all there is */

	while (conf_list_next(&cur, item, sizeof item)) {
		int r;

		if (str_eq_nocase(item, "all"))
			r = want_add(w, AF_INET, any4, 0) < 0 ||
			            want_add(w, AF_INET6, any6, opt6) < 0
			        ? -1
			        : 0;
		else if (str_eq_nocase(item, "loopback-only"))
			r = want_add(w, AF_INET, lo4, 0) < 0 ||
			            want_add(w, AF_INET6, lo6, opt6) < 0
			        ? -1
			        : 0;
		else
			r = want_host(w, item, why, cap);
		if (r < 0)
			return -1;
	}
	return 0;
}

static void
protocols(struct wants *w, const struct conf *c)
{
	const char *cur = conf_get(c, "inet_protocols");
	char item[32];

	w->v4 = w->v6 = 0;
	while (conf_list_next(&cur, item, sizeof item)) {
		if (str_eq_nocase(item, "all") || str_eq_nocase(item, "ipv4"))
			w->v4 = 1;
		if (str_eq_nocase(item, "all") || str_eq_nocase(item, "ipv6"))
			w->v6 = 1;
	}
}

/* A new listening socket, non-blocking; -1 with errno. */
static int
open_socket(const struct anvil_addr *a, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, e;

	memset(&ss, 0, sizeof ss);
	if (a->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		memcpy(&s4->sin_addr, a->a, 4);
		len = sizeof *s4;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		memcpy(&s6->sin6_addr, a->a, 16);
		len = sizeof *s6;
	}
	fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (a->family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		e = errno;
		io_close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The socket for (a, port): taken over from old when it has one. */
static int
get_socket(struct master_listen *nw, struct master_listen *old, int svc,
           const struct want *w, unsigned port, char *why, size_t cap)
{
	struct lsock *s = &nw->sock[nw->nsock];
	char text[INET6_ADDRSTRLEN] = "?";

	inet_ntop(w->addr.family, w->addr.a, text, sizeof text);
	memset(s, 0, sizeof *s);
	s->fd = -1;
	for (size_t i = 0; old && i < old->nsock; i++)
		if (old->sock[i].fd >= 0 && old->sock[i].port == port &&
		    !old->sock[i].taken &&
		    master_anvil_same(&old->sock[i].addr, &w->addr)) {
			s->fd = old->sock[i].fd;
			old->sock[i].taken = s->reused = 1;
		}
	if (s->fd < 0 && (s->fd = open_socket(&w->addr, port)) < 0) {
		if (w->optional &&
		    (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT)) {
			log_warn("not listening on %s port %u: %s", text, port,
			         strerror(errno));
			return 0;
		}
		snprintf(why, cap, "cannot listen on %s port %u: %s", text,
		         port, strerror(errno));
		return -2;
	}
	s->svc = svc;
	s->addr = w->addr;
	s->port = port;
	str_copy(s->text, sizeof s->text, text);
	nw->nsock++;
	return 0;
}

static int
open_service(struct master_listen *nw, struct master_listen *old,
             const struct conf *c, int svc, char *why, size_t cap)
{
	const struct master_service *s = &nw->cf->v[svc];
	struct wants *w = calloc(1, sizeof *w);
	int r = 0;

	if (!w) {
		str_copy(why, cap, "out of memory");
		return -1;
	}
	protocols(w, c);
	if (s->host[0])
		r = want_host(w, s->host, why, cap);
	else
		r = want_interfaces(w, c, why, cap);
	for (size_t i = 0; r == 0 && i < w->n; i++) {
		if (nw->nsock >= LISTEN_FDS_MAX) {
			snprintf(why, cap, "more than %d listening sockets",
			         LISTEN_FDS_MAX);
			r = -1;
		} else {
			r = get_socket(nw, old, svc, &w->v[i], s->port, why,
			               cap);
		}
	}
	free(w);
	return r;
}

static int
load_cf(struct master *m, struct master_listen *nw, const struct conf *c,
        char *why, size_t cap)
{
	struct conf_problems *ps = conf_problems_new();
	char path[CONF_PATH_MAX + 16];
	int r = -1;

	snprintf(path, sizeof path, "%s/master.cf", m->cfgdir);
	nw->cf = malloc(sizeof *nw->cf);
	if (!ps || !nw->cf) {
		str_copy(why, cap, "out of memory");
	} else if (master_cf_load(nw->cf, path, c, ps) == 0) {
		r = 0;
	} else {
		str_copy(why, cap, "master.cf: errors");
		for (size_t i = 0; i < ps->n; i++)
			if (ps->v[i].severity == CONF_SEV_ERROR) {
				snprintf(why, cap, "%s, line %u: %s",
				         ps->v[i].file, ps->v[i].line,
				         ps->v[i].message);
				break;
			}
	}
	conf_problems_free(ps);
	return r;
}

/* Give up a half-built set: close only the sockets it opened itself. */
static void
abandon(struct master_listen *nw, struct master_listen *old)
{
	for (size_t i = 0; i < nw->nsock; i++)
		if (nw->sock[i].reused)
			nw->sock[i].fd = -1;
	for (size_t i = 0; old && i < old->nsock; i++)
		old->sock[i].taken = 0;
	master_listen_free(nw);
}

static int
open_all(struct master_listen *nw, struct master_listen *old,
         const struct conf *c, char *why, size_t cap)
{
	int r;

	for (size_t i = 0; i < nw->cf->n; i++) {
		nw->svc[i].active = 1;
		master_accept_policy(nw, (int)i, c);
		r = open_service(nw, old, c, (int)i, why, cap);
		if (r < 0)
			return r;
	}
	return 0;
}

int
master_listen_configure(struct master *m, const struct conf *c, char *why,
                        size_t cap)
{
	struct master_listen *old = m->listen, *nw = master_listen_new();
	int r;

	if (!nw) {
		str_copy(why, cap, "out of memory");
		return -2;
	}
	if ((r = load_cf(m, nw, c, why, cap)) < 0 ||
	    (r = open_all(nw, old, c, why, cap)) < 0) {
		abandon(nw, old);
		return r;
	}
	for (size_t i = 0; old && i < old->nsock; i++) {
		if (old->sock[i].taken)
			old->sock[i].fd = -1;
		else
			log_info("closed listener %s port %u",
			         old->sock[i].text, old->sock[i].port);
	}
	for (size_t i = 0; i < nw->nsock; i++)
		if (!nw->sock[i].reused)
			log_info("listening on %s port %u for %s",
			         nw->sock[i].text, nw->sock[i].port,
			         nw->cf->v[nw->sock[i].svc].name);
	master_accept_adopt(nw, old);
	master_listen_free(old);
	m->listen = nw;
	return 0;
}

void
master_listen_close(struct master *m)
{
	struct master_listen *l = m->listen;

	for (size_t i = 0; l && i < l->nsock; i++)
		if (l->sock[i].fd >= 0) {
			io_close(l->sock[i].fd);
			l->sock[i].fd = -1;
		}
}

size_t
master_listen_sockets(const struct master *m)
{
	size_t n = 0;

	for (size_t i = 0; m->listen && i < m->listen->nsock; i++)
		n += m->listen->sock[i].fd >= 0;
	return n;
}
