/*
 * header.c - RFC 5322 header fields and address lists (see header.h).
 * PURE: no I/O, no globals, no allocation; outputs go to caller storage.
 * Runs in whichever role calls it (sendmail -t as the invoking user, local
 * delivery as the mailbox owner, the smtp client as mail_owner); the text
 * it parses is an untrusted message, so every scan is bounded by the
 * length given, comment nesting by HEADER_COMMENT_DEPTH, a field by
 * HEADER_FIELD_MAX and an extracted address by HEADER_ADDR_MAX.
 */
#include "header.h"

#include <stdint.h>
#include <string.h>

#define NONE SIZE_MAX

static const char *const errtext[] = {
    [HEADER_OK] = "ok",
    [HEADER_END] = "end of header",
    [HEADER_ERR_FIELD_LONG] = "header field longer than 102400 bytes",
    [HEADER_ERR_NAME_LONG] = "header field name longer than 256 bytes",
    [HEADER_ERR_TOO_MANY] = "too many header fields",
    [HEADER_ERR_QUOTE] = "unbalanced quotes",
    [HEADER_ERR_ANGLE] = "unbalanced angle brackets",
    [HEADER_ERR_COMMENT] = "unbalanced parentheses (comment)",
    [HEADER_ERR_DEPTH] = "comments nested too deeply",
    [HEADER_ERR_LITERAL] = "unterminated domain literal",
    [HEADER_ERR_EMPTY] = "empty address",
    [HEADER_ERR_PHRASE] =
        "words outside <...> (missing comma or angle brackets)",
    [HEADER_ERR_GROUP] = "nested group",
    [HEADER_ERR_SYNTAX] = "address syntax error",
    [HEADER_ERR_CTRL] = "control character",
    [HEADER_ERR_ADDR_LONG] = "address too long",
};

const char *
header_strerror(enum header_err e)
{
	if ((size_t)e >= sizeof errtext / sizeof errtext[0] || !errtext[e])
		return "unknown header error";
	return errtext[e];
}

/* Header fields (RFC 5322 2.2, 3.6; obs-optional 4.5.8) */

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* ftext: printable US-ASCII except ':' (RFC 5322 3.6.8). */
static int
is_ftext(int c)
{
	return c >= 33 && c <= 126 && c != ':';
}

int
header_is_field(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && is_ftext((unsigned char)p[i]))
		i++;
	if (i == 0)
		return 0;
	while (i < len && is_wsp((unsigned char)p[i]))
		i++;
	return i < len && p[i] == ':';
}

/* Offset just past the LF that ends the line at p, or len. */
static size_t
line_end(const char *buf, size_t len, size_t p)
{
	const char *lf = memchr(buf + p, '\n', len - p);

	return lf ? (size_t)(lf - buf) + 1 : len;
}

static int
is_empty_line(const char *buf, size_t len, size_t p)
{
	return buf[p] == '\n' ||
	       (buf[p] == '\r' && p + 1 < len && buf[p + 1] == '\n');
}

enum header_err
header_next(const char *buf, size_t len, size_t *pos, struct header_field *f,
            size_t *errpos)
{
	size_t p = *pos, i = p, e;

	if (p >= len || is_empty_line(buf, len, p) ||
	    !header_is_field(buf + p, len - p))
		return HEADER_END;
	*errpos = p;
	while (i < len && is_ftext((unsigned char)buf[i]))
		i++;
	if (i - p > HEADER_NAME_MAX)
		return HEADER_ERR_NAME_LONG;
	f->start = p;
	f->name_len = i - p;
	f->value = (const char *)memchr(buf + i, ':', len - i) - buf + 1;
	/* loop invariant: [p, e) holds the field's complete lines so far */
	e = line_end(buf, len, f->value);
	while (e < len && is_wsp((unsigned char)buf[e]))
		e = line_end(buf, len, e);
	f->end = e;
	if (e > f->value && buf[e - 1] == '\n')
		e--;
	if (e > f->value && buf[e - 1] == '\r' && f->end > e)
		e--;
	f->value_end = e;
	if (e - p > HEADER_FIELD_MAX)
		return HEADER_ERR_FIELD_LONG;
	*pos = f->end;
	return HEADER_OK;
}

