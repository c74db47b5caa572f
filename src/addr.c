/*
 * addr.c - RFC 5321 Mailbox and Path parser (see addr.h). PURE: no I/O, no
 * globals, no allocation; every output is a fixed array in struct addr.
 * Runs inside whichever role calls it (sendmail as the invoking user,
 * smtpd as mail_owner); every byte of its input is untrusted: a command
 * line, a message header, or an SMTP client. A 256-entry byte-class table
 * decides what each byte may be; NUL, controls and DEL are never allowed,
 * 8-bit bytes only as well-formed UTF-8 and only with ADDR_F_UTF8.
 */
#include "addr.h"
#include "util/str.h"

#include <string.h>

/* Byte classes (RFC 5321 4.1.2, RFC 5322 3.2.3). */
enum {
	AT = 1,  /* atext */
	QT = 2,  /* qtextSMTP: %d32-33 / %d35-91 / %d93-126 */
	QP = 4,  /* the second byte of quoted-pairSMTP: %d32-126 */
	LD = 8,  /* Let-dig and '-' (domain labels) */
	DT = 16, /* dtext: %d33-90 / %d94-126 */
	HI = 32, /* 8-bit: only inside UTF-8 with ADDR_F_UTF8 */
};
#define CTL 0                        /* NUL, controls, DEL: never */
#define SP_ (QT | QP)                /* space, '[' and ']' */
#define BSL QP                       /* backslash */
#define DQ_ (QP | DT)                /* double quote */
#define SPE (QT | QP | DT)           /* specials: ( ) , . : ; < > @ */
#define ATX (AT | QT | QP | DT)      /* atext punctuation */
#define ALN (AT | QT | QP | LD | DT) /* letters, digits, '-' */
#define HI_ HI

// clang-format off
static const unsigned char cls[256] = {
	CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL,
	CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL, CTL,
	SP_, ATX, DQ_, ATX, ATX, ATX, ATX, ATX, SPE, SPE, ATX, ATX, SPE, ALN, SPE, ATX,
	ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, SPE, SPE, SPE, ATX, SPE, ATX,
	SPE, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN,
	ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, SP_, BSL, SP_, ATX, ATX,
	ATX, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN,
	ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ALN, ATX, ATX, ATX, ATX, CTL,
	HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_,
	HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_,
	HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_,
	HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_,
	HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_,
	HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_,
	HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_,
	HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_, HI_,
};
// clang-format on

static const char *const errtext[] = {
    [ADDR_OK] = "ok",
    [ADDR_ERR_EMPTY] = "empty address",
    [ADDR_ERR_SYNTAX] = "bad address syntax",
    [ADDR_ERR_CTRL] = "control character in address",
    [ADDR_ERR_8BIT] = "8-bit character in address",
    [ADDR_ERR_UTF8] = "malformed UTF-8 in address",
    [ADDR_ERR_QUOTE] = "unterminated quoted string",
    [ADDR_ERR_LOCAL_EMPTY] = "empty local part",
    [ADDR_ERR_LOCAL_LONG] = "local part longer than 256 octets",
    [ADDR_ERR_DOT] = "leading, trailing or double dot in local part",
    [ADDR_ERR_NO_DOMAIN] = "domain missing",
    [ADDR_ERR_DOMAIN] = "bad domain syntax",
    [ADDR_ERR_LABEL_LONG] = "domain label longer than 63 octets",
    [ADDR_ERR_DOMAIN_LONG] = "domain longer than 255 octets",
    [ADDR_ERR_LITERAL] = "bad address literal",
    [ADDR_ERR_ANGLE] = "missing or unbalanced angle brackets",
    [ADDR_ERR_ROUTE] = "bad source route",
    [ADDR_ERR_NULL] = "null address not allowed here",
    [ADDR_ERR_TRAILING] = "unexpected text after address",
};

const char *
addr_strerror(enum addr_err e)
{
	if ((size_t)e >= sizeof errtext / sizeof errtext[0] || !errtext[e])
		return "unknown address error";
	return errtext[e];
}

/* Length of the well-formed UTF-8 sequence at p[0..n) (2..4), or 0
 * (RFC 3629 section 4: no overlongs, no surrogates, at most U+10FFFF). */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < need || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return need;
}

/* The error for a byte that is not allowed where it stands. */
static enum addr_err
bad_byte(unsigned char c, unsigned flags)
{
	if (cls[c] == CTL)
		return ADDR_ERR_CTRL;
	if (cls[c] & HI)
		return (flags & ADDR_F_UTF8) ? ADDR_ERR_UTF8 : ADDR_ERR_8BIT;
	return ADDR_ERR_SYNTAX;
}

/* Bytes of one character allowed by class mask at s[i..n): 1, the UTF-8
 * sequence length, or 0 when not allowed. */
