/*
 * smtp_client_norewrite.c - TEMPORARY: weak stand-ins for rewrite.h until
 * branch `rewrite` (src/rewrite.c, src/rewrite_header.c) is merged; the
 * real functions replace these at link time. Until then nothing is
 * rewritten when mail leaves. Delete this file once rewrite.c is in.
 */
#include "qfile.h"
#include "rewrite.h"
#include "util/str.h"

__attribute__((weak)) int
rewrite_addr(const struct conf *c, enum rewrite_where where, const char *addr,
             char *out, size_t outlen, char *why, size_t whylen)
{
	(void)c;
	(void)where;
	(void)why;
	(void)whylen;
	return str_copy(out, outlen, addr) < 0 ? -1 : 0;
}

__attribute__((weak)) int
rewrite_content(const struct conf *c, int out, struct qfile_reader *r,
                rewrite_emit_fn *emit, void *ctx, char *why, size_t whylen)
{
	char buf[8192];
	ssize_t n;

	(void)c;
	(void)out;
	(void)why;
	(void)whylen;
	qfile_content_rewind(r);
	while ((n = qfile_content_read(r, buf, sizeof buf)) > 0)
		if (emit(ctx, buf, (size_t)n) < 0)
			return -1;
	return n < 0 ? -1 : 0;
}
