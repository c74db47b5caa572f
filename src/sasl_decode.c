/*
 * sasl_decode.c - base64, the AUTH argument, PLAIN messages, users-file
 * lines and a constant-time comparison (see sasl_decode.h). PURE: no I/O,
 * no globals, no logging. Every input is UNTRUSTED (client bytes or a
 * file an administrator edited) and every write is bounded by the caller's
 * capacity.
 */
#include "sasl_decode.h"

#include <string.h>
#include <strings.h>

/* The value of a base64 digit, or -1. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

enum sasl_err
sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap,
                size_t *outlen)
{
	size_t o = 0;

	*outlen = 0;
	if (len % 4 != 0)
		return SASL_ERR_B64;
	if (len / 4 * 3 > cap + 2)
		return SASL_ERR_TOO_LONG;
	/* loop invariants: i % 4 == 0, i < len, o <= cap */
	for (size_t i = 0; i < len; i += 4) {
		const unsigned char *q = (const unsigned char *)in + i;
		int last = i + 4 == len, v[4], pad = 0;
		unsigned long w = 0;

		for (int k = 0; k < 4; k++) {
			if (q[k] == '=' && last && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = b64_value(q[k])) < 0)
				return SASL_ERR_B64; /* '=' only at the end */
		}
		w = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
		    (unsigned long)v[2] << 6 | (unsigned long)v[3];
		/* strict: the bits the padding leaves unused must be zero */
		if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
			return SASL_ERR_B64;
		if (o + (size_t)(3 - pad) > cap)
			return SASL_ERR_TOO_LONG;
		out[o++] = (unsigned char)(w >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(w >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)w;
	}
	*outlen = o;
	return SASL_OK;
}

enum sasl_err
sasl_parse_auth(const char *arg, size_t len, enum sasl_mech *m, const char **ir,
                size_t *irlen)
{
	const char *sp = memchr(arg, ' ', len);
	size_t mlen = sp ? (size_t)(sp - arg) : len;

	*ir = NULL;
	*irlen = 0;
	if (mlen == 5 && strncasecmp(arg, "PLAIN", 5) == 0)
		*m = SASL_MECH_PLAIN;
	else if (mlen == 5 && strncasecmp(arg, "LOGIN", 5) == 0)
		*m = SASL_MECH_LOGIN;
	else
		return mlen == 0 ? SASL_ERR_SYNTAX : SASL_ERR_MECH;
	if (!sp)
		return SASL_OK;
	*ir = sp + 1;
	*irlen = len - mlen - 1;
	if (*irlen == 0 || memchr(*ir, ' ', *irlen))
		return SASL_ERR_SYNTAX; /* one argument, no trailing blank */
	if (*irlen == 1 && **ir == '=')
		*irlen = 0; /* RFC 4954 4: "=" is an empty response */
	if (*irlen > SASL_B64_MAX)
		return SASL_ERR_TOO_LONG;
	return SASL_OK;
}

enum sasl_err
sasl_user_check(const char *user, size_t len)
{
	if (len == 0)
		return SASL_ERR_EMPTY;
	if (len > SASL_USER_MAX)
		return SASL_ERR_TOO_LONG;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)user[i];

		if (c <= ' ' || c == 0x7f || c == ':')
			return SASL_ERR_CHARS;
	}
	return SASL_OK;
}

enum sasl_err
sasl_plain_parse(const unsigned char *msg, size_t len, char *user, char *pass)
{
	const unsigned char *n1 = memchr(msg, '\0', len), *n2;
	size_t zlen, ulen, plen;
	enum sasl_err e;

	user[0] = pass[0] = '\0';
	if (len > SASL_MSG_MAX)
		return SASL_ERR_TOO_LONG;
	if (!n1)
		return SASL_ERR_SYNTAX;
	n2 = memchr(n1 + 1, '\0', len - (size_t)(n1 + 1 - msg));
	if (!n2 || memchr(n2 + 1, '\0', len - (size_t)(n2 + 1 - msg)))
		return SASL_ERR_SYNTAX; /* exactly two NULs */
	zlen = (size_t)(n1 - msg);
	ulen = (size_t)(n2 - (n1 + 1));
	plen = len - (size_t)(n2 + 1 - msg);
	if (ulen == 0 || plen == 0)
		return SASL_ERR_EMPTY;
	if (ulen > SASL_USER_MAX || plen > SASL_PASS_MAX)
		return SASL_ERR_TOO_LONG;
	if ((e = sasl_user_check((const char *)n1 + 1, ulen)) != SASL_OK)
		return e;
	/* RFC 4616 2: we authorize only the identity itself */
	if (zlen > 0 && (zlen != ulen || memcmp(msg, n1 + 1, ulen) != 0))
		return SASL_ERR_AUTHZID;
	memcpy(user, n1 + 1, ulen);
	user[ulen] = '\0';
	memcpy(pass, n2 + 1, plen);
	pass[plen] = '\0';
	return SASL_OK;
}

int
sasl_users_line(const char *line, size_t len, const char **user, size_t *ulen,
                const char **val, size_t *vlen)
{
	const char *colon;
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	if (i > 0)
		return -1; /* an entry starts in column one */
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	colon = memchr(line, ':', len);
	if (!colon || colon == line)
		return -1;
	*user = line;
	*ulen = (size_t)(colon - line);
	*val = colon + 1;
	*vlen = len - *ulen - 1;
	if (sasl_user_check(*user, *ulen) != SASL_OK || *vlen == 0 ||
	    *vlen > SASL_HASH_MAX + 32)
		return -1;
	for (i = 0; i < *vlen; i++)
		if ((unsigned char)(*val)[i] <= ' ' || (*val)[i] == 0x7f)
			return -1;
	return 1;
}

size_t
sasl_value_hash(const char *val, size_t vlen, int *admin)
{
	const char *colon = memchr(val, ':', vlen);
	size_t hlen = colon ? (size_t)(colon - val) : vlen;

	*admin = 0;
	/* flags: a comma or colon separated list after the hash */
	for (size_t i = hlen; i < vlen;) {
		size_t j = i + 1;

		while (j < vlen && val[j] != ':' && val[j] != ',')
			j++;
		if (j - i - 1 == 5 && memcmp(val + i + 1, "admin", 5) == 0)
			*admin = 1;
		i = j;
	}
	return hlen;
}

int
sasl_const_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	volatile unsigned char diff = (unsigned char)(alen != blen);

	for (size_t i = 0; i < blen; i++) {
		unsigned char x = i < alen ? (unsigned char)a[i] : 0;

		diff |= (unsigned char)(x ^ (unsigned char)b[i]);
	}
	return diff == 0;
}

const char *
sasl_strerror(enum sasl_err e)
{
	static const char *const text[] = {
	    [SASL_OK] = "ok",
	    [SASL_ERR_B64] = "invalid base64",
	    [SASL_ERR_TOO_LONG] = "too long",
	    [SASL_ERR_SYNTAX] = "malformed",
	    [SASL_ERR_EMPTY] = "empty user name or password",
	    [SASL_ERR_AUTHZID] = "authorization identity not allowed",
	    [SASL_ERR_CHARS] = "invalid character in user name",
	    [SASL_ERR_MECH] = "unsupported mechanism",
	};

	if ((unsigned)e < sizeof text / sizeof text[0] && text[e])
		return text[e];
	return "unknown error";
}
