/*
 * test_smtp_client.c - the smtp client's pure parts: reply parser (limits
 * at -1/at/+1, NUL, codes, pipelined replies in one buffer), enhanced
 * status codes, EHLO keywords, NEXTHOP syntax, the DATA encoder (CRLF,
 * dots, bare CR, line breaking) and the content scanner.
 */
#include "smtp_client.h"
#include "smtp_client_data.h"
#include "smtp_client_reply.h"
#include "t.h"

#include <stdlib.h>

static struct smtpc_reply r;

/* Feed s whole; the status and how many bytes were used. */
static enum smtpc_rstat
feed(const char *s, size_t n, size_t *used)
{
	smtpc_reply_init(&r);
	return smtpc_reply_feed(&r, s, n, used);
}

static void
test_replies(void)
{
	static const struct {
		const char *in;
		enum smtpc_rstat want;
		int code;
		const char *text_or_err;
	} cases[] = {
	    {"220 ok\r\n", SMTPC_R_DONE, 220, "220 ok"},
	    {"220 ok\n", SMTPC_R_DONE, 220, "220 ok"},
	    {"250\r\n", SMTPC_R_DONE, 250, "250"},
	    {"250-a\r\n250-b\r\n250 c\r\n", SMTPC_R_DONE, 250,
	     "250-a\n250-b\n250 c"},
	    {"250-a\r\n", SMTPC_R_MORE, 0, NULL},
	    {"250 a", SMTPC_R_MORE, 0, NULL},
	    {"250-a\r\n251 b\r\n", SMTPC_R_ERR, 0, "changing codes"},
	    {"hello\r\n", SMTPC_R_ERR, 0, "malformed reply"},
	    {"25\r\n", SMTPC_R_ERR, 0, "malformed reply"},
	    {"199 x\r\n", SMTPC_R_ERR, 0, "malformed reply"},
	    {"600 x\r\n", SMTPC_R_ERR, 0, "malformed reply"},
	    {"250x\r\n", SMTPC_R_ERR, 0, "malformed reply"},
	    {"220 a\0b\r\n", SMTPC_R_ERR, 0, "NUL byte"},
	    {"220 a\rb\r\n", SMTPC_R_DONE, 220, "220 a\rb"},
	    {"\r\n", SMTPC_R_ERR, 0, "malformed reply"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = strlen(cases[i].in), used;
		enum smtpc_rstat st;

		if (strcmp(cases[i].in, "220 a") == 0)
			n = 9; /* the NUL case: strlen stops at the NUL */
		st = feed(cases[i].in, n, &used);
		T_CHECK(st == cases[i].want, "case %zu: got %d", i, (int)st);
		if (st == SMTPC_R_DONE) {
			T_CHECK(r.code == cases[i].code, "case %zu code %d", i,
			        r.code);
			T_STREQ(r.text, cases[i].text_or_err, cases[i].in);
		} else if (st == SMTPC_R_ERR) {
			T_CHECK(strstr(r.err, cases[i].text_or_err) != NULL,
			        "case %zu err %s", i, r.err);
		}
	}
}

static void
test_pipelined(void)
{
	const char *in = "250 2.1.0 Ok\r\n550 5.1.1 no\r\n250 2.1.5 Ok\r\n";
	size_t n = strlen(in), off = 0, used;
	int codes[3], k = 0;

	while (off < n && k < 3) {
		T_CHECK(feed(in + off, n - off, &used) == SMTPC_R_DONE,
		        "reply %d", k);
		codes[k++] = r.code;
		off += used;
	}
	T_CHECK(k == 3 && codes[0] == 250 && codes[1] == 550 &&
	            codes[2] == 250 && off == n,
	        "three replies in one buffer, in order");
	/* byte by byte gives the same */
	smtpc_reply_init(&r);
	for (off = 0; off < 14; off++) {
		enum smtpc_rstat st = smtpc_reply_feed(&r, in + off, 1, &used);

		T_CHECK(st == (off == 13 ? SMTPC_R_DONE : SMTPC_R_MORE),
		        "byte %zu", off);
	}
}

static void
test_limits(void)
{
	char *buf = malloc(SMTPC_LINE_MAX + 16);
	size_t used;

	/* a line of exactly SMTPC_LINE_MAX bytes passes, one more fails */
	for (size_t extra = 0; extra <= 1; extra++) {
		size_t len = SMTPC_LINE_MAX + extra;

		memcpy(buf, "250 ", 4);
		memset(buf + 4, 'x', len - 4);
		memcpy(buf + len, "\r\n", 2);
		T_CHECK(feed(buf, len + 2, &used) ==
		            (extra ? SMTPC_R_ERR : SMTPC_R_DONE),
		        "line of %zu bytes", len);
		T_CHECK(extra || (r.truncated == 0 && r.textlen == len),
		        "text kept whole");
	}
	free(buf);
	/* lines: SMTPC_LINES_MAX - 1 continuation lines and a last one pass */
	smtpc_reply_init(&r);
	for (int i = 0; i < SMTPC_LINES_MAX - 1; i++)
		T_CHECK(smtpc_reply_feed(&r, "250-x\r\n", 7, &used) ==
		            SMTPC_R_MORE,
		        "line %d", i);
	T_CHECK(smtpc_reply_feed(&r, "250 x\r\n", 7, &used) == SMTPC_R_DONE,
	        "the 100th line ends it");
	smtpc_reply_init(&r);
	for (int i = 0; i < SMTPC_LINES_MAX - 1; i++)
		(void)smtpc_reply_feed(&r, "250-x\r\n", 7, &used);
	T_CHECK(smtpc_reply_feed(&r, "250-x\r\n", 7, &used) == SMTPC_R_ERR,
	        "a 100th continuation line is too many");
	/* text over SMTPC_TEXT_MAX: truncated, still parsed */
	smtpc_reply_init(&r);
	buf = malloc(1000);
	memcpy(buf, "250-", 4);
	memset(buf + 4, 'y', 994);
	memcpy(buf + 998, "\r\n", 2);
	for (int i = 0; i < 6; i++)
		(void)smtpc_reply_feed(&r, buf, 1000, &used);
	T_CHECK(smtpc_reply_feed(&r, "250 end\r\n", 9, &used) == SMTPC_R_DONE &&
	            r.truncated && r.textlen <= SMTPC_TEXT_MAX,
	        "long reply truncated");
	free(buf);
}

static void
test_dsn_and_line(void)
{
	static const struct {
		const char *in, *dsn;
	} cases[] = {
	    {"550 5.1.1 No such user\r\n", "5.1.1"},
	    {"450 4.2.0 busy\r\n", "4.2.0"},
	    {"550 4.2.0 wrong class\r\n", "5.0.0"},
	    {"550 No code\r\n", "5.0.0"},
	    {"421 4.4.2\r\n", "4.4.2"},
	    {"250 2.0.0 Ok\r\n", "2.0.0"},
	    {"250 Ok\r\n", "2.0.0"},
	    {"550 5.1234.1 x\r\n", "5.0.0"},
	    {"550 5.1.\r\n", "5.0.0"},
	    {"550 5.1.1.1 x\r\n", "5.0.0"},
	    {"550-5.7.1 first\r\n550 5.7.1 second\r\n", "5.7.1"},
	};
	char dsn[16], line[64];
	size_t used;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		T_CHECK(feed(cases[i].in, strlen(cases[i].in), &used) ==
		            SMTPC_R_DONE,
		        "%s", cases[i].in);
		smtpc_reply_dsn(&r, dsn, sizeof dsn);
		T_STREQ(dsn, cases[i].dsn, cases[i].in);
	}
	(void)feed("550-a\tb\r\n550 c\x80\r\n", 17, &used);
	smtpc_reply_line(&r, line, sizeof line);
	T_STREQ(line, "550-a?b 550 c?", "one printable line");
	smtpc_reply_line(&r, line, 5);
	T_STREQ(line, "550-", "cut to cap");
}