static size_t
char_ok(const unsigned char *s, size_t i, size_t n, unsigned mask,
        unsigned flags)
{
	if (cls[s[i]] & mask)
		return 1;
	if ((cls[s[i]] & HI) && (flags & ADDR_F_UTF8))
		return utf8_seq(s + i, n - i);
	return 0;
}

int
addr_is_dot_string(const char *s, size_t len, unsigned flags)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	if (len == 0 || u[0] == '.' || u[len - 1] == '.')
		return 0;
	/* loop invariant: i < len, u[0..i) is a Dot-string prefix */
	while (i < len) {
		if (u[i] == '.') {
			if (u[i + 1] == '.')
				return 0;
			i++;
			continue;
		}
		k = char_ok(u, i, len, AT, flags);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

/* Append n bytes to the decoded local part; -1 when over the limit. */
static int
local_add(struct addr *out, size_t *ll, const unsigned char *p, size_t n)
{
	if (*ll + n > ADDR_LOCAL_MAX)
		return -1;
	memcpy(out->local + *ll, p, n);
	*ll += n;
	out->local[*ll] = '\0';
	return 0;
}

/* Quoted-string local part at s[0] == '"'; *pos ends after the quote. */
static enum addr_err
parse_quoted(const unsigned char *s, size_t n, unsigned flags, struct addr *out,
             size_t *pos)
{
	size_t i = 1, ll = 0, k;

	/* loop invariant: i <= n, out->local holds the decoded s[1..i) */
	while (i < n && s[i] != '"') {
		unsigned mask = QT;

		if (s[i] == '\\') {
			if (++i == n)
				break;
			mask = QP;
		}
		k = char_ok(s, i, n, mask, flags);
		if (k == 0) {
			*pos = i;
			return bad_byte(s[i], flags);
		}
		if (local_add(out, &ll, s + i, k) < 0) {
			*pos = i;
			return ADDR_ERR_LOCAL_LONG;
		}
		i += k;
	}
	if (i >= n) {
		*pos = 0;
		return ADDR_ERR_QUOTE;
	}
	*pos = i + 1;
	return ADDR_OK;
}

/* Dot-string local part up to '@' or the end; *pos ends there. */
static enum addr_err
parse_dots(const unsigned char *s, size_t n, unsigned flags, struct addr *out,
           size_t *pos)
{
	size_t i = 0, ll = 0, k;

	/* loop invariant: i <= n, out->local holds s[0..i) */
	while (i < n && s[i] != '@') {
		if (s[i] == '.' && !(flags & ADDR_F_OBS) &&
		    (i == 0 || s[i - 1] == '.' || i + 1 == n ||
		     s[i + 1] == '@')) {
			*pos = i;
			return ADDR_ERR_DOT;
		}
		k = s[i] == '.' ? 1 : char_ok(s, i, n, AT, flags);
		if (k == 0) {
			*pos = i;
			return bad_byte(s[i], flags);
		}
		if (local_add(out, &ll, s + i, k) < 0) {
			*pos = i;
			return ADDR_ERR_LOCAL_LONG;
		}
		i += k;
	}
	*pos = i;
	return i == 0 ? ADDR_ERR_LOCAL_EMPTY : ADDR_OK;
}

/* One hex group of an IPv6 literal: 1..4 hex digits; returns the count. */
static size_t
hex_group(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && i < 5 &&
	       ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
	        (s[i] >= 'A' && s[i] <= 'F')))
		i++;
	return i <= 4 ? i : 0;
}

/* Dotted-quad IPv4, each part 0..255 without leading zeros. 1 if valid. */
static int
ipv4_ok(const char *s, size_t n)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		unsigned v = 0;

		while (i < n && i - start < 4 && s[i] >= '0' && s[i] <= '9')
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
			return 0;
		if (part < 3 && (i >= n || s[i++] != '.'))
			return 0;
	}
	return i == n;
}

/* IPv6 (RFC 4291 2.2 text forms, as RFC 5321 4.1.3 IPv6-addr): eight
 * groups, or fewer with one "::", optionally ending in an IPv4 part that
 * counts as two groups. 1 if valid. */
static int
ipv6_ok(const char *s, size_t n)
{
	size_t i = 0, groups = 0, k;
	int gap = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 1;
		i = 2;
	}
	/* loop invariant: s[0..i) holds groups groups and gap "::" */
	while (i < n) {
		k = hex_group(s + i, n - i);
		if (k && i + k < n && s[i + k] == '.') {
			if (!ipv4_ok(s + i, n - i))
				return 0;
			groups += 2;
			i = n;
			break;
		}
		if (k == 0)
			return 0;
		groups++;
		i += k;
		if (i == n)
			break;
		if (s[i] != ':' || i + 1 == n)
			return 0;
		i++;
		if (s[i] == ':') {
			if (gap++)
				return 0;
			i++;
		}
	}
	return gap ? groups <= 7 : groups == 8;
}

