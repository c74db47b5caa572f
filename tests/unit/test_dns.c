/*
 * test_dns.c - the DNS wire code on crafted messages: dns_parse_mx (good
 * answers, compression, CNAME chains, truncation, loops, over-long names,
 * rcodes, null MX, more records than kept), dns_query_build,
 * dns_reply_matches and dns_conf_parse.
 */
#include "dns.h"
#include "dns_wire.h"
#include "t.h"

#include <arpa/inet.h>

/* A message under construction. */
struct msg {
	unsigned char b[DNS_MSG_MAX + 1];
	size_t len;
};

static void
put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void
put8(struct msg *m, unsigned v)
{
	m->b[m->len++] = (unsigned char)v;
}

static void
put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v & 255);
}

/* "a.b.c" as labels, ending with the root (or "" for the root alone). */
static void
put_name(struct msg *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		put8(m, (unsigned)l);
		put(m, name, l);
		name += l + (dot ? 1 : 0);
	}
	put8(m, 0);
}

static void
put_ptr(struct msg *m, unsigned off)
{
	put16(m, 0xc000 | off);
}

/* Header (id 0x1234, QR, RD, RA) with flags added, and the question. */
static void
start(struct msg *m, unsigned flags, unsigned rcode, unsigned an,
      const char *qname, unsigned qtype)
{
	m->len = 0;
	put16(m, 0x1234);
	put16(m, 0x8180 | flags | rcode);
	put16(m, 1);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
	put_name(m, qname);
	put16(m, qtype);
	put16(m, DNS_C_IN);
}

/* The fixed part of a record whose owner is already written. */
static void
rr_fixed(struct msg *m, unsigned type, unsigned rdlen)
{
	put16(m, type);
	put16(m, DNS_C_IN);
	put16(m, 0);
	put16(m, 300); /* TTL */
	put16(m, rdlen);
}

/* An MX record, owner a pointer to the question name (offset 12). */
static void
mx_rr(struct msg *m, unsigned pref, const char *host)
{
	put_ptr(m, 12);
	rr_fixed(m, DNS_T_MX, 2 + strlen(host) + 2 - (host[0] ? 0 : 1));
	put16(m, pref);
	put_name(m, host);
}

static int
parse(const struct msg *m, struct dns_mx *out, size_t cap, size_t *n, int *tc,
      int *rc)
{
	return dns_parse_mx(m->b, m->len, out, cap, n, tc, rc);
}

static void
test_good(void)
{
	static struct msg m;
	struct dns_mx mx[DNS_MX_MAX];
	size_t n;
	int tc, rc, r;

	start(&m, 0, 0, 3, "Example.ORG", DNS_T_MX);
	mx_rr(&m, 20, "MX2.example.org");
	mx_rr(&m, 10, "mx1.example.org");
	/* a target compressed to "mx3" + pointer to the question name */
	put_ptr(&m, 12);
	rr_fixed(&m, DNS_T_MX, 2 + 4 + 2);
	put16(&m, 30);
	put8(&m, 3);
	put(&m, "mx3", 3);
	put_ptr(&m, 12);
	r = parse(&m, mx, DNS_MX_MAX, &n, &tc, &rc);
	T_CHECK(r == 0 && n == 3 && tc == 0 && rc == 0, "r=%d n=%zu", r, n);
	T_CHECK(mx[0].pref == 20, "pref %u", mx[0].pref);
	T_STREQ(mx[0].host, "mx2.example.org", "lower case");
	T_STREQ(mx[1].host, "mx1.example.org", "second");
	T_STREQ(mx[2].host, "mx3.example.org", "compressed target");
	T_CHECK(mx[2].pref == 30, "pref %u", mx[2].pref);

	/* no answers: NOERROR, n 0 (nodata) */
	start(&m, 0, 0, 0, "example.org", DNS_T_MX);
	r = parse(&m, mx, DNS_MX_MAX, &n, &tc, &rc);
	T_CHECK(r == 0 && n == 0 && rc == 0, "nodata r=%d n=%zu", r, n);
	/* an A record in the answer (not asked) is skipped */
	start(&m, 0, 0, 2, "example.org", DNS_T_MX);
	put_ptr(&m, 12);
	rr_fixed(&m, DNS_T_A, 4);
	put(&m, "\x0a\x00\x00\x01", 4);
	mx_rr(&m, 5, "mx.example.org");
	r = parse(&m, mx, DNS_MX_MAX, &n, &tc, &rc);
	T_CHECK(r == 0 && n == 1 && mx[0].pref == 5, "skip A: r=%d n=%zu", r,
	        n);
}

