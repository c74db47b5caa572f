/*
 * smtp_data.h - the DATA byte state machine (PURE: no I/O, no globals, no
 * logging): SMTP text in, canonical content out (lines end in LF alone,
 * docs/queue-format.md), dot-unstuffing, and the end of the message ONLY
 * at CRLF "." CRLF (RFC 5321 4.1.1.4): a bare LF or a bare CR never ends
 * DATA and never starts a second message (SMTP smuggling, CVE-2023-51764).
 *
 * Line ends: CRLF ends a line. A bare LF (not after CR) also ends a line
 * in the content ("normalize", Postfix's default) and is counted in
 * bare_lf, so that the caller can refuse it ("reject"). A bare CR is a
 * data byte and is stored as such. A line that starts with "." loses that
 * dot (RFC 5321 4.5.2), also when it ends in a bare LF; only ".\r\n" right
 * after a CRLF is the end. NUL bytes are passed on and counted in nul.
 */
#ifndef TINYMTA_SMTP_DATA_H
#define TINYMTA_SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>

enum smtp_data_state {
	SMTP_DS_SOL,   /* start of a line */
	SMTP_DS_BODY,  /* inside a line */
	SMTP_DS_CR,    /* a CR inside a line, not yet known to end it */
	SMTP_DS_DOT,   /* "." at the start of a line */
	SMTP_DS_DOTCR, /* "." CR at the start of a line */
	SMTP_DS_END    /* CRLF.CRLF seen */
};

struct smtp_data {
	enum smtp_data_state state;
	int sol_crlf;     /* the current line began after a CRLF */
	uint64_t size;    /* content bytes produced so far */
	uint64_t bare_lf; /* bare LFs seen (each stored as a line end) */
	uint64_t nul;     /* NUL bytes seen (stored) */
};

enum smtp_data_ret {
	SMTP_DATA_MORE, /* all input used; feed more */
	SMTP_DATA_END   /* the end sequence was consumed; *used says where */
};

/* The output of one smtp_data_feed needs at most len + SMTP_DATA_SLACK. */
#define SMTP_DATA_SLACK 2

/* Start a message: the DATA command line has just ended. */
void smtp_data_init(struct smtp_data *d);
/* Run in[0..len) through the machine. Writes canonical content to
 * out[0..*outlen) (out holds at least len + SMTP_DATA_SLACK bytes) and
 * sets *used to the input bytes consumed: len for SMTP_DATA_MORE, the
 * offset just after the final LF for SMTP_DATA_END (the bytes after it
 * are the next commands of a pipelining client). */
enum smtp_data_ret smtp_data_feed(struct smtp_data *d, const unsigned char *in,
                                  size_t len, unsigned char *out,
                                  size_t *outlen, size_t *used);

#endif
