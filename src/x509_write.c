/*
 * x509_write.c - the self-signed certificate of x509_write.h, written
 * with der.c and signed with BearSSL's ECDSA (deterministic, RFC 6979: no
 * randomness needed for the signature itself).
 */
#include "x509_write.h"
#include "der.h"

#include <string.h>

static const unsigned char oid_ecdsa_sha256[] = {0x2a, 0x86, 0x48, 0xce,
                                                 0x3d, 0x04, 0x03, 0x02};
static const unsigned char oid_ec_pubkey[] = {0x2a, 0x86, 0x48, 0xce,
                                              0x3d, 0x02, 0x01};
static const unsigned char oid_p256[] = {0x2a, 0x86, 0x48, 0xce,
                                         0x3d, 0x03, 0x01, 0x07};
static const unsigned char oid_cn[] = {0x55, 0x04, 0x03};
static const unsigned char oid_san[] = {0x55, 0x1d, 0x11};
static const unsigned char oid_bc[] = {0x55, 0x1d, 0x13};
static const unsigned char oid_ku[] = {0x55, 0x1d, 0x0f};
static const unsigned char oid_eku[] = {0x55, 0x1d, 0x25};
static const unsigned char oid_server_auth[] = {0x2b, 0x06, 0x01, 0x05,
                                                0x05, 0x07, 0x03, 0x01};

int
x509_name_ok(const char *name)
{
	size_t n = strlen(name), label = 0;

	if (n == 0 || n > X509_NAME_MAX || name[0] == '.' || name[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (ch == '.') {
			if (label == 0 || name[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-') ||
		    (ch == '-' && label == 0) || ++label > 63)
			return 0;
	}
	return name[n - 1] != '-';
}

static void
sig_alg(struct der *d)
{
	size_t m = der_begin(d);

	der_put(d, DER_OID, oid_ecdsa_sha256, sizeof oid_ecdsa_sha256);
	der_end(d, DER_SEQUENCE, m);
}

/* Name ::= SEQUENCE { SET { SEQUENCE { id-at-commonName, UTF8String } } } */
static void
name(struct der *d, const char *cn)
{
	size_t m = der_begin(d), set, atv;

	set = der_begin(d);
	atv = der_begin(d);
	der_put(d, DER_OID, oid_cn, sizeof oid_cn);
	der_put(d, DER_UTF8STRING, cn, strlen(cn));
	der_end(d, DER_SEQUENCE, atv);
	der_end(d, DER_SET, set);
	der_end(d, DER_SEQUENCE, m);
}

static void
spki(struct der *d, const br_ec_public_key *pk)
{
	size_t m = der_begin(d), alg = der_begin(d);

	der_put(d, DER_OID, oid_ec_pubkey, sizeof oid_ec_pubkey);
	der_put(d, DER_OID, oid_p256, sizeof oid_p256);
	der_end(d, DER_SEQUENCE, alg);
	der_bits(d, pk->q, pk->qlen);
	der_end(d, DER_SEQUENCE, m);
}

/* Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE,
 * extnValue OCTET STRING }; the caller writes the value between
 * ext_begin and ext_end. */
static size_t
ext_begin(struct der *d, const unsigned char *oid, size_t n, int critical,
          size_t *val)
{
	size_t m = der_begin(d);

	der_put(d, DER_OID, oid, n);
	if (critical)
		der_put(d, DER_BOOLEAN, "\xff", 1);
	*val = der_begin(d);
	return m;
}

static void
ext_end(struct der *d, size_t m, size_t val)
{
	der_end(d, DER_OCTET_STRING, val);
	der_end(d, DER_SEQUENCE, m);
}

static void
extensions(struct der *d, const char *dns)
{
	size_t outer = der_begin(d), list = der_begin(d), m, val, seq;

	m = ext_begin(d, oid_bc, sizeof oid_bc, 1, &val);
	der_put(d, DER_SEQUENCE, "", 0); /* cA DEFAULT FALSE */
	ext_end(d, m, val);
	m = ext_begin(d, oid_ku, sizeof oid_ku, 1, &val);
	der_put(d, DER_BIT_STRING, "\x07\x80", 2); /* digitalSignature */
	ext_end(d, m, val);
	m = ext_begin(d, oid_eku, sizeof oid_eku, 0, &val);
	seq = der_begin(d);
	der_put(d, DER_OID, oid_server_auth, sizeof oid_server_auth);
	der_end(d, DER_SEQUENCE, seq);
	ext_end(d, m, val);
	m = ext_begin(d, oid_san, sizeof oid_san, 0, &val);
	seq = der_begin(d);
	der_put(d, DER_CTXP(2), dns, strlen(dns)); /* dNSName IA5String */
	der_end(d, DER_SEQUENCE, seq);
	ext_end(d, m, val);
	der_end(d, DER_SEQUENCE, list);
	der_end(d, DER_CTX(3), outer);
}

size_t
x509_self_signed(const struct x509_self *r, const br_ec_private_key *sk,
                 const br_ec_public_key *pk, unsigned char *out, size_t cap)
{
	struct der d;
	br_sha256_context h;
	unsigned char hash[32], sig[80], serial[sizeof r->serial];
	size_t cert, tbs, m, siglen;

	if (!x509_name_ok(r->name) || pk->curve != BR_EC_secp256r1 ||
	    r->not_after <= r->not_before)
		return 0;
	memcpy(serial, r->serial, sizeof serial);
	serial[0] &= 0x7f; /* positive, at most 20 bytes */
	der_init(&d, out, cap);
	cert = der_begin(&d);
	tbs = der_begin(&d);
	m = der_begin(&d);
	der_small(&d, 2); /* v3 */
	der_end(&d, DER_CTX(0), m);
	der_uint(&d, serial, sizeof serial);
	sig_alg(&d);
	name(&d, r->name);
	m = der_begin(&d);
	if (der_time(&d, r->not_before) < 0 || der_time(&d, r->not_after) < 0)
		return 0;
	der_end(&d, DER_SEQUENCE, m);
	name(&d, r->name);
	spki(&d, pk);
	extensions(&d, r->name);
	der_end(&d, DER_SEQUENCE, tbs);
	if (d.err)
		return 0;
	br_sha256_init(&h);
	br_sha256_update(&h, out + tbs, d.len - tbs);
	br_sha256_out(&h, hash);
	siglen = br_ecdsa_sign_asn1_get_default()(
	    br_ec_get_default(), &br_sha256_vtable, hash, sk, sig);
	if (siglen == 0)
		return 0;
	sig_alg(&d);
	der_bits(&d, sig, siglen);
	der_end(&d, DER_SEQUENCE, cert);
	return d.err ? 0 : d.len;
}
