/*
 * dns.c - MX and address lookups for outbound delivery (see dns.h). MX
 * queries go through our own exchange (dns_send.c) so that NXDOMAIN,
 * "no MX", SERVFAIL and timeouts can be told apart and truncated replies
 * are retried over TCP; addresses come from getaddrinfo() (hosts file,
 * then DNS), without AI_ADDRCONFIG so that a host without a global
 * address still resolves. Runs in the smtp client (mail_owner) and in
 * `tinymta dnsq`; the replies are untrusted (dns_parse.c).
 */
#include "dns.h"
#include "conf.h"
#include "dns_wire.h"
#include "util/log.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static void reason(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reason(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* Random bits for query ids and MX tie-breaking (RFC 5321 5.1). */
static uint32_t
random32(void)
{
	static uint32_t x;
	uint32_t r;
	struct timespec ts;

	if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
		return r;
	/* no entropy yet (early boot): a xorshift over the clock */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	x ^= (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec << 16;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

/* Sort by preference, equal ones shuffled (insertion sort: n <= cap). */
static void
mx_sort(struct dns_mx *mx, size_t n)
{
	uint32_t key[DNS_MX_MAX];
	struct dns_mx t;

	if (n > DNS_MX_MAX)
		n = DNS_MX_MAX;
	for (size_t i = 0; i < n; i++)
		key[i] = random32();
	for (size_t i = 1; i < n; i++) {
		uint32_t k = key[i];
		size_t j = i;

		t = mx[i];
		while (j > 0 &&
		       (mx[j - 1].pref > t.pref ||
		        (mx[j - 1].pref == t.pref && key[j - 1] > k))) {
			mx[j] = mx[j - 1];
			key[j] = key[j - 1];
			j--;
		}
		mx[j] = t;
		key[j] = k;
	}
}

/* RFC 7505: the only MX is "0 ." -> 1. Root hosts among real ones are
 * dropped (they name no host); only roots left counts as null MX too. */
static int
null_mx(struct dns_mx *mx, size_t *n)
{
	size_t o = 0, roots = 0;

	for (size_t i = 0; i < *n; i++) {
		if (mx[i].host[0] == '\0')
			roots++;
		else
			mx[o++] = mx[i];
	}
	*n = o;
	return roots > 0 && o == 0;
}

/* Query name for type; the reply in ans (DNS_MSG_MAX + 1 bytes). */
static enum dns_status
query(const char *name, unsigned type, unsigned char *ans, size_t *alen,
      char *why, size_t whylen)
{
	unsigned char q[DNS_UDP_MAX];
	size_t qlen;
	struct dns_conf c;
	char e[DNS_NAME_MAX + 32];

	if (dns_query_build(name, (uint16_t)type, (uint16_t)random32(), q,
	                    sizeof q, &qlen) < 0) {
		str_escape(e, sizeof e, name, strlen(name));
		reason(why, whylen, "malformed domain name %s", e);
		return DNS_NOTFOUND;
	}
	dns_conf_load(&c);
	if (dns_exchange(&c, q, qlen, ans, DNS_MSG_MAX + 1, alen, why, whylen) <
	    0)
		return DNS_TEMPFAIL;
	return DNS_OK;
}

/* see dns.h */
enum dns_status
dns_mx(const char *domain, struct dns_mx *out, size_t cap, size_t *n,
       int *nxdomain, char *why, size_t whylen)
{
	unsigned char ans[DNS_MSG_MAX + 1]; /* 64 KiB: the TCP maximum */
	size_t alen = 0;
	int tc, rcode;
	enum dns_status st;

	*n = 0;
	*nxdomain = 0;
	if (cap > DNS_MX_MAX)
		cap = DNS_MX_MAX;
	st = query(domain, DNS_T_MX, ans, &alen, why, whylen);
	if (st == DNS_NOTFOUND)
		*nxdomain = 1; /* not a domain name: it cannot exist */
	if (st != DNS_OK)
		return st;
	if (dns_parse_mx(ans, alen, out, cap, n, &tc, &rcode) < 0) {
		reason(why, whylen, "malformed DNS reply for %s type MX",
		       domain);
		return DNS_TEMPFAIL;
	}
	if (rcode == DNS_R_NXDOMAIN) {
		*nxdomain = 1;
		reason(why, whylen, "domain %s does not exist (NXDOMAIN)",
		       domain);
		return DNS_NOTFOUND;
	}
	if (null_mx(out, n)) {
		reason(why, whylen, "domain %s accepts no mail (null MX)",
		       domain);
		return DNS_NULLMX;
	}
	if (*n == 0) {
		reason(why, whylen, "domain %s has no MX record", domain);
		return DNS_NOTFOUND;
	}
	mx_sort(out, *n);
	return DNS_OK;
}
