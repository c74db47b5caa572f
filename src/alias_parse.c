/*
 * alias_parse.c - PURE: /etc/aliases entries and alias values (see
 * alias_parse.h). Runs in postalias/newaliases (the administrator) and in
 * local delivery (the mailbox owner's privileges) on stored values.
 * Untrusted input: the aliases text and the values read back from a CDB;
 * every scan is bounded by the input's end, every copy by its capacity.
 */
#include "alias_parse.h"
#include "map_parse.h"
#include "util/str.h"

#include <string.h>

#define INCLUDE_PREFIX ":include:"
#define INCLUDE_LEN (sizeof INCLUDE_PREFIX - 1)

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int
has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f)
			return 1;
	return 0;
}

/* Set t to type and text[0..n) with blanks around it stripped. */
static enum alias_err
set_target(struct alias_target *t, enum alias_type type, const char *text,
           size_t n)
{
	while (n > 0 && is_blank(*text))
		text++, n--;
	while (n > 0 && is_blank(text[n - 1]))
		n--;
	if (n > ALIAS_TARGET_MAX)
		return ALIAS_ERR_TARGET_TOO_LONG;
	if (has_control(text, n))
		return ALIAS_ERR_CONTROL;
	if (type == ALIAS_T_PIPE && n == 0)
		return ALIAS_ERR_EMPTY_COMMAND;
	if (type == ALIAS_T_INCLUDE && (n == 0 || text[0] != '/'))
		return ALIAS_ERR_INCLUDE_PATH;
	t->type = type;
	t->len = n;
	memmove(t->text, text, n); /* text may point into t->text */
	t->text[n] = '\0';
	return ALIAS_OK;
}

/* Classify an unquoted special or a fully quoted target's contents. */
static enum alias_err
classify(struct alias_target *t, const char *s, size_t n, const char *verb,
         size_t vn)
{
	if (n > 0 && s[0] == '|')
		return set_target(t, ALIAS_T_PIPE, s + 1, n - 1);
	if (n > 0 && s[0] == '/')
		return set_target(t, ALIAS_T_FILE, s, n);
	if (n >= INCLUDE_LEN && str_prefix_nocase(s, INCLUDE_PREFIX))
		return set_target(t, ALIAS_T_INCLUDE, s + INCLUDE_LEN,
		                  n - INCLUDE_LEN);
	return set_target(t, ALIAS_T_ADDR, verb, vn);
}

/* Length of the text from p up to end or the first unquoted byte for
 * which stop() holds; -1 for an unterminated quote. */
static long
scan(const char *p, const char *end, int (*stop)(char))
{
	const char *s = p;
	int quoted = 0;

	/* loop invariant: quoted says whether p is inside "..." */
	for (; p < end; p++) {
		if (quoted && *p == '\\' && p + 1 < end)
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && stop(*p))
			break;
	}
	return quoted ? -1 : (long)(p - s);
}

static int
stop_comma(char c)
{
	return c == ',';
}

static int
stop_word(char c)
{
	return c == ',' || is_blank(c);
}

/* A whole quoted target at *p: 1 done (*p advanced), 0 not whole. */
static int
quoted_target(const char **p, const char *end, struct alias_target *t,
              enum alias_err *err)
{
	char buf[ALIAS_TARGET_MAX + 1];
	size_t n;
	long q = map_parse_quoted(*p, (size_t)(end - *p), buf, sizeof buf, &n);

	if (q == 0) {
		*err = ALIAS_ERR_QUOTE;
		return -1;
	}
	if (q < 0) {
		*err = ALIAS_ERR_TARGET_TOO_LONG;
		return -1;
	}
	if (*p + q < end && !stop_word((*p)[q]))
		return 0; /* "local part"@domain: an address */
	*err = classify(t, buf, n, *p, (size_t)q);
	*p += q;
	return *err == ALIAS_OK ? 1 : -1;
}

/* ":include:" followed by white space: the path is the next word. */
static long
include_word(const char *p, const char *end, long n)
{
	const char *q = p + n;

	if ((size_t)n != INCLUDE_LEN || !str_prefix_nocase(p, INCLUDE_PREFIX))
		return n;
	while (q < end && is_blank(*q))
		q++;
	n = scan(q, end, stop_word);
	return n < 0 ? -1 : (long)(q - p) + n;
}

/* An unquoted target at *p: a pipe to the next comma, else a word. */
static int
word_target(const char **p, const char *end, struct alias_target *t,
            enum alias_err *err)
{
	long n = scan(*p, end, **p == '|' ? stop_comma : stop_word);
	size_t len;

	if (n >= 0 && **p != '|')
		n = include_word(*p, end, n);
	if (n < 0) {
		*err = ALIAS_ERR_QUOTE;
		return -1;
	}
	len = (size_t)n;
	if (**p != '|' && memchr(*p, '"', len) &&
	    (**p == '/' ||
	     (len >= INCLUDE_LEN && str_prefix_nocase(*p, INCLUDE_PREFIX)))) {
		*err = ALIAS_ERR_QUOTE; /* quote the whole path instead */
		return -1;
	}
	*err = classify(t, *p, len, *p, len);
	*p += len;
	return *err == ALIAS_OK ? 1 : -1;
}

int
alias_value_next(const char **cur, const char *end, struct alias_target *t,
                 enum alias_err *err)
{
	const char *p = *cur;
	int r;

