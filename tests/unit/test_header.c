/*
 * test_header.c - header field splitting and address-list extraction,
 * table-driven: RFC 5322 appendix A, obsolete forms, limits at -1/0/+1 and
 * hostile input.
 */
#include "header.h"
#include "t.h"

#include <stdlib.h>

/* Field splitting: dump is "name=value|" per field (value raw). */
static const struct {
	const char *in;
	int want;
	const char *dump;
	size_t body;
} fields[] = {
    {"To: a\n", HEADER_OK, "To= a|", 6},
    {"To: a\r\n", HEADER_OK, "To= a|", 7},
    {"To: a", HEADER_OK, "To= a|", 5},
    {"To: a\r", HEADER_OK, "To= a\r|", 6},
    {"Subject: x\n\tcontinued\n", HEADER_OK, "Subject= x\n\tcontinued|", 22},
    {"Subject: x\r\n continued\r\n", HEADER_OK, "Subject= x\r\n continued|",
     24},
    {"A: 1\nB: 2\n\nbody\n", HEADER_OK, "A= 1|B= 2|", 10},
    {"A: 1\r\n\r\nbody\n", HEADER_OK, "A= 1|", 6},
    {"A: 1\nnot a header\nB: 2\n", HEADER_OK, "A= 1|", 5},
    {"From user Sat Nov 29 2025\nA: 1\n", HEADER_OK, "", 0},
    {"Name : value\n", HEADER_OK, "Name= value|", 13},
    {"Name\t: value\n", HEADER_OK, "Name= value|", 13},
    {": empty name\n", HEADER_OK, "", 0},
    {" A: leading space\n", HEADER_OK, "", 0},
    {"A:\n", HEADER_OK, "A=|", 3},
    {"A:\nB:x\n", HEADER_OK, "A=|B=x|", 7},
    {"A: x\n \n", HEADER_OK, "A= x\n |", 7},
    {"A: x\n\tb\n\tc\nB: y\n", HEADER_OK, "A= x\n\tb\n\tc|B= y|", 16},
    {"\n", HEADER_OK, "", 0},
    {"", HEADER_OK, "", 0},
    {"X-\xc3\xa4: v\n", HEADER_OK, "", 0},
    {"A: \xc3\xa4\n", HEADER_OK, "A= \xc3\xa4|", 6},
    {"a-b_c.d: v\n", HEADER_OK, "a-b_c.d= v|", 11},
};

static void
dump_fields(const char *in, size_t len, char *out, size_t cap, size_t *body,
            int *err)
{
	struct header_field f[16];
	size_t n = 0, epos, o = 0;

	out[0] = '\0';
	*err = header_split(in, len, f, 16, &n, body, &epos);
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + o, cap - o, "%.*s=%.*s|",
		                 (int)f[i].name_len, in + f[i].start,
		                 (int)(f[i].value_end - f[i].value),
		                 in + f[i].value);

		if (w < 0 || (size_t)w >= cap - o)
			break;
		o += (size_t)w;
	}
}

static void
test_fields(void)
{
	char dump[512];
	size_t body;
	int err;

	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		dump_fields(fields[i].in, strlen(fields[i].in), dump,
		            sizeof dump, &body, &err);
		T_CHECK(err == fields[i].want, "fields %zu: err %d", i, err);
		T_STREQ(dump, fields[i].dump, fields[i].in);
		T_CHECK(body == fields[i].body, "fields %zu: body %zu want %zu",
		        i, body, fields[i].body);
	}
}

/* Addresses: dump is "group/" when in a group, then "name <addr>" or
 * "addr", joined by ", ". Errors: want and errpos. */
