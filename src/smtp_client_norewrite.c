/*
 * smtp_client_norewrite.c - TEMPORARY: weak stand-ins for rewrite.h until
 * branch `rewrite` (src/rewrite.c, src/rewrite_header.c) is merged; the
 * real functions replace these at link time. Until then nothing is
 * rewritten when mail leaves. Delete this file once rewrite.c is in.
 */
#include "rewrite.h"
#include "util/str.h"

#include <string.h>

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

__attribute__((weak)) void
rewrite_hdr_init(struct rewrite_hdr *st, int out)
{
	memset(st, 0, sizeof *st);
	st->out = out;
}

__attribute__((weak)) ssize_t
rewrite_header(const struct conf *c, struct rewrite_hdr *st, const char *field,
               size_t len, char *out, size_t outcap)
{
	(void)c;
	(void)st;
	if (len > outcap)
		return -1;
	memcpy(out, field, len);
	return (ssize_t)len;
}

__attribute__((weak)) ssize_t
rewrite_header_end(const struct conf *c, struct rewrite_hdr *st, char *out,
                   size_t outcap)
{
	(void)c;
	(void)st;
	(void)out;
	(void)outcap;
	return 0;
}
