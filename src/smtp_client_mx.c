/*
 * smtp_client_mx.c - the addresses to try for a next hop (see
 * smtp_client.h), RFC 5321 5.1: MX records by preference, each MX host's
 * addresses; a domain without MX records: its own A/AAAA; a domain that
 * does not exist bounces (5.1.2), a null MX (RFC 7505) bounces at once
 * (5.1.10), a lookup that fails for now defers (4.4.3). `[host]` skips
 * the MX lookup; an address literal skips DNS. Input: DNS answers,
 * already parsed and bounded by dns.c.
 */
#include "dns.h"
#include "smtp_client.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* Append the addresses of one host; the dns_status of its lookup. */
static enum dns_status
add_host(const struct conf *c, const char *host, unsigned port,
         struct smtpc_dest *out, size_t cap, size_t *n, char *why,
         size_t whylen)
{
	struct dns_addr a[DNS_ADDR_MAX];
	size_t na = 0;
	enum dns_status st;

	st = dns_addrs(host, conf_get(c, "inet_protocols"), a, DNS_ADDR_MAX,
	               &na, why, whylen);
	for (size_t i = 0; st == DNS_OK && i < na && *n < cap; i++) {
		struct smtpc_dest *d = &out[*n];
		char lit[INET6_ADDRSTRLEN];
		const void *ip =
		    a[i].sa.ss_family == AF_INET6
		        ? (const void *)&((const struct sockaddr_in6 *)&a[i].sa)
		              ->sin6_addr
		        : (const void *)&((const struct sockaddr_in *)&a[i].sa)
		              ->sin_addr;

		if (!inet_ntop(a[i].sa.ss_family, ip, lit, sizeof lit) ||
		    !smtpc_literal(lit, port, d))
			continue;
		str_copy(d->host, sizeof d->host, host);
		(*n)++;
	}
	return st;
}

static enum smtpc_lookup
fail(enum smtpc_lookup how, char *dsn, size_t dsncap, const char *code,
     char *why, size_t whylen, const char *text)
{
	char t[SMTPC_TEXT_LINE];

	str_copy(t, sizeof t, text);
	str_copy(dsn, dsncap, code);
	str_copy(why, whylen, t);
	return how;
}

enum smtpc_lookup
smtpc_lookup(const struct conf *c, const char *nexthop, struct smtpc_dest *out,
             size_t cap, size_t *n, char *dsn, size_t dsncap, char *why,
             size_t whylen)
{
	static struct dns_mx mx[DNS_MX_MAX]; /* 8 KB: off the stack */
	char host[SMTPC_HOST_MAX], t[SMTPC_TEXT_LINE], dw[200] = "";
	size_t nmx = 0;
	unsigned port;
	int usemx, nx = 0, tempfail = 0;
	enum dns_status st = DNS_NOTFOUND;

	*n = 0;
	if (smtpc_nexthop_parse(nexthop, host, sizeof host, &port, &usemx) <
	    0) {
		smtpc_fmt(t, sizeof t, "bad next hop syntax: %s", nexthop);
		return fail(SMTPC_LK_DEFER, dsn, dsncap, "4.3.5", why, whylen,
		            t);
	}
	if (smtpc_literal(host, port, &out[0])) {
		*n = 1;
		return SMTPC_LK_OK;
	}
	if (usemx)
		st = dns_mx(host, mx, DNS_MX_MAX, &nmx, &nx, dw, sizeof dw);
	if (st == DNS_NULLMX) {
		smtpc_fmt(t, sizeof t,
		          "Domain %s does not accept mail (nullMX)", host);
		return fail(SMTPC_LK_BOUNCE, dsn, dsncap, "5.1.10", why, whylen,
		            t);
	}
	if (st == DNS_NOTFOUND && nx) {
		smtpc_fmt(t, sizeof t,
		          "Host or domain name not found. Name service error "
		          "for name=%s type=MX: Host not found",
		          host);
		return fail(SMTPC_LK_BOUNCE, dsn, dsncap, "5.1.2", why, whylen,
		            t);
	}
	if (st == DNS_TEMPFAIL) {
		smtpc_fmt(t, sizeof t,
		          "Host or domain name not found. Name service error "
		          "for name=%s type=MX: Host not found, try again (%s)",
		          host, dw);
		return fail(SMTPC_LK_DEFER, dsn, dsncap, "4.4.3", why, whylen,
		            t);
	}
	if (st != DNS_OK) { /* no MX: the host's own addresses */
		nmx = 1;
		mx[0].pref = 0;
		str_copy(mx[0].host, sizeof mx[0].host, host);
	}
	for (size_t i = 0; i < nmx && *n < cap; i++) {
		enum dns_status a =
		    add_host(c, mx[i].host, port, out, cap, n, dw, sizeof dw);

		if (a == DNS_TEMPFAIL)
			tempfail = 1;
	}
	if (*n > 0)
		return SMTPC_LK_OK;
	smtpc_fmt(t, sizeof t,
	          "Host or domain name not found. Name service error for "
	          "name=%s type=A: Host not found%s (%s)",
	          nmx == 1 ? mx[0].host : host, tempfail ? ", try again" : "",
	          dw);
	return fail(tempfail ? SMTPC_LK_DEFER : SMTPC_LK_BOUNCE, dsn, dsncap,
	            tempfail ? "4.4.3" : "5.4.4", why, whylen, t);
}
