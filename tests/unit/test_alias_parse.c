/*
 * test_alias_parse.c - /etc/aliases syntax (alias_parse.c over the logical
 * lines of map_parse.c): one row per syntax rule and per error, with the
 * line number the error names; the canonical value must parse back to
 * itself; alias_value_next types each target.
 */
#include "alias_parse.h"
#include "map_parse.h"
#include "t.h"

#include <stdlib.h>

/* Parse a whole aliases text into "name=value|name=value"; returns 0, or
 * -1 with *lerr or *aerr, and *line, set. */
static int
parse_all(const char *in, size_t len, char *out, size_t cap,
          enum map_parse_err *lerr, enum alias_err *aerr, unsigned *line)
{
	static char buf[MAP_LINE_MAX + 1], value[70000];
	char name[ALIAS_NAME_MAX + 1];
	struct map_lines r;
	size_t n, vlen;
	int got;

	out[0] = '\0';
	*lerr = MAP_PARSE_OK;
	*aerr = ALIAS_OK;
	map_lines_init(&r, in, len);
	while ((got = map_lines_next(&r, buf, sizeof buf, &n, line, lerr)) ==
	       1) {
		*aerr = alias_parse_entry(buf, n, name, sizeof name, value,
		                          sizeof value, &vlen, NULL);
		if (*aerr != ALIAS_OK)
			return -1;
		if (out[0])
			strncat(out, "|", cap - strlen(out) - 1);
		strncat(out, name, cap - strlen(out) - 1);
		strncat(out, "=", cap - strlen(out) - 1);
		strncat(out, value, cap - strlen(out) - 1);
	}
	return got < 0 ? -1 : 0;
}

static const struct {
	const char *in;
	size_t len; /* 0: strlen(in) */
	const char *want;
	enum map_parse_err lerr;
	enum alias_err aerr;
	unsigned line;
} cases[] = {
    {"root: admin\n", 0, "root=admin", 0, 0, 0},
    {"postmaster: root\nroot: alice, bob\n", 0,
     "postmaster=root|root=alice, bob", 0, 0, 0},
    {"list: a,\n  b,\n\tc\n", 0, "list=a, b, c", 0, 0, 0},
    {"# comment\n\n   \nroot: x\n", 0, "root=x", 0, 0, 0},
    {"list: a,\n# inside\n  b\n", 0, "list=a, b", 0, 0, 0},
    {"list: a,\n    # indented comment\n  b\n", 0, "list=a, b", 0, 0, 0},
    {"\"foo bar\": x\n", 0, "foo bar=x", 0, 0, 0},
    {"\"a:b\": x\n", 0, "a:b=x", 0, 0, 0},
    {"x: :include:/etc/list\n", 0, "x=:include:/etc/list", 0, 0, 0},
    {"x: :include: /etc/list\n", 0, "x=:include:/etc/list", 0, 0, 0},
    {"x: :INCLUDE:/etc/list\n", 0, "x=:include:/etc/list", 0, 0, 0},
    {"x: |/usr/bin/procmail\n", 0, "x=|/usr/bin/procmail", 0, 0, 0},
    {"x: \"|/bin/cat -n\"\n", 0, "x=\"|/bin/cat -n\"", 0, 0, 0},
    {"x: |/bin/cat -n, bob\n", 0, "x=\"|/bin/cat -n\", bob", 0, 0, 0},
    {"x: \"| /bin/echo \\\"hi\\\"\"\n", 0, "x=\"|/bin/echo \\\"hi\\\"\"", 0, 0,
     0},
    {"x: /var/mail/x\n", 0, "x=/var/mail/x", 0, 0, 0},
    {"x: \"/var/mail/a b\"\n", 0, "x=\"/var/mail/a b\"", 0, 0, 0},
    {"x: \"John Doe\"@example.com\n", 0, "x=\"John Doe\"@example.com", 0, 0, 0},
    {"x: \"joe\"\n", 0, "x=\"joe\"", 0, 0, 0},
    {"x: \\root, root@example.com\n", 0, "x=\\root, root@example.com", 0, 0, 0},
    {"x: a b\n", 0, "x=a, b", 0, 0, 0},
    {"x: a,,b,\n", 0, "x=a, b", 0, 0, 0},
    {"Root: X\n", 0, "Root=X", 0, 0, 0},
    {"x:a\n", 0, "x=a", 0, 0, 0},
    {"x : a\n", 0, "x=a", 0, 0, 0},
    {"x: a\r\ny: b\r\n", 0, "x=a|y=b", 0, 0, 0},
    {"x: a", 0, "x=a", 0, 0, 0},
    {"", 0, "", 0, 0, 0},
    {"# only a comment", 0, "", 0, 0, 0},
    {"x: caf\xc3\xa9\n", 0, "x=caf\xc3\xa9", 0, 0, 0},
    /* errors, with the line they name */
    {"root admin\n", 0, NULL, 0, ALIAS_ERR_NO_COLON, 1},
    {"ok: a\n\nroot admin\n", 0, NULL, 0, ALIAS_ERR_NO_COLON, 3},
    {"root\n", 0, NULL, 0, ALIAS_ERR_NO_COLON, 1},
    {": a\n", 0, NULL, 0, ALIAS_ERR_EMPTY_NAME, 1},
    {"\"\": a\n", 0, NULL, 0, ALIAS_ERR_EMPTY_NAME, 1},
    {"x:\n", 0, NULL, 0, ALIAS_ERR_EMPTY_VALUE, 1},
    {"a: b\nx: , ,\n", 0, NULL, 0, ALIAS_ERR_EMPTY_VALUE, 2},
    {"x: \"|cmd\n", 0, NULL, 0, ALIAS_ERR_QUOTE, 1},
    {"\"x: a\n", 0, NULL, 0, ALIAS_ERR_QUOTE, 1},
    {"x: /a\"b c\"\n", 0, NULL, 0, ALIAS_ERR_QUOTE, 1},
    {"x: |\n", 0, NULL, 0, ALIAS_ERR_EMPTY_COMMAND, 1},
    {"x: \"|  \"\n", 0, NULL, 0, ALIAS_ERR_EMPTY_COMMAND, 1},
    {"x: :include:\n", 0, NULL, 0, ALIAS_ERR_INCLUDE_PATH, 1},
    {"x: :include:rel/path\n", 0, NULL, 0, ALIAS_ERR_INCLUDE_PATH, 1},
    {"x: a\x01"
     "b\n",
     0, NULL, 0, ALIAS_ERR_CONTROL, 1},
    {"x\x01: a\n", 0, NULL, 0, ALIAS_ERR_NAME_CONTROL, 1},
    {" x: a\n", 0, NULL, MAP_PARSE_ORPHAN, 0, 1},
    {"# c\n\tx: a\n", 0, NULL, MAP_PARSE_ORPHAN, 0, 2},
    {"a: b\nc: d\0e\n", 12, NULL, MAP_PARSE_NUL, 0, 2},
};

