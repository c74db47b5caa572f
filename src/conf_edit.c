/*
 * conf_edit.c - the text side of `postconf -e`: main.cf with some
 * parameters replaced in place or appended, comments, blank lines and
 * order kept, as Postfix's edit_parameters() does (see conf.h). PURE: no
 * I/O; the caller validates the result and writes it atomically. The
 * input text is untrusted and may hold anything, NUL bytes included.
 */
#include "conf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ISWS(ch)                                                               \
	((ch) == ' ' || (ch) == '\t' || (ch) == '\r' || (ch) == '\v' ||        \
	 (ch) == '\f')

struct obuf {
	char *p;
	size_t len, cap;
	int err;
};

static void
emit(struct obuf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (n > CONF_FILE_MAX + 1 - b->len) { /* + its NUL */
		b->err = EFBIG; /* more than conf_load would ever read */
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *np;

		while (cap < b->len + n)
			cap *= 2; /* at most 2 * CONF_FILE_MAX */
		np = realloc(b->p, cap);
		if (!np) {
			b->err = ENOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
emit_param(struct obuf *b, const char *name, const char *value)
{
	emit(b, name, strlen(name));
	emit(b, *value ? " = " : " =", *value ? 3 : 2);
	emit(b, value, strlen(value));
	emit(b, "\n", 1);
}

/* The edit for the name at the start of line s[n], or -1. The last of
 * several edits of one name wins. */
static long
find_edit(const char *s, size_t n, const char *const *names, size_t count)
{
	size_t k = 0;

	while (k < n && !ISWS(s[k]) && s[k] != '=' && s[k] != '\n')
		k++;
	for (size_t i = count; i-- > 0;)
		if (strlen(names[i]) == k && memcmp(names[i], s, k) == 0)
			return (long)i;
	return -1;
}

int
conf_edit_text(const char *in, size_t len, const char *const *names,
               const char *const *values, size_t n, char **out, size_t *outlen)
{
	struct obuf b = {NULL, 0, 0, 0};
	unsigned char *found = calloc(n ? n : 1, 1);
	const char *p = in, *end = in + len;
	int interesting = 0;

	if (!found)
		return -1;
	/* loop invariant: in[0..p) is copied or replaced into b */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ln = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p),
		       i = 0;
		long e;

		while (i < ln && ISWS(p[i]))
			i++;
		if (i == ln || p[i] == '#' || p[i] == '\n') {
			emit(&b, p, ln); /* comment or blank: always kept */
		} else if (i > 0) {
			if (!interesting)
				emit(&b, p, ln);
		} else if ((e = find_edit(p, ln, names, n)) >= 0) {
			found[e] = interesting = 1;
			emit_param(&b, names[e], values[e]);
		} else {
			interesting = 0;
			emit(&b, p, ln);
		}
		p += ln;
	}
	for (size_t i = 0; i < n; i++) {
		int later = 0;

		for (size_t j = i + 1; j < n; j++)
			later |= strcmp(names[i], names[j]) == 0;
		if (found[i] || later)
			continue;
		if (b.len > 0 && b.p[b.len - 1] != '\n')
			emit(&b, "\n", 1);
		emit_param(&b, names[i], values[i]);
	}
	free(found);
	emit(&b, "", 1); /* the NUL, not counted */
	if (b.err) {
		free(b.p);
		errno = b.err;
		return -1;
	}
	b.len--;
	*out = b.p;
	*outlen = b.len;
	return 0;
}
