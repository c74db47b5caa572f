/*
 * dns_addr.c - a host's addresses for outbound delivery (dns_addrs, see
 * dns.h) through getaddrinfo(): the hosts file, then DNS A and AAAA.
 * AI_ADDRCONFIG is off (a router whose only address is private must
 * still resolve), literal addresses pass through, inet_protocols filters.
 * Runs in the smtp client (mail_owner) and `tinymta dnsq`.
 */
#define _GNU_SOURCE /* glibc declares EAI_NODATA ("no address") only so */
#include "dns.h"
#include "conf.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

struct protos {
	int v4, v6;
};

/* inet_protocols is a list: "all", or "ipv4" and/or "ipv6". */
static struct protos
protos_of(const char *list)
{
	struct protos p = {0, 0};
	const char *cur = list ? list : "all";
	char item[32];

	while (conf_list_next(&cur, item, sizeof item)) {
		if (str_eq_nocase(item, "all") || str_eq_nocase(item, "ipv4"))
			p.v4 = 1;
		if (str_eq_nocase(item, "all") || str_eq_nocase(item, "ipv6"))
			p.v6 = 1;
	}
	if (!p.v4 && !p.v6)
		p.v4 = p.v6 = 1; /* empty or unknown: conf checks the value */
	return p;
}

/* why = "PREFIX HOST: what", the host name escaped for the log. */
static void
reason(char *why, size_t whylen, const char *prefix, const char *host,
       const char *what)
{
	char e[DNS_NAME_MAX];

	str_escape(e, sizeof e, host, strlen(host));
	if (why && whylen)
		snprintf(why, whylen, "%s %s: %s", prefix, e, what);
}

/* A literal IPv4 or IPv6 address: 1 (out[0] filled), else 0. */
static int
literal(const char *host, struct dns_addr *a)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&a->sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&a->sa;

	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		a->len = sizeof *s4;
		return 1;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		a->len = sizeof *s6;
		return 1;
	}
	return 0;
}

static int
same(const struct dns_addr *a, const struct sockaddr *sa, socklen_t len)
{
	return a->len == len && memcmp(&a->sa, sa, len) == 0;
}

/* Copy the results of family fam (not yet there) into out; port 0. */
static void
take(const struct addrinfo *res, int fam, struct dns_addr *out, size_t cap,
     size_t *n)
{
	for (const struct addrinfo *ai = res; ai && *n < cap;
	     ai = ai->ai_next) {
		struct dns_addr a;
		size_t i;

		if (ai->ai_family != fam || ai->ai_addrlen > sizeof a.sa)
			continue;
		memset(&a, 0, sizeof a);
		memcpy(&a.sa, ai->ai_addr, ai->ai_addrlen);
		a.len = ai->ai_addrlen;
		if (fam == AF_INET)
			((struct sockaddr_in *)(void *)&a.sa)->sin_port = 0;
		else
			((struct sockaddr_in6 *)(void *)&a.sa)->sin6_port = 0;
		for (i = 0;
		     i < *n && !same(&out[i], (struct sockaddr *)&a.sa, a.len);
		     i++)
			;
		if (i == *n)
			out[(*n)++] = a;
	}
}

static enum dns_status
gai_status(int e, const char *host, char *why, size_t whylen)
{
	switch (e) {
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
		reason(why, whylen, "host", host, gai_strerror(e));
		return DNS_NOTFOUND;
	default: /* EAI_AGAIN, EAI_FAIL, EAI_SYSTEM, EAI_MEMORY: defer */
		reason(why, whylen, "host", host, gai_strerror(e));
		return DNS_TEMPFAIL;
	}
}

/* see dns.h */
enum dns_status
dns_addrs(const char *host, const char *inet_protocols, struct dns_addr *out,
          size_t cap, size_t *n, char *why, size_t whylen)
{
	struct protos p = protos_of(inet_protocols);
	struct addrinfo hints, *res = NULL;
	int e;

	*n = 0;
	if (cap == 0)
		return DNS_TEMPFAIL;
	if (literal(host, &out[0])) {
		int fam = out[0].sa.ss_family;

		if ((fam == AF_INET && !p.v4) || (fam == AF_INET6 && !p.v6)) {
			reason(why, whylen, "address", host,
			       "its protocol is off in inet_protocols");
			return DNS_NOTFOUND;
		}
		*n = 1;
		return DNS_OK;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = p.v4 && p.v6 ? AF_UNSPEC : p.v4 ? AF_INET : AF_INET6;
	hints.ai_socktype = SOCK_STREAM;
	e = getaddrinfo(host, NULL, &hints, &res);
	if (e != 0)
		return gai_status(e, host, why, whylen);
	if (p.v4) /* IPv4 first: the safer path on home routers */
		take(res, AF_INET, out, cap, n);
	if (p.v6)
		take(res, AF_INET6, out, cap, n);
	freeaddrinfo(res);
	if (*n == 0) {
		reason(why, whylen, "host", host,
		       "no address of an enabled protocol");
		return DNS_NOTFOUND;
	}
	return DNS_OK;
}
