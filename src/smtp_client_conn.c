/*
 * smtp_client_conn.c - the smtp client's connection (see
 * smtp_client_conn.h): non-blocking socket, poll() against a deadline
 * for every wait, send() with MSG_NOSIGNAL (a server that hangs up never
 * raises SIGPIPE). Runs in the smtp agent as mail_owner; what it reads
 * is the remote server's, untrusted, and goes to the bounded reply
 * parser only.
 */
#include "smtp_client_conn.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t
smtpc_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline_ms (0: forever). 0 ready, -1 with
 * errno (ETIMEDOUT). */
static int
wait_fd(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int ms = -1, r;

		if (deadline_ms > 0) {
			int64_t left = deadline_ms - smtpc_now_ms();

			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			ms = left > 86400000 ? 86400000 : (int)left;
		}
		r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r > 0)
			return 0;
	}
}

static ssize_t
plain_read(struct smtpc_conn *c, void *buf, size_t n, int64_t deadline_ms)
{
	for (;;) {
		ssize_t r = read(c->fd, buf, n);

		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (wait_fd(c->fd, POLLIN, deadline_ms) < 0)
			return -1;
	}
}

static ssize_t
plain_write(struct smtpc_conn *c, const void *buf, size_t n,
            int64_t deadline_ms)
{
	for (;;) {
		ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL);

		if (w >= 0)
			return w;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (wait_fd(c->fd, POLLOUT, deadline_ms) < 0)
			return -1;
	}
}

static void
set_err(struct smtpc_conn *c, const char *what)
{
	c->timed_out = errno == ETIMEDOUT;
	str_copy(c->err, sizeof c->err, what ? what : strerror(errno));
}

int
smtpc_conn_open(struct smtpc_conn *c, const struct sockaddr *sa, socklen_t len,
                long long timeout)
{
	int e = 0;
	socklen_t elen = sizeof e;

	c->io.read = plain_read;
	c->io.write = plain_write;
	c->io.ctx = NULL;
	c->io.close = NULL;
	c->rpos = c->rlen = c->wlen = 0;
	c->err[0] = '\0';
	c->timed_out = 0;
	c->deadline_ms = timeout > 0 ? smtpc_now_ms() + timeout * 1000 : 0;
	c->fd = socket(sa->sa_family,
	               SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		set_err(c, NULL);
		return -1;
	}
	if (connect(c->fd, sa, len) < 0) {
		if (errno != EINPROGRESS && errno != EINTR)
			goto fail;
		if (wait_fd(c->fd, POLLOUT, c->deadline_ms) < 0)
			goto fail;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
			goto fail;
		if (e != 0) {
			errno = e;
			goto fail;
		}
	}
	return 0;
fail:
	set_err(c, NULL);
	close(c->fd);
	c->fd = -1;
	return -1;
}

void
smtpc_conn_set_io(struct smtpc_conn *c, const struct smtpc_io *io)
{
	c->io = *io;
	c->rpos = c->rlen = 0;
}

void
smtpc_conn_deadline(struct smtpc_conn *c, long long seconds)
{
	c->deadline_ms = seconds > 0 ? smtpc_now_ms() + seconds * 1000 : 0;
}

int
smtpc_conn_flush(struct smtpc_conn *c)
{
	size_t off = 0;

	while (off < c->wlen) {
		ssize_t w = c->io.write(c, c->wbuf + off, c->wlen - off,
		                        c->deadline_ms);

		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			set_err(c, NULL);
			return -1;
		}
		off += (size_t)w;
	}
	c->wlen = 0;
	return 0;
}

int
smtpc_conn_put(struct smtpc_conn *c, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		size_t k = sizeof c->wbuf - c->wlen;

		if (k == 0) {
			if (smtpc_conn_flush(c) < 0)
				return -1;
			continue;
		}
		if (k > n)
			k = n;
		memcpy(c->wbuf + c->wlen, s, k);
		c->wlen += k;
		s += k;
		n -= k;
	}
	return 0;
}

int
smtpc_conn_printf(struct smtpc_conn *c, const char *fmt, ...)
{
	char line[3000];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line) {
		str_copy(c->err, sizeof c->err, "command too long");
		c->timed_out = 0;
		return -1;
	}
	if (c->trace)
		c->trace(c->trace_ctx, 1, line, (size_t)n);
	return smtpc_conn_put(c, line, (size_t)n);
}

int
smtpc_conn_reply(struct smtpc_conn *c, struct smtpc_reply *r)
{
	if (smtpc_conn_flush(c) < 0)
		return -1;
	smtpc_reply_init(r);
	for (;;) {
		size_t used = 0;
		enum smtpc_rstat st;
		ssize_t n;

		if (c->rpos < c->rlen) {
			st = smtpc_reply_feed(r, c->rbuf + c->rpos,
			                      c->rlen - c->rpos, &used);
			c->rpos += used;
			if (st == SMTPC_R_DONE) {
				if (c->trace)
					c->trace(c->trace_ctx, 0, r->text,
					         r->textlen);
				return 0;
			}
			if (st == SMTPC_R_ERR) {
				c->timed_out = 0;
				str_copy(c->err, sizeof c->err, r->err);
				return -1;
			}
		}
		n = c->io.read(c, c->rbuf, sizeof c->rbuf, c->deadline_ms);
		if (n <= 0) {
			if (n == 0) {
				c->timed_out = 0;
				str_copy(c->err, sizeof c->err,
				         "lost connection");
			} else {
				set_err(c, NULL);
			}
			return -1;
		}
		c->rpos = 0;
		c->rlen = (size_t)n;
	}
}

int
smtpc_conn_pending(struct smtpc_conn *c)
{
	char b;

	if (c->rpos < c->rlen)
		return 1;
	return c->fd >= 0 && recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

int
smtpc_conn_idle_broken(struct smtpc_conn *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	int r;

	if (c->fd < 0 || c->rpos < c->rlen)
		return 1;
	do
		r = poll(&p, 1, 0);
	while (r < 0 && errno == EINTR);
	return r != 0; /* readable, hung up, or poll failed */
}

void
smtpc_conn_close(struct smtpc_conn *c)
{
	if (c->io.close)
		c->io.close(c);
	c->io.close = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
