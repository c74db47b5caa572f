/*
 * test_addr.c - addr_parse, addr_parse_path and addr_format, table-driven:
 * one row per RFC 5321/5322 example, limit and past surprise.
 */
#include "addr.h"
#include "t.h"

#include <stdlib.h>

#define U ADDR_F_UTF8
#define B ADDR_F_BARE
#define O ADDR_F_OBS
#define N ADDR_F_NULL
#define P ADDR_F_POSTMASTER
#define A ADDR_F_NOANGLE

static const struct {
	const char *in;
	unsigned flags;
	int want;
	const char *norm; /* addr_format output on ADDR_OK */
} cases[] = {
    /* plain mailboxes (RFC 5321 4.1.2) */
    {"user@example.com", 0, ADDR_OK, "user@example.com"},
    {"User@Example.COM", 0, ADDR_OK, "User@example.com"},
    {"first.last@sub.example.org", 0, ADDR_OK, "first.last@sub.example.org"},
    {"a@b", 0, ADDR_OK, "a@b"},
    {"x+tag@example.com", 0, ADDR_OK, "x+tag@example.com"},
    {"!#$%&'*+-/=?^_`{|}~@example.com", 0, ADDR_OK,
     "!#$%&'*+-/=?^_`{|}~@example.com"},
    {"a@xn--bcher-kva.example", 0, ADDR_OK, "a@xn--bcher-kva.example"},
    {"a@1.example", 0, ADDR_OK, "a@1.example"},
    {"a@a-b.c-d", 0, ADDR_OK, "a@a-b.c-d"},
    {"a@a--b.c", 0, ADDR_OK, "a@a--b.c"},
    /* quoted local parts */
    {"\"a b\"@x.org", 0, ADDR_OK, "\"a b\"@x.org"},
    {"\"abc\"@x.org", 0, ADDR_OK, "abc@x.org"},
    {"\"a\\\"b\"@x.org", 0, ADDR_OK, "\"a\\\"b\"@x.org"},
    {"\"a\\\\b\"@x.org", 0, ADDR_OK, "\"a\\\\b\"@x.org"},
    {"\"\\a\"@x.org", 0, ADDR_OK, "a@x.org"},
    {"\"a..b\"@x.org", 0, ADDR_OK, "\"a..b\"@x.org"},
    {"\"a@b\"@x.org", 0, ADDR_OK, "\"a@b\"@x.org"},
    {"\"\"@x.org", 0, ADDR_OK, "\"\"@x.org"},
    {"\"a(b)c\"@x", 0, ADDR_OK, "\"a(b)c\"@x"},
    {"\"a b@x.org", 0, ADDR_ERR_QUOTE, NULL},
    {"\"a\\\"@x.org", 0, ADDR_ERR_QUOTE, NULL},
    {"\"a\"b@x.org", 0, ADDR_ERR_SYNTAX, NULL},
    {"\"a\tb\"@x.org", 0, ADDR_ERR_CTRL, NULL},
    {"\"a\\\tb\"@x.org", 0, ADDR_ERR_CTRL, NULL},
    /* dots */
    {".a@x", 0, ADDR_ERR_DOT, NULL},
    {"a.@x", 0, ADDR_ERR_DOT, NULL},
    {"a..b@x", 0, ADDR_ERR_DOT, NULL},
    {"a..b@x", O, ADDR_OK, "\"a..b\"@x"},
    {".a@x", O, ADDR_OK, "\".a\"@x"},
    {"a.@x", O, ADDR_OK, "\"a.\"@x"},
    {".", O, ADDR_ERR_NO_DOMAIN, NULL},
    /* bad bytes */
    {"a b@x", 0, ADDR_ERR_SYNTAX, NULL},
    {"a(b@x", 0, ADDR_ERR_SYNTAX, NULL},
    {"a\x01@x", 0, ADDR_ERR_CTRL, NULL},
    {"a\x7f@x", 0, ADDR_ERR_CTRL, NULL},
    {"a@x\x7f", 0, ADDR_ERR_CTRL, NULL},
    {"a@x y", 0, ADDR_ERR_SYNTAX, NULL},
    {"a@x_y.org", 0, ADDR_ERR_SYNTAX, NULL},
    {"a@b@c", 0, ADDR_ERR_SYNTAX, NULL},
    {"<a@b>", 0, ADDR_ERR_SYNTAX, NULL},
    /* 8-bit and UTF-8 (RFC 6531) */
    {"j\xc3\xb6rg@x.de", 0, ADDR_ERR_8BIT, NULL},
    {"j\xc3\xb6rg@x.de", U, ADDR_OK, "j\xc3\xb6rg@x.de"},
    {"a@b\xc3\xbc"
     "cher.de",
     U, ADDR_OK,
     "a@b\xc3\xbc"
     "cher.de"},
    {"a@b\xc3\xbc"
     "cher.de",
     0, ADDR_ERR_8BIT, NULL},
    {"\"j\xc3\xb6 rg\"@x", U, ADDR_OK, "\"j\xc3\xb6 rg\"@x"},
    {"j\xc3@x", U, ADDR_ERR_UTF8, NULL},
    {"j\xc0\xafx@x", U, ADDR_ERR_UTF8, NULL},        /* overlong '/' */
    {"j\xed\xa0\x80@x", U, ADDR_ERR_UTF8, NULL},     /* surrogate */
    {"j\xf4\x90\x80\x80@x", U, ADDR_ERR_UTF8, NULL}, /* > U+10FFFF */
    {"j\xe2\x82\xac@x", U, ADDR_OK, "j\xe2\x82\xac@x"},
    {"j\xf0\x9f\x93\xa7@x", U, ADDR_OK, "j\xf0\x9f\x93\xa7@x"},
    {"\xa9@x", U, ADDR_ERR_UTF8, NULL},
    /* domains */
    {"a@", 0, ADDR_ERR_NO_DOMAIN, NULL},
    {"a", 0, ADDR_ERR_NO_DOMAIN, NULL},
    {"a", B, ADDR_OK, "a"},
    {"Admin", B, ADDR_OK, "Admin"},
    {"a@", B, ADDR_ERR_NO_DOMAIN, NULL},
    {"@x", 0, ADDR_ERR_LOCAL_EMPTY, NULL},
    {"", 0, ADDR_ERR_EMPTY, NULL},
    {"a@.x", 0, ADDR_ERR_DOMAIN, NULL},
    {"a@x.", 0, ADDR_ERR_DOMAIN, NULL},
    {"a@x..y", 0, ADDR_ERR_DOMAIN, NULL},
    {"a@-x.y", 0, ADDR_ERR_DOMAIN, NULL},
    {"a@x-.y", 0, ADDR_ERR_DOMAIN, NULL},
    {"a@x.y-", 0, ADDR_ERR_DOMAIN, NULL},
    /* address literals (RFC 5321 4.1.3) */
    {"a@[192.0.2.1]", 0, ADDR_OK, "a@[192.0.2.1]"},
    {"a@[255.255.255.255]", 0, ADDR_OK, "a@[255.255.255.255]"},
    {"a@[256.1.1.1]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[01.1.1.1]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[1.1.1]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[1.1.1.1.1]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[1.1.1.1", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[IPv6:2001:db8::1]", 0, ADDR_OK, "a@[IPv6:2001:db8::1]"},
    {"a@[ipv6:2001:DB8::1]", 0, ADDR_OK, "a@[IPv6:2001:db8::1]"},
    {"a@[IPv6:::1]", 0, ADDR_OK, "a@[IPv6:::1]"},
    {"a@[IPv6:::]", 0, ADDR_OK, "a@[IPv6:::]"},
    {"a@[IPv6:1::]", 0, ADDR_OK, "a@[IPv6:1::]"},
    {"a@[IPv6:1:2:3:4:5:6:7:8]", 0, ADDR_OK, "a@[IPv6:1:2:3:4:5:6:7:8]"},
    {"a@[IPv6:1:2:3:4:5:6:7]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[IPv6:1:2:3:4:5:6:7:8:9]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[IPv6:1::2::3]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[IPv6::1]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[IPv6:1:]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[IPv6:12345::]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[IPv6:g::]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[IPv6:::ffff:192.0.2.1]", 0, ADDR_OK, "a@[IPv6:::ffff:192.0.2.1]"},
    {"a@[IPv6:1:2:3:4:5:6:1.2.3.4]", 0, ADDR_OK,
     "a@[IPv6:1:2:3:4:5:6:1.2.3.4]"},
    {"a@[IPv6:1:2:3:4:5:6:7:1.2.3.4]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[IPv6:::1.2.3]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[IPv6:]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[x:1]", 0, ADDR_ERR_LITERAL, NULL},
    {"a@[IPv4:1.2.3.4]", 0, ADDR_ERR_LITERAL, NULL},
    /* RFC 3696 section 3 examples that a strict parser must handle */
    {"Abc\\@def@example.com", 0, ADDR_ERR_SYNTAX, NULL},
    {"\"Abc@def\"@example.com", 0, ADDR_OK, "\"Abc@def\"@example.com"},
    {"\"Fred Bloggs\"@example.com", 0, ADDR_OK, "\"Fred Bloggs\"@example.com"},
    {"\"Joe\\\\Blow\"@example.com", 0, ADDR_OK, "\"Joe\\\\Blow\"@example.com"},
    {"customer/department=shipping@example.com", 0, ADDR_OK,
     "customer/department=shipping@example.com"},
    {"$A12345@example.com", 0, ADDR_OK, "$A12345@example.com"},
    {"!def!xyz%abc@example.com", 0, ADDR_OK, "!def!xyz%abc@example.com"},
    {"_somename@example.com", 0, ADDR_OK, "_somename@example.com"},
};

static const struct {
	const char *in;
	unsigned flags;
	int want;
	const char *norm;
	int end; /* offset after '>' (-1: not checked) */
} paths[] = {
    {"<user@example.com>", 0, ADDR_OK, "user@example.com", 18},
    {"<User@EXAMPLE.com> SIZE=100", 0, ADDR_OK, "User@example.com", 18},
    {"<>", N, ADDR_OK, "", 2},
    {"<>", 0, ADDR_ERR_NULL, NULL, -1},
    {"<> BODY=8BITMIME", N, ADDR_OK, "", 2},
    {"<Postmaster>", P, ADDR_OK, "Postmaster", 12},
    {"<postMASTER>", P, ADDR_OK, "postMASTER", 12},
    {"<Postmaster>", 0, ADDR_ERR_NO_DOMAIN, NULL, -1},
    {"<admin>", P, ADDR_ERR_NO_DOMAIN, NULL, -1},
    {"<admin>", B, ADDR_OK, "admin", 7},
    {"<@a.example,@b.example:user@c.example>", 0, ADDR_OK, "user@c.example",
     38},
    {"<@a.example:user@c.example>", 0, ADDR_OK, "user@c.example", 27},
    {"<@[1.2.3.4]:user@c.example>", 0, ADDR_OK, "user@c.example", 27},
    {"<@[IPv6:::1],@x:u@c>", 0, ADDR_OK, "u@c", 20},
    {"<@a.example>", 0, ADDR_ERR_ROUTE, NULL, -1},
    {"<@:user@c.example>", 0, ADDR_ERR_ROUTE, NULL, -1},
    {"<@a..b:user@c.example>", 0, ADDR_ERR_ROUTE, NULL, -1},
    {"<@a,b:user@c.example>", 0, ADDR_ERR_ROUTE, NULL, -1},
    {"<@postmaster:postmaster>", P, ADDR_ERR_NO_DOMAIN, NULL, -1},
    {"<\"a>b\"@x>", 0, ADDR_OK, "\"a>b\"@x", 9},
    {"<\"a b>", 0, ADDR_ERR_QUOTE, NULL, -1},
    {"<user@example.com", 0, ADDR_ERR_ANGLE, NULL, -1},
    {"user@example.com>", 0, ADDR_ERR_ANGLE, NULL, -1},
    {"user@example.com", 0, ADDR_ERR_ANGLE, NULL, -1},
    {"user@example.com", A, ADDR_OK, "user@example.com", 16},
    {"user@example.com SIZE=1", A, ADDR_OK, "user@example.com", 16},
    {"<user@example.com>x", 0, ADDR_ERR_TRAILING, NULL, -1},
    {"<a@b><c@d>", 0, ADDR_ERR_TRAILING, NULL, -1},
    {"< user@example.com>", 0, ADDR_ERR_SYNTAX, NULL, -1},
    {"<user@example.com >", 0, ADDR_ERR_SYNTAX, NULL, -1},
    {"", 0, ADDR_ERR_EMPTY, NULL, -1},
    {"<", 0, ADDR_ERR_ANGLE, NULL, -1},
    {"<a@b\x00>", 0, ADDR_ERR_CTRL, NULL, -1},
    {"<j\xc3\xb6rg@x>", U, ADDR_OK, "j\xc3\xb6rg@x", 9},
    {"<j\xc3\xb6rg@x>", 0, ADDR_ERR_8BIT, NULL, -1},
};

/* "x...x@domain" with a local part of n octets. */
static char *
long_local(size_t n, int quoted)
{
	char *s = malloc(n + 16);
	size_t o = 0;

	if (quoted)
		s[o++] = '"';
	for (size_t i = 0; i < n; i++)
		s[o++] = quoted ? ' ' : 'l';
	if (quoted)
		s[o++] = '"';
	memcpy(s + o, "@x.org", 7);
	return s;
}

/* "a@" and a domain of total octets made of labels of at most lab. */
static char *
long_domain(size_t total, size_t lab)
{
	char *s = malloc(total + 8);
	size_t o = 2, run = 0;

	memcpy(s, "a@", 2);
	for (size_t i = 0; i < total; i++) {
		int dot = run == lab && i + 1 < total;

		s[o++] = dot ? '.' : 'd';
		run = dot ? 0 : run + 1;
	}
	s[o] = '\0';
	return s;
}

static void
test_cases(void)
{
	char buf[ADDR_TEXT_MAX];
	struct addr a;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum addr_err e = addr_parse(cases[i].in, strlen(cases[i].in),
		                             cases[i].flags, &a, NULL);

		T_CHECK((int)e == cases[i].want, "row %zu \"%s\": got %d (%s)",
		        i, cases[i].in, e, addr_strerror(e));
		if (e == ADDR_OK && cases[i].norm) {
			T_CHECK(addr_format(&a, buf, sizeof buf) >= 0,
			        "format %zu", i);
			T_STREQ(buf, cases[i].norm, cases[i].in);
		}
	}
}