/* 1 when s[0..5) is "IPv6:" in any case. */
static int
tag_v6(const char *s)
{
	static const char tag[] = "ipv6:";

	for (size_t i = 0; i < 5; i++)
		if ((s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]) != tag[i])
			return 0;
	return 1;
}

/* "[1.2.3.4]" or "[IPv6:…]" into out; the tag is matched in any case
 * (ABNF strings are case-insensitive) and written as "IPv6:", hex digits
 * are lowercased. */
static enum addr_err
parse_literal(const char *s, size_t n, char *out, size_t *errpos)
{
	int v6;

	*errpos = 0;
	if (n < 2 || s[n - 1] != ']')
		return ADDR_ERR_LITERAL;
	if (n > ADDR_DOMAIN_MAX)
		return ADDR_ERR_DOMAIN_LONG;
	v6 = n >= 7 && tag_v6(s + 1);
	if (v6 ? !ipv6_ok(s + 6, n - 7) : !ipv4_ok(s + 1, n - 2))
		return ADDR_ERR_LITERAL;
	for (size_t i = 0; i < n; i++)
		out[i] =
		    (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] + 32) : s[i];
	if (v6)
		memcpy(out + 1, "IPv6:", 5);
	out[n] = '\0';
	return ADDR_OK;
}

/* Check the label that ends at s[end) and started at s[start). */
static enum addr_err
label_end(const unsigned char *s, size_t start, size_t end, size_t *errpos)
{
	*errpos = start;
	if (end == start || s[start] == '-')
		return ADDR_ERR_DOMAIN;
	if (end - start > ADDR_LABEL_MAX) {
		*errpos = start + ADDR_LABEL_MAX;
		return ADDR_ERR_LABEL_LONG;
	}
	if (s[end - 1] == '-') {
		*errpos = end - 1;
		return ADDR_ERR_DOMAIN;
	}
	return ADDR_OK;
}

/* Domain or address literal s[0..n) into out[ADDR_DOMAIN_MAX + 1]. */
static enum addr_err
parse_domain(const char *d, size_t n, unsigned flags, char *out, size_t *errpos)
{
	const unsigned char *s = (const unsigned char *)d;
	size_t i = 0, start = 0, k;
	enum addr_err e;

	if (n > 0 && s[0] == '[')
		return parse_literal(d, n, out, errpos);
	/* loop invariant: i <= n, out[0..i) is the lowercased s[0..i),
	 * s[start..i) is the current label */
	while (i < n) {
		if (i >= ADDR_DOMAIN_MAX) {
			*errpos = i;
			return ADDR_ERR_DOMAIN_LONG;
		}
		if (s[i] == '.') {
			if ((e = label_end(s, start, i, errpos)) != ADDR_OK)
				return e;
			out[i++] = '.';
			start = i;
			continue;
		}
		k = char_ok(s, i, n, LD, flags);
		if (k == 0 || i + k > ADDR_DOMAIN_MAX) {
			*errpos = i;
			return k ? ADDR_ERR_DOMAIN_LONG : bad_byte(s[i], flags);
		}
		for (size_t j = 0; j < k; j++, i++)
			out[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32
			                                             : s[i]);
	}
	out[i] = '\0';
	return label_end(s, start, i, errpos);
}

enum addr_err
addr_parse(const char *in, size_t len, unsigned flags, struct addr *out,
           size_t *errpos)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t pos = 0, dpos = 0;
	enum addr_err e;

	memset(out, 0, sizeof *out);
	if (errpos)
		*errpos = 0;
	if (len == 0)
		return ADDR_ERR_EMPTY;
	if (s[0] == '"')
		e = parse_quoted(s, len, flags, out, &pos);
	else
		e = parse_dots(s, len, flags, out, &pos);
	if (e == ADDR_OK && pos < len && s[pos] != '@')
		e = ADDR_ERR_SYNTAX;
	if (e == ADDR_OK && pos == len && !(flags & ADDR_F_BARE))
		e = ADDR_ERR_NO_DOMAIN;
	if (e == ADDR_OK && pos + 1 == len) {
		pos++;
		e = ADDR_ERR_NO_DOMAIN;
	}
	if (e == ADDR_OK && pos < len) {
		e = parse_domain(in + pos + 1, len - pos - 1, flags,
		                 out->domain, &dpos);
		pos += 1 + dpos;
	}
	if (errpos)
		*errpos = pos;
	if (e != ADDR_OK)
		return e;
	out->quoted =
	    !addr_is_dot_string(out->local, strlen(out->local), flags);
	return ADDR_OK;
}

/* Offset of the '>' that closes the path opened at s[0], skipping quoted
 * strings; n when there is none (*inq says whether a quote was open). */
