/*
 * test_map_parse.c - postmap source syntax (map_parse.c): logical lines
 * (comments, continuations, line numbers, bounds) and `key value` entries.
 */
#include "map.h"
#include "map_parse.h"
#include "t.h"

#include <stdlib.h>

static const struct {
	const char *in;
	enum map_parse_err err;
	const char *key, *value;
} entries[] = {
    {"key value", MAP_PARSE_OK, "key", "value"},
    {"key\tvalue", MAP_PARSE_OK, "key", "value"},
    {"key   value with  spaces  ", MAP_PARSE_OK, "key", "value with  spaces"},
    {"info@example.com joe", MAP_PARSE_OK, "info@example.com", "joe"},
    {"@example.com jim", MAP_PARSE_OK, "@example.com", "jim"},
    {"\"a b\" v", MAP_PARSE_OK, "a b", "v"},
    {"\"a\\\"b\" v", MAP_PARSE_OK, "a\"b", "v"},
    {"a\"b v", MAP_PARSE_OK, "a\"b", "v"},
    {"k #not a comment", MAP_PARSE_OK, "k", "#not a comment"},
    {"key", MAP_PARSE_NO_VALUE, NULL, NULL},
    {"key   ", MAP_PARSE_NO_VALUE, NULL, NULL},
    {"\"a b\"", MAP_PARSE_NO_VALUE, NULL, NULL},
    {"\"\" v", MAP_PARSE_EMPTY_KEY, NULL, NULL},
    {"\"a b v", MAP_PARSE_QUOTE, NULL, NULL},
    {"\"a\"b v", MAP_PARSE_QUOTE, NULL, NULL},
    {"a\x01 v", MAP_PARSE_CONTROL, NULL, NULL},
};

static void
test_entries(void)
{
	char key[MAP_KEY_MAX + 1], v[256];

	for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
		const char *val = NULL;
		size_t klen = 0, vlen = 0;
		enum map_parse_err e =
		    map_parse_entry(entries[i].in, strlen(entries[i].in), key,
		                    sizeof key, &klen, &val, &vlen);

		T_CHECK(e == entries[i].err, "%s: got %s", entries[i].in,
		        map_parse_strerror(e));
		if (e != MAP_PARSE_OK || !entries[i].key)
			continue;
		T_STREQ(key, entries[i].key, entries[i].in);
		T_CHECK(klen == strlen(key), "%s: klen", entries[i].in);
		snprintf(v, sizeof v, "%.*s", (int)vlen, val);
		T_STREQ(v, entries[i].value, entries[i].in);
	}
}

/* Keys at MAP_KEY_MAX - 1, MAP_KEY_MAX, MAP_KEY_MAX + 1, plain and
 * quoted. */
static void
test_key_limit(void)
{
	char *line = malloc(MAP_KEY_MAX + 16), key[MAP_KEY_MAX + 1];

	for (int d = -1; d <= 1; d++) {
		size_t n = (size_t)(MAP_KEY_MAX + d), klen;
		const char *val;
		enum map_parse_err e;

		memset(line, 'k', n);
		memcpy(line + n, " v", 2);
		e = map_parse_entry(line, n + 2, key, sizeof key, &klen, &val,
		                    &klen);
		T_CHECK(e == (d <= 0 ? MAP_PARSE_OK : MAP_PARSE_KEY_TOO_LONG),
		        "plain key %zu: %s", n, map_parse_strerror(e));
		line[0] = '"';
		memset(line + 1, 'k', n);
		memcpy(line + 1 + n, "\" v", 3);
		e = map_parse_entry(line, n + 4, key, sizeof key, &klen, &val,
		                    &klen);
		T_CHECK(e == (d <= 0 ? MAP_PARSE_OK : MAP_PARSE_KEY_TOO_LONG),
		        "quoted key %zu: %s", n, map_parse_strerror(e));
	}
	free(line);
}

