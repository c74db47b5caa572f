/*
 * smtp_client_reply.h - the smtp client's parser of server replies (PURE:
 * no I/O, no globals, no logging; fuzzed by tests/fuzz/fuzz_smtp_reply.c)
 * and of the EHLO keywords. A reply is one or more lines "NNN-text" ending
 * with "NNN text" (RFC 5321 4.2); lines end in CRLF (a bare LF is taken
 * too, as Postfix does). Everything is bounded: a line over
 * SMTPC_LINE_MAX, more than SMTPC_LINES_MAX lines, a NUL, a code that is
 * not three digits 2xx..5xx, a continuation line with another code: each
 * is an error with a reason, never unbounded memory.
 */
#ifndef TINYMTA_SMTP_CLIENT_REPLY_H
#define TINYMTA_SMTP_CLIENT_REPLY_H

#include <stddef.h>
#include <stdint.h>

/* One reply line without its CRLF. RFC 5321 4.5.3.1.5 says 512 with the
 * CRLF; real servers send longer ones (Postfix reads up to 2048). */
#define SMTPC_LINE_MAX 2048
/* Lines of one reply (an EHLO reply has about 15). */
#define SMTPC_LINES_MAX 100
/* Text kept of a reply: its lines joined by '\n' (codes included); the
 * rest of a longer reply is parsed and dropped (truncated set). */
#define SMTPC_TEXT_MAX 4096

enum smtpc_rstat {
	SMTPC_R_MORE = 0, /* all input used, the reply is not complete */
	SMTPC_R_DONE = 1, /* a whole reply: code and text are set */
	SMTPC_R_ERR = 2,  /* malformed: err says why; the stream is unusable */
};

struct smtpc_reply {
	int code;       /* 200..599 */
	unsigned lines; /* lines so far */
	int truncated;  /* text lost lines past SMTPC_TEXT_MAX */
	size_t textlen;
	char text[SMTPC_TEXT_MAX + 1];
	const char *err; /* SMTPC_R_ERR: a static reason */
	/* private: the line being read */
	size_t linelen;
	int st;
	char line[SMTPC_LINE_MAX + 1];
};

void smtpc_reply_init(struct smtpc_reply *r);
/* Feed n bytes of the server's stream. Consumes bytes up to the end of a
 * reply (the rest, e.g. the next pipelined reply, stays for the next
 * call: *used says how many were taken) or up to an error. After DONE or
 * ERR, call smtpc_reply_init before the next reply. */
enum smtpc_rstat smtpc_reply_feed(struct smtpc_reply *r, const char *p,
                                  size_t n, size_t *used);

/* The enhanced status code (RFC 3463) of the reply's first line into
 * dsn[cap] when it has one of the reply's class ("5.1.1" after "550 "),
 * else the class default ("2.0.0", "4.0.0", "5.0.0"). */
void smtpc_reply_dsn(const struct smtpc_reply *r, char *dsn, size_t cap);
/* The reply's text on one printable line (lines joined by a space,
 * control and 8-bit bytes as '?'), cut to cap. */
void smtpc_reply_line(const struct smtpc_reply *r, char *out, size_t cap);

/* ESMTP extensions from an EHLO reply (RFC 5321 4.1.1.1: the keyword
 * lines after the first). */
#define SMTPC_EXT_PIPELINING 0x01
#define SMTPC_EXT_SIZE 0x02
#define SMTPC_EXT_8BITMIME 0x04
#define SMTPC_EXT_STARTTLS 0x08
#define SMTPC_EXT_SMTPUTF8 0x10
#define SMTPC_EXT_DSN 0x20
#define SMTPC_EXT_AUTH 0x40
#define SMTPC_AUTH_MAX 200

struct smtpc_ext {
	unsigned flags;
	uint64_t size;             /* SIZE n; 0: no limit given */
	char auth[SMTPC_AUTH_MAX]; /* AUTH mechanisms, for SASL later */
};

void smtpc_ehlo_parse(const struct smtpc_reply *r, struct smtpc_ext *ext);

#endif
