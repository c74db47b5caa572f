/*
 * pop3_io.h - the byte stream of one POP3 connection: bounded line reads
 * with pop3d_timeout, buffered writes. Everything pop3d says or hears goes
 * through here, so TLS slots in as a pair of functions (struct
 * pop3_io_ops): the STLS command and pop3d_tls_wrappermode install them
 * on the stream (pop3_io_set_ops) after the handshake; without them the
 * stream is the plain descriptors.
 *
 * In the login phase the stream is read with `exact` set: no byte after
 * the LF of a command line is consumed (MSG_PEEK on a socket), so the
 * connection can be handed to the mailbox process with nothing lost that
 * a pipelining client sent after PASS. (Under TLS the login process keeps
 * the session and relays instead; see docs/pop3d.md.)
 */
#ifndef TINYMTA_POP3_IO_H
#define TINYMTA_POP3_IO_H

#include <stddef.h>
#include <sys/types.h>

#define POP3_IO_RBUF 4096
#define POP3_IO_WBUF 16384

/* A transport over the descriptors (TLS). read and write behave like
 * read(2)/write(2) (-1 with errno, EAGAIN allowed); pending says how many
 * decrypted bytes wait, so that poll is skipped. */
struct pop3_io_ops {
	ssize_t (*read)(void *ctx, void *buf, size_t len);
	ssize_t (*write)(void *ctx, const void *buf, size_t len);
	size_t (*pending)(void *ctx);
};

struct pop3_io {
	int rfd, wfd;
	const struct pop3_io_ops *ops; /* NULL: plain descriptors */
	void *ctx;
	int timeout_ms;     /* per line (a slow trickle of bytes does not extend
	                       it) */
	long long deadline; /* of the line being read, monotonic ms */
	int exact;          /* read nothing past a line's LF */
	/* Called every idle_ms while waiting for input (0: never); a
	 * non-zero return ends the wait with an error. */
	int (*idle)(void *arg);
	void *idle_arg;
	int idle_ms;
	/* 1 when the process must stop (SIGTERM): checked when a wait is
	 * interrupted; the wait then fails with POP3_IO_STOP. NULL: never. */
	int (*stopping)(void);
	size_t rpos, rlen, wlen;
	char rbuf[POP3_IO_RBUF];
	char wbuf[POP3_IO_WBUF];
};

enum pop3_io_res {
	POP3_IO_LINE = 1, /* a line (with its line end) */
	POP3_IO_EOF = 0,  /* the client closed */
	POP3_IO_ERR = -1, /* read error or idle failure (errno) */
	POP3_IO_TIMEOUT = -2,
	POP3_IO_LONG = -3, /* the line did not fit; it was skipped */
	POP3_IO_STOP = -4  /* io->stopping said so */
};

void pop3_io_init(struct pop3_io *io, int rfd, int wfd, int timeout_ms);
void pop3_io_set_ops(struct pop3_io *io, const struct pop3_io_ops *ops,
                     void *ctx);
/* Read one line into line[cap] (not NUL-terminated; *len with its LF).
 * Output is flushed first. */
enum pop3_io_res pop3_io_line(struct pop3_io *io, char *line, size_t cap,
                              size_t *len);
/* Queue bytes (written when the buffer fills or at flush). 0 or -1. */
int pop3_io_put(struct pop3_io *io, const void *p, size_t n);
int pop3_io_printf(struct pop3_io *io, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int pop3_io_flush(struct pop3_io *io);
/* The monotonic clock in milliseconds (deadlines). */
long long pop3_io_now_ms(void);

#endif
