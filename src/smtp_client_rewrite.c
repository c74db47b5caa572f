/*
 * smtp_client_rewrite.c - what the smtp agent changes when mail leaves:
 * the envelope addresses and the header fields (rewrite.h, RW_OUT_*:
 * smtp_generic_maps, tinymta_sender_address), and the content streamed
 * from the queue file through the DATA encoder (smtp_client_data.h).
 * The header section (up to the first empty line) is cut into whole
 * fields (with their folded lines) for rewrite_header; a field over
 * SMTPC_FIELD_MAX, or one it cannot parse, goes out unchanged. Runs as
 * mail_owner; the content is untrusted bytes.
 */
#include "smtp_client.h"
#include "smtp_client_data.h"
#include "util/str.h"

#include <string.h>

enum { H_SOL, H_LINE, H_BODY };

int
smtpc_rewrite_sender(const struct smtpc *s, const char *addr, char *out,
                     size_t cap, char *why, size_t whylen)
{
	return rewrite_addr(s->role.conf, RW_OUT_SENDER, addr, out, cap, why,
	                    whylen) < 0
	           ? -1
	           : 0;
}

int
smtpc_rewrite_rcpt(const struct smtpc *s, const char *addr, char *out,
                   size_t cap, char *why, size_t whylen)
{
	return rewrite_addr(s->role.conf, RW_OUT_RCPT, addr, out, cap, why,
	                    whylen) < 0
	           ? -1
	           : 0;
}

/* Encode p[0..n) and queue it on the connection. */
static int
put_encoded(struct smtpc *s, struct smtpc_dot *d, const char *p, size_t n)
{
	char out[8192];

	while (n > 0) {
		size_t used = 0,
		       o = smtpc_dot_encode(d, p, n, out, sizeof out, &used);

		/* each buffer gets its own data_xfer deadline (Postfix's
		 * smtp_data_xfer_timeout is per write) */
		smtpc_conn_deadline(&s->conn, SMTPC_DATA_XFER_TIMEOUT);
		if (smtpc_conn_put(&s->conn, out, o) < 0)
			return -1;
		p += used;
		n -= used;
	}
	return 0;
}

/* The buffered field: rewritten, or as it is. */
static int
field_done(struct smtpc *s, struct smtpc_dot *d)
{
	struct smtpc_hdrs *h = &s->hdrs;
	ssize_t n;
	int r;

	if (h->len == 0 || h->raw) {
		h->len = 0;
		h->raw = 0;
		return 0;
	}
	n = rewrite_header(s->role.conf, &h->st, h->field, h->len, h->out,
	                   sizeof h->out);
	if (n < 0 && h->st.map_err) {
		str_copy(s->why, sizeof s->why, h->st.why);
		str_copy(s->why_dsn, sizeof s->why_dsn, "4.3.0");
		return -2;
	}
	r = n < 0 ? put_encoded(s, d, h->field, h->len)
	          : put_encoded(s, d, h->out, (size_t)n);
	h->len = 0;
	return r;
}

/* The header section is over: the last field, then the added ones. */
static int
header_end(struct smtpc *s, struct smtpc_dot *d)
{
	struct smtpc_hdrs *h = &s->hdrs;
	int r = field_done(s, d);
	ssize_t n;

	h->state = H_BODY;
	if (r < 0)
		return r;
	n = rewrite_header_end(s->role.conf, &h->st, h->out, sizeof h->out);
	return n > 0 ? put_encoded(s, d, h->out, (size_t)n) : 0;
}

/* Feed stored content; the header fields go through rewrite_header. */
static int
feed(struct smtpc *s, struct smtpc_dot *d, const char *p, size_t n)
{
	struct smtpc_hdrs *h = &s->hdrs;
	int r;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (h->state == H_BODY)
			return put_encoded(s, d, p + i, n - i);
		if (h->state == H_SOL && c == '\n') {
			if ((r = header_end(s, d)) < 0)
				return r;
			if (put_encoded(s, d, "\n", 1) < 0)
				return -1;
			continue;
		}
		if (h->state == H_SOL && c != ' ' && c != '\t' &&
		    (r = field_done(s, d)) < 0)
			return r; /* a new field starts */
		h->state = c == '\n' ? H_SOL : H_LINE;
		if (h->raw) {
			if (put_encoded(s, d, &c, 1) < 0)
				return -1;
		} else if (h->len < sizeof h->field) {
			h->field[h->len++] = c;
		} else { /* too long to rewrite: send it as it is */
			if (put_encoded(s, d, h->field, h->len) < 0 ||
			    put_encoded(s, d, &c, 1) < 0)
				return -1;
			h->raw = 1;
		}
	}
	return 0;
}

int
smtpc_send_content(struct smtpc *s, struct qfile_reader *q)
{
	struct smtpc_dot d;
	char buf[8192], end[8];
	ssize_t n;
	int r = 0;
	size_t e;

	smtpc_dot_init(
	    &d, (size_t)conf_int(s->role.conf, "smtp_line_length_limit"));
	rewrite_hdr_init(&s->hdrs.st, 1);
	s->hdrs.state = H_SOL;
	s->hdrs.len = 0;
	s->hdrs.raw = 0;
	qfile_content_rewind(q);
	while (r == 0 && (n = qfile_content_read(q, buf, sizeof buf)) > 0)
		r = feed(s, &d, buf, (size_t)n);
	if (r == 0 && n < 0) {
		str_copy(s->conn.err, sizeof s->conn.err,
		         "cannot read the queue file");
		s->conn.timed_out = 0;
		r = -1;
	}
	if (r == 0 && s->hdrs.state != H_BODY) /* a message without body */
		r = header_end(s, &d);
	if (r < 0)
		return r;
	e = smtpc_dot_end(&d, end);
	return smtpc_conn_put(&s->conn, end, e);
}