static void
test_cname(void)
{
	static struct msg m;
	struct dns_mx mx[4];
	size_t n, target;
	int tc, rc, r;

	start(&m, 0, 0, 3, "alias.org", DNS_T_MX);
	put_ptr(&m, 12);
	rr_fixed(&m, DNS_T_CNAME, 10);
	target = m.len;
	put_name(&m, "real.org");
	/* the MX of another owner is not ours */
	put_name(&m, "other.org");
	rr_fixed(&m, DNS_T_MX, 2 + 5);
	put16(&m, 1);
	put_name(&m, "bad");
	put_ptr(&m, (unsigned)target);
	rr_fixed(&m, DNS_T_MX, 2 + 2);
	put16(&m, 7);
	put_ptr(&m, (unsigned)target + 5); /* "org" of "real.org" */
	r = parse(&m, mx, 4, &n, &tc, &rc);
	T_CHECK(r == 0 && n == 1, "cname r=%d n=%zu", r, n);
	T_CHECK(n == 1 && mx[0].pref == 7, "pref %u", mx[0].pref);
	T_STREQ(mx[0].host, "org", "target through a pointer");
}

static void
test_truncated(void)
{
	static struct msg m;
	struct dns_mx mx[DNS_MX_MAX];
	size_t n, full;
	int tc, rc, r;

	start(&m, 0, 0, 3, "example.org", DNS_T_MX);
	mx_rr(&m, 1, "a.example.org");
	mx_rr(&m, 2, "b.example.org");
	mx_rr(&m, 3, "c.example.org");
	full = m.len;
	/* every cut of a message without TC is malformed */
	for (size_t cut = 0; cut < full; cut++) {
		m.len = cut;
		r = parse(&m, mx, DNS_MX_MAX, &n, &tc, &rc);
		T_CHECK(r == -1, "cut at %zu: r=%d", cut, r);
	}
	/* with TC: what is whole is kept, the rest dropped */
	m.b[2] |= 0x02;
	m.len = full - 3;
	r = parse(&m, mx, DNS_MX_MAX, &n, &tc, &rc);
	T_CHECK(r == 0 && tc == 1 && n == 2, "tc r=%d tc=%d n=%zu", r, tc, n);
	m.len = full;
	r = parse(&m, mx, DNS_MX_MAX, &n, &tc, &rc);
	T_CHECK(r == 0 && tc == 1 && n == 3, "tc whole r=%d n=%zu", r, n);
}

