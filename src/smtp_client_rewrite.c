/*
 * smtp_client_rewrite.c - what the smtp agent changes when mail leaves:
 * the envelope addresses and the header fields (rewrite.h, RW_OUT_*:
 * smtp_generic_maps, tinymta_sender_address), and the content streamed
 * from the queue file through the DATA encoder (smtp_client_data.h).
 * Runs as mail_owner; the content is untrusted bytes.
 */
#include "smtp_client.h"
#include "smtp_client_data.h"
#include "util/str.h"

#include <string.h>

int
smtpc_rewrite_sender(const struct smtpc *s, const char *addr, char *out,
                     size_t cap, char *why, size_t whylen)
{
	(void)s;
	(void)why;
	(void)whylen;
	/* rewrite_addr(RW_OUT_SENDER) once rewrite.c is merged */
	return str_copy(out, cap, addr) < 0 ? -1 : 0;
}

int
smtpc_rewrite_rcpt(const struct smtpc *s, const char *addr, char *out,
                   size_t cap, char *why, size_t whylen)
{
	(void)s;
	(void)why;
	(void)whylen;
	/* rewrite_addr(RW_OUT_RCPT) once rewrite.c is merged */
	return str_copy(out, cap, addr) < 0 ? -1 : 0;
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

int
smtpc_send_content(struct smtpc *s, struct qfile_reader *q)
{
	struct smtpc_dot d;
	char buf[8192], end[8];
	ssize_t n;
	size_t e;

	smtpc_dot_init(
	    &d, (size_t)conf_int(s->role.conf, "smtp_line_length_limit"));
	qfile_content_rewind(q);
	while ((n = qfile_content_read(q, buf, sizeof buf)) > 0)
		if (put_encoded(s, &d, buf, (size_t)n) < 0)
			return -1;
	if (n < 0) {
		str_copy(s->conn.err, sizeof s->conn.err,
		         "cannot read the queue file");
		s->conn.timed_out = 0;
		return -1;
	}
	e = smtpc_dot_end(&d, end);
	return smtpc_conn_put(&s->conn, end, e);
}
