/*
 * dns.h - the lookups outbound delivery needs: MX records (RFC 5321 5.1,
 * RFC 7505 null MX) and a host's addresses, through musl's resolver and
 * /etc/resolv.conf (re-read on every query, as musl does), with our own
 * retry over TCP when a UDP answer comes back truncated (musl has no TCP
 * fallback). Answers are parsed by one explicit, bounded parser
 * (dns_parse_mx, fuzzed). Tri-state results as skalibs does: found, does
 * not exist (bounce), or try again later (defer).
 */
#ifndef TINYMTA_DNS_H
#define TINYMTA_DNS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_NAME_MAX 256 /* presentation form, with the NUL */
#define DNS_MX_MAX 32    /* MX records kept per domain (lowest first) */
#define DNS_ADDR_MAX 16  /* addresses kept per host */

enum dns_status {
	DNS_OK = 0,       /* found: out[0..*n) filled */
	DNS_NOTFOUND = 1, /* NXDOMAIN, or no record of the type: bounce */
	DNS_TEMPFAIL = 2, /* SERVFAIL, timeout, no server, bad answer: defer */
	DNS_NULLMX = 3,   /* RFC 7505 "MX 0 ." — the domain takes no mail */
};

struct dns_mx {
	uint16_t pref;
	char host[DNS_NAME_MAX]; /* no trailing dot, lower case */
};

struct dns_addr {
	struct sockaddr_storage sa; /* AF_INET or AF_INET6, port 0 */
	socklen_t len;
};

/* MX records of domain, sorted by preference (equal preferences in a
 * random order, RFC 5321 5.1), at most cap (DNS_MX_MAX). DNS_NOTFOUND
 * when the domain exists but has no MX (the caller then falls back to
 * the domain's own addresses) and when it does not exist (*nxdomain set
 * to 1). why (may be NULL) gets a one-line reason for the log/DSN. */
enum dns_status dns_mx(const char *domain, struct dns_mx *out, size_t cap,
                       size_t *n, int *nxdomain, char *why, size_t whylen);

/* A and AAAA addresses of host (IPv4 first unless prefer6), filtered by
 * inet_protocols ("all", "ipv4", "ipv6"), at most cap. A literal
 * address ("192.0.2.1", "2001:db8::1") is returned as is. */
enum dns_status dns_addrs(const char *host, const char *inet_protocols,
                          struct dns_addr *out, size_t cap, size_t *n,
                          char *why, size_t whylen);

/* Parse one DNS answer message (wire format, len bytes) to a query for
 * MX records: fills out as dns_mx does (unsorted), sets *truncated from
 * the TC bit and *rcode. -1 when the message is malformed (bounded:
 * compression loops, lengths past the end, over-long names). Pure. */
int dns_parse_mx(const unsigned char *msg, size_t len, struct dns_mx *out,
                 size_t cap, size_t *n, int *truncated, int *rcode);

#endif
