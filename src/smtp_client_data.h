/*
 * smtp_client_data.h - the message content on the wire (PURE: no I/O, no
 * globals). The queue file holds the content in canonical form (LF line
 * ends, docs/queue-format.md "Content"); the encoder turns it into SMTP
 * DATA text:
 *   - every LF becomes CRLF; a stored CR (it is always bare: a received
 *     CRLF was stored as LF) becomes a space, so no bare CR or LF ever
 *     leaves and no line break is invented (outbound smuggling,
 *     docs/processes.md);
 *   - a line starting with "." gets another "." (RFC 5321 4.5.2);
 *   - a line longer than limit (smtp_line_length_limit, 0: none) is
 *     broken by inserting CRLF SPACE, as Postfix does, so no wire line is
 *     longer than limit (plus the doubled dot);
 *   - the end: CRLF when the content did not end with a line end, then
 *     ".CRLF".
 * The scanner tells before MAIL FROM whether the content has 8-bit bytes
 * (for BODY=8BITMIME) and how large it will be on the wire (for SIZE=).
 */
#ifndef TINYMTA_SMTP_CLIENT_DATA_H
#define TINYMTA_SMTP_CLIENT_DATA_H

#include <stddef.h>
#include <stdint.h>

struct smtpc_dot {
	size_t limit; /* 0: lines are not broken */
	size_t col;   /* content bytes on the current wire line */
};

/* Worst-case output bytes per input byte ("x" at the limit: CR LF SP x). */
#define SMTPC_DOT_GROWTH 4

void smtpc_dot_init(struct smtpc_dot *d, size_t limit);
/* Encode as much of in[0..n) as fits in out[cap]; *used: input bytes
 * consumed. Returns bytes written. Progress is guaranteed when cap >=
 * SMTPC_DOT_GROWTH. */
size_t smtpc_dot_encode(struct smtpc_dot *d, const char *in, size_t n,
                        char *out, size_t cap, size_t *used);
/* The end of the data: at most 5 bytes into out. Returns the length. */
size_t smtpc_dot_end(struct smtpc_dot *d, char *out);

struct smtpc_scan {
	int has8bit;   /* a byte >= 0x80 somewhere */
	uint64_t size; /* bytes with CRLF line ends */
};

void smtpc_scan_feed(struct smtpc_scan *s, const char *p, size_t n);

#endif
