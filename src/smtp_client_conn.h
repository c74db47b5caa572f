/*
 * smtp_client_conn.h - the smtp client's connection: a TCP connect with a
 * timeout, buffered writes, replies read through the parser of
 * smtp_client_reply.h, every wait bounded by a deadline (poll). Bytes go
 * through the read/write function pointers of struct smtpc_io, so that
 * STARTTLS can later put BearSSL in between (smtpc_conn_set_io) without
 * touching the session code.
 */
#ifndef TINYMTA_SMTP_CLIENT_CONN_H
#define TINYMTA_SMTP_CLIENT_CONN_H

#include "smtp_client_reply.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define SMTPC_RBUF 4096
#define SMTPC_WBUF 16384

struct smtpc_conn;

/* One transport. read/write move at most n bytes and may wait until
 * deadline_ms (clock_mono milliseconds; 0: no limit): >0 bytes, 0 end of
 * stream (read), -1 with errno (ETIMEDOUT when the deadline passed). */
struct smtpc_io {
	ssize_t (*read)(struct smtpc_conn *c, void *buf, size_t n,
	                int64_t deadline_ms);
	ssize_t (*write)(struct smtpc_conn *c, const void *buf, size_t n,
	                 int64_t deadline_ms);
	void (*close)(struct smtpc_conn *c); /* NULL, or before close(2) */
	void *ctx;                           /* the TLS session */
};

struct smtpc_conn {
	int fd;
	struct smtpc_io io;
	int64_t deadline_ms; /* of the current step */
	size_t rpos, rlen;
	size_t wlen;
	char rbuf[SMTPC_RBUF];
	char wbuf[SMTPC_WBUF];
	char err[200]; /* the last failure, e.g. "Connection timed out" */
	int timed_out; /* the last failure was the deadline */
	/* NULL, or called with each command line (sent = 1, the line of
	 * smtpc_conn_printf) and each whole reply (sent = 0, its text):
	 * `tinymta test-relay`'s transcript. Survives smtpc_conn_open. */
	void (*trace)(void *ctx, int sent, const char *p, size_t n);
	void *trace_ctx;
};

/* Milliseconds of the monotonic clock. */
int64_t smtpc_now_ms(void);

/* Connect to sa with timeout seconds (0: the kernel's own); plain TCP I/O.
 * 0, or -1 with c->err set (strerror of the failure). */
int smtpc_conn_open(struct smtpc_conn *c, const struct sockaddr *sa,
                    socklen_t len, long long timeout);
/* Replace the transport (STARTTLS): buffered input is dropped first, as
 * Postfix does (no plaintext injection, CVE-2011-0411). */
void smtpc_conn_set_io(struct smtpc_conn *c, const struct smtpc_io *io);
/* The following steps must end within seconds from now. */
void smtpc_conn_deadline(struct smtpc_conn *c, long long seconds);
/* Queue bytes (flushed when the buffer fills, by smtpc_conn_flush and
 * before a reply is read). 0, or -1 with c->err. */
int smtpc_conn_put(struct smtpc_conn *c, const void *p, size_t n);
int smtpc_conn_printf(struct smtpc_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int smtpc_conn_flush(struct smtpc_conn *c);
/* Flush, then read one whole reply into r. 0, or -1 with c->err (lost
 * connection, timeout, or the parser's reason). */
int smtpc_conn_reply(struct smtpc_conn *c, struct smtpc_reply *r);
/* 1 when the server sent bytes not read yet (buffered or waiting in the
 * socket): after the 220 to STARTTLS that is an injection attempt. */
int smtpc_conn_pending(struct smtpc_conn *c);
/* 1 when a connection that waited between transactions cannot take the
 * next one: the server closed it, or sent something nobody asked for (a
 * 421 before closing, for one). */
int smtpc_conn_idle_broken(struct smtpc_conn *c);
void smtpc_conn_close(struct smtpc_conn *c);

#endif
