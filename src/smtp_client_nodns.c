/*
 * smtp_client_nodns.c - TEMPORARY: weak stand-ins for dns.h until branch
 * `dns` (src/dns.c) is merged; the real functions replace these at link
 * time. Every lookup of a name then fails for now (deferred, 4.4.3);
 * address literals and [literal] next hops need no DNS. Delete this file
 * once dns.c is in.
 */
#include "dns.h"
#include "util/str.h"

__attribute__((weak)) enum dns_status
dns_mx(const char *domain, struct dns_mx *out, size_t cap, size_t *n,
       int *nxdomain, char *why, size_t whylen)
{
	(void)domain;
	(void)out;
	(void)cap;
	*n = 0;
	*nxdomain = 0;
	if (why)
		str_copy(why, whylen, "DNS lookups are not built in");
	return DNS_TEMPFAIL;
}

__attribute__((weak)) enum dns_status
dns_addrs(const char *host, const char *inet_protocols, struct dns_addr *out,
          size_t cap, size_t *n, char *why, size_t whylen)
{
	(void)host;
	(void)inet_protocols;
	(void)out;
	(void)cap;
	*n = 0;
	if (why)
		str_copy(why, whylen, "DNS lookups are not built in");
	return DNS_TEMPFAIL;
}