static void
test_loops(void)
{
	static struct msg m;
	struct dns_mx mx[4];
	size_t n, at;
	int tc, rc, r;

	/* a target pointing at itself */
	start(&m, 0, 0, 1, "example.org", DNS_T_MX);
	put_ptr(&m, 12);
	rr_fixed(&m, DNS_T_MX, 4);
	put16(&m, 1);
	put_ptr(&m, (unsigned)m.len);
	r = parse(&m, mx, 4, &n, &tc, &rc);
	T_CHECK(r == -1, "self pointer r=%d", r);
	/* a forward pointer */
	start(&m, 0, 0, 1, "example.org", DNS_T_MX);
	put_ptr(&m, 12);
	rr_fixed(&m, DNS_T_MX, 4);
	put16(&m, 1);
	put_ptr(&m, (unsigned)m.len + 2);
	put_name(&m, "x");
	r = parse(&m, mx, 4, &n, &tc, &rc);
	T_CHECK(r == -1, "forward pointer r=%d", r);
	/* label then a pointer back to that label: a loop */
	start(&m, 0, 0, 1, "example.org", DNS_T_MX);
	put_ptr(&m, 12);
	rr_fixed(&m, DNS_T_MX, 2 + 2 + 2);
	put16(&m, 1);
	at = m.len;
	put8(&m, 1);
	put8(&m, 'a');
	put_ptr(&m, (unsigned)at);
	r = parse(&m, mx, 4, &n, &tc, &rc);
	T_CHECK(r == -1, "label loop r=%d", r);
	/* a pointer into the header */
	start(&m, 0, 0, 1, "example.org", DNS_T_MX);
	put_ptr(&m, 12);
	rr_fixed(&m, DNS_T_MX, 4);
	put16(&m, 1);
	put_ptr(&m, 4);
	r = parse(&m, mx, 4, &n, &tc, &rc);
	T_CHECK(r == -1, "pointer into the header r=%d", r);
	/* a reserved label type (0x40) */
	start(&m, 0, 0, 1, "example.org", DNS_T_MX);
	put_ptr(&m, 12);
	rr_fixed(&m, DNS_T_MX, 4);
	put16(&m, 1);
	put16(&m, 0x4100);
	r = parse(&m, mx, 4, &n, &tc, &rc);
	T_CHECK(r == -1, "label type 0x40 r=%d", r);
}

/* A host name of labels of at most 63 'a's whose wire form (length
 * bytes and the root byte included) is wire bytes long. */
static void
long_name(char *out, size_t wire)
{
	size_t o = 0, left = wire - 1; /* minus the root byte */

	while (left > 0) {
		size_t l = left - 1 > 63 ? 63 : left - 1;

		if (o)
			out[o++] = '.';
		memset(out + o, 'a', l);
		o += l;
		left -= l + 1;
	}
	out[o] = '\0';
}

static void
test_long_names(void)
{
	static struct msg m;
	struct dns_mx mx[2];
	char name[300];
	size_t n;
	int tc, rc, r;

	for (size_t w = 254; w <= 256; w++) {
		long_name(name, w);
		start(&m, 0, 0, 1, "example.org", DNS_T_MX);
		mx_rr(&m, 1, name);
		r = parse(&m, mx, 2, &n, &tc, &rc);
		if (w <= 255) {
			T_CHECK(r == 0 && n == 1, "wire %zu: r=%d", w, r);
			T_CHECK(n == 1 && strlen(mx[0].host) == w - 2,
			        "wire %zu: %zu chars", w, strlen(mx[0].host));
		} else {
			T_CHECK(r == -1, "wire %zu: r=%d", w, r);
		}
	}
	/* a label of 64 bytes is not a label (0x40 type bits) */
	start(&m, 0, 0, 1, "example.org", DNS_T_MX);
	put_ptr(&m, 12);
	rr_fixed(&m, DNS_T_MX, 2 + 66);
	put16(&m, 1);
	put8(&m, 64);
	memset(m.b + m.len, 'a', 64);
	m.len += 64;
	put8(&m, 0);
	r = parse(&m, mx, 2, &n, &tc, &rc);
	T_CHECK(r == -1, "64-byte label r=%d", r);
	/* a name grown past 255 bytes through a pointer */
	long_name(name, 250);
	start(&m, 0, 0, 1, "example.org", DNS_T_MX);
	put_ptr(&m, 12);
	rr_fixed(&m, DNS_T_MX, 2 + 249 + 2);
	put16(&m, 1);
	put_name(&m, name);
	m.len--; /* no root: continue with a pointer to example.org */
	put_ptr(&m, 12);
	r = parse(&m, mx, 2, &n, &tc, &rc);
	T_CHECK(r == -1, "249 + 13 wire bytes r=%d", r);
	/* a label, then the rest through a pointer */
	start(&m, 0, 0, 1, "example.org", DNS_T_MX);
	put_ptr(&m, 12);
	rr_fixed(&m, DNS_T_MX, 2 + 6 + 2);
	put16(&m, 1);
	put8(&m, 5);
	put(&m, "bbbbb", 5);
	put_ptr(&m, 12);
	r = parse(&m, mx, 2, &n, &tc, &rc);
	T_CHECK(r == 0 && n == 1, "short plus pointer r=%d", r);
	T_STREQ(n == 1 ? mx[0].host : "", "bbbbb.example.org", "via pointer");
}