static void
test_paths(void)
{
	char buf[ADDR_TEXT_MAX];
	struct addr a;

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		size_t end = 0, len = strlen(paths[i].in);
		enum addr_err e;

		if (strcmp(paths[i].in, "<a@b") == 0)
			len = 6; /* the row with an embedded NUL */
		e = addr_parse_path(paths[i].in, len, paths[i].flags, &a, &end,
		                    NULL);
		T_CHECK((int)e == paths[i].want, "path %zu \"%s\": got %d (%s)",
		        i, paths[i].in, e, addr_strerror(e));
		if (e != ADDR_OK)
			continue;
		if (paths[i].end >= 0)
			T_CHECK(end == (size_t)paths[i].end,
			        "path %zu end %zu want %d", i, end,
			        paths[i].end);
		T_CHECK(addr_format(&a, buf, sizeof buf) >= 0, "pfmt %zu", i);
		T_STREQ(buf, paths[i].norm, paths[i].in);
	}
}

/* Limits at limit-1, limit and limit+1 (STYLE.md 3.9). */
static void
test_limits(void)
{
	static const struct {
		size_t local, dom, lab;
		int quoted, want;
	} rows[] = {
	    {ADDR_LOCAL_MAX - 1, 6, 63, 0, ADDR_OK},
	    {ADDR_LOCAL_MAX, 6, 63, 0, ADDR_OK},
	    {ADDR_LOCAL_MAX + 1, 6, 63, 0, ADDR_ERR_LOCAL_LONG},
	    {ADDR_LOCAL_MAX, 6, 63, 1, ADDR_OK},
	    {ADDR_LOCAL_MAX + 1, 6, 63, 1, ADDR_ERR_LOCAL_LONG},
	    {0, ADDR_LABEL_MAX - 1, 200, 0, ADDR_OK},
	    {0, ADDR_LABEL_MAX, 200, 0, ADDR_OK},
	    {0, ADDR_LABEL_MAX + 1, 200, 0, ADDR_ERR_LABEL_LONG},
	    {0, ADDR_DOMAIN_MAX - 1, 63, 0, ADDR_OK},
	    {0, ADDR_DOMAIN_MAX, 63, 0, ADDR_OK},
	    {0, ADDR_DOMAIN_MAX + 1, 63, 0, ADDR_ERR_DOMAIN_LONG},
	    {0, 4000, 63, 0, ADDR_ERR_DOMAIN_LONG},
	};
	char fmt[ADDR_TEXT_MAX];
	struct addr a;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *s = rows[i].local
		              ? long_local(rows[i].local, rows[i].quoted)
		              : long_domain(rows[i].dom, rows[i].lab);
		enum addr_err e = addr_parse(s, strlen(s), 0, &a, NULL);

		T_CHECK((int)e == rows[i].want, "limit row %zu: got %s", i,
		        addr_strerror(e));
		if (e == ADDR_OK) {
			int n = addr_format(&a, fmt, sizeof fmt);

			T_CHECK(n == (int)strlen(s), "limit fmt %zu: %d", i, n);
			T_CHECK(addr_format(&a, fmt, (size_t)n) == -1,
			        "limit short cap %zu", i);
			T_CHECK(addr_format(&a, fmt, (size_t)n + 1) == n,
			        "limit exact cap %zu", i);
		}
		free(s);
	}
}