static const struct {
	const char *in;
	int want;
	const char *dump;
	size_t errpos;
} addrs[] = {
    /* RFC 5322 A.1.1 */
    {"John Doe <jdoe@machine.example>", HEADER_OK,
     "John Doe <jdoe@machine.example>", 0},
    {"Mary Smith <mary@example.net>", HEADER_OK,
     "Mary Smith <mary@example.net>", 0},
    /* A.1.2 */
    {"\"Joe Q. Public\" <john.q.public@example.com>", HEADER_OK,
     "\"Joe Q. Public\" <john.q.public@example.com>", 0},
    {"Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>", HEADER_OK,
     "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>", 0},
    {"<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
     HEADER_OK,
     "boss@nil.test, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>", 0},
    /* A.1.3 */
    {"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
     HEADER_OK,
     "A Group/Ed Jones <c@a.test>, A Group/joe@where.test, "
     "A Group/John <jdoe@one.test>",
     0},
    {"Undisclosed recipients:;", HEADER_OK, "", 0},
    /* A.5 */
    {"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
     HEADER_OK, "Pete(A nice \\) chap) <pete@silly.test>", 0},
    {"A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)"
     "public.example>,\r\n         joe@example.org,\r\n  John "
     "<jdoe@one.test> (my dear friend); (the end of the group)",
     HEADER_OK,
     "A Group(Some people)/Chris Jones <c@public.example>, "
     "A Group(Some people)/joe@example.org, "
     "A Group(Some people)/John <jdoe@one.test>",
     0},
    {"(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;",
     HEADER_OK, "", 0},
    /* A.6.1 obsolete */
    {"Joe Q. Public <john.q.public@example.com>", HEADER_OK,
     "Joe Q. Public <john.q.public@example.com>", 0},
    {"Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
     HEADER_OK, "Mary Smith <mary@example.net>, jdoe@test.example", 0},
    /* A.6.3 */
    {"John Doe <jdoe@machine(comment).  example>", HEADER_OK,
     "John Doe <jdoe@machine.example>", 0},
    {"Mary Smith\n  \n          <mary@example.net>", HEADER_OK,
     "Mary Smith <mary@example.net>", 0},
    /* everyday forms */
    {"admin", HEADER_OK, "admin", 0},
    {" a@x , b@y ", HEADER_OK, "a@x, b@y", 0},
    {"a@x,b@y,c@z", HEADER_OK, "a@x, b@y, c@z", 0},
    {"a@x; b@y", HEADER_OK, "a@x, b@y", 0},
    {"\"a b\"@x", HEADER_OK, "\"a b\"@x", 0},
    {"\"a,b\"@x, c@y", HEADER_OK, "\"a,b\"@x, c@y", 0},
    {"\"Smith, John\" <js@x>, other@y", HEADER_OK,
     "\"Smith, John\" <js@x>, other@y", 0},
    {"=?utf-8?q?J=C3=B6rg?= <j@x>", HEADER_OK, "=?utf-8?q?J=C3=B6rg?= <j@x>",
     0},
    {"J\xc3\xb6rg <j@x>", HEADER_OK, "J\xc3\xb6rg <j@x>", 0},
    {"j\xc3\xb6rg@x", HEADER_OK, "j\xc3\xb6rg@x", 0},
    {"<@a,@b:u@x>", HEADER_OK, "u@x", 0},
    {"<@[IPv6:::1]:u@x>", HEADER_OK, "u@x", 0},
    {"u@[1.2.3.4]", HEADER_OK, "u@[1.2.3.4]", 0},
    {"a . b @ x", HEADER_OK, "a.b@x", 0},
    {"a@x (Comment, with comma)", HEADER_OK, "a@x", 0},
    {"team: a@x, b@y;, c@z", HEADER_OK, "team/a@x, team/b@y, c@z", 0},
    {"team: a@x", HEADER_OK, "team/a@x", 0},
    {"", HEADER_OK, "", 0},
    {",,,", HEADER_OK, "", 0},
    {"  (only a comment)  ", HEADER_OK, "", 0},
    {"\r\n\t", HEADER_OK, "", 0},
    {"<a@x> (c)", HEADER_OK, "a@x", 0},
    /* errors */
    {"\"John <a@x>", HEADER_ERR_QUOTE, NULL, 0},
    {"a@x, \"b", HEADER_ERR_QUOTE, NULL, 5},
    {"John <a@x", HEADER_ERR_ANGLE, NULL, 5},
    {"a@x>", HEADER_ERR_ANGLE, NULL, 3},
    {"<<a@x>>", HEADER_ERR_ANGLE, NULL, 1},
    {"<a@x>>", HEADER_ERR_ANGLE, NULL, 5},
    {"(comment a@x", HEADER_ERR_COMMENT, NULL, 0},
    {"a@x)", HEADER_ERR_COMMENT, NULL, 3},
    {"<>", HEADER_ERR_EMPTY, NULL, 0},
    {"John <>", HEADER_ERR_EMPTY, NULL, 5},
    {"a@x, < (c) >", HEADER_ERR_EMPTY, NULL, 5},
    {"John Smith", HEADER_ERR_PHRASE, NULL, 5},
    {"a@x b@y", HEADER_ERR_PHRASE, NULL, 4},
    {"\"a\"\"b\"@x", HEADER_ERR_PHRASE, NULL, 3},
    {"<a@x> junk", HEADER_ERR_SYNTAX, NULL, 6},
    {"<a@x> <b@y>", HEADER_ERR_ANGLE, NULL, 6},
    {"g1: g2: a@x;;", HEADER_ERR_GROUP, NULL, 6},
    {"a\x01@x", HEADER_ERR_CTRL, NULL, 1},
    {"\"a\x00", HEADER_ERR_CTRL, NULL, 2},
    {"(a\x7f)", HEADER_ERR_CTRL, NULL, 2},
    {"\"a\\\x01\"@x", HEADER_ERR_CTRL, NULL, 3},
    {"(a\\\x01)", HEADER_ERR_CTRL, NULL, 3},
    {"a@[1.2\\\x01]", HEADER_ERR_CTRL, NULL, 7},
    {"[1.2.3.4", HEADER_ERR_LITERAL, NULL, 0},
    {"a@[1.2.3.4", HEADER_ERR_LITERAL, NULL, 2},
    {"a\\b@x", HEADER_ERR_SYNTAX, NULL, 1},
    {"<@a,@b>", HEADER_ERR_SYNTAX, NULL, 1},
    {"<a@x;>", HEADER_ERR_ANGLE, NULL, 0},
};