static void
test_ehlo(void)
{
	const char *in = "250-mx.example Hello\r\n250-PIPELINING\r\n"
	                 "250-size 35882577\r\n250-8BITMIME\r\n"
	                 "250-AUTH PLAIN LOGIN\r\n250-STARTTLSX\r\n"
	                 "250-DSN\r\n250 SMTPUTF8\r\n";
	struct smtpc_ext e;
	size_t used;

	T_CHECK(feed(in, strlen(in), &used) == SMTPC_R_DONE, "ehlo reply");
	smtpc_ehlo_parse(&r, &e);
	T_CHECK(e.flags == (SMTPC_EXT_PIPELINING | SMTPC_EXT_SIZE |
	                    SMTPC_EXT_8BITMIME | SMTPC_EXT_AUTH |
	                    SMTPC_EXT_DSN | SMTPC_EXT_SMTPUTF8),
	        "flags %#x", e.flags);
	T_CHECK(e.size == 35882577, "size %llu", (unsigned long long)e.size);
	T_STREQ(e.auth, "PLAIN LOGIN", "auth mechanisms");
	in = "250-PIPELINING is the greeting line\r\n250 SIZE\r\n";
	(void)feed(in, strlen(in), &used);
	smtpc_ehlo_parse(&r, &e);
	T_CHECK(e.flags == SMTPC_EXT_SIZE && e.size == 0,
	        "first line is not a keyword; SIZE alone: no limit");
	in = "250-x\r\n250 SIZE 99999999999999999999999999\r\n";
	(void)feed(in, strlen(in), &used);
	smtpc_ehlo_parse(&r, &e);
	T_CHECK(e.size == UINT64_MAX, "huge SIZE saturates");
}

