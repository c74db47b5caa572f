/*
 * smtp_client_nexthop.c - NEXTHOP syntax of the smtp agent (see
 * smtp_client.h): `host`, `host:port`, `[host]`, `[host]:port`,
 * `[2001:db8::1]:port`. Input: qmgr's argument (from main.cf or a
 * recipient's domain): checked, bounded.
 */
#include "smtp_client.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <string.h>

static int
port_of(const char *s, unsigned *port)
{
	uint32_t v;

	if (scan_u32(s, &v) < 0 || v == 0 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

int
smtpc_nexthop_parse(const char *nexthop, char *host, size_t cap, unsigned *port,
                    int *mx)
{
	const char *p = nexthop, *end, *colon;

	*port = 25;
	*mx = p[0] != '[';
	if (p[0] == '[') {
		end = strchr(p, ']');
		if (!end || end == p + 1 ||
		    str_copy_n(host, cap, p + 1, (size_t)(end - p - 1)) < 0)
			return -1;
		if (end[1] == '\0')
			return 0;
		return end[1] == ':' ? port_of(end + 2, port) : -1;
	}
	colon = strchr(p, ':');
	if (colon && strchr(colon + 1, ':'))
		return -1; /* a bare IPv6 address needs brackets */
	if (colon == p || !*p)
		return -1;
	if (str_copy_n(host, cap, p, colon ? (size_t)(colon - p) : strlen(p)) <
	    0)
		return -1;
	for (const char *h = host; *h; h++)
		if ((unsigned char)*h <= ' ' || *h == '[' || *h == ']' ||
		    *h == '/')
			return -1;
	return colon ? port_of(colon + 1, port) : 0;
}

int
smtpc_literal(const char *host, unsigned port, struct smtpc_dest *d)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&d->sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&d->sa;
	const char *h = host;

	memset(&d->sa, 0, sizeof d->sa);
	if (str_prefix_nocase(h, "ipv6:"))
		h += 5;
	if (h == host && inet_pton(AF_INET, h, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		d->salen = sizeof *s4;
	} else if (inet_pton(AF_INET6, h, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		d->salen = sizeof *s6;
	} else {
		return 0;
	}
	str_copy(d->host, sizeof d->host, h);
	str_copy(d->addr, sizeof d->addr, h);
	d->port = port;
	return 1;
}