static void
dump_addrs(const char *in, size_t len, char *out, size_t cap, int *err,
           size_t *errpos)
{
	struct header_addr_iter it = {0};
	struct header_addr a;
	size_t o = 0;

	out[0] = '\0';
	while ((*err = header_addr_next(in, len, &it, &a, errpos)) ==
	       HEADER_OK) {
		int w = snprintf(
		    out + o, cap - o, "%s%.*s%s%.*s%s%s%s", o ? ", " : "",
		    (int)a.group_len, in + a.group_off, a.in_group ? "/" : "",
		    (int)a.name_len, in + a.name_off, a.name_len ? " <" : "",
		    a.addr, a.name_len ? ">" : "");

		if (w < 0 || (size_t)w >= cap - o)
			break;
		o += (size_t)w;
	}
	if (*err == HEADER_END)
		*err = HEADER_OK;
}

static void
test_addrs(void)
{
	char dump[1024];
	size_t errpos;
	int err;

	for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
		size_t len = strlen(addrs[i].in);

		if (strcmp(addrs[i].in, "\"a") == 0)
			len = 3; /* the row with an embedded NUL */
		dump_addrs(addrs[i].in, len, dump, sizeof dump, &err, &errpos);
		T_CHECK(err == addrs[i].want, "addrs %zu \"%s\": err %d (%s)",
		        i, addrs[i].in, err, header_strerror(err));
		if (addrs[i].want == HEADER_OK)
			T_STREQ(dump, addrs[i].dump, addrs[i].in);
		else
			T_CHECK(errpos == addrs[i].errpos,
			        "addrs %zu \"%s\": errpos %zu want %zu", i,
			        addrs[i].in, errpos, addrs[i].errpos);
	}
}

/* A field of exactly n bytes without its line end: "X: vvv…\n". */
static char *
field_of(size_t n, int folded)
{
	char *s = malloc(n + 2);

	memcpy(s, "X: ", 3);
	memset(s + 3, 'v', n - 3);
	if (folded)
		for (size_t i = 100; i + 2 < n; i += 100)
			memcpy(s + i, "\n\t", 2);
	s[n] = '\n';
	s[n + 1] = '\0';
	return s;
}

