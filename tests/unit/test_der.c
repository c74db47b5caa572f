#define _GNU_SOURCE /* memmem */
/*
 * test_der.c - the DER writer (integers, lengths, times, nesting,
 * overflow), der_read, and the self-signed certificate: its public key
 * and names read back by BearSSL's X.509 decoder, host-name checks.
 */
#include "der.h"
#include "t.h"
#include "x509_write.h"

#include <stdlib.h>

static int
bytes_eq(const struct der *d, const char *want, size_t n)
{
	return !d->err && d->len == n && memcmp(d->buf, want, n) == 0;
}

static void
test_ints(void)
{
	unsigned char buf[64];
	struct der d;

	der_init(&d, buf, sizeof buf);
	der_small(&d, 0);
	T_CHECK(bytes_eq(&d, "\x02\x01\x00", 3), "zero");
	der_init(&d, buf, sizeof buf);
	der_small(&d, 127);
	T_CHECK(bytes_eq(&d, "\x02\x01\x7f", 3), "127");
	der_init(&d, buf, sizeof buf);
	der_small(&d, 128);
	T_CHECK(bytes_eq(&d, "\x02\x02\x00\x80", 4), "128 keeps positive");
	der_init(&d, buf, sizeof buf);
	der_uint(&d, (const unsigned char *)"\x00\x00\x01\x02", 4);
	T_CHECK(bytes_eq(&d, "\x02\x02\x01\x02", 4), "leading zeros dropped");
}

static void
test_lengths(void)
{
	static unsigned char big[300], buf[400];
	struct der d;
	size_t m;

	der_init(&d, buf, sizeof buf);
	der_put(&d, DER_OCTET_STRING, big, 127);
	T_CHECK(!d.err && d.len == 129 && buf[1] == 127, "short form");
	der_init(&d, buf, sizeof buf);
	der_put(&d, DER_OCTET_STRING, big, 200);
	T_CHECK(!d.err && d.len == 203 && buf[1] == 0x81 && buf[2] == 200,
	        "one length byte");
	der_init(&d, buf, sizeof buf);
	m = der_begin(&d);
	der_put(&d, DER_OCTET_STRING, big, 300);
	der_end(&d, DER_SEQUENCE, m);
	T_CHECK(!d.err && d.len == 308 && buf[0] == 0x30 && buf[1] == 0x82 &&
	            buf[2] == 0x01 && buf[3] == 0x30 && buf[4] == 0x04 &&
	            buf[5] == 0x82 && buf[6] == 0x01 && buf[7] == 0x2c,
	        "nested, two length bytes (len %zu)", d.len);
	der_init(&d, buf, 10);
	der_put(&d, DER_OCTET_STRING, big, 20);
	T_CHECK(d.err, "overflow sets err");
	der_small(&d, 1);
	T_CHECK(d.err && d.len == 0, "and the rest is ignored");
	der_init(&d, buf, 3);
	m = der_begin(&d);
	der_put(&d, DER_NULL, "", 0);
	der_end(&d, DER_SEQUENCE, m);
	T_CHECK(d.err, "no room for the outer header");
}

/* der_read reads back what the writer wrote, in each length form, and
 * stays inside the buffer. */
static void
test_read(void)
{
	static unsigned char big[300], buf[400];
	static const size_t sizes[] = {0, 127, 128, 255, 256, 300};
	struct der d;
	struct der_val v;
	size_t pos;

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		der_init(&d, buf, sizeof buf);
		der_put(&d, DER_OCTET_STRING, big, sizes[i]);
		pos = 0;
		T_CHECK(der_read(buf, d.len, &pos, &v) == 0 && pos == d.len &&
		            v.tag == DER_OCTET_STRING && v.len == sizes[i] &&
		            v.start == 0 && v.p + v.len == buf + d.len,
		        "read back %zu bytes", sizes[i]);
		pos = 0;
		T_CHECK(der_read(buf, d.len - 1, &pos, &v) < 0 && pos == 0,
		        "one byte short of %zu: refused", sizes[i]);
	}
	pos = 5;
	T_CHECK(der_read(buf, 4, &pos, &v) < 0, "pos past the end");
}

