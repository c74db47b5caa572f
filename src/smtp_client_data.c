/*
 * smtp_client_data.c - the message content as SMTP DATA text (see
 * smtp_client_data.h). PURE. Input: queue file content, which any local
 * user or SMTP client wrote: untrusted bytes, any of them.
 */
#include "smtp_client_data.h"

void
smtpc_dot_init(struct smtpc_dot *d, size_t limit)
{
	d->limit = limit;
	d->col = 0;
}

size_t
smtpc_dot_encode(struct smtpc_dot *d, const char *in, size_t n, char *out,
                 size_t cap, size_t *used)
{
	size_t i = 0, o = 0;

	/* loop invariant: o + SMTPC_DOT_GROWTH <= cap before each byte */
	for (; i < n && o + SMTPC_DOT_GROWTH <= cap; i++) {
		char c = in[i];

		if (c == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			d->col = 0;
			continue;
		}
		if (d->limit > 0 && d->col >= d->limit) {
			/* Postfix: CRLF SPACE keeps MIME and headers intact
			 * (a folded header; a space in the body) */
			out[o++] = '\r';
			out[o++] = '\n';
			out[o++] = ' ';
			d->col = 1;
		}
		if (c == '.' && d->col == 0)
			out[o++] = '.';
		out[o++] = c == '\r' ? ' ' : c;
		d->col++;
	}
	*used = i;
	return o;
}

size_t
smtpc_dot_end(struct smtpc_dot *d, char *out)
{
	size_t o = 0;

	if (d->col > 0) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o++] = '.';
	out[o++] = '\r';
	out[o++] = '\n';
	d->col = 0;
	return o;
}

void
smtpc_scan_feed(struct smtpc_scan *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x80)
			s->has8bit = 1;
		s->size += c == '\n' ? 2 : 1;
	}
}
