/*
 * dns_send.c - one query/reply exchange with the nameservers of
 * /etc/resolv.conf (see dns_wire.h). We send the query ourselves instead
 * of calling res_query(): musl's res_query() returns -1 for NXDOMAIN,
 * SERVFAIL and timeouts alike (the MTA must bounce the first and defer
 * the others), its res_send() waits out the whole timeout on a REFUSED
 * reply, and musl 1.2.3 has no TCP fallback for truncated replies, while
 * glibc (the sanitizer build) behaves differently on each point. Our own
 * exchange behaves the same with both libcs. Replies are untrusted: only
 * one from the server's address (connected sockets), with our random id
 * and our question, is taken. Runs in the smtp client (mail_owner).
 */
#include "dns_wire.h"
#include "util/io.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The nameserver's address as text, for reasons. */
static const char *
ns_text(const struct dns_conf *c, unsigned i, char *buf, size_t cap)
{
	const struct sockaddr_storage *ss = &c->ns[i];
	const void *a =
	    ss->ss_family == AF_INET
	        ? (const void *)&((const struct sockaddr_in *)(const void *)ss)
	              ->sin_addr
	        : (const void *)&((const struct sockaddr_in6 *)(const void *)ss)
	              ->sin6_addr;

	if (!inet_ntop(ss->ss_family, a, buf, (socklen_t)cap))
		snprintf(buf, cap, "?");
	return buf;
}

static void
say(char *why, size_t whylen, const struct dns_conf *c, unsigned i,
    const char *what)
{
	char ns[INET6_ADDRSTRLEN];

	if (why && whylen)
		snprintf(why, whylen, "nameserver %s: %s",
		         ns_text(c, i, ns, sizeof ns), what);
}

static const char *
rcode_text(int rcode)
{
	switch (rcode) {
	case DNS_R_FORMERR:
		return "FORMERR";
	case DNS_R_SERVFAIL:
		return "SERVFAIL";
	case 4:
		return "NOTIMP";
	case DNS_R_REFUSED:
		return "REFUSED";
	default:
		return "error reply";
	}
}

/* A socket of type connected to nameserver i (non-blocking; a TCP
 * connect may still be in progress); -1 with errno. */
static int
ns_socket(const struct dns_conf *c, unsigned i, int type)
{
	int fd =
	    socket(c->ns[i].ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&c->ns[i], c->nslen[i]) < 0 &&
	    errno != EINPROGRESS) {
		int e = errno;

		io_close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Wait until fd is ready for events or the deadline passes: 0, or -1
 * with errno (ETIMEDOUT). */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int64_t left = deadline - now_ms();
		int r;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

struct udp {
	int fd[DNS_NS_MAX];
	unsigned live;
};

static void
udp_drop(struct udp *u, unsigned i)
{
	if (u->fd[i] >= 0) {
		io_close(u->fd[i]);
		u->fd[i] = -1;
		u->live--;
	}
}

/* Read one datagram from server i. 1: a reply to take (0 or 3), 0:
 * nothing usable (stray, or i dropped), -1 never. */
static int
udp_read(const struct dns_conf *c, struct udp *u, unsigned i,
         const unsigned char *q, size_t qlen, unsigned char *ans, size_t cap,
         size_t *alen, char *why, size_t whylen)
{
	ssize_t r = recv(u->fd[i], ans, cap, 0);
	int rcode;

	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		say(why, whylen, c, i, strerror(errno));
		udp_drop(u, i);
		return 0;
	}
	if (!dns_reply_matches(q, qlen, ans, (size_t)r))
		return 0; /* not ours (late, or forged): keep waiting */
	rcode = ans[3] & 15;
	if (rcode != DNS_R_NOERROR && rcode != DNS_R_NXDOMAIN) {
		say(why, whylen, c, i, rcode_text(rcode));
		udp_drop(u, i);
		return 0;
	}
	*alen = (size_t)r;
	return 1;
}

