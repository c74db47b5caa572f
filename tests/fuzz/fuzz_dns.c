/*
 * fuzz_dns.c - the DNS wire code under libFuzzer: the input is one reply
 * message for dns_parse_mx (twice: all records kept, and only 2), also
 * checked against a query by dns_reply_matches and read as resolv.conf
 * text. Whatever parses must give host names of host-name bytes only,
 * shorter than 254 characters, and at most cap records. The seed corpus
 * (corpus/dns/) holds real replies captured from dnsmasq.
 */
#include "dns.h"
#include "dns_wire.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static void
check_hosts(const struct dns_mx *mx, size_t n, size_t cap)
{
	CHECK(n <= cap);
	for (size_t i = 0; i < n; i++) {
		size_t l = strnlen(mx[i].host, DNS_NAME_MAX);

		CHECK(l < 254);
		for (size_t j = 0; j < l; j++) {
			char c = mx[i].host[j];

			CHECK((c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			      c == '.');
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_mx mx[DNS_MX_MAX];
	struct dns_conf conf;
	unsigned char q[DNS_UDP_MAX];
	size_t n, qlen;
	int tc, rc, r;

	r = dns_parse_mx(data, size, mx, DNS_MX_MAX, &n, &tc, &rc);
	CHECK(r == 0 || r == -1);
	CHECK(rc >= 0 && rc <= 15 && (tc == 0 || tc == 1));
	if (r == 0)
		check_hosts(mx, n, DNS_MX_MAX);
	r = dns_parse_mx(data, size, mx, 2, &n, &tc, &rc);
	if (r == 0)
		check_hosts(mx, n, 2);
	if (dns_query_build("a.test", DNS_T_MX, 0x4d58, q, sizeof q, &qlen) ==
	    0)
		(void)dns_reply_matches(q, qlen, data, size);
	dns_conf_parse((const char *)data, size, &conf);
	CHECK(conf.nns <= DNS_NS_MAX && conf.timeout >= 1 &&
	      conf.timeout <= DNS_TIMEOUT_MAX && conf.attempts >= 1 &&
	      conf.attempts <= DNS_ATTEMPTS_MAX);
	return 0;
}
