/*
 * pop3_io.c - the POP3 connection's reads and writes (see pop3_io.h).
 * UNTRUSTED input: lines are bounded by the caller's buffer; a longer line
 * is read to its end and dropped.
 */
#include "pop3_io.h"

#include <stddef.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

void
pop3_io_init(struct pop3_io *io, int rfd, int wfd, int timeout_ms)
{
	memset(io, 0, offsetof(struct pop3_io, rbuf));
	io->rfd = rfd;
	io->wfd = wfd;
	io->timeout_ms = timeout_ms;
}

void
pop3_io_set_ops(struct pop3_io *io, const struct pop3_io_ops *ops, void *ctx)
{
	io->ops = ops;
	io->ctx = ctx;
}

long long
pop3_io_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int
pop3_io_flush(struct pop3_io *io)
{
	size_t off = 0;

	while (off < io->wlen) {
		ssize_t w;

		if (io->ops)
			w = io->ops->write(io->ctx, io->wbuf + off,
			                   io->wlen - off);
		else
			w = write(io->wfd, io->wbuf + off, io->wlen - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = {io->wfd, POLLOUT, 0};

			if (poll(&p, 1, io->timeout_ms) <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			continue;
		}
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	io->wlen = 0;
	return 0;
}

int
pop3_io_put(struct pop3_io *io, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		size_t k = sizeof io->wbuf - io->wlen;

		if (k == 0) {
			if (pop3_io_flush(io) < 0)
				return -1;
			continue;
		}
		if (k > n)
			k = n;
		memcpy(io->wbuf + io->wlen, s, k);
		io->wlen += k;
		s += k;
		n -= k;
	}
	return 0;
}

int
pop3_io_printf(struct pop3_io *io, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof buf)
		n = sizeof buf - 1;
	return pop3_io_put(io, buf, (size_t)n);
}

/* Wait until input can be read, calling idle on the way. 0 ready, or a
 * negative pop3_io_res. */
static int
wait_input(struct pop3_io *io)
{
	long long deadline = io->deadline;

	if (io->ops && io->ops->pending && io->ops->pending(io->ctx))
		return 0;
	for (;;) {
		long long left = deadline - pop3_io_now_ms();
		int step = (int)(left > 0 ? left : 0), r;
		struct pollfd p = {io->rfd, POLLIN, 0};

		if (io->stopping && io->stopping())
			return POP3_IO_STOP;
		if (io->idle_ms > 0 && step > io->idle_ms)
			step = io->idle_ms;
		r = poll(&p, 1, step);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return POP3_IO_ERR;
		if (r < 0 && io->stopping && io->stopping())
			return POP3_IO_STOP;
		if (r == 0 && left <= 0)
			return POP3_IO_TIMEOUT;
		if (r == 0 && io->idle && io->idle(io->idle_arg) != 0)
			return POP3_IO_ERR;
	}
}

/* Fill rbuf (it is empty). In exact mode on a socket, take no more than
 * one line: peek, then read up to the first LF. >0 bytes, 0 EOF, or a
 * negative pop3_io_res. */
static ssize_t
fill(struct pop3_io *io)
{
	int r = wait_input(io);
	ssize_t n;

	if (r < 0)
		return r;
	io->rpos = io->rlen = 0;
	if (io->ops) {
		do
			n = io->ops->read(io->ctx, io->rbuf, sizeof io->rbuf);
		while (n < 0 && errno == EINTR);
	} else if (io->exact) {
		char *lf;

		do
			n = recv(io->rfd, io->rbuf, sizeof io->rbuf, MSG_PEEK);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno == ENOTSOCK) {
			n = 1; /* not a socket (a pipe in tests): byte by byte
			        */
		} else if (n > 0) {
			lf = memchr(io->rbuf, '\n', (size_t)n);
			if (lf)
				n = lf - io->rbuf + 1;
		}
		if (n > 0)
			do
				n = read(io->rfd, io->rbuf, (size_t)n);
			while (n < 0 && errno == EINTR);
	} else {
		do
			n = read(io->rfd, io->rbuf, sizeof io->rbuf);
		while (n < 0 && errno == EINTR);
	}
	if (n < 0)
		return errno == EAGAIN ? fill(io) : POP3_IO_ERR;
	io->rlen = (size_t)n;
	return n;
}

enum pop3_io_res
pop3_io_line(struct pop3_io *io, char *line, size_t cap, size_t *len)
{
	size_t n = 0;
	int over = 0;

	if (pop3_io_flush(io) < 0)
		return POP3_IO_ERR;
	io->deadline = pop3_io_now_ms() + io->timeout_ms;
	/* Invariant: line[0..n) holds this line's bytes so far (unless
	 * over: then they are being skipped). */
	for (;;) {
		if (io->rpos == io->rlen) {
			ssize_t r = fill(io);

			if (r <= 0)
				return r == 0 ? POP3_IO_EOF
				              : (enum pop3_io_res)r;
		}
		while (io->rpos < io->rlen) {
			char c = io->rbuf[io->rpos++];

			if (n < cap)
				line[n++] = c;
			else
				over = 1;
			if (c == '\n') {
				*len = n;
				return over ? POP3_IO_LONG : POP3_IO_LINE;
			}
		}
	}
}
