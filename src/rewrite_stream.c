/*
 * rewrite_stream.c - a queue file's content passed on with its header
 * fields rewritten (rewrite_content in rewrite.h): by pickup into the new
 * queue file (queue entry: Postfix rewrites the headers of locally
 * submitted mail), by the smtp client onto the wire (relaying out). The
 * content is UNTRUSTED message text: the header is cut into fields with
 * header.c inside a fixed buffer; a field over HEADER_FIELD_MAX ends the
 * rewriting and the rest is passed as it is; a field that does not parse
 * passes unchanged.
 */
#include "header.h"
#include "rewrite.h"
#include "util/mem.h"
#include "util/str.h"

#include <string.h>

/* Input: room for two largest fields, so that compacting it (memmove)
 * costs about the size of the header; output: one field grown by
 * rewriting. */
#define IN_CAP (2 * HEADER_FIELD_MAX + 4096)
#define OUT_CAP (2 * HEADER_FIELD_MAX)

struct pr {
	struct qfile_reader *r;
	char *in, *out;
	size_t len, start; /* in[start..len) not yet handled */
	int eof;
	struct rewrite_hdr st;
};

/* Move the unhandled bytes to the front and read until full or EOF. */
static int
fill(struct pr *p)
{
	ssize_t n;

	memmove(p->in, p->in + p->start, p->len - p->start);
	p->len -= p->start;
	p->start = 0;
	while (!p->eof && p->len < IN_CAP) {
		n = qfile_content_read(p->r, p->in + p->len, IN_CAP - p->len);
		if (n < 0)
			return -1;
		if (n == 0)
			p->eof = 1;
		p->len += (size_t)n;
	}
	return 0;
}

/* The header, field by field. 0 done (the rest of in[] is the body or
 * text to copy as is), -1 read or write error, -2 map error. */
static int
header(const struct conf *c, struct pr *p, rewrite_emit_fn *emit, void *ctx)
{
	struct header_field f;
	size_t pos, errpos;
	ssize_t n;

	for (;;) {
		/* at least a largest field after start, unless at EOF */
		if (!p->eof && p->len - p->start <= HEADER_FIELD_MAX + 2 &&
		    fill(p) < 0)
			return -1;
		pos = p->start;
		if (header_next(p->in, p->len, &pos, &f, &errpos) !=
		        HEADER_OK ||
		    (f.end == p->len && !p->eof))
			break;
		n = rewrite_header(c, &p->st, p->in + f.start, f.end - f.start,
		                   p->out, OUT_CAP);
		if (n < 0 && p->st.map_err)
			return -2;
		if (n < 0 ? emit(ctx, p->in + f.start, f.end - f.start)
		          : emit(ctx, p->out, (size_t)n))
			return -1;
		p->start = f.end;
	}
	n = rewrite_header_end(c, &p->st, p->out, OUT_CAP);
	if (n > 0 && emit(ctx, p->out, (size_t)n) < 0)
		return -1;
	return 0;
}

/* 1 when a parameter that rewrites header fields is set for out. */
static int
needed(const struct conf *c, int out)
{
	static const char *const entry[] = {"sender_canonical_maps",
	                                    "recipient_canonical_maps",
	                                    "masquerade_domains", NULL};
	static const char *const relay[] = {"smtp_generic_maps",
	                                    "tinymta_sender_address", NULL};

	for (const char *const *n = out ? relay : entry; *n; n++) {
		const char *v = conf_get(c, *n);

		if (v && *v)
			return 1;
	}
	return 0;
}

/* Nothing to rewrite: a plain copy, without the big buffers. */
static int
copy_plain(struct qfile_reader *r, rewrite_emit_fn *emit, void *ctx)
{
	char buf[4096];
	ssize_t n;

	qfile_content_rewind(r);
	while ((n = qfile_content_read(r, buf, sizeof buf)) > 0)
		if (emit(ctx, buf, (size_t)n) < 0)
			return -1;
	return n < 0 ? -1 : 0;
}

int
rewrite_content(const struct conf *c, int out, struct qfile_reader *r,
                rewrite_emit_fn *emit, void *ctx, char *why, size_t whylen)
{
	struct pr *p = NULL;
	ssize_t n = 0;
	int rc = -1;

	why[0] = '\0';
	if (!needed(c, out))
		return copy_plain(r, emit, ctx);
	p = mem_big_alloc(sizeof *p);
	if (!p || !(p->in = mem_big_alloc(IN_CAP)) ||
	    !(p->out = mem_big_alloc(OUT_CAP)))
		goto done;
	p->r = r;
	rewrite_hdr_init(&p->st, out);
	qfile_content_rewind(r);
	rc = header(c, p, emit, ctx);
	if (rc == -2)
		str_copy(why, whylen, p->st.why);
	if (rc == 0 && p->len > p->start &&
	    emit(ctx, p->in + p->start, p->len - p->start) < 0)
		rc = -1;
	while (rc == 0 && (n = qfile_content_read(r, p->in, IN_CAP)) > 0)
		if (emit(ctx, p->in, (size_t)n) < 0)
			rc = -1;
	if (rc == 0 && n < 0)
		rc = -1;
done:
	if (p) {
		mem_big_free(p->in, IN_CAP);
		mem_big_free(p->out, OUT_CAP);
	}
	mem_big_free(p, sizeof *p);
	return rc;
}