	while (p < end && (is_blank(*p) || *p == ','))
		p++;
	*cur = p;
	if (p >= end)
		return 0;
	if (*p == '"') {
		r = quoted_target(&p, end, t, err);
		if (r != 0) {
			*cur = p;
			return r;
		}
	}
	r = word_target(&p, end, t, err);
	*cur = p;
	return r;
}

static int
put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (n >= cap - *len)
		return -1;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

/* prefix + text, in double quotes with escapes when it needs them. */
static int
put_special(char *out, size_t cap, size_t *len, const char *prefix,
            const struct alias_target *t)
{
	int quote = strpbrk(t->text, " \t\r\f\v,\"\\") != NULL;

	if ((quote && put(out, cap, len, "\"", 1) < 0) ||
	    put(out, cap, len, prefix, strlen(prefix)) < 0)
		return -1;
	for (size_t i = 0; i < t->len; i++) {
		char c = t->text[i];

		if (quote && (c == '"' || c == '\\') &&
		    put(out, cap, len, "\\", 1) < 0)
			return -1;
		if (put(out, cap, len, &c, 1) < 0)
			return -1;
	}
	return quote ? put(out, cap, len, "\"", 1) : 0;
}

int
alias_target_format(const struct alias_target *t, char *out, size_t cap,
                    size_t *len)
{
	static const char *const prefix[] = {
	    [ALIAS_T_ADDR] = "",
	    [ALIAS_T_PIPE] = "|",
	    [ALIAS_T_FILE] = "",
	    [ALIAS_T_INCLUDE] = INCLUDE_PREFIX,
	};

	if (*len >= cap)
		return -1;
	if (*len > 0 && put(out, cap, len, ", ", 2) < 0)
		return -1;
	if (t->type == ALIAS_T_ADDR)
		return put(out, cap, len, t->text, t->len);
	return put_special(out, cap, len, prefix[t->type], t);
}

/* The name before ':'; *used gets the bytes up to and including ':'. */
static enum alias_err
parse_name(const char *line, size_t len, char *name, size_t ncap, size_t *used)
{
	size_t cap = ncap < ALIAS_NAME_MAX + 1 ? ncap : ALIAS_NAME_MAX + 1;
	size_t i = 0, n = 0;
	long q;

	if (len > 0 && line[0] == '"') {
		q = map_parse_quoted(line, len, name, cap, &n);
		if (q == 0)
			return ALIAS_ERR_QUOTE;
		if (q < 0)
			return ALIAS_ERR_NAME_TOO_LONG;
		i = (size_t)q;
	} else {
		while (i < len && line[i] != ':' && !is_blank(line[i]))
			i++;
		if (str_copy_n(name, cap, line, i) < 0)
			return ALIAS_ERR_NAME_TOO_LONG;
		n = i;
	}
	while (i < len && is_blank(line[i]))
		i++;
	if (n == 0 && i < len && line[i] == ':')
		return ALIAS_ERR_EMPTY_NAME;
	if (i >= len || line[i] != ':')
		return ALIAS_ERR_NO_COLON;
	if (n == 0)
		return ALIAS_ERR_EMPTY_NAME;
	if (has_control(name, n) || memchr(name, '\t', n))
		return ALIAS_ERR_NAME_CONTROL;
	*used = i + 1;
	return ALIAS_OK;
}

enum alias_err
alias_parse_entry(const char *line, size_t len, char *name, size_t ncap,
                  char *value, size_t vcap, size_t *vlen, unsigned *ntargets)
{
	struct alias_target t;
	enum alias_err err = ALIAS_OK;
	const char *p, *end = line + len;
	size_t used = 0;
	unsigned n = 0;
	int r;

	if (vcap == 0)
		return ALIAS_ERR_VALUE_TOO_LONG;
	err = parse_name(line, len, name, ncap, &used);
	if (err != ALIAS_OK)
		return err;
	*vlen = 0;
	value[0] = '\0';
	p = line + used;
	while ((r = alias_value_next(&p, end, &t, &err)) == 1) {
		if (alias_target_format(&t, value, vcap, vlen) < 0)
			return ALIAS_ERR_VALUE_TOO_LONG;
		n++;
	}
	if (r < 0)
		return err;
	if (n == 0)
		return ALIAS_ERR_EMPTY_VALUE;
	if (ntargets)
		*ntargets = n;
	return ALIAS_OK;
}

const char *
alias_strerror(enum alias_err err)
{
	static const char *const text[] = {
	    [ALIAS_OK] = "no error",
	    [ALIAS_ERR_NO_COLON] = "missing ':' after alias name",
	    [ALIAS_ERR_EMPTY_NAME] = "empty alias name",
	    [ALIAS_ERR_NAME_TOO_LONG] = "alias name too long",
	    [ALIAS_ERR_NAME_CONTROL] = "control character in alias name",
	    [ALIAS_ERR_EMPTY_VALUE] = "empty alias value after ':'",
	    [ALIAS_ERR_QUOTE] = ("unbalanced '\"' (quote a whole command, "
	                         "file or :include: target)"),
	    [ALIAS_ERR_TARGET_TOO_LONG] = "alias target too long",
	    [ALIAS_ERR_CONTROL] = "control character in alias value",
	    [ALIAS_ERR_EMPTY_COMMAND] = "empty command after '|'",
	    [ALIAS_ERR_INCLUDE_PATH] = ":include: needs an absolute path",
	    [ALIAS_ERR_VALUE_TOO_LONG] = "alias value too long",
	};

	if ((unsigned)err >= sizeof text / sizeof text[0])
		return "unknown error";
	return text[err];
}