static void
test_nexthop(void)
{
	static const struct {
		const char *in;
		int ok;
		const char *host;
		unsigned port;
		int mx;
	} cases[] = {
	    {"example.com", 0, "example.com", 25, 1},
	    {"example.com:587", 0, "example.com", 587, 1},
	    {"[mail.example.com]", 0, "mail.example.com", 25, 0},
	    {"[192.0.2.1]:2525", 0, "192.0.2.1", 2525, 0},
	    {"[2001:db8::1]:26", 0, "2001:db8::1", 26, 0},
	    {"[2001:db8::1]", 0, "2001:db8::1", 25, 0},
	    {"2001:db8::1", -1, NULL, 0, 0},
	    {"[]", -1, NULL, 0, 0},
	    {"[x]y", -1, NULL, 0, 0},
	    {"[x]:0", -1, NULL, 0, 0},
	    {"[x]:65536", -1, NULL, 0, 0},
	    {"[x]:65535", 0, "x", 65535, 0},
	    {"x:", -1, NULL, 0, 0},
	    {":25", -1, NULL, 0, 0},
	    {"", -1, NULL, 0, 0},
	    {"a b", -1, NULL, 0, 0},
	    {"[x", -1, NULL, 0, 0},
	};
	char host[SMTPC_HOST_MAX];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned port = 0;
		int mx = -1, ok = smtpc_nexthop_parse(cases[i].in, host,
		                                      sizeof host, &port, &mx);

		T_CHECK(ok == cases[i].ok, "%s: %d", cases[i].in, ok);
		if (ok == 0) {
			T_STREQ(host, cases[i].host, cases[i].in);
			T_CHECK(port == cases[i].port && mx == cases[i].mx,
			        "%s: port %u mx %d", cases[i].in, port, mx);
		}
	}
}