static void
test_field_limits(void)
{
	static const struct {
		size_t n;
		int folded, want;
	} rows[] = {
	    {HEADER_FIELD_MAX - 1, 0, HEADER_OK},
	    {HEADER_FIELD_MAX, 0, HEADER_OK},
	    {HEADER_FIELD_MAX + 1, 0, HEADER_ERR_FIELD_LONG},
	    {HEADER_FIELD_MAX, 1, HEADER_OK},
	    {HEADER_FIELD_MAX + 1, 1, HEADER_ERR_FIELD_LONG},
	};
	struct header_field f;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *s = field_of(rows[i].n, rows[i].folded);
		size_t pos = 0, epos = 99;
		int e = header_next(s, strlen(s), &pos, &f, &epos);

		T_CHECK(e == rows[i].want, "field limit %zu: %s", i,
		        header_strerror(e));
		if (e == HEADER_OK)
			T_CHECK(f.value_end - f.start == rows[i].n &&
			            pos == rows[i].n + 1,
			        "field limit %zu: len %zu", i,
			        f.value_end - f.start);
		else
			T_CHECK(epos == 0 && pos == 0, "field limit %zu pos",
			        i);
		free(s);
	}
}

static void
test_name_limits(void)
{
	char s[HEADER_NAME_MAX + 16];
	struct header_field f;

	for (size_t n = HEADER_NAME_MAX - 1; n <= HEADER_NAME_MAX + 1; n++) {
		size_t pos = 0, epos;
		int e;

		memset(s, 'N', n);
		memcpy(s + n, ": v\n", 5);
		e = header_next(s, strlen(s), &pos, &f, &epos);
		T_CHECK(e == (n > HEADER_NAME_MAX ? HEADER_ERR_NAME_LONG
		                                  : HEADER_OK),
		        "name of %zu: %s", n, header_strerror(e));
	}
}

static void
test_split_cap(void)
{
	struct header_field f[3];
	const char *s = "A: 1\nB: 2\nC: 3\n";
	const char *s4 = "A: 1\nB: 2\nC: 3\nD: 4\n\nbody";
	size_t n, body, epos;

	T_CHECK(header_split(s, strlen(s), f, 3, &n, &body, &epos) ==
	                HEADER_OK &&
	            n == 3 && body == 15,
	        "split 3 of 3");
	T_CHECK(header_split(s4, strlen(s4), f, 3, &n, &body, &epos) ==
	                HEADER_ERR_TOO_MANY &&
	            n == 3 && epos == 15,
	        "split 4 of 3");
	T_CHECK(header_split(s, strlen(s), f, 0, &n, &body, &epos) ==
	            HEADER_ERR_TOO_MANY,
	        "split cap 0");
}

/* Nested comments: HEADER_COMMENT_DEPTH is allowed, one more is not. */
static void
test_depth(void)
{
	char s[200];

	for (size_t d = HEADER_COMMENT_DEPTH - 1; d <= HEADER_COMMENT_DEPTH + 1;
	     d++) {
		struct header_addr_iter it = {0};
		struct header_addr a;
		size_t o = 0, epos;
		int e;

		o += (size_t)snprintf(s, sizeof s, "a@x ");
		for (size_t i = 0; i < d; i++)
			s[o++] = '(';
		for (size_t i = 0; i < d; i++)
			s[o++] = ')';
		e = header_addr_next(s, o, &it, &a, &epos);
		T_CHECK(e == (d > HEADER_COMMENT_DEPTH ? HEADER_ERR_DEPTH
		                                       : HEADER_OK),
		        "depth %zu: %s", d, header_strerror(e));
	}
}

/* An extracted address at HEADER_ADDR_MAX - 1, at it and over it. */
static void
test_addr_limits(void)
{
	char s[HEADER_ADDR_MAX + 64];

	for (size_t n = HEADER_ADDR_MAX - 1; n <= HEADER_ADDR_MAX + 1; n++) {
		struct header_addr_iter it = {0};
		struct header_addr a;
		size_t epos;
		int e;

		memset(s, 'l', n - 2);
		memcpy(s + n - 2, "@x", 2);
		memcpy(s + n, " (c)", 4);
		e = header_addr_next(s, n + 4, &it, &a, &epos);
		T_CHECK(e == (n > HEADER_ADDR_MAX ? HEADER_ERR_ADDR_LONG
		                                  : HEADER_OK),
		        "addr of %zu: %s", n, header_strerror(e));
		if (e == HEADER_OK)
			T_CHECK(a.addr_len == n && strlen(a.addr) == n,
			        "addr len %zu", a.addr_len);
	}
}