static void
test_times(void)
{
	unsigned char buf[64];
	struct der d;

	der_init(&d, buf, sizeof buf);
	T_CHECK(der_time(&d, -700000000LL) < 0, "1947: before UTCTime");
	der_init(&d, buf, sizeof buf);
	T_CHECK(der_time(&d, 0) == 0 && bytes_eq(&d,
	                                         "\x17\x0d"
	                                         "700101000000Z",
	                                         15),
	        "1970");
	der_init(&d, buf, sizeof buf);
	T_CHECK(der_time(&d, 1795651200) == 0, "2026-11-26");
	T_CHECK(bytes_eq(&d,
	                 "\x17\x0d"
	                 "261126000000Z",
	                 15),
	        "UTCTime: %.*s", (int)d.len, (const char *)buf);
	der_init(&d, buf, sizeof buf);
	T_CHECK(der_time(&d, 2524608000LL) == 0, "2050-01-01");
	T_CHECK(bytes_eq(&d,
	                 "\x18\x0f"
	                 "20500101000000Z",
	                 17),
	        "GeneralizedTime from 2050");
	der_init(&d, buf, sizeof buf);
	T_CHECK(der_time(&d, 2524607999LL) == 0 && buf[0] == DER_UTCTIME,
	        "2049-12-31 23:59:59 still UTCTime");
}

static void
test_names(void)
{
	T_CHECK(x509_name_ok("mail.example.org"), "a host name");
	T_CHECK(x509_name_ok("localhost"), "one label");
	T_CHECK(!x509_name_ok(""), "empty");
	T_CHECK(!x509_name_ok("a b"), "space");
	T_CHECK(!x509_name_ok("a..b"), "empty label");
	T_CHECK(!x509_name_ok("-a.b"), "leading hyphen");
	T_CHECK(!x509_name_ok("a-.b"), "trailing hyphen in a label");
	T_CHECK(!x509_name_ok(".a"), "leading dot");
	T_CHECK(!x509_name_ok("a\xc3\xa9"), "non-ASCII");
	T_CHECK(
	    !x509_name_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                  "aaaaaaaaaaaaa"),
	    "65 bytes");
}

static void
on_dn(void *ctx, const void *buf, size_t len)
{
	struct der *d = ctx;

	der_raw(d, buf, len);
}

static void
test_cert(void)
{
	br_hmac_drbg_context rng;
	br_ec_private_key sk;
	br_ec_public_key pk;
	unsigned char kbuf[BR_EC_KBUF_PRIV_MAX_SIZE],
	    qbuf[BR_EC_KBUF_PUB_MAX_SIZE], cert[2048], dn[256];
	struct x509_self r = {
	    "mx.example.net", 1795651200, 1795651200 + 86400, {0xff, 1, 2, 3}};
	br_x509_decoder_context *xc = malloc(sizeof *xc);
	const br_x509_pkey *p;
	struct der dd;
	size_t n;

	br_hmac_drbg_init(&rng, &br_sha256_vtable, "unit test seed", 14);
	T_CHECK(br_ec_keygen(&rng.vtable, br_ec_get_default(), &sk, kbuf,
	                     BR_EC_secp256r1) == 32,
	        "keygen");
	T_CHECK(br_ec_compute_pub(br_ec_get_default(), &pk, qbuf, &sk) == 65,
	        "public key");
	n = x509_self_signed(&r, &sk, &pk, cert, sizeof cert);
	T_CHECK(n > 200 && n < 1024, "certificate written (%zu bytes)", n);
	T_CHECK(x509_self_signed(&r, &sk, &pk, cert, 100) == 0,
	        "too small a buffer: 0");
	r.name = "bad name";
	T_CHECK(x509_self_signed(&r, &sk, &pk, cert, sizeof cert) == 0,
	        "bad name: 0");
	r.name = "mx.example.net";
	n = x509_self_signed(&r, &sk, &pk, cert, sizeof cert);
	der_init(&dd, dn, sizeof dn);
	br_x509_decoder_init(xc, on_dn, &dd);
	br_x509_decoder_push(xc, cert, n);
	p = br_x509_decoder_get_pkey(xc);
	T_CHECK(p && p->key_type == BR_KEYTYPE_EC &&
	            p->key.ec.curve == BR_EC_secp256r1 &&
	            p->key.ec.qlen == 65 && memcmp(p->key.ec.q, pk.q, 65) == 0,
	        "the decoder reads our public key (error %d)",
	        br_x509_decoder_last_error(xc));
	T_CHECK(br_x509_decoder_get_signer_key_type(xc) == BR_KEYTYPE_EC,
	        "signed with ECDSA");
	T_CHECK(!br_x509_decoder_isCA(xc), "CA:FALSE");
	T_CHECK(dd.len > 10 && memmem(dn, dd.len, "mx.example.net", 14),
	        "subject CN");
	free(xc);
}

int
main(void)
{
	test_ints();
	test_lengths();
	test_read();
	test_times();
	test_names();
	test_cert();
	return T_DONE();
}
