/*
 * dns_wire.h - the parts of dns.c's resolver below dns.h: building a
 * query, checking that a reply answers it, reading /etc/resolv.conf and
 * one exchange with the configured nameservers (UDP, then TCP when the
 * UDP answer is truncated). Used by dns.c and the unit tests; the smtp
 * client calls dns.h only.
 */
#ifndef TINYMTA_DNS_WIRE_H
#define TINYMTA_DNS_WIRE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_MSG_MAX 65535 /* RFC 1035 4.2.2: a TCP message's 16-bit length */
#define DNS_UDP_MAX 512   /* RFC 1035 2.3.4: we send no EDNS0 (as musl) */
#define DNS_HDR_LEN 12
#define DNS_T_A 1
#define DNS_T_CNAME 5
#define DNS_T_MX 15
#define DNS_T_AAAA 28
#define DNS_C_IN 1
#define DNS_R_NOERROR 0
#define DNS_R_FORMERR 1
#define DNS_R_SERVFAIL 2
#define DNS_R_NXDOMAIN 3
#define DNS_R_REFUSED 5

/* resolv.conf limits, the same as musl's (and glibc's MAXNS). */
#define DNS_NS_MAX 3
#define DNS_TIMEOUT_DEFAULT 5 /* seconds for the whole UDP exchange */
#define DNS_TIMEOUT_MAX 60
#define DNS_ATTEMPTS_DEFAULT 2 /* sends to each server within the timeout */
#define DNS_ATTEMPTS_MAX 10
#define DNS_RESOLV_CONF "/etc/resolv.conf"
#define DNS_RESOLV_CONF_MAX 65536 /* bytes read at most */

struct dns_conf {
	struct sockaddr_storage ns[DNS_NS_MAX];
	socklen_t nslen[DNS_NS_MAX];
	unsigned nns;      /* 0 after parsing: none listed (use 127.0.0.1) */
	unsigned timeout;  /* seconds, 1..DNS_TIMEOUT_MAX */
	unsigned attempts; /* 1..DNS_ATTEMPTS_MAX */
};

/* A standard query (RD set) for name (host name syntax: letters, digits,
 * '-', '_', labels of 1-63 bytes, 253 in all, one trailing dot allowed)
 * of type in class IN with the given id, into out[cap]. Pure. 0 and *len,
 * or -1 when the name is not a valid host name or out is too small. */
int dns_query_build(const char *name, uint16_t type, uint16_t id,
                    unsigned char *out, size_t cap, size_t *len);

/* 1 when the message ans[alen] is a reply to the query q[qlen] built by
 * dns_query_build: same id, QR set, one question equal to the query's
 * (names compared case-insensitively). Pure. */
int dns_reply_matches(const unsigned char *q, size_t qlen,
                      const unsigned char *ans, size_t alen);

/* Parse resolv.conf text: up to DNS_NS_MAX `nameserver ADDR` lines (IPv4,
 * or IPv6 with an optional %scope), `options timeout:N attempts:N`
 * (clamped as musl clamps them); other lines are ignored. Never fails. */
void dns_conf_parse(const char *text, size_t len, struct dns_conf *c);

/* Read DNS_RESOLV_CONF (re-read on every lookup: a DHCP renew is seen at
 * once). A missing file gives the defaults: 127.0.0.1, 5 s, 2 attempts. */
void dns_conf_load(struct dns_conf *c);

/* Send the query q[qlen] to the nameservers of c over UDP (all of them
 * at once, resent every timeout/attempts, for timeout seconds in all, as
 * musl does). The first NOERROR or NXDOMAIN reply is taken; a server's
 * SERVFAIL, REFUSED or other error code, or a refused port, drops that
 * server. A reply with the TC bit set is fetched again over TCP from the
 * same server (2-byte length prefix, RFC 1035 4.2.2; timeout seconds for
 * the connection). 0 with the reply in ans[cap] (cap >= DNS_MSG_MAX for
 * TCP) and *alen, or -1 with a one-line reason in why[whylen]. */
int dns_exchange(const struct dns_conf *c, const unsigned char *q, size_t qlen,
                 unsigned char *ans, size_t cap, size_t *alen, char *why,
                 size_t whylen);

#endif