static void
test_rcodes(void)
{
	static struct msg m;
	struct dns_mx mx[2];
	size_t n;
	int tc, rc, r;

	start(&m, 0, DNS_R_NXDOMAIN, 0, "nx.example", DNS_T_MX);
	r = parse(&m, mx, 2, &n, &tc, &rc);
	T_CHECK(r == 0 && rc == 3 && n == 0, "nxdomain r=%d rc=%d", r, rc);
	start(&m, 0, DNS_R_SERVFAIL, 0, "x.example", DNS_T_MX);
	r = parse(&m, mx, 2, &n, &tc, &rc);
	T_CHECK(r == 0 && rc == 2, "servfail r=%d rc=%d", r, rc);
	/* an error reply without the question */
	start(&m, 0, DNS_R_REFUSED, 0, "x.example", DNS_T_MX);
	m.b[5] = 0;
	m.len = DNS_HDR_LEN;
	r = parse(&m, mx, 2, &n, &tc, &rc);
	T_CHECK(r == 0 && rc == 5, "refused r=%d rc=%d", r, rc);
	/* records after an NXDOMAIN are not used */
	start(&m, 0, DNS_R_NXDOMAIN, 1, "nx.example", DNS_T_MX);
	mx_rr(&m, 1, "mx.nx.example");
	r = parse(&m, mx, 2, &n, &tc, &rc);
	T_CHECK(r == 0 && n == 0, "nx with records r=%d n=%zu", r, n);
	/* a query (QR clear), another opcode, another type: malformed */
	start(&m, 0, 0, 0, "x.example", DNS_T_MX);
	m.b[2] &= 0x7f;
	T_CHECK(parse(&m, mx, 2, &n, &tc, &rc) == -1, "QR clear");
	start(&m, 0x1000, 0, 0, "x.example", DNS_T_MX);
	T_CHECK(parse(&m, mx, 2, &n, &tc, &rc) == -1, "opcode 2");
	start(&m, 0, 0, 0, "x.example", DNS_T_A);
	T_CHECK(parse(&m, mx, 2, &n, &tc, &rc) == -1, "type A question");
	start(&m, 0, 0, 0, "x.example", DNS_T_MX);
	m.b[5] = 2;
	T_CHECK(parse(&m, mx, 2, &n, &tc, &rc) == -1, "two questions");
	T_CHECK(dns_parse_mx(m.b, 11, mx, 2, &n, &tc, &rc) == -1, "short");
}