static void
udp_send_all(const struct dns_conf *c, struct udp *u, const unsigned char *q,
             size_t qlen, char *why, size_t whylen)
{
	for (unsigned i = 0; i < c->nns; i++) {
		if (u->fd[i] < 0)
			continue;
		if (send(u->fd[i], q, qlen, MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN && errno != EINTR) {
			say(why, whylen, c, i, strerror(errno));
			udp_drop(u, i);
		}
	}
}

/* The UDP round (musl's schedule): the index of the server whose reply
 * is in ans, or -1 with why set. */
static int
udp_round(const struct dns_conf *c, struct udp *u, const unsigned char *q,
          size_t qlen, unsigned char *ans, size_t cap, size_t *alen, char *why,
          size_t whylen)
{
	int64_t t0 = now_ms(), end = t0 + 1000 * (int64_t)c->timeout;
	int64_t every = 1000 * (int64_t)c->timeout / c->attempts, next = t0;

	for (;;) {
		struct pollfd p[DNS_NS_MAX];
		int64_t t = now_ms(), until;
		unsigned np = 0, idx[DNS_NS_MAX];

		if (t >= end) {
			if (why && whylen)
				snprintf(why, whylen,
				         "no reply from the nameservers "
				         "in %u s",
				         c->timeout);
			return -1;
		}
		if (t >= next) {
			udp_send_all(c, u, q, qlen, why, whylen);
			next += every;
		}
		if (u->live == 0)
			return -1; /* why says what the last one did */
		for (unsigned i = 0; i < c->nns; i++)
			if (u->fd[i] >= 0) {
				p[np].fd = u->fd[i];
				p[np].events = POLLIN;
				p[np].revents = 0;
				idx[np++] = i;
			}
		until = next < end ? next : end;
		if (poll(p, np, (int)(until > t ? until - t : 0)) < 0 &&
		    errno != EINTR) {
			say(why, whylen, c, 0, strerror(errno));
			return -1;
		}
		for (unsigned k = 0; k < np; k++)
			if (p[k].revents &&
			    udp_read(c, u, idx[k], q, qlen, ans, cap, alen, why,
			             whylen) == 1)
				return (int)idx[k];
	}
}

/* Write all of buf to the non-blocking socket fd before the deadline. */
static int
tcp_write(int fd, const unsigned char *buf, size_t len, int64_t deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t r;

		if (wait_fd(fd, POLLOUT, deadline) < 0)
			return -1;
		r = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (r < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (r > 0)
			off += (size_t)r;
	}
	return 0;
}

/* Read exactly len bytes before the deadline; EOF is an error (EPIPE). */
static int
tcp_read(int fd, unsigned char *buf, size_t len, int64_t deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t r;

		if (wait_fd(fd, POLLIN, deadline) < 0)
			return -1;
		r = recv(fd, buf + off, len - off, 0);
		if (r == 0) {
			errno = EPIPE;
			return -1;
		}
		if (r < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (r > 0)
			off += (size_t)r;
	}
	return 0;
}

/* Connect, send the length-prefixed query, read the reply. */
static int
tcp_talk(int fd, const unsigned char *q, size_t qlen, unsigned char *ans,
         size_t cap, size_t *alen, int64_t deadline)
{
	unsigned char out[2 + DNS_UDP_MAX], len2[2];
	int err = 0;
	socklen_t el = sizeof err;
	size_t n;

	if (qlen > DNS_UDP_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if (wait_fd(fd, POLLOUT, deadline) < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		return -1;
	if (err) {
		errno = err;
		return -1;
	}
	out[0] = (unsigned char)(qlen >> 8);
	out[1] = (unsigned char)qlen;
	memcpy(out + 2, q, qlen);
	if (tcp_write(fd, out, qlen + 2, deadline) < 0 ||
	    tcp_read(fd, len2, 2, deadline) < 0)
		return -1;
	n = (size_t)len2[0] << 8 | len2[1];
	if (n > cap) {
		errno = EMSGSIZE;
		return -1;
	}
	if (tcp_read(fd, ans, n, deadline) < 0)
		return -1;
	*alen = n;
	return 0;
}

/* The query again over TCP to server i (its UDP reply was truncated). */
static int
tcp_exchange(const struct dns_conf *c, unsigned i, const unsigned char *q,
             size_t qlen, unsigned char *ans, size_t cap, size_t *alen,
             char *why, size_t whylen)
{
	int64_t deadline = now_ms() + 1000 * (int64_t)c->timeout;
	char what[128];
	int fd = ns_socket(c, i, SOCK_STREAM), r = -1, rcode;

	if (fd < 0 || tcp_talk(fd, q, qlen, ans, cap, alen, deadline) < 0) {
		snprintf(what, sizeof what,
		         "truncated UDP reply, and over TCP: %s",
		         errno == ETIMEDOUT ? "timed out" : strerror(errno));
		say(why, whylen, c, i, what);
	} else if (!dns_reply_matches(q, qlen, ans, *alen)) {
		say(why, whylen, c, i, "TCP reply does not match the query");
	} else if ((rcode = ans[3] & 15) != DNS_R_NOERROR &&
	           rcode != DNS_R_NXDOMAIN) {
		snprintf(what, sizeof what, "%s over TCP", rcode_text(rcode));
		say(why, whylen, c, i, what);
	} else {
		r = 0;
	}
	if (fd >= 0)
		io_close(fd);
	return r;
}

/* see dns_wire.h */
int
dns_exchange(const struct dns_conf *c, const unsigned char *q, size_t qlen,
             unsigned char *ans, size_t cap, size_t *alen, char *why,
             size_t whylen)
{
	struct udp u = {.live = 0};
	int i;

	if (why && whylen)
		snprintf(why, whylen, "no usable nameserver");
	for (unsigned k = 0; k < DNS_NS_MAX; k++) {
		u.fd[k] = k < c->nns ? ns_socket(c, k, SOCK_DGRAM) : -1;
		if (u.fd[k] >= 0)
			u.live++;
		else if (k < c->nns)
			say(why, whylen, c, k, strerror(errno));
	}
	i = udp_round(c, &u, q, qlen, ans, cap, alen, why, whylen);
	for (unsigned k = 0; k < DNS_NS_MAX; k++)
		if (u.fd[k] >= 0)
			io_close(u.fd[k]);
	if (i < 0)
		return -1;
	if (*alen >= DNS_HDR_LEN && (ans[2] & 0x02)) {
		char ns[INET6_ADDRSTRLEN];

		log_debug("nameserver %s: truncated UDP reply, asking again "
		          "over TCP",
		          ns_text(c, (unsigned)i, ns, sizeof ns));
		return tcp_exchange(c, (unsigned)i, q, qlen, ans, cap, alen,
		                    why, whylen);
	}
	return 0;
}