enum header_err
header_split(const char *buf, size_t len, struct header_field *f, size_t cap,
             size_t *n, size_t *body_off, size_t *errpos)
{
	struct header_field tmp;
	size_t pos = 0;
	enum header_err e;

	*n = 0;
	*errpos = 0;
	while ((e = header_next(buf, len, &pos, &tmp, errpos)) == HEADER_OK) {
		if (*n == cap) {
			*errpos = tmp.start;
			return HEADER_ERR_TOO_MANY;
		}
		f[(*n)++] = tmp;
	}
	*body_off = pos;
	return e == HEADER_END ? HEADER_OK : e;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

int
header_name_is(const char *buf, const struct header_field *f, const char *name)
{
	size_t n = strlen(name);

	if (f->name_len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)buf[f->start + i]) !=
		    lower((unsigned char)name[i]))
			return 0;
	return 1;
}

/* Address lists (RFC 5322 3.4, obs-addr-list 4.4) */

static int
is_ctl(int c)
{
	return (c < 32 && c != '\t' && c != '\r' && c != '\n') || c == 127;
}

static int
is_fws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* specials (RFC 5322 3.2.3) that end an atom. */
static int
is_special(int c)
{
	return c && strchr("()<>[]:;@\\,.\"", c) != NULL;
}

/* Skip a construct that opens at v[*i] (quote, literal) and closes with
 * close, with quoted-pairs inside. On error *i is the byte at fault. */
static enum header_err
skip_pair(const char *v, size_t len, size_t *i, char close,
          enum header_err unterminated)
{
	size_t j = *i + 1;

	/* loop invariant: v[*i+1 .. j) holds no unescaped close */
	for (; j < len && v[j] != close; j++) {
		if (v[j] == '\\' && j + 1 < len)
			j++; /* a quoted-pair: the escaped byte is checked too
			      */
		if (is_ctl((unsigned char)v[j])) {
			*i = j;
			return HEADER_ERR_CTRL;
		}
	}
	if (j >= len)
		return unterminated;
	*i = j + 1;
	return HEADER_OK;
}

/* Skip a comment at v[*i] == '(', nesting bounded. */
static enum header_err
skip_comment(const char *v, size_t len, size_t *i)
{
	size_t j = *i + 1, depth = 1;

	/* loop invariant: depth comments are open at v[j] */
	for (; j < len && depth > 0; j++) {
		int escaped = v[j] == '\\' && j + 1 < len;

		j += escaped;
		if (is_ctl((unsigned char)v[j])) {
			*i = j;
			return HEADER_ERR_CTRL;
		}
		if (escaped)
			continue;
		if (v[j] == '(') {
			if (++depth > HEADER_COMMENT_DEPTH) {
				*i = j;
				return HEADER_ERR_DEPTH;
			}
		} else if (v[j] == ')') {
			depth--;
		}
	}
	if (depth > 0)
		return HEADER_ERR_COMMENT;
	*i = j;
	return HEADER_OK;
}

/* Skip a quoted string, comment or literal at v[*i]; 0 when v[*i] opens
 * none of them (and *i is unchanged). */
static enum header_err
skip_nested(const char *v, size_t len, size_t *i, int *skipped)
{
	*skipped = 1;
	switch (v[*i]) {
	case '"':
		return skip_pair(v, len, i, '"', HEADER_ERR_QUOTE);
	case '[':
		return skip_pair(v, len, i, ']', HEADER_ERR_LITERAL);
	case '(':
		return skip_comment(v, len, i);
	default:
		*skipped = 0;
		return HEADER_OK;
	}
}

/* One element of an address list: [start, end) up to its separator. */
struct elem {
	size_t start, end;
	size_t lt, gt; /* '<' and '>', or NONE */
	char sep;      /* ',' ';' ':' (group start) or 0 at the end */
};

