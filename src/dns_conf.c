/*
 * dns_conf.c - /etc/resolv.conf for dns.c's own exchange (see
 * dns_wire.h): nameserver addresses and the timeout and attempts options,
 * read the way musl reads them. The file is trusted (root's); its text is
 * still parsed with bounds. Runs in the smtp client and `tinymta dnsq`.
 */
#include "dns_wire.h"
#include "util/io.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 256

static int
space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* One nameserver address: IPv4, or IPv6 with an optional %scope. */
static void
add_ns(struct dns_conf *c, const char *text)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&c->ns[c->nns];
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&c->ns[c->nns];
	char a[64];
	char *pct;

	if (c->nns >= DNS_NS_MAX || str_copy(a, sizeof a, text) < 0)
		return;
	memset(&c->ns[c->nns], 0, sizeof c->ns[c->nns]);
	if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		c->nslen[c->nns++] = sizeof *s4;
		return;
	}
	pct = strchr(a, '%');
	if (pct)
		*pct++ = '\0';
	if (inet_pton(AF_INET6, a, &s6->sin6_addr) != 1)
		return;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(53);
	if (pct) {
		uint32_t id;

		if (scan_u32(pct, &id) < 0)
			id = if_nametoindex(pct); /* 0 when unknown */
		s6->sin6_scope_id = id;
	}
	c->nslen[c->nns++] = sizeof *s6;
}

/* The number after key ("timeout:") in an options line, clamped. */
static void
option(const char *line, const char *key, unsigned max, unsigned *out)
{
	const char *p = strstr(line, key);
	unsigned long v;
	char *end;

	if (!p)
		return;
	p += strlen(key);
	if (*p < '0' || *p > '9')
		return;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno || end == p)
		return;
	*out = v > max ? max : v < 1 ? 1 : (unsigned)v;
}

static void
conf_line(struct dns_conf *c, char *line)
{
	char *p = line, *e;

	if (strncmp(p, "nameserver", 10) == 0 && space(p[10])) {
		p += 10;
		while (space(*p))
			p++;
		for (e = p; *e && !space(*e); e++)
			;
		*e = '\0';
		add_ns(c, p);
	} else if (strncmp(p, "options", 7) == 0 && space(p[7])) {
		option(p, "timeout:", DNS_TIMEOUT_MAX, &c->timeout);
		option(p, "attempts:", DNS_ATTEMPTS_MAX, &c->attempts);
	}
}

/* see dns_wire.h */
void
dns_conf_parse(const char *text, size_t len, struct dns_conf *c)
{
	size_t i = 0;

	memset(c, 0, sizeof *c);
	c->timeout = DNS_TIMEOUT_DEFAULT;
	c->attempts = DNS_ATTEMPTS_DEFAULT;
	/* loop invariant: i <= len, text[i] starts a line */
	while (i < len) {
		char line[LINE_MAX_LEN];
		size_t e = i, l;

		while (e < len && text[e] != '\n')
			e++;
		l = e - i;
		if (l < sizeof line) { /* longer lines are none of ours */
			memcpy(line, text + i, l);
			line[l] = '\0';
			conf_line(c, line);
		}
		i = e < len ? e + 1 : e;
	}
}

/* see dns_wire.h */
void
dns_conf_load(struct dns_conf *c)
{
	char *text = NULL;
	size_t len = 0;

	if (io_slurp(DNS_RESOLV_CONF, DNS_RESOLV_CONF_MAX, &text, &len) < 0)
		len = 0; /* missing or unreadable: the defaults, as musl */
	dns_conf_parse(text ? text : "", len, c);
	free(text);
	if (c->nns == 0) {
		struct sockaddr_in *s4 =
		    (struct sockaddr_in *)(void *)&c->ns[0];

		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		c->nslen[0] = sizeof *s4;
		c->nns = 1;
	}
}