static size_t
find_close(const char *s, size_t n, int *inq)
{
	size_t i;

	*inq = 0;
	for (i = 1; i < n; i++) {
		if (*inq && s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '"')
			*inq = !*inq;
		else if (!*inq && s[i] == '>')
			return i;
	}
	return n;
}

/* A-d-l ":" at s[0] == '@': "@dom,@dom:". Returns the offset after ':'
 * or 0 with *errpos set. */
static size_t
skip_route(const char *s, size_t n, unsigned flags, size_t *errpos)
{
	char scratch[ADDR_DOMAIN_MAX + 1];
	size_t i = 0, dpos;

	/* loop invariant: s[i] should be the '@' of the next At-domain */
	while (i < n && s[i] == '@') {
		size_t start = ++i;

		if (i < n && s[i] == '[')
			while (i < n && s[i] != ']')
				i++;
		while (i < n && s[i] != ',' && s[i] != ':')
			i++;
		if (i == n || i == start ||
		    parse_domain(s + start, i - start, flags, scratch, &dpos) !=
		        ADDR_OK) {
			*errpos = i == n ? n : start;
			return 0;
		}
		if (s[i++] == ':')
			return i;
	}
	*errpos = i;
	return 0;
}

/* The mailbox inside a path; handles <Postmaster> and the route. */
static enum addr_err
path_mailbox(const char *s, size_t n, unsigned flags, struct addr *out,
             size_t *errpos)
{
	size_t skip = 0, pos = 0;
	enum addr_err e;

	if (n > 0 && s[0] == '@') {
		skip = skip_route(s, n, flags, errpos);
		if (skip == 0) {
			memset(out, 0, sizeof *out);
			return ADDR_ERR_ROUTE;
		}
	}
	e = addr_parse(s + skip, n - skip, flags | ADDR_F_BARE, out, &pos);
	*errpos = skip + pos;
	if (e == ADDR_OK && out->domain[0] == '\0' && !(flags & ADDR_F_BARE) &&
	    !((flags & ADDR_F_POSTMASTER) && skip == 0 &&
	      str_eq_nocase(out->local, "postmaster"))) {
		*errpos = n;
		return ADDR_ERR_NO_DOMAIN;
	}
	return e;
}

enum addr_err
addr_parse_path(const char *in, size_t len, unsigned flags, struct addr *out,
                size_t *end, size_t *errpos)
{
	size_t gt, pos = 0, dummy = 0;
	int inq;
	enum addr_err e;

	memset(out, 0, sizeof *out);
	errpos = errpos ? errpos : &dummy;
	*errpos = 0;
	if (len == 0)
		return ADDR_ERR_EMPTY;
	if (in[0] != '<') {
		if (!(flags & ADDR_F_NOANGLE))
			return ADDR_ERR_ANGLE;
		gt = 0;
		while (gt < len && in[gt] != ' ')
			gt++;
		e = path_mailbox(in, gt, flags, out, errpos);
		if (end)
			*end = gt;
		return e == ADDR_OK && !end && gt < len ? ADDR_ERR_TRAILING : e;
	}
	gt = find_close(in, len, &inq);
	if (gt == len) {
		*errpos = inq ? len : 0;
		return inq ? ADDR_ERR_QUOTE : ADDR_ERR_ANGLE;
	}
	if (gt == 1) {
		out->null = 1;
		e = (flags & ADDR_F_NULL) ? ADDR_OK : ADDR_ERR_NULL;
	} else {
		e = path_mailbox(in + 1, gt - 1, flags, out, &pos);
		*errpos = 1 + pos;
	}
	if (e != ADDR_OK)
		return e;
	if (end)
		*end = gt + 1;
	if (gt + 1 < len && (!end || in[gt + 1] != ' ')) {
		*errpos = gt + 1;
		return ADDR_ERR_TRAILING;
	}
	return ADDR_OK;
}

int
addr_format(const struct addr *a, char *dst, size_t cap)
{
	size_t o = 0, ll = strlen(a->local), dl = strlen(a->domain), need;

	need = ll + (dl ? dl + 1 : 0) + (a->quoted ? 2 : 0);
	for (size_t i = 0; a->quoted && i < ll; i++)
		need += a->local[i] == '"' || a->local[i] == '\\';
	if (need >= cap)
		return -1;
	if (a->quoted)
		dst[o++] = '"';
	for (size_t i = 0; i < ll; i++) {
		if (a->quoted && (a->local[i] == '"' || a->local[i] == '\\'))
			dst[o++] = '\\';
		dst[o++] = a->local[i];
	}
	if (a->quoted)
		dst[o++] = '"';
	if (dl) {
		dst[o++] = '@';
		memcpy(dst + o, a->domain, dl);
		o += dl;
	}
	dst[o] = '\0';
	return (int)o;
}
