/*
 * dns_parse.c - DNS wire format: the MX answer parser (dns_parse_mx, see
 * dns.h), the query builder and the reply check (see dns_wire.h). PURE:
 * no I/O, no globals. The messages come from the network (untrusted: any
 * nameserver or a spoofer on the path); every read is bounds-checked
 * against the message length, and names are bounded (255 wire bytes, a
 * compression pointer must point before the label sequence it ends, so
 * pointers cannot loop). Runs in the smtp client (mail_owner).
 */
#include "dns.h"
#include "dns_wire.h"

#include <string.h>

#define NAME_WIRE_MAX 255 /* RFC 1035 3.1: octets, length bytes included */
#define LABEL_MAX 63

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static int
host_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/*
 * Expand the name at m[*pos] into out[DNS_NAME_MAX]: lower case, labels
 * joined by dots, no trailing dot, "" for the root. *pos moves past the
 * name as stored there (a compression pointer ends it). *bad is set when
 * a label has a byte a host name cannot have (out is then ""). Returns 0,
 * or -1 when the name is malformed.
 */
static int
name_get(const unsigned char *m, size_t len, size_t *pos, char *out, int *bad)
{
	size_t p = *pos, lim, o = 0, wire = 1;
	int jumped = 0;

	lim = p;

	*bad = 0;
	/* loop invariants: lim <= *pos, every pointer taken was < lim at the
	 * time, so the positions visited strictly decrease per jump and the
	 * loop ends; o < DNS_NAME_MAX because o < wire <= NAME_WIRE_MAX. */
	for (;;) {
		unsigned c, t;

		if (p >= len)
			return -1;
		c = m[p];
		if ((c & 0xc0) == 0xc0) {
			if (p + 1 >= len)
				return -1;
			t = (c & 0x3f) << 8 | m[p + 1];
			if (t >= lim || t < DNS_HDR_LEN)
				return -1; /* forward, self or into the header
				            */
			if (!jumped)
				*pos = p + 2;
			jumped = 1;
			lim = t;
			p = t;
			continue;
		}
		if (c & 0xc0)
			return -1; /* 0x40, 0x80: extended/reserved label types
			            */
		if (c == 0)
			break;
		if (p + 1 + c > len)
			return -1;
		wire += c + 1;
		if (wire > NAME_WIRE_MAX)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (size_t i = 0; i < c; i++) {
			unsigned char b = lower(m[p + 1 + i]);

			if (!host_byte(b))
				*bad = 1;
			out[o++] = (char)b;
		}
		p += 1 + c;
	}
	if (!jumped)
		*pos = p + 1;
	out[o] = '\0';
	if (*bad)
		out[0] = '\0';
	return 0;
}

/* Keep the cap lowest preferences seen: a full array drops its highest. */
static void
keep(struct dns_mx *out, size_t cap, size_t *n, unsigned pref, const char *host)
{
	size_t i = *n, worst = 0;

	if (cap == 0)
		return;
	if (*n == cap) {
		for (size_t j = 1; j < cap; j++)
			if (out[j].pref > out[worst].pref)
				worst = j;
		if (out[worst].pref <= pref)
			return;
		i = worst;
	} else {
		(*n)++;
	}
	out[i].pref = (uint16_t)pref;
	memcpy(out[i].host, host, strlen(host) + 1);
}

struct rr {
	char owner[DNS_NAME_MAX];
	int owner_bad;
	unsigned type, class;
	size_t rdata, rdlen; /* offset and length of the RDATA */
};

/* One resource record at m[*pos]; 0, or -1 when it does not fit. */
static int
rr_get(const unsigned char *m, size_t len, size_t *pos, struct rr *r)
{
	if (name_get(m, len, pos, r->owner, &r->owner_bad) < 0)
		return -1;
	if (len - *pos < 10)
		return -1;
	r->type = get16(m + *pos);
	r->class = get16(m + *pos + 2);
	r->rdlen = get16(m + *pos + 8); /* after the 4-byte TTL */
	r->rdata = *pos + 10;
	if (len - r->rdata < r->rdlen)
		return -1;
	*pos = r->rdata + r->rdlen;
	return 0;
}

/* A name filling the RDATA of r exactly at offset skip; 0 or -1. */
static int
rdata_name(const unsigned char *m, size_t len, const struct rr *r, size_t skip,
           char *out, int *bad)
{
	size_t p = r->rdata + skip;

	if (r->rdlen < skip + 1)
		return -1;
	if (name_get(m, len, &p, out, bad) < 0)
		return -1;
	return p == r->rdata + r->rdlen ? 0 : -1;
}

struct answer {
	char cur[DNS_NAME_MAX]; /* the query name, then each CNAME target */
	size_t bad;             /* MX records whose host is not a host name */
	size_t seen;            /* MX records of cur */
};

