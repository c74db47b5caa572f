/*
 * map_parse.c - PURE: logical lines and `key value` entries of lookup table
 * sources (see map_parse.h). Used by postmap and postalias (run by the
 * administrator, or by the web UI's user), tests and fuzzers. Untrusted
 * input: the whole source text; every scan is bounded by its length and
 * every copy by the caller's capacity.
 */
#include "map_parse.h"
#include "map.h"
#include "util/str.h"

#include <string.h>

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

void
map_lines_init(struct map_lines *r, const char *in, size_t len)
{
	r->p = in;
	r->end = in + len;
	r->line = 1;
}

/* The physical line at r->p: [*s, *s + *n) without the newline and
 * trailing blanks; returns the start of the line after it. */
static const char *
physical(const struct map_lines *r, const char **s, size_t *n)
{
	const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	const char *next = nl ? nl + 1 : r->end, *e = nl ? nl : r->end;

	*s = r->p;
	while (e > *s && is_blank(e[-1]))
		e--;
	*n = (size_t)(e - *s);
	return next;
}

/* Append piece to buf (after a space when buf is not empty). */
static int
append(char *buf, size_t cap, size_t *len, const char *piece, size_t n)
{
	size_t need = n + (*len ? 1 : 0);

	if (need >= cap - *len)
		return -1;
	if (*len)
		buf[(*len)++] = ' ';
	memcpy(buf + *len, piece, n);
	*len += n;
	buf[*len] = '\0';
	return 0;
}

/* Check one physical line; 0 or -1 with *err. */
static int
check_physical(const struct map_lines *r, const char *next,
               enum map_parse_err *err)
{
	size_t raw = (size_t)(next - r->p);

	if (memchr(r->p, '\0', raw)) {
		*err = MAP_PARSE_NUL;
		return -1;
	}
	if (raw > MAP_LINE_MAX + 1) {
		*err = MAP_PARSE_TOO_LONG;
		return -1;
	}
	return 0;
}

static int
fail(unsigned line, unsigned *lineno, enum map_parse_err *err,
     enum map_parse_err e)
{
	*lineno = line;
	*err = e;
	return -1;
}

int
map_lines_next(struct map_lines *r, char *buf, size_t cap, size_t *len,
               unsigned *lineno, enum map_parse_err *err)
{
	int have = 0;

	*len = 0;
	if (cap == 0)
		return fail(r->line, lineno, err, MAP_PARSE_TOO_LONG);
	buf[0] = '\0';
	/* loop invariant: r->p is the start of an unconsumed physical line */
	while (r->p < r->end) {
		const char *s, *t, *next;
		size_t n;

		next = physical(r, &s, &n);
		if (check_physical(r, next, err) < 0)
			return fail(r->line, lineno, err, *err);
		for (t = s; t < s + n && is_blank(*t); t++)
			;
		if (t < s + n && *t != '#' && t == s && have)
			return 1; /* the next entry starts here */
		if (t < s + n && *t != '#') {
			if (t != s && !have)
				return fail(r->line, lineno, err,
				            MAP_PARSE_ORPHAN);
			if (!have)
				*lineno = r->line;
			if (append(buf, cap, len, t, (size_t)(s + n - t)) < 0)
				return fail(r->line, lineno, err,
				            MAP_PARSE_TOO_LONG);
			have = 1;
		}
		r->p = next;
		r->line++;
	}
	return have;
}

long
map_parse_quoted(const char *s, size_t len, char *out, size_t cap,
                 size_t *outlen)
{
	size_t o = 0, i;

	/* loop invariant: s[0..i) consumed, o bytes of contents produced */
	for (i = 1; i < len && s[i] != '"'; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		if (cap) {
			if (o + 1 >= cap)
				return -1;
			out[o] = s[i];
		}
		o++;
	}
	if (i >= len)
		return 0;
	if (cap)
		out[o] = '\0';
	if (outlen)
		*outlen = o;
	return (long)(i + 1);
}

static enum map_parse_err
parse_key(const char *line, size_t len, char *key, size_t kcap, size_t *klen,
          size_t *used)
{
	size_t cap = kcap < MAP_KEY_MAX + 1 ? kcap : MAP_KEY_MAX + 1, i;
	long q;

	if (len > 0 && line[0] == '"') {
		q = map_parse_quoted(line, len, key, cap, klen);
		if (q == 0)
			return MAP_PARSE_QUOTE;
		if (q < 0)
			return MAP_PARSE_KEY_TOO_LONG;
		if (*klen == 0)
			return MAP_PARSE_EMPTY_KEY;
		*used = (size_t)q;
	} else {
		for (i = 0; i < len && !is_blank(line[i]); i++)
			;
		if (str_copy_n(key, cap, line, i) < 0)
			return MAP_PARSE_KEY_TOO_LONG;
		*klen = i;
		*used = i;
	}
	for (i = 0; i < *klen; i++)
		if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f)
			return MAP_PARSE_CONTROL;
	return MAP_PARSE_OK;
}

enum map_parse_err
map_parse_entry(const char *line, size_t len, char *key, size_t kcap,
                size_t *klen, const char **val, size_t *vlen)
{
	size_t used = 0;
	enum map_parse_err e = parse_key(line, len, key, kcap, klen, &used);

	if (e != MAP_PARSE_OK)
		return e;
	if (used < len && !is_blank(line[used]))
		return MAP_PARSE_QUOTE; /* "key"junk */
	while (used < len && is_blank(line[used]))
		used++;
	while (len > used && is_blank(line[len - 1]))
		len--;
	if (used >= len)
		return MAP_PARSE_NO_VALUE;
	*val = line + used;
	*vlen = len - used;
	return MAP_PARSE_OK;
}

const char *
map_parse_strerror(enum map_parse_err err)
{
	static const char *const text[] = {
	    [MAP_PARSE_OK] = "no error",
	    [MAP_PARSE_NUL] = "NUL byte in input",
	    [MAP_PARSE_TOO_LONG] = "line too long",
	    [MAP_PARSE_ORPHAN] = "continuation line (starting with white "
	                         "space) without an entry before it",
	    [MAP_PARSE_NO_VALUE] = "missing value (expected format: key "
	                           "whitespace value)",
	    [MAP_PARSE_KEY_TOO_LONG] = "key too long",
	    [MAP_PARSE_EMPTY_KEY] = "empty key",
	    [MAP_PARSE_QUOTE] = "bad quoting in key (a quoted key must be "
	                        "followed by white space)",
	    [MAP_PARSE_CONTROL] = "control character in key",
	};

	if ((unsigned)err >= sizeof text / sizeof text[0])
		return "unknown error";
	return text[err];
}