/* Where the scan of an element stops at byte c (1), or goes on (0). */
static int
elem_stop(struct elem *el, size_t i, char c)
{
	int in_angle = el->lt != NONE && el->gt == NONE;

	if (c == ';' || (c == ',' && !in_angle) ||
	    (c == ':' && el->lt == NONE)) {
		el->end = i;
		el->sep = c;
		return 1;
	}
	return 0;
}

/* Check one byte of an element outside quotes, comments and literals. */
static enum header_err
elem_byte(struct elem *el, size_t i, char c)
{
	if (is_ctl((unsigned char)c))
		return HEADER_ERR_CTRL;
	if (c == ')')
		return HEADER_ERR_COMMENT;
	if (c == '\\')
		return HEADER_ERR_SYNTAX;
	if (c == '<') {
		if (el->lt != NONE)
			return HEADER_ERR_ANGLE;
		el->lt = i;
	} else if (c == '>') {
		if (el->lt == NONE || el->gt != NONE)
			return HEADER_ERR_ANGLE;
		el->gt = i;
	}
	return HEADER_OK;
}

static enum header_err
scan_elem(const char *v, size_t len, size_t from, struct elem *el,
          size_t *errpos)
{
	size_t i = from;
	enum header_err e;
	int skipped;

	el->start = from;
	el->end = len;
	el->lt = el->gt = NONE;
	el->sep = 0;
	/* loop invariant: v[from..i) holds no separator at top level */
	while (i < len && !elem_stop(el, i, v[i])) {
		*errpos = i;
		e = skip_nested(v, len, &i, &skipped);
		if (e != HEADER_OK) {
			*errpos = e == HEADER_ERR_CTRL || e == HEADER_ERR_DEPTH
			              ? i
			              : *errpos;
			return e;
		}
		if (skipped)
			continue;
		if ((e = elem_byte(el, i, v[i])) != HEADER_OK)
			return e;
		i++;
	}
	if (el->lt != NONE && el->gt == NONE) {
		*errpos = el->lt;
		return HEADER_ERR_ANGLE;
	}
	return HEADER_OK;
}

/* Builds an addr-spec without CFWS (RFC 5322 3.4.1 with obs-local-part
 * and obs-domain: words and dots may be separated by CFWS). */
struct clean {
	char *out;
	size_t n;
	int prev_word; /* the last token was an atom, quoted string, literal */
	const char *v; /* the value the tokens come from */
	size_t first, last; /* span of the tokens in v (first NONE: none) */
};

static enum header_err
clean_emit(struct clean *c, const char *p, size_t n, int word)
{
	if (word && c->prev_word)
		return HEADER_ERR_PHRASE;
	if (c->n + n > HEADER_ADDR_MAX)
		return HEADER_ERR_ADDR_LONG;
	if (c->first == NONE)
		c->first = (size_t)(p - c->v);
	c->last = (size_t)(p - c->v) + n;
	memcpy(c->out + c->n, p, n);
	c->n += n;
	c->prev_word = word;
	return HEADER_OK;
}

static enum header_err
clean_range(const char *v, size_t from, size_t to, struct clean *c,
            size_t *errpos)
{
	size_t i = from, j;
	enum header_err e = HEADER_OK;
	int skipped;

	/* loop invariant: c->out holds the tokens of v[from..i) */
	while (i < to && e == HEADER_OK) {
		*errpos = i;
		j = i;
		if (is_fws((unsigned char)v[i]) || v[i] == '(') {
			if (v[i] == '(')
				e = skip_comment(v, to, &j);
			i = v[i] == '(' ? j : i + 1;
		} else if (v[i] == '"' || v[i] == '[') {
			e = skip_nested(v, to, &j, &skipped);
			if (e == HEADER_OK)
				e = clean_emit(c, v + i, j - i, 1);
			i = j;
		} else if (v[i] && strchr(".@,:", v[i])) {
			e = clean_emit(c, v + i, 1, 0);
			i++;
		} else if (is_special((unsigned char)v[i])) {
			e = HEADER_ERR_SYNTAX;
		} else {
			while (j < to && !is_special((unsigned char)v[j]) &&
			       !is_fws((unsigned char)v[j]))
				j++;
			e = clean_emit(c, v + i, j - i, 1);
			i = j;
		}
	}
	return e;
}