/* One answer record: follows a CNAME of cur, keeps an MX of cur. */
static int
answer_rr(const unsigned char *m, size_t len, const struct rr *r,
          struct answer *a, struct dns_mx *out, size_t cap, size_t *n)
{
	char host[DNS_NAME_MAX];
	int bad;

	if (r->class != DNS_C_IN || r->owner_bad || strcmp(r->owner, a->cur))
		return 0;
	if (r->type == DNS_T_CNAME) {
		if (rdata_name(m, len, r, 0, host, &bad) < 0)
			return -1;
		if (!bad)
			memcpy(a->cur, host, strlen(host) + 1);
		return 0;
	}
	if (r->type != DNS_T_MX)
		return 0;
	if (rdata_name(m, len, r, 2, host, &bad) < 0)
		return -1;
	a->seen++;
	if (bad)
		a->bad++;
	else
		keep(out, cap, n, get16(m + r->rdata), host);
	return 0;
}

/* see dns.h */
int
dns_parse_mx(const unsigned char *msg, size_t len, struct dns_mx *out,
             size_t cap, size_t *n, int *truncated, int *rcode)
{
	struct answer a;
	unsigned flags, qd, an;
	size_t pos = DNS_HDR_LEN;
	int bad;

	*n = 0;
	*truncated = 0;
	*rcode = 0;
	if (len < DNS_HDR_LEN)
		return -1;
	flags = get16(msg + 2);
	qd = get16(msg + 4);
	an = get16(msg + 6);
	*truncated = (flags >> 9) & 1;
	*rcode = (int)(flags & 15);
	if (!(flags & 0x8000) || ((flags >> 11) & 15) != 0)
		return -1; /* not a reply, or not to a standard query */
	if (qd == 0 && *rcode != DNS_R_NOERROR)
		return 0; /* an error reply may omit the question */
	if (qd != 1 || name_get(msg, len, &pos, a.cur, &bad) < 0 || bad ||
	    len - pos < 4 || get16(msg + pos) != DNS_T_MX ||
	    get16(msg + pos + 2) != DNS_C_IN)
		return -1;
	pos += 4;
	if (*rcode != DNS_R_NOERROR)
		return 0;
	a.bad = a.seen = 0;
	for (unsigned i = 0; i < an; i++) {
		struct rr r;

		if (rr_get(msg, len, &pos, &r) < 0 ||
		    answer_rr(msg, len, &r, &a, out, cap, n) < 0) {
			if (*truncated)
				break; /* the rest was cut: keep what came */
			return -1;
		}
	}
	/* MX records there, none usable: not "no MX" (that would fall back to
	 * the domain's address, RFC 5321 5.1), so a malformed answer. */
	return a.seen > 0 && a.bad == a.seen ? -1 : 0;
}

/* see dns_wire.h */
int
dns_query_build(const char *name, uint16_t type, uint16_t id,
                unsigned char *out, size_t cap, size_t *len)
{
	size_t nl = strlen(name), o = DNS_HDR_LEN, lab = 0;

	if (nl > 0 && name[nl - 1] == '.')
		nl--;
	/* wire form: one length byte per label plus the root byte */
	if (nl == 0 || nl > 253 || cap < DNS_HDR_LEN + nl + 2 + 4)
		return -1;
	memset(out, 0, DNS_HDR_LEN);
	out[0] = (unsigned char)(id >> 8);
	out[1] = (unsigned char)id;
	out[2] = 0x01; /* RD */
	out[5] = 1;    /* QDCOUNT */
	/* loop invariant: out[lab] is the length byte of the current label */
	lab = o++;
	for (size_t i = 0; i <= nl; i++) {
		unsigned char c = i < nl ? lower((unsigned char)name[i]) : '.';

		if (c == '.') {
			size_t l = o - lab - 1;

			if (l == 0 || l > LABEL_MAX)
				return -1;
			out[lab] = (unsigned char)l;
			lab = o++;
			continue;
		}
		if (!host_byte(c))
			return -1;
		out[o++] = (unsigned char)name[i];
	}
	out[lab] = 0; /* the root label */
	out[o++] = (unsigned char)(type >> 8);
	out[o++] = (unsigned char)type;
	out[o++] = 0;
	out[o++] = DNS_C_IN;
	*len = o;
	return 0;
}

/* see dns_wire.h */
int
dns_reply_matches(const unsigned char *q, size_t qlen, const unsigned char *ans,
                  size_t alen)
{
	if (qlen < DNS_HDR_LEN || alen < qlen)
		return 0;
	if (ans[0] != q[0] || ans[1] != q[1] || !(ans[2] & 0x80) ||
	    get16(ans + 4) != 1)
		return 0;
	for (size_t i = DNS_HDR_LEN; i < qlen; i++)
		if (lower(ans[i]) != lower(q[i]))
			return 0;
	return 1;
}