static void
test_misc(void)
{
	struct header_field f;
	const char *s = "cC: x\n";
	size_t pos = 0, epos;

	T_CHECK(header_next(s, strlen(s), &pos, &f, &epos) == HEADER_OK, "cc");
	T_CHECK(header_name_is(s, &f, "Cc"), "Cc");
	T_CHECK(header_name_is(s, &f, "CC"), "CC");
	T_CHECK(!header_name_is(s, &f, "C"), "C");
	T_CHECK(!header_name_is(s, &f, "Bcc"), "Bcc");
	T_CHECK(header_next(s, strlen(s), &pos, &f, &epos) == HEADER_END,
	        "cc end");
	T_CHECK(header_is_field("To:", 3), "is To:");
	T_CHECK(!header_is_field("To", 2), "is To");
	T_CHECK(!header_is_field("To x:", 5), "is To x:");
	T_CHECK(header_is_field(">From: x", 8), "is >From:");
	T_STREQ(header_strerror(HEADER_ERR_QUOTE), "unbalanced quotes", "str");
	T_STREQ(header_strerror((enum header_err)77), "unknown header error",
	        "str 77");
}

/* Many tiny elements and deep input never loop or overflow. */
static void
test_hostile(void)
{
	size_t n = 200000, count = 0, epos;
	char *s = malloc(n);
	struct header_addr_iter it = {0};
	struct header_addr a;
	int e;

	for (size_t i = 0; i < n; i += 4)
		memcpy(s + i, "a@b,", 4);
	while ((e = header_addr_next(s, n, &it, &a, &epos)) == HEADER_OK)
		count++;
	T_CHECK(e == HEADER_END && count == n / 4, "many: %zu", count);
	memset(s, '(', n);
	memset(&it, 0, sizeof it);
	T_CHECK(header_addr_next(s, n, &it, &a, &epos) == HEADER_ERR_DEPTH &&
	            epos == HEADER_COMMENT_DEPTH,
	        "deep");
	memset(s, '"', n);
	memset(&it, 0, sizeof it);
	e = header_addr_next(s, n, &it, &a, &epos);
	T_CHECK(e == HEADER_ERR_PHRASE, "quotes: %s", header_strerror(e));
	free(s);
}

/* spec_off/spec_len: the raw addr-spec in the value, for rewriting. */
static void
test_spec_span(void)
{
	static const struct {
		const char *in;
		const char *spans; /* the spans, joined by '|' */
	} cases[] = {
	    {"a@b", "a@b"},
	    {" Name <x@y> , (c) p@q (d)", "x@y|p@q"},
	    {"\"A, B\" <@r1,@r2:s@t>", "@r1,@r2:s@t"},
	    {"g: a @ b (c), <d\n @e>;", "a @ b|d\n @e"},
	    {"(only) \"q u\"@x.y", "\"q u\"@x.y"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct header_addr_iter it = {0};
		struct header_addr a;
		char got[200] = "";
		size_t epos, len = strlen(cases[i].in), o = 0;

		while (header_addr_next(cases[i].in, len, &it, &a, &epos) ==
		       HEADER_OK) {
			if (o)
				got[o++] = '|';
			memcpy(got + o, cases[i].in + a.spec_off, a.spec_len);
			o += a.spec_len;
			got[o] = '\0';
		}
		T_STREQ(got, cases[i].spans, cases[i].in);
	}
}

int
main(void)
{
	test_fields();
	test_addrs();
	test_field_limits();
	test_name_limits();
	test_split_cap();
	test_depth();
	test_addr_limits();
	test_misc();
	test_hostile();
	test_spec_span();
	return T_DONE();
}
