/*
 * cidr.c - network address lists (see cidr.h). PURE: runs in smtpd
 * (mail_owner) for mynetworks and in tests; the list is trusted
 * configuration, the client address comes from the master (getpeername)
 * or from the test; both are parsed with bounds.
 */
#include "cidr.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <string.h>

/* Strip one pair of brackets around the address part of buf, in place:
 * "[a]/n" -> "a/n", "[a/n]" -> "a/n", "[a]" -> "a". -1 when unbalanced. */
static int
unbracket(char *buf)
{
	size_t n = strlen(buf);
	char *rb;

	if (buf[0] != '[')
		return strchr(buf, ']') ? -1 : 0;
	rb = strchr(buf, ']');
	if (!rb || strchr(rb + 1, ']') || strchr(rb + 1, '['))
		return -1;
	memmove(rb, rb + 1, n - (size_t)(rb - buf)); /* with the NUL */
	memmove(buf, buf + 1, n);
	return 0;
}

int
cidr_parse_addr(const char *s, int *family, unsigned char addr[16])
{
	char buf[CIDR_ENTRY_MAX];

	if (str_copy(buf, sizeof buf, s) < 0 || unbracket(buf) < 0)
		return -1;
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		static const unsigned char mapped[12] = {
		    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		*family = 6;
		if (memcmp(addr, mapped, 12) == 0) { /* ::ffff:a.b.c.d */
			memmove(addr, addr + 12, 4);
			memset(addr + 4, 0, 12);
			*family = 4;
		}
		return 0;
	}
	return -1;
}

int
cidr_parse(const char *s, size_t len, struct cidr *out)
{
	char buf[CIDR_ENTRY_MAX];
	char *slash;
	uint32_t bits;
	unsigned max;

	if (str_copy_n(buf, sizeof buf, s, len) < 0 || unbracket(buf) < 0)
		return -1;
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (cidr_parse_addr(buf, &out->family, out->addr) < 0)
		return -1;
	/* an IPv4-mapped entry (::ffff:a.b.c.d/n) is the IPv4 /(n-96) */
	max = out->family == 4 ? 32 : 128;
	if (slash && (scan_u32(slash, &bits) < 0 || bits > 128))
		return -1;
	if (slash && out->family == 4 && strchr(buf, ':')) {
		if (bits < 96)
			return -1;
		bits -= 96;
	}
	if (slash && bits > max)
		return -1;
	out->bits = slash ? bits : max;
	out->neg = 0;
	out->map = -1;
	return 0;
}

int
cidr_match(const struct cidr *n, int family, const unsigned char addr[16])
{
	unsigned full = n->bits / 8, rest = n->bits % 8;

	if (family != n->family)
		return 0;
	if (memcmp(n->addr, addr, full) != 0)
		return 0;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));

		if ((n->addr[full] & mask) != (addr[full] & mask))
			return 0;
	}
	return 1;
}

int
cidr_list_match(const char *list, const char *ip, size_t *bad)
{
	unsigned char a[16];
	int family, hit = 0;
	const char *p = list;

	if (bad)
		*bad = 0;
	if (cidr_parse_addr(ip, &family, a) < 0)
		return -1;
	/* loop invariant: p points into list, before or at its NUL */
	while (*p) {
		size_t n;
		struct cidr c;

		p += strspn(p, ", \t\r\n");
		n = strcspn(p, ", \t\r\n");
		if (n == 0)
			break;
		if (cidr_parse(p, n, &c) < 0) {
			if (bad)
				(*bad)++;
		} else if (!hit && cidr_match(&c, family, a)) {
			hit = 1;
		}
		p += n;
	}
	return hit;
}