static void
test_literal(void)
{
	struct smtpc_dest d;

	T_CHECK(smtpc_literal("192.0.2.1", 2525, &d) == 1 &&
	            d.sa.ss_family == AF_INET && d.port == 2525 &&
	            d.salen == sizeof(struct sockaddr_in),
	        "IPv4 literal");
	T_STREQ(d.addr, "192.0.2.1", "IPv4 text");
	T_CHECK(smtpc_literal("2001:db8::1", 25, &d) == 1 &&
	            d.sa.ss_family == AF_INET6,
	        "IPv6 literal");
	T_CHECK(smtpc_literal("IPv6:::1", 25, &d) == 1 &&
	            d.sa.ss_family == AF_INET6,
	        "RFC 5321 IPv6: tag");
	T_STREQ(d.addr, "::1", "tag dropped");
	T_CHECK(smtpc_literal("IPv6:192.0.2.1", 25, &d) == 0,
	        "IPv6: tag with an IPv4 address");
	T_CHECK(smtpc_literal("mx.example.com", 25, &d) == 0, "a name");
	T_CHECK(smtpc_literal("192.0.2.256", 25, &d) == 0, "bad IPv4");
	T_CHECK(smtpc_literal("", 25, &d) == 0, "empty");
}

/* Encode in with limit through a small output buffer. */
static size_t
encode(const char *in, size_t n, size_t limit, char *out, size_t cap)
{
	struct smtpc_dot d;
	size_t o = 0, used;

	smtpc_dot_init(&d, limit);
	while (n > 0) {
		size_t w = smtpc_dot_encode(&d, in, n, out + o,
		                            cap - o < 7 ? cap - o : 7, &used);

		o += w;
		in += used;
		n -= used;
	}
	return o + smtpc_dot_end(&d, out + o);
}

static void
test_dot(void)
{
	static const struct {
		const char *in;
		size_t limit;
		const char *want;
	} cases[] = {
	    {"a\nb\n", 998, "a\r\nb\r\n.\r\n"},
	    {"a\nb", 998, "a\r\nb\r\n.\r\n"},
	    {"", 998, ".\r\n"},
	    {".\n", 998, "..\r\n.\r\n"},
	    {"x\n.\n..\n", 998, "x\r\n..\r\n...\r\n.\r\n"},
	    {"a.b\n", 998, "a.b\r\n.\r\n"},
	    {"a\rb\n", 998, "a b\r\n.\r\n"},
	    {"\r\n", 998, " \r\n.\r\n"},
	    {"\r.\r\n", 998, " . \r\n.\r\n"},
	    {"abcdef\n", 3, "abc\r\n de\r\n f\r\n.\r\n"},
	    {"abc\n", 3, "abc\r\n.\r\n"},
	    {"abcd\n", 3, "abc\r\n d\r\n.\r\n"},
	    {".bcdef\n", 3, "..bc\r\n de\r\n f\r\n.\r\n"},
	    {"abc.ef\n", 3, "abc\r\n .e\r\n f\r\n.\r\n"},
	    {"abcdef\n", 0, "abcdef\r\n.\r\n"},
	};
	char out[256];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = encode(cases[i].in, strlen(cases[i].in),
		                  cases[i].limit, out, sizeof out - 1);

		out[n] = '\0';
		T_STREQ(out, cases[i].want, cases[i].in);
	}
}

static void
test_scan(void)
{
	struct smtpc_scan s = {0};

	smtpc_scan_feed(&s, "ab\ncd\n", 6);
	T_CHECK(s.size == 8 && !s.has8bit, "size with CRLF %llu",
	        (unsigned long long)s.size);
	smtpc_scan_feed(&s, "\xc3\xa9", 2);
	T_CHECK(s.size == 10 && s.has8bit, "8-bit seen");
}

int
main(void)
{
	test_replies();
	test_pipelined();
	test_limits();
	test_dsn_and_line();
	test_ehlo();
	test_nexthop();
	test_literal();
	test_dot();
	test_scan();
	return T_DONE();
}
