/*
 * pickup_rewrite.c - pickup's copy of a message's content into its new
 * queue file with the header fields rewritten for queue entry
 * (sender_canonical_maps, recipient_canonical_maps, masquerade_domains:
 * Postfix rewrites the headers of locally submitted mail). The content
 * comes from a validated private copy of an UNTRUSTED maildrop file: the
 * header is cut into fields with header.c inside a fixed buffer; a field
 * over HEADER_FIELD_MAX, or one that does not parse, ends the rewriting
 * and the rest is copied as it is.
 */
#include "header.h"
#include "pickup.h"
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
header(const struct conf *c, struct pr *p, struct qfile_writer *w)
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
		if (n < 0
		        ? qfile_put_content(w, p->in + f.start, f.end - f.start)
		        : qfile_put_content(w, p->out, (size_t)n))
			return -1;
		p->start = f.end;
	}
	n = rewrite_header_end(c, &p->st, p->out, OUT_CAP);
	if (n > 0 && qfile_put_content(w, p->out, (size_t)n) < 0)
		return -1;
	return 0;
}

int
pickup_copy_content(const struct conf *c, struct qfile_reader *r,
                    struct qfile_writer *w, char *why, size_t whylen)
{
	struct pr *p = mem_big_alloc(sizeof *p);
	ssize_t n = 0;
	int rc = -1;

	why[0] = '\0';
	if (!p || !(p->in = mem_big_alloc(IN_CAP)) ||
	    !(p->out = mem_big_alloc(OUT_CAP)))
		goto out;
	p->r = r;
	rewrite_hdr_init(&p->st, 0);
	qfile_content_rewind(r);
	rc = header(c, p, w);
	if (rc == -2)
		str_copy(why, whylen, p->st.why);
	if (rc == 0 &&
	    qfile_put_content(w, p->in + p->start, p->len - p->start) < 0)
		rc = -1;
	while (rc == 0 && (n = qfile_content_read(r, p->in, IN_CAP)) > 0)
		if (qfile_put_content(w, p->in, (size_t)n) < 0)
			rc = -1;
	if (rc == 0 && n < 0)
		rc = -1;
out:
	if (p) {
		mem_big_free(p->in, IN_CAP);
		mem_big_free(p->out, OUT_CAP);
	}
	mem_big_free(p, sizeof *p);
	return rc;
}
