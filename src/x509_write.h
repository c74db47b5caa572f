/*
 * x509_write.h - a self-signed X.509 v3 certificate for an ECDSA P-256
 * key (`tinymta gencert`): subject = issuer = CN=name, subjectAltName
 * DNS:name, basicConstraints CA:FALSE (critical), keyUsage
 * digitalSignature (critical), extendedKeyUsage serverAuth, signed
 * ecdsa-with-SHA256 with BearSSL. Clients trust it by pinning it; it is
 * never an issuer, so it says CA:FALSE (OpenSSL still accepts it as its
 * own trust anchor: `openssl verify -CAfile cert cert`).
 */
#ifndef TINYMTA_X509_WRITE_H
#define TINYMTA_X509_WRITE_H

#include <bearssl.h>
#include <stddef.h>
#include <stdint.h>

#define X509_NAME_MAX 64 /* ub-common-name (RFC 5280) */

struct x509_self {
	const char *name; /* a host name: CN and dNSName */
	int64_t not_before, not_after;
	unsigned char serial[16]; /* random; the top bit is cleared */
};

/* 1 when name fits a CN and a dNSName (LDH labels, 1..64 bytes). */
int x509_name_ok(const char *name);
/* The DER certificate into out[cap]. Its length, or 0 (bad name, time
 * out of range, or out too small). */
size_t x509_self_signed(const struct x509_self *r, const br_ec_private_key *sk,
                        const br_ec_public_key *pk, unsigned char *out,
                        size_t cap);

#endif