/* A literal whose length reaches the domain limit. */
static void
test_literal_limit(void)
{
	char s[600];
	struct addr a;
	size_t n;

	memcpy(s, "a@[IPv6:::", 10);
	n = 10;
	while (n < 2 + ADDR_DOMAIN_MAX + 2)
		s[n++] = '0';
	s[n++] = ']';
	T_CHECK(addr_parse(s, n, 0, &a, NULL) == ADDR_ERR_DOMAIN_LONG,
	        "long literal");
}

/* Error positions point at the offending byte. */
static void
test_errpos(void)
{
	static const struct {
		const char *in;
		size_t pos;
	} rows[] = {
	    {"a b@x", 1},  {"a@x..y", 4}, {"a..b@x", 2},
	    {"\"ab@x", 0}, {"a@x_y", 3},  {"a@xy-", 4},
	};
	struct addr a;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		size_t pos = 99;

		addr_parse(rows[i].in, strlen(rows[i].in), 0, &a, &pos);
		T_CHECK(pos == rows[i].pos, "errpos \"%s\": %zu want %zu",
		        rows[i].in, pos, rows[i].pos);
	}
}

static void
test_misc(void)
{
	struct addr a;
	char small[4];

	T_CHECK(addr_is_dot_string("a.b", 3, 0), "dot a.b");
	T_CHECK(!addr_is_dot_string("a b", 3, 0), "dot a b");
	T_CHECK(!addr_is_dot_string("", 0, 0), "dot empty");
	T_CHECK(addr_parse("a@b", 3, 0, &a, NULL) == ADDR_OK, "a@b");
	T_CHECK(addr_format(&a, small, 3) == -1, "fmt cap 3");
	T_CHECK(addr_format(&a, small, 4) == 3, "fmt cap 4");
	T_CHECK(addr_format(&a, small, 0) == -1, "fmt cap 0");
	/* an embedded NUL is a control byte, not the end of the string */
	T_CHECK(addr_parse("a\0b@x", 5, 0, &a, NULL) == ADDR_ERR_CTRL, "NUL");
	T_CHECK(addr_parse("a@x\0", 4, 0, &a, NULL) == ADDR_ERR_CTRL, "NUL d");
	T_STREQ(addr_strerror(ADDR_ERR_LABEL_LONG),
	        "domain label longer than 63 octets", "strerror");
	T_STREQ(addr_strerror((enum addr_err)999), "unknown address error",
	        "strerror 999");
}

int
main(void)
{
	test_cases();
	test_paths();
	test_limits();
	test_literal_limit();
	test_errpos();
	test_misc();
	return T_DONE();
}
