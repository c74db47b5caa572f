/*
 * smtp_data.c - DATA byte state machine (see smtp_data.h). PURE: runs in
 * smtpd (mail_owner) and the fuzzer; every input byte is UNTRUSTED.
 * No line buffer: a line of any length streams through in pieces.
 */
#include "smtp_data.h"

void
smtp_data_init(struct smtp_data *d)
{
	d->state = SMTP_DS_SOL;
	d->sol_crlf = 1; /* the DATA command ended the previous line */
	d->size = 0;
	d->bare_lf = 0;
	d->nul = 0;
}

/* One output byte. */
#define PUT(b) (out[o++] = (unsigned char)(b))

/* A line end: CRLF (crlf set) or a bare LF. */
static size_t
line_end(struct smtp_data *d, unsigned char *out, size_t o, int crlf)
{
	PUT('\n');
	if (!crlf)
		d->bare_lf++;
	d->sol_crlf = crlf;
	d->state = SMTP_DS_SOL;
	return o;
}

/* A byte inside a line (neither CR nor LF). */
static size_t
body_byte(struct smtp_data *d, unsigned char *out, size_t o, unsigned char c)
{
	if (c == '\0')
		d->nul++;
	PUT(c);
	d->state = SMTP_DS_BODY;
	return o;
}

/* Byte c in state d->state; returns the new output length. */
static size_t
step(struct smtp_data *d, unsigned char *out, size_t o, unsigned char c)
{
	switch (d->state) {
	case SMTP_DS_SOL:
	case SMTP_DS_BODY:
		if (c == '.' && d->state == SMTP_DS_SOL) {
			d->state = SMTP_DS_DOT;
			return o;
		}
		if (c == '\r') {
			d->state = SMTP_DS_CR;
			return o;
		}
		if (c == '\n')
			return line_end(d, out, o, 0);
		return body_byte(d, out, o, c);
	case SMTP_DS_CR:
	case SMTP_DS_DOTCR:
		if (c == '\n') {
			if (d->state == SMTP_DS_DOTCR && d->sol_crlf) {
				d->state = SMTP_DS_END;
				return o;
			}
			return line_end(d, out, o, 1);
		}
		PUT('\r'); /* the pending CR was bare: it is data */
		d->state = SMTP_DS_BODY;
		return step(d, out, o, c);
	case SMTP_DS_DOT: /* the dot is dropped (RFC 5321 4.5.2) */
		if (c == '\r') {
			d->state = SMTP_DS_DOTCR;
			return o;
		}
		if (c == '\n')
			return line_end(d, out, o, 0);
		return body_byte(d, out, o, c);
	case SMTP_DS_END:
		break;
	}
	return o;
}

enum smtp_data_ret
smtp_data_feed(struct smtp_data *d, const unsigned char *in, size_t len,
               unsigned char *out, size_t *outlen, size_t *used)
{
	size_t i, o = 0;

	/* loop invariant: o <= i + SMTP_DATA_SLACK (a pending CR adds one
	 * byte at most once per input byte consumed after it) */
	for (i = 0; i < len && d->state != SMTP_DS_END; i++)
		o = step(d, out, o, in[i]);
	d->size += o;
	*outlen = o;
	*used = i;
	return d->state == SMTP_DS_END ? SMTP_DATA_END : SMTP_DATA_MORE;
}
