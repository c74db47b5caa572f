/*
 * dns.h - the lookups outbound delivery needs: MX records (RFC 5321 5.1,
 * RFC 7505 null MX) and a host's addresses. MX queries are sent by our own
 * exchange to the nameservers of /etc/resolv.conf (re-read on every
 * query, as musl does; its timeout and attempts options honoured), so
 * that NXDOMAIN, "no MX", SERVFAIL and timeouts can be told apart (musl's
 * res_query cannot), with a retry over TCP when a UDP answer comes back
 * truncated (musl has no TCP fallback). Addresses come from getaddrinfo.
 * Answers are parsed by one explicit, bounded parser (dns_parse_mx,
 * fuzzed). Tri-state results as skalibs does: found, does not exist
 * (bounce), or try again later (defer). Internals: dns_wire.h.
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
	/* (any preference: MX records naming only the root count as null) */
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
 * random order, RFC 5321 5.1): the cap lowest (cap is clamped to
 * DNS_MX_MAX). DNS_NOTFOUND when the domain exists but has no MX (the
 * caller then falls back to the domain's own addresses, RFC 5321 5.1) and
 * when it does not exist or is not a valid domain name (*nxdomain set to
 * 1: bounce). DNS_NULLMX for "MX 0 ." alone (records naming the root next
 * to real hosts are dropped). DNS_TEMPFAIL: no reply within the
 * resolv.conf timeout, SERVFAIL/REFUSED from every server, a truncated
 * reply that TCP could not fetch, a malformed reply. Hosts are never "".
 * why (may be NULL) gets a one-line reason for the log/DSN. */
enum dns_status dns_mx(const char *domain, struct dns_mx *out, size_t cap,
                       size_t *n, int *nxdomain, char *why, size_t whylen);

/* A and AAAA addresses of host (hosts file, then DNS; IPv4 first, no
 * duplicates), filtered by inet_protocols (the main.cf value: "all", or a
 * list of "ipv4", "ipv6"; NULL means all), at most cap, port 0. A literal
 * address ("192.0.2.1", "2001:db8::1", no brackets) is returned as is.
 * DNS_NOTFOUND: no such host or no address of an enabled protocol (the
 * resolver does not say which); DNS_TEMPFAIL: the resolver failed. */
enum dns_status dns_addrs(const char *host, const char *inet_protocols,
                          struct dns_addr *out, size_t cap, size_t *n,
                          char *why, size_t whylen);

/* Parse one DNS reply message (wire format, len bytes) to a query for
 * MX records: fills out[cap] with the MX records of the question name
 * (or of its CNAME target), unsorted, keeping the cap lowest preferences;
 * a record naming the root (null MX) has host "". Records whose host has
 * bytes a host name cannot have are skipped. Sets *truncated from the TC
 * bit (a cut record then ends the list instead of failing) and *rcode
 * (records are read only for NOERROR). 0, or -1 when the message is
 * malformed (not a reply to one MX question, lengths past the end,
 * compression pointers that do not point backwards, names over 255
 * bytes, or only unusable MX hosts). Pure. */
int dns_parse_mx(const unsigned char *msg, size_t len, struct dns_mx *out,
                 size_t cap, size_t *n, int *truncated, int *rcode);

#endif