/* Drop an obsolete source route "@a,@b:" from the front of the text. */
static size_t
route_len(const char *s, size_t n)
{
	if (n == 0 || s[0] != '@')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '[')
			while (i + 1 < n && s[i] != ']')
				i++;
		else if (s[i] == ':')
			return i + 1;
	}
	return NONE;
}

static void
trim(const char *v, size_t from, size_t to, size_t *off, size_t *n)
{
	while (from < to && is_fws((unsigned char)v[from]))
		from++;
	while (to > from && is_fws((unsigned char)v[to - 1]))
		to--;
	*off = from;
	*n = to - from;
}

/* Only CFWS may follow the '>' of an angle address. */
static enum header_err
after_angle(const char *v, const struct elem *el, size_t *errpos)
{
	size_t i = el->gt + 1;

	while (i < el->end) {
		*errpos = i;
		if (v[i] == '(') {
			if (skip_comment(v, el->end, &i) != HEADER_OK)
				return HEADER_ERR_COMMENT;
		} else if (is_fws((unsigned char)v[i])) {
			i++;
		} else {
			return HEADER_ERR_SYNTAX;
		}
	}
	return HEADER_OK;
}

/* The mailbox of one element into *a; HEADER_END when it is empty. */
static enum header_err
elem_mailbox(const char *v, const struct elem *el, struct header_addr *a,
             size_t *errpos)
{
	struct clean c = {a->addr, 0, 0, v, NONE, 0};
	size_t from = el->start, to = el->end, r;
	enum header_err e;

	a->name_off = el->start;
	a->name_len = 0;
	if (el->lt != NONE) {
		if ((e = after_angle(v, el, errpos)) != HEADER_OK)
			return e;
		trim(v, el->start, el->lt, &a->name_off, &a->name_len);
		from = el->lt + 1;
		to = el->gt;
	}
	if ((e = clean_range(v, from, to, &c, errpos)) != HEADER_OK)
		return e;
	r = el->lt != NONE ? route_len(c.out, c.n) : 0;
	*errpos = from;
	if (r == NONE)
		return HEADER_ERR_SYNTAX;
	memmove(c.out, c.out + r, c.n - r);
	a->addr_len = c.n - r;
	a->spec_off = el->lt != NONE ? el->lt + 1 : c.first;
	a->spec_len = el->lt != NONE    ? el->gt - el->lt - 1
	              : c.first != NONE ? c.last - c.first
	                                : 0;
	a->addr[a->addr_len] = '\0';
	if (a->addr_len == 0 && el->lt != NONE) {
		*errpos = el->lt;
		return HEADER_ERR_EMPTY;
	}
	return a->addr_len ? HEADER_OK : HEADER_END;
}

/* Enter a group at the element that ended with ':'. */
static enum header_err
group_start(const char *v, struct header_addr_iter *it, const struct elem *el,
            size_t *errpos)
{
	if (it->in_group) {
		*errpos = el->end;
		return HEADER_ERR_GROUP;
	}
	it->in_group = 1;
	trim(v, el->start, el->end, &it->group_off, &it->group_len);
	return HEADER_OK;
}

enum header_err
header_addr_next(const char *v, size_t len, struct header_addr_iter *it,
                 struct header_addr *a, size_t *errpos)
{
	struct elem el;
	enum header_err e;

	*errpos = 0;
	/* loop invariant: it->pos is the start of an unread element */
	while (it->pos < len) {
		if ((e = scan_elem(v, len, it->pos, &el, errpos)) != HEADER_OK)
			return e;
		it->pos = el.sep ? el.end + 1 : len;
		if (el.sep == ':') {
			if ((e = group_start(v, it, &el, errpos)) != HEADER_OK)
				return e;
			continue;
		}
		a->in_group = it->in_group;
		a->group_off = it->group_off;
		a->group_len = it->in_group ? it->group_len : 0;
		if (el.sep == ';')
			it->in_group = 0;
		e = elem_mailbox(v, &el, a, errpos);
		if (e != HEADER_END)
			return e;
	}
	return HEADER_END;
}
