/*
 * smtp_client_rewrite.c - what the smtp agent changes when mail leaves:
 * the envelope addresses and the header fields (rewrite.h, RW_OUT_*:
 * smtp_generic_maps, tinymta_sender_address), and the content streamed
 * from the queue file through the DATA encoder (smtp_client_data.h).
 * rewrite_content (rewrite.h) cuts the header section into whole fields
 * for rewrite_header and hands every piece to the DATA encoder. Runs as
 * mail_owner; the content is untrusted bytes.
 */
#include "smtp_client.h"
#include "smtp_client_data.h"
#include "util/str.h"

#include <string.h>

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

struct emit_ctx {
	struct smtpc *s;
	struct smtpc_dot *d;
};

static int
emit(void *ctx, const void *p, size_t n)
{
	struct emit_ctx *e = ctx;

	return put_encoded(e->s, e->d, p, n);
}

int
smtpc_send_content(struct smtpc *s, struct qfile_reader *q)
{
	struct smtpc_dot d;
	struct emit_ctx e = {s, &d};
	char end[8];
	int r;

	smtpc_dot_init(
	    &d, (size_t)conf_int(s->role.conf, "smtp_line_length_limit"));
	s->conn.err[0] = '\0';
	s->conn.timed_out = 0;
	r = rewrite_content(s->role.conf, 1, q, emit, &e, s->why,
	                    sizeof s->why);
	if (r == -2) {
		str_copy(s->why_dsn, sizeof s->why_dsn, "4.3.0");
		return -2;
	}
	if (r < 0) {
		if (!s->conn.err[0]) /* not the connection: the file */
			str_copy(s->conn.err, sizeof s->conn.err,
			         "cannot read the queue file");
		return -1;
	}
	return smtpc_conn_put(&s->conn, end, smtpc_dot_end(&d, end));
}