static const struct {
	const char *in;
	const char *want; /* logical lines as "N:text|N:text" */
	enum map_parse_err err;
	unsigned line;
} texts[] = {
    {"a 1\nb 2\n", "1:a 1|2:b 2", 0, 0},
    {"a 1\n  2\n\t3\nb 3\n", "1:a 1 2 3|4:b 3", 0, 0},
    {"#c\n\n  \na 1", "4:a 1", 0, 0},
    {"a 1\n# c\n  2\n", "1:a 1 2", 0, 0},
    {"a 1\r\n  2\r\n", "1:a 1 2", 0, 0},
    {"a 1  \n", "1:a 1", 0, 0},
    {"", "", 0, 0},
    {"\n\n", "", 0, 0},
    {" a 1\n", NULL, MAP_PARSE_ORPHAN, 1},
    {"# x\n  a 1\n", NULL, MAP_PARSE_ORPHAN, 2},
    {"a 1\nb\0 2\n", NULL, MAP_PARSE_NUL, 2},
};

static void
test_lines(void)
{
	char buf[256], out[512], one[300];

	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		size_t len = strlen(texts[i].in), n;
		enum map_parse_err e = MAP_PARSE_OK;
		struct map_lines r;
		unsigned line = 0;
		int got;

		if (texts[i].err == MAP_PARSE_NUL)
			len = 9;
		out[0] = '\0';
		map_lines_init(&r, texts[i].in, len);
		while ((got = map_lines_next(&r, buf, sizeof buf, &n, &line,
		                             &e)) == 1) {
			snprintf(one, sizeof one, "%s%u:%s", out[0] ? "|" : "",
			         line, buf);
			strncat(out, one, sizeof out - strlen(out) - 1);
			T_CHECK(n == strlen(buf), "case %zu: length", i);
		}
		if (texts[i].want) {
			T_CHECK(got == 0, "case %zu: %s", i,
			        map_parse_strerror(e));
			T_STREQ(out, texts[i].want, texts[i].in);
		} else {
			T_CHECK(got < 0 && e == texts[i].err &&
			            line == texts[i].line,
			        "case %zu: got %d %s line %u", i, got,
			        map_parse_strerror(e), line);
		}
	}
}

/* A logical line fits the caller's buffer at cap-1 bytes, not at cap. */
static void
test_line_limit(void)
{
	static const char in[] = "key 123456\n  7890\n"; /* "key 123456 7890" */
	char buf[32];

	for (size_t cap = 15; cap <= 17; cap++) {
		struct map_lines r;
		enum map_parse_err e = MAP_PARSE_OK;
		unsigned line = 0;
		size_t n = 0;
		int got;

		map_lines_init(&r, in, sizeof in - 1);
		got = map_lines_next(&r, buf, cap, &n, &line, &e);
		if (cap > 15)
			T_CHECK(got == 1 && n == 15, "cap %zu: %d", cap, got);
		else
			T_CHECK(got < 0 && e == MAP_PARSE_TOO_LONG && line == 2,
			        "cap %zu: %d %u", cap, got, line);
	}
}

static void
test_quoted(void)
{
	char out[8];
	size_t n = 0;

	T_CHECK(map_parse_quoted("\"abc\"", 5, out, sizeof out, &n) == 5 &&
	            n == 3,
	        "quoted");
	T_CHECK(map_parse_quoted("\"abc", 4, out, sizeof out, &n) == 0,
	        "unterminated");
	T_CHECK(map_parse_quoted("\"abc\\", 5, out, sizeof out, &n) == 0,
	        "backslash at end");
	T_CHECK(map_parse_quoted("\"abcdefgh\"", 10, out, sizeof out, &n) == -1,
	        "too long");
	T_CHECK(map_parse_quoted("\"abcdefg\"", 9, out, sizeof out, &n) == 9 &&
	            n == 7,
	        "fits at cap-1");
	T_CHECK(map_parse_quoted("\"abcdefgh\"", 10, NULL, 0, &n) == 10 &&
	            n == 8,
	        "measure");
}

int
main(void)
{
	test_entries();
	test_key_limit();
	test_lines();
	test_line_limit();
	test_quoted();
	return T_DONE();
}