static void
test_null_and_bad(void)
{
	static struct msg m;
	struct dns_mx mx[4];
	size_t n;
	int tc, rc, r;

	start(&m, 0, 0, 1, "nomail.example", DNS_T_MX);
	mx_rr(&m, 0, "");
	r = parse(&m, mx, 4, &n, &tc, &rc);
	T_CHECK(r == 0 && n == 1 && mx[0].pref == 0 && mx[0].host[0] == '\0',
	        "null MX r=%d n=%zu", r, n);
	/* a host with a byte no host name has: skipped; alone: malformed */
	start(&m, 0, 0, 2, "x.example", DNS_T_MX);
	mx_rr(&m, 1, "b\x01d.example");
	mx_rr(&m, 2, "good.example");
	r = parse(&m, mx, 4, &n, &tc, &rc);
	T_CHECK(r == 0 && n == 1 && mx[0].pref == 2, "bad skipped r=%d", r);
	start(&m, 0, 0, 1, "x.example", DNS_T_MX);
	mx_rr(&m, 1, "b d.example");
	T_CHECK(parse(&m, mx, 4, &n, &tc, &rc) == -1, "only a bad host");
	/* RDLENGTH longer than the name in it */
	start(&m, 0, 0, 1, "x.example", DNS_T_MX);
	put_ptr(&m, 12);
	rr_fixed(&m, DNS_T_MX, 2 + 4 + 1);
	put16(&m, 1);
	put_name(&m, "mx");
	put8(&m, 0);
	T_CHECK(parse(&m, mx, 4, &n, &tc, &rc) == -1, "rdlength too long");
	/* RDLENGTH past the end of the message */
	start(&m, 0, 0, 1, "x.example", DNS_T_MX);
	put_ptr(&m, 12);
	rr_fixed(&m, DNS_T_MX, 200);
	put16(&m, 1);
	put_name(&m, "mx");
	T_CHECK(parse(&m, mx, 4, &n, &tc, &rc) == -1, "rdlength past end");
	/* an MX record of RDLENGTH 2 (no name) */
	start(&m, 0, 0, 1, "x.example", DNS_T_MX);
	put_ptr(&m, 12);
	rr_fixed(&m, DNS_T_MX, 2);
	put16(&m, 1);
	T_CHECK(parse(&m, mx, 4, &n, &tc, &rc) == -1, "rdlength 2");
}

static void
test_many(void)
{
	static struct msg m;
	struct dns_mx mx[DNS_MX_MAX];
	char host[32];
	size_t n;
	int tc, rc, r, seen[41] = {0}, ok = 1;

	start(&m, 0, 0, 40, "many.example", DNS_T_MX);
	for (unsigned p = 40; p >= 1; p--) {
		snprintf(host, sizeof host, "mx%u.many.example", p);
		mx_rr(&m, p, host);
	}
	r = parse(&m, mx, DNS_MX_MAX, &n, &tc, &rc);
	T_CHECK(r == 0 && n == DNS_MX_MAX, "many r=%d n=%zu", r, n);
	for (size_t i = 0; i < n; i++)
		seen[mx[i].pref]++;
	for (unsigned p = 1; p <= 40; p++)
		if (seen[p] != (p <= DNS_MX_MAX ? 1 : 0))
			ok = 0;
	T_CHECK(ok, "the %d lowest preferences are kept", DNS_MX_MAX);
	r = parse(&m, mx, 0, &n, &tc, &rc);
	T_CHECK(r == 0 && n == 0, "cap 0 r=%d n=%zu", r, n);
}

