/*
 * x509_names.c - a certificate's subject and issuer as text (see
 * x509_names.h). The walk has a fixed depth (certificate, tbs, Name, RDN,
 * attribute: no recursion), every value is read with der_read (its
 * contents inside the buffer), every loop advances by at least the two
 * bytes of a header, and the text goes through put(), which never writes
 * past cap. UNTRUSTED input.
 */
#include "x509_names.h"
#include "der.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The text so far; once full, "..." is at its end and the rest ignored. */
struct out {
	char *s;
	size_t len, cap; /* cap >= 4 */
	int full;
};

/* Append p[n] whole, or "..." when it does not fit (keeping room for it). */
static void
put(struct out *o, const char *p, size_t n)
{
	if (o->full)
		return;
	if (n > o->cap - 4 - o->len) {
		memcpy(o->s + o->len, "...", 4);
		o->len += 3;
		o->full = 1;
		return;
	}
	memcpy(o->s + o->len, p, n);
	o->len += n;
	o->s[o->len] = '\0';
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* 0 for what must not reach a terminal, a log or a page as it is:
 * controls (C0, DEL, C1), surrogates, zero-width and bidi formatting
 * characters, the BOM, noncharacters, and beyond U+10FFFF. */
static int
visible(uint32_t c)
{
	if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0xad)
		return 0;
	if ((c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	if ((c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
	    (c >= 0x2060 && c <= 0x206f) || c == 0xfeff ||
	    (c >= 0xfff9 && c <= 0xfffb) || (c & 0xfffe) == 0xfffe ||
	    (c >= 0xfdd0 && c <= 0xfdef))
		return 0;
	return 1;
}

/* One character c, raw[rawlen] its bytes in the certificate (at most 4). */
static void
emit(struct out *o, uint32_t c, const unsigned char *raw, size_t rawlen,
     int first, int last)
{
	char b[4 * 4 + 1];
	size_t n = 0;

	if (!visible(c)) {
		for (size_t i = 0; i < rawlen && i < 4; i++)
			n += (size_t)snprintf(b + n, sizeof b - n, "\\x%02X",
			                      raw[i]);
	} else if (c < 0x80) {
		/* RFC 4514's specials, and a leading '#' or space and a
		 * trailing space */
		if (c == '\\' || c == ',' || c == '+' || c == '"' || c == ';' ||
		    c == '<' || c == '>' || (first && (c == '#' || c == ' ')) ||
		    (last && c == ' '))
			b[n++] = '\\';
		b[n++] = (char)c;
	} else if (c < 0x800) {
		b[n++] = (char)(0xc0 | c >> 6);
		b[n++] = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		b[n++] = (char)(0xe0 | c >> 12);
		b[n++] = (char)(0x80 | (c >> 6 & 0x3f));
		b[n++] = (char)(0x80 | (c & 0x3f));
	} else {
		b[n++] = (char)(0xf0 | c >> 18);
		b[n++] = (char)(0x80 | (c >> 12 & 0x3f));
		b[n++] = (char)(0x80 | (c >> 6 & 0x3f));
		b[n++] = (char)(0x80 | (c & 0x3f));
	}
	put(o, b, n);
}

/* The valid UTF-8 sequence at p[0..n) (RFC 3629: no overlong forms, no
 * surrogates): its length, *c its code point; 0 if invalid. (conf_json.c
 * has a NUL-terminated variant without the code point.) */
static size_t
utf8_dec(const unsigned char *p, size_t n, uint32_t *c)
{
	size_t k;
	uint32_t v;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2, v = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3, v = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4, v = p[0] & 0x07;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if ((k == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
	    (k == 4 && (v < 0x10000 || v > 0x10ffff)))
		return 0;
	*c = v;
	return k;
}

/* A string value of type tag; 0, or -1 when tag is no string type. */
static int
string(struct out *o, unsigned tag, const unsigned char *p, size_t n)
{
	size_t i = 0, k;
	uint32_t c;

	switch (tag) {
	case 0x0c: /* UTF8String */
		while (i < n) {
			if (p[i] < 0x80) {
				c = p[i], k = 1;
			} else if ((k = utf8_dec(p + i, n - i, &c)) == 0) {
				c = 0x80, k = 1; /* invalid: the byte as \xNN */
			}
			emit(o, c, p + i, k, i == 0, i + k == n);
			i += k;
		}
		return 0;
	case 0x1e: /* BMPString: UCS-2, big-endian */
	case 0x1c: /* UniversalString: UCS-4 */
		k = tag == 0x1e ? 2 : 4;
		while (i < n) {
			size_t m = n - i < k ? n - i : k;

			c = 0;
			for (size_t j = 0; j < m; j++)
				c = c << 8 | p[i + j];
			if (m < k)
				c = 0x80; /* a partial unit: its bytes */
			emit(o, c, p + i, m, i == 0, i + m == n);
			i += m;
		}
		return 0;
	case 0x12: /* NumericString */
	case 0x13: /* PrintableString */
	case 0x14: /* TeletexString (T.61): 8-bit bytes as \xNN */
	case 0x16: /* IA5String */
	case 0x1a: /* VisibleString */
		for (i = 0; i < n; i++)
			emit(o, p[i] < 0x80 ? p[i] : 0x80, p + i, 1, i == 0,
			     i + 1 == n);
		return 0;
	default:
		return -1;
	}
}

static const struct {
	const char *name;
	unsigned char len;
	unsigned char oid[10];
} short_names[] = {
    {"CN", 3, {0x55, 0x04, 0x03}},
    {"O", 3, {0x55, 0x04, 0x0a}},
    {"OU", 3, {0x55, 0x04, 0x0b}},
    {"C", 3, {0x55, 0x04, 0x06}},
    {"L", 3, {0x55, 0x04, 0x07}},
    {"ST", 3, {0x55, 0x04, 0x08}},
    {"serialNumber", 3, {0x55, 0x04, 0x05}},
    {"emailAddress", 9, {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01}},
    {"DC", 10, {0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19}},
};

/* The attribute type: a short name, else the dotted OID. 0 or -1. */
static int
attr_type(struct out *o, const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	int first = 1;
	char num[24];

	for (size_t i = 0; i < sizeof short_names / sizeof short_names[0]; i++)
		if (n == short_names[i].len &&
		    memcmp(p, short_names[i].oid, n) == 0) {
			puts_(o, short_names[i].name);
			return 0;
		}
	if (n == 0 || p[n - 1] & 0x80)
		return -1; /* empty, or the last arc unfinished */
	for (size_t i = 0; i < n; i++) {
		if (v == 0 && p[i] == 0x80)
			return -1; /* an arc with a leading zero: not minimal */
		if (v > (UINT64_MAX >> 7))
			return -1; /* over 64 bits */
		v = v << 7 | (p[i] & 0x7f);
		if (p[i] & 0x80)
			continue;
		if (first) {
			/* the first byte holds two arcs: 40 * X + Y */
			unsigned x = v < 40 ? 0 : v < 80 ? 1 : 2;

			snprintf(num, sizeof num, "%u.%llu", x,
			         (unsigned long long)(v - 40 * x));
			first = 0;
		} else {
			snprintf(num, sizeof num, ".%llu",
			         (unsigned long long)v);
		}
		puts_(o, num);
		v = 0;
	}
	return 0;
}

/* One AttributeTypeAndValue, a[n] its contents. */
static int
attribute(struct out *o, const unsigned char *a, size_t n, const char **why)
{
	struct der_val t, v;
	size_t pos = 0;

	if (der_read(a, n, &pos, &t) < 0 || t.tag != DER_OID ||
	    der_read(a, n, &pos, &v) < 0 || pos != n) {
		*why = "malformed attribute";
		return -1;
	}
	if (attr_type(o, t.p, t.len) < 0) {
		*why = "malformed attribute type";
		return -1;
	}
	put(o, "=", 1);
	if (string(o, v.tag, v.p, v.len) < 0) {
		/* not a string: '#' and the value's DER in hex */
		put(o, "#", 1);
		for (const unsigned char *q = a + v.start; q < v.p + v.len;
		     q++) {
			char h[3];

			snprintf(h, sizeof h, "%02x", *q);
			put(o, h, 2);
		}
	}
	return 0;
}

int
x509_dn_text(const unsigned char *der, size_t len, char *out, size_t cap,
             const char **why)
{
	struct out o = {out, 0, cap, 0};
	struct der_val name, rdn, atv;
	size_t pos = 0, i = 0;
	const char *dummy;

	if (!why)
		why = &dummy;
	*why = "";
	if (cap < 4)
		return -1;
	out[0] = '\0';
	if (der_read(der, len, &pos, &name) < 0 || name.tag != DER_SEQUENCE ||
	    pos != len) {
		*why = "not a Name";
		return -1;
	}
	/* each pass reads one RDN: i grows by its whole size */
	while (i < name.len) {
		size_t j = 0;

		if (der_read(name.p, name.len, &i, &rdn) < 0 ||
		    rdn.tag != DER_SET || rdn.len == 0) {
			*why = "malformed RDN";
			out[0] = '\0';
			return -1;
		}
		if (o.len > 0)
			put(&o, ", ", 2);
		while (j < rdn.len) {
			if (j > 0)
				put(&o, "+", 1);
			if (der_read(rdn.p, rdn.len, &j, &atv) < 0 ||
			    atv.tag != DER_SEQUENCE ||
			    attribute(&o, atv.p, atv.len, why) < 0) {
				if (!**why)
					*why = "malformed attribute";
				out[0] = '\0';
				return -1;
			}
		}
	}
	return 0;
}

int
x509_names(const unsigned char *der, size_t len, char *subject, size_t scap,
           char *issuer, size_t icap, const char **why)
{
	static const unsigned char want[] = {DER_INTEGER, DER_SEQUENCE,
	                                     DER_SEQUENCE, DER_SEQUENCE,
	                                     DER_SEQUENCE};
	struct der_val cert, tbs, v[5];
	size_t pos = 0, i = 0;
	const char *dummy;
	int r = 0;

	if (!why)
		why = &dummy;
	*why = "";
	if (subject && scap)
		subject[0] = '\0';
	if (issuer && icap)
		issuer[0] = '\0';
	if (der_read(der, len, &pos, &cert) < 0 || cert.tag != DER_SEQUENCE ||
	    der_read(cert.p, cert.len, &i, &tbs) < 0 ||
	    tbs.tag != DER_SEQUENCE) {
		*why = "not a certificate";
		return -1;
	}
	/* tbsCertificate: [0] version (optional), serialNumber, signature,
	 * issuer, validity, subject, … */
	pos = 0;
	for (size_t k = 0; k < 5; k++) {
		if (der_read(tbs.p, tbs.len, &pos, &v[k]) < 0) {
			*why = "truncated certificate";
			return -1;
		}
		if (k == 0 && v[0].tag == DER_CTX(0) &&
		    der_read(tbs.p, tbs.len, &pos, &v[0]) < 0) {
			*why = "truncated certificate";
			return -1;
		}
		if (v[k].tag != want[k]) {
			*why = "not a certificate";
			return -1;
		}
	}
	/* a Name whole (header and contents): from its start in tbs.p to
	 * the end of its contents */
	if (issuer &&
	    x509_dn_text(tbs.p + v[2].start,
	                 (size_t)(v[2].p + v[2].len - tbs.p) - v[2].start,
	                 issuer, icap, why) < 0)
		r = -1;
	if (r == 0 && subject &&
	    x509_dn_text(tbs.p + v[4].start,
	                 (size_t)(v[4].p + v[4].len - tbs.p) - v[4].start,
	                 subject, scap, why) < 0)
		r = -1;
	if (r < 0) {
		if (subject && scap)
			subject[0] = '\0';
		if (issuer && icap)
			issuer[0] = '\0';
	}
	return r;
}