static void
test_cases(void)
{
	char out[4096], ctx[64];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum map_parse_err lerr;
		enum alias_err aerr;
		unsigned line = 0;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		int r = parse_all(cases[i].in, len, out, sizeof out, &lerr,
		                  &aerr, &line);

		snprintf(ctx, sizeof ctx, "case %zu", i);
		if (cases[i].want) {
			T_CHECK(r == 0, "%s: %s / %s", ctx,
			        map_parse_strerror(lerr), alias_strerror(aerr));
			T_STREQ(out, cases[i].want, ctx);
			continue;
		}
		T_CHECK(r < 0, "%s: parsed as \"%s\"", ctx, out);
		T_CHECK(lerr == cases[i].lerr, "%s: got %s", ctx,
		        map_parse_strerror(lerr));
		T_CHECK(aerr == cases[i].aerr, "%s: got %s", ctx,
		        alias_strerror(aerr));
		T_CHECK(line == cases[i].line, "%s: line %u", ctx, line);
	}
}

/* The canonical value must parse back to itself. */
static void
test_round_trip(void)
{
	char line[8192], name[ALIAS_NAME_MAX + 1], v1[4096], v2[4096];
	size_t n1, n2;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *in = cases[i].in;

		if (!cases[i].want || !strchr(in, ':'))
			continue;
		if (alias_parse_entry(in, strcspn(in, "\r\n"), name,
		                      sizeof name, v1, sizeof v1, &n1,
		                      NULL) != ALIAS_OK)
			continue; /* multi-line inputs */
		snprintf(line, sizeof line, "n: %s", v1);
		T_CHECK(alias_parse_entry(line, strlen(line), name, sizeof name,
		                          v2, sizeof v2, &n2, NULL) == ALIAS_OK,
		        "case %zu: reparse of %s", i, v1);
		T_STREQ(v2, v1, in);
	}
}