static void
test_query(void)
{
	static struct msg m;
	unsigned char q[DNS_UDP_MAX];
	char name[300];
	size_t len;
	int r;

	r = dns_query_build("Mail.Example.org.", DNS_T_MX, 0xbeef, q, sizeof q,
	                    &len);
	T_CHECK(r == 0 && len == 12 + 18 + 4, "build r=%d len=%zu", r, len);
	T_CHECK(q[0] == 0xbe && q[1] == 0xef && q[2] == 1 && q[5] == 1,
	        "header");
	T_CHECK(memcmp(q + 12, "\4Mail\7Example\3org\0\0\17\0\1", 22) == 0,
	        "question");
	/* a reply to it: same id and question, any case */
	start(&m, 0, 0, 0, "mail.example.ORG", DNS_T_MX);
	m.b[0] = 0xbe;
	m.b[1] = 0xef;
	T_CHECK(dns_reply_matches(q, len, m.b, m.len), "reply matches");
	m.b[1] = 0xee;
	T_CHECK(!dns_reply_matches(q, len, m.b, m.len), "other id");
	m.b[1] = 0xef;
	m.b[12 + 1] = 'x';
	T_CHECK(!dns_reply_matches(q, len, m.b, m.len), "other name");
	start(&m, 0, 0, 0, "mail.example.org", DNS_T_A);
	m.b[0] = 0xbe;
	m.b[1] = 0xef;
	T_CHECK(!dns_reply_matches(q, len, m.b, m.len), "other type");
	T_CHECK(!dns_reply_matches(q, len, m.b, 20), "short reply");
	memcpy(m.b, q, len);
	T_CHECK(!dns_reply_matches(q, len, m.b, len), "the query itself");
	/* refused names */
	static const char *const bad[] = {"",    ".",   "a..b",  ".a",
	                                  "a b", "a/b", "a\\.b", "é.org"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		T_CHECK(dns_query_build(bad[i], DNS_T_MX, 1, q, sizeof q,
		                        &len) == -1,
		        "refused: \"%s\"", bad[i]);
	memset(name, 'a', 63);
	name[63] = '\0';
	T_CHECK(dns_query_build(name, 1, 1, q, sizeof q, &len) == 0, "63");
	name[63] = 'a';
	name[64] = '\0';
	T_CHECK(dns_query_build(name, 1, 1, q, sizeof q, &len) == -1, "64");
	long_name(name, 255); /* 253 characters */
	T_CHECK(dns_query_build(name, 1, 1, q, sizeof q, &len) == 0 &&
	            len == 12 + 255 + 4,
	        "253 chars: len %zu", len);
	long_name(name, 256);
	T_CHECK(dns_query_build(name, 1, 1, q, sizeof q, &len) == -1,
	        "254 chars");
	long_name(name, 255);
	T_CHECK(dns_query_build(name, 1, 1, q, 12 + 255 + 3, &len) == -1,
	        "buffer one short");
}

static void
test_conf(void)
{
	struct dns_conf c;
	const char *t = "# comment\n"
	                "search lan\n"
	                "nameserver 10.0.0.1\n"
	                "nameserver\t fe80::1%1 # x\n"
	                "nameserver bogus\n"
	                "nameserver 10.0.0.3\n"
	                "nameserver 10.0.0.4\n"
	                "options ndots:2 timeout:1 attempts:3\n";
	char a[64];
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;

	dns_conf_parse(t, strlen(t), &c);
	T_CHECK(c.nns == 3, "3 nameservers at most: %u", c.nns);
	T_CHECK(c.timeout == 1 && c.attempts == 3, "options %u %u", c.timeout,
	        c.attempts);
	s4 = (const struct sockaddr_in *)(const void *)&c.ns[0];
	T_CHECK(s4->sin_family == AF_INET && ntohs(s4->sin_port) == 53, "ipv4");
	T_STREQ(inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a), "10.0.0.1",
	        "first");
	s6 = (const struct sockaddr_in6 *)(const void *)&c.ns[1];
	T_CHECK(s6->sin6_family == AF_INET6 && s6->sin6_scope_id == 1,
	        "ipv6 with scope %u", s6->sin6_scope_id);
	s4 = (const struct sockaddr_in *)(const void *)&c.ns[2];
	T_STREQ(inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a), "10.0.0.3",
	        "bogus skipped");
	t = "options timeout:1000 attempts:0\nnameserver 1.2.3.4";
	dns_conf_parse(t, strlen(t), &c);
	T_CHECK(c.timeout == DNS_TIMEOUT_MAX && c.attempts == 1 && c.nns == 1,
	        "clamped %u %u, last line without newline %u", c.timeout,
	        c.attempts, c.nns);
	dns_conf_parse("", 0, &c);
	T_CHECK(c.nns == 0 && c.timeout == 5 && c.attempts == 2, "defaults");
}

int
main(void)
{
	test_good();
	test_cname();
	test_truncated();
	test_loops();
	test_long_names();
	test_rcodes();
	test_null_and_bad();
	test_many();
	test_query();
	test_conf();
	return T_DONE();
}