static void
test_value_next(void)
{
	static const char v[] = "a@b, \"|cmd x\", /f, :include:/i, "
	                        "\"q r\"@d, \"/p q\", |c d";
	static const struct {
		enum alias_type type;
		const char *text;
	} want[] = {
	    {ALIAS_T_ADDR, "a@b"},       {ALIAS_T_PIPE, "cmd x"},
	    {ALIAS_T_FILE, "/f"},        {ALIAS_T_INCLUDE, "/i"},
	    {ALIAS_T_ADDR, "\"q r\"@d"}, {ALIAS_T_FILE, "/p q"},
	    {ALIAS_T_PIPE, "c d"},
	};
	const char *cur = v, *end = v + sizeof v - 1;
	struct alias_target t;
	enum alias_err err;
	size_t i = 0;
	int r;

	while ((r = alias_value_next(&cur, end, &t, &err)) == 1 &&
	       i < sizeof want / sizeof want[0]) {
		T_CHECK(t.type == want[i].type, "target %zu type %d", i,
		        t.type);
		T_STREQ(t.text, want[i].text, "target text");
		T_CHECK(t.len == strlen(want[i].text), "target %zu len", i);
		i++;
	}
	T_CHECK(r == 0 && i == sizeof want / sizeof want[0],
	        "r=%d after %zu targets", r, i);
	/* a value cut inside a quote (no NUL after it) */
	cur = v;
	end = v + 8;
	T_CHECK(alias_value_next(&cur, end, &t, &err) == 1, "a@b");
	T_CHECK(alias_value_next(&cur, end, &t, &err) == -1 &&
	            err == ALIAS_ERR_QUOTE,
	        "cut quote");
}

/* Bounds: the name at ALIAS_NAME_MAX, a target at ALIAS_TARGET_MAX, the
 * value at the caller's capacity, each at limit-1, limit and limit+1. */
static void
test_limits(void)
{
	char *line = malloc(4096), name[ALIAS_NAME_MAX + 1], value[2048];
	size_t vlen;

	for (int d = -1; d <= 1; d++) {
		size_t n = (size_t)(ALIAS_NAME_MAX + d);
		enum alias_err e;

		memset(line, 'n', n);
		memcpy(line + n, ": a", 4);
		e = alias_parse_entry(line, n + 3, name, sizeof name, value,
		                      sizeof value, &vlen, NULL);
		T_CHECK(e == (d <= 0 ? ALIAS_OK : ALIAS_ERR_NAME_TOO_LONG),
		        "name %zu: %s", n, alias_strerror(e));
		n = (size_t)(ALIAS_TARGET_MAX + d);
		memcpy(line, "x: |", 4);
		memset(line + 4, 'c', n);
		e = alias_parse_entry(line, n + 4, name, sizeof name, value,
		                      sizeof value, &vlen, NULL);
		T_CHECK(e == (d <= 0 ? ALIAS_OK : ALIAS_ERR_TARGET_TOO_LONG),
		        "command %zu: %s", n, alias_strerror(e));
		memcpy(line, "x: ", 3);
		memset(line + 3, 'a', 10);
		e = alias_parse_entry(line, 13, name, sizeof name, value,
		                      (size_t)(11 + d), &vlen, NULL);
		T_CHECK(e == (d >= 0 ? ALIAS_OK : ALIAS_ERR_VALUE_TOO_LONG),
		        "value cap %d: %s", 11 + d, alias_strerror(e));
	}
	free(line);
}

/* A logical line over MAP_LINE_MAX is an error naming its line. */
static void
test_long_line(void)
{
	size_t n = MAP_LINE_MAX + 10;
	char *in = malloc(n + 8), out[64];
	enum map_parse_err lerr;
	enum alias_err aerr;
	unsigned line = 0;

	memcpy(in, "a: b\nx: ", 8);
	memset(in + 8, 'y', n);
	T_CHECK(parse_all(in, n + 8, out, sizeof out, &lerr, &aerr, &line) <
	                0 &&
	            lerr == MAP_PARSE_TOO_LONG && line == 2,
	        "long line: %s line %u", map_parse_strerror(lerr), line);
	free(in);
}

int
main(void)
{
	test_cases();
	test_round_trip();
	test_value_next();
	test_limits();
	test_long_line();
	return T_DONE();
}
