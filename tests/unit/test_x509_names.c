/*
 * test_x509_names.c - a certificate's subject and issuer as text: our own
 * self-signed certificate (x509_write.c), Names built with the DER writer
 * (several and multi-valued RDNs, UTF-8, BMPString, TeletexString,
 * escapes of specials and controls, OIDs without a short name, values
 * that are no string, the length limit) and malformed input (every
 * prefix of a certificate, bad lengths, bad OIDs, wrong structure).
 */
#include "der.h"
#include "t.h"
#include "x509_names.h"
#include "x509_write.h"

#include <stdlib.h>

static const unsigned char cn[] = {0x55, 0x04, 0x03};
static const unsigned char o[] = {0x55, 0x04, 0x0a};
static const unsigned char ou[] = {0x55, 0x04, 0x0b};
static const unsigned char c[] = {0x55, 0x04, 0x06};
static const unsigned char email[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                      0x0d, 0x01, 0x09, 0x01};
static const unsigned char dc[] = {0x09, 0x92, 0x26, 0x89, 0x93,
                                   0xf2, 0x2c, 0x64, 0x01, 0x19};

/* One AttributeTypeAndValue. */
static void
atv(struct der *d, const unsigned char *oid, size_t olen, unsigned tag,
    const char *v, size_t vlen)
{
	size_t m = der_begin(d);

	der_put(d, DER_OID, oid, olen);
	der_put(d, tag, v, vlen);
	der_end(d, DER_SEQUENCE, m);
}

/* A one-attribute RDN. */
static void
rdn(struct der *d, const unsigned char *oid, size_t olen, unsigned tag,
    const char *v)
{
	size_t m = der_begin(d);

	atv(d, oid, olen, tag, v, strlen(v));
	der_end(d, DER_SET, m);
}

static char text[X509_DN_TEXT_MAX];

/* d's Name (its RDNs since mark) as text; the return of x509_dn_text. */
static int
name_text(struct der *d, size_t mark)
{
	der_end(d, DER_SEQUENCE, mark);
	if (d->err)
		return -2;
	return x509_dn_text(d->buf, d->len, text, sizeof text, NULL);
}

static void
test_rdns(void)
{
	unsigned char buf[1024];
	struct der d;
	size_t m, s;

	der_init(&d, buf, sizeof buf);
	m = der_begin(&d);
	s = der_begin(&d);
	atv(&d, cn, sizeof cn, DER_UTF8STRING, "mail", 4);
	atv(&d, ou, sizeof ou, 0x13, "Ops", 3);
	der_end(&d, DER_SET, s);
	rdn(&d, o, sizeof o, DER_UTF8STRING, "Example");
	rdn(&d, c, sizeof c, 0x13, "DE");
	T_CHECK(name_text(&d, m) == 0, "several RDNs");
	T_STREQ(text, "CN=mail+OU=Ops, O=Example, C=DE", "multi-valued RDN");

	der_init(&d, buf, sizeof buf);
	m = der_begin(&d);
	rdn(&d, dc, sizeof dc, 0x16, "example");
	rdn(&d, dc, sizeof dc, 0x16, "org");
	rdn(&d, email, sizeof email, 0x16, "admin@example.org");
	rdn(&d, (const unsigned char *)"\x2a\x03\x04", 3, DER_UTF8STRING, "x");
	rdn(&d, (const unsigned char *)"\x88\x37\x01", 3, DER_UTF8STRING, "y");
	rdn(&d, (const unsigned char *)"\x2b\x06\x01\x04\x01\x82\x37\x3c", 8,
	    DER_UTF8STRING, "z");
	T_CHECK(name_text(&d, m) == 0, "DC, emailAddress, OIDs");
	T_STREQ(text,
	        "DC=example, DC=org, emailAddress=admin@example.org, "
	        "1.2.3.4=x, 2.999.1=y, 1.3.6.1.4.1.311.60=z",
	        "short names and dotted OIDs");

	der_init(&d, buf, sizeof buf);
	m = der_begin(&d);
	der_end(&d, DER_SEQUENCE, m);
	T_CHECK(x509_dn_text(buf, d.len, text, sizeof text, NULL) == 0 &&
	            text[0] == '\0',
	        "an empty Name: \"\"");
}

static void
test_strings(void)
{
	unsigned char buf[1024];
	struct der d;
	size_t m, s;

	der_init(&d, buf, sizeof buf);
	m = der_begin(&d);
	rdn(&d, o, sizeof o, DER_UTF8STRING,
	    "T\xc3\xa9st \xe2\x82\xac\xf0\x9f\x93\xa7");
	T_CHECK(name_text(&d, m) == 0, "UTF-8");
	T_STREQ(text, "O=T\xc3\xa9st \xe2\x82\xac\xf0\x9f\x93\xa7",
	        "UTF-8 kept as it is");

	der_init(&d, buf, sizeof buf);
	m = der_begin(&d);
	s = der_begin(&d);
	atv(&d, o, sizeof o, 0x1e, "\x00T\x00\xe9\x20\xac\x20\x2e\xd8\x00", 10);
	der_end(&d, DER_SET, s);
	T_CHECK(name_text(&d, m) == 0, "BMPString");
	T_STREQ(text, "O=T\xc3\xa9\xe2\x82\xac\\x20\\x2E\\xD8\\x00",
	        "BMPString: UTF-8; bidi override and surrogate escaped");

	der_init(&d, buf, sizeof buf);
	m = der_begin(&d);
	s = der_begin(&d);
	atv(&d, o, sizeof o, 0x1c,
	    "\x00\x00\x00"
	    "A\x00\x01\xf4\xe7\x00\x11\x00",
	    11);
	der_end(&d, DER_SET, s);
	T_CHECK(name_text(&d, m) == 0, "UniversalString");
	T_STREQ(text, "O=A\xf0\x9f\x93\xa7\\x00\\x11\\x00",
	        "UniversalString: UTF-8, a partial unit escaped");

	der_init(&d, buf, sizeof buf);
	m = der_begin(&d);
	rdn(&d, o, sizeof o, 0x14, "M\xfcnchen");
	rdn(&d, cn, sizeof cn, DER_UTF8STRING, "bad\xc3(\xc0\xaf\xed\xa0\x80");
	T_CHECK(name_text(&d, m) == 0, "Teletex, invalid UTF-8");
	T_STREQ(text, "O=M\\xFCnchen, CN=bad\\xC3(\\xC0\\xAF\\xED\\xA0\\x80",
	        "8-bit Teletex and invalid UTF-8 (overlong, surrogate) as "
	        "\\xNN");
}

static void
test_escapes(void)
{
	unsigned char buf[1024];
	struct der d;
	size_t m, s;

	der_init(&d, buf, sizeof buf);
	m = der_begin(&d);
	rdn(&d, cn, sizeof cn, 0x13, "a\nb\x1b[31m\x7f");
	rdn(&d, o, sizeof o, DER_UTF8STRING,
	    "x\xc2\x85y\xe2\x80\x8bz\xef\xbb\xbf");
	T_CHECK(name_text(&d, m) == 0, "controls");
	T_STREQ(text,
	        "CN=a\\x0Ab\\x1B[31m\\x7F, "
	        "O=x\\xC2\\x85y\\xE2\\x80\\x8Bz\\xEF\\xBB\\xBF",
	        "C0, DEL, C1, zero-width space and BOM escaped");

	der_init(&d, buf, sizeof buf);
	m = der_begin(&d);
	rdn(&d, o, sizeof o, DER_UTF8STRING, "a,b+c\\d\"e;f<g>h=i");
	rdn(&d, ou, sizeof ou, DER_UTF8STRING, "#x y ");
	T_CHECK(name_text(&d, m) == 0, "specials");
	T_STREQ(text, "O=a\\,b\\+c\\\\d\\\"e\\;f\\<g\\>h=i, OU=\\#x y\\ ",
	        "RFC 4514 specials");

	der_init(&d, buf, sizeof buf);
	m = der_begin(&d);
	s = der_begin(&d);
	atv(&d, cn, sizeof cn, DER_INTEGER, "\x05", 1);
	der_end(&d, DER_SET, s);
	rdn(&d, o, sizeof o, DER_OCTET_STRING, "\x01\xff");
	T_CHECK(name_text(&d, m) == 0, "no string");
	T_STREQ(text, "CN=#020105, O=#040201ff",
	        "not a string: '#' and the DER in hex");
}

static void
test_limits(void)
{
	unsigned char buf[4096];
	char big[1200], small[10];
	struct der d;
	size_t m, n;

	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	der_init(&d, buf, sizeof buf);
	m = der_begin(&d);
	rdn(&d, cn, sizeof cn, DER_UTF8STRING, big);
	rdn(&d, o, sizeof o, DER_UTF8STRING, "after");
	T_CHECK(name_text(&d, m) == 0, "a long name");
	n = strlen(text);
	T_CHECK(n == sizeof text - 1 && strcmp(text + n - 3, "...") == 0 &&
	            strncmp(text, "CN=aaa", 6) == 0,
	        "cut to %zu bytes with ...: %zu", sizeof text - 1, n);

	/* a cut never splits a character or an escape */
	der_init(&d, buf, sizeof buf);
	m = der_begin(&d);
	rdn(&d, cn, sizeof cn, DER_UTF8STRING, "\xc3\xa9\xc3\xa9");
	der_end(&d, DER_SEQUENCE, m);
	T_CHECK(x509_dn_text(buf, d.len, small, sizeof small, NULL) == 0,
	        "small buffer");
	T_STREQ(small, "CN=\xc3\xa9...", "cut after a whole character");
	der_init(&d, buf, sizeof buf);
	m = der_begin(&d);
	rdn(&d, cn, sizeof cn, DER_UTF8STRING, "\x01\x02");
	der_end(&d, DER_SEQUENCE, m);
	T_CHECK(x509_dn_text(buf, d.len, small, sizeof small, NULL) == 0,
	        "small buffer, escapes");
	T_STREQ(small, "CN=...", "an escape is not split");
	T_CHECK(x509_dn_text(buf, d.len, small, 4, NULL) == 0 &&
	            strcmp(small, "...") == 0,
	        "cap 4: \"...\"");
	T_CHECK(x509_dn_text(buf, d.len, small, 3, NULL) < 0, "cap 3 refused");
}

/* -1 and "" for the Name p[n], with a reason. */
static void
bad_name(const char *p, size_t n, const char *what)
{
	const char *why = NULL;

	memcpy(text, "junk", 5);
	T_CHECK(x509_dn_text((const unsigned char *)p, n, text, sizeof text,
	                     &why) < 0 &&
	            text[0] == '\0' && why && why[0],
	        "%s refused", what);
}

static void
test_malformed(void)
{
	bad_name("", 0, "empty input");
	bad_name("\x30", 1, "a tag alone");
	bad_name("\x30\x05\x31\x00", 4, "length past the end");
	bad_name("\x30\x00\x31\x00", 4, "trailing bytes");
	bad_name("\x31\x00", 2, "a SET, not a SEQUENCE");
	bad_name("\x30\x02\x31\x00", 4, "an empty RDN");
	bad_name("\x30\x02\x30\x00", 4, "an RDN that is no SET");
	bad_name("\x30\x80\x00\x00", 4, "indefinite length");
	bad_name("\x30\x81\x02\x31\x00", 5, "non-minimal length");
	bad_name("\x30\x84\x00\x00\x00\x02\x31\x00", 8, "4 length bytes");
	bad_name("\x30\x82\x00\x02\x31\x00", 6, "leading zero in length");
	bad_name("\x3f\x01\x02\x00", 4, "high tag number");
	/* SEQUENCE { SET { SEQUENCE { OID x, UTF8 "a" } } } with bad OIDs */
	bad_name("\x30\x0b\x31\x09\x30\x07\x06\x02\x55\x84\x0c\x01\x61", 13,
	         "an OID whose last arc is unfinished");
	bad_name("\x30\x0b\x31\x09\x30\x07\x06\x02\x80\x01\x0c\x01\x61", 13,
	         "an OID arc with a leading zero");
	bad_name("\x30\x09\x31\x07\x30\x05\x06\x00\x0c\x01\x61", 11,
	         "an empty OID");
	bad_name("\x30\x14\x31\x12\x30\x10\x06\x0b\xff\xff\xff\xff\xff\xff"
	         "\xff\xff\xff\xff\x7f\x0c\x01\x61",
	         22, "an OID arc over 64 bits");
	bad_name("\x30\x0b\x31\x09\x30\x07\x06\x01\x55\x0c\x01\x61\x00", 13,
	         "an attribute with a trailing byte");
	bad_name("\x30\x07\x31\x05\x30\x03\x0c\x01\x61", 9,
	         "an attribute without an OID");
}

static void
test_certificate(void)
{
	br_hmac_drbg_context rng;
	br_ec_private_key sk;
	br_ec_public_key pk;
	unsigned char kbuf[BR_EC_KBUF_PRIV_MAX_SIZE],
	    qbuf[BR_EC_KBUF_PUB_MAX_SIZE], cert[2048];
	char subj[X509_DN_TEXT_MAX], iss[X509_DN_TEXT_MAX];
	struct x509_self r = {
	    .name = "mail.example.org",
	    .not_before = 1700000000,
	    .not_after = 1700000000 + 86400 * 365,
	};
	const char *why = NULL;
	size_t n;
	int all = 1;

	br_hmac_drbg_init(&rng, &br_sha256_vtable, "seed", 4);
	T_CHECK(br_ec_keygen(&rng.vtable, br_ec_get_default(), &sk, kbuf,
	                     BR_EC_secp256r1) > 0,
	        "keygen");
	T_CHECK(br_ec_compute_pub(br_ec_get_default(), &pk, qbuf, &sk) == 65,
	        "public key");
	n = x509_self_signed(&r, &sk, &pk, cert, sizeof cert);
	T_CHECK(n > 0, "self-signed certificate");
	T_CHECK(x509_names(cert, n, subj, sizeof subj, iss, sizeof iss, &why) ==
	            0,
	        "names of our certificate: %s", why);
	T_STREQ(subj, "CN=mail.example.org", "subject");
	T_STREQ(iss, "CN=mail.example.org", "issuer");
	T_CHECK(x509_names(cert, n, subj, sizeof subj, NULL, 0, NULL) == 0 &&
	            strcmp(subj, "CN=mail.example.org") == 0,
	        "subject only");

	/* every strict prefix is refused, with both texts "" */
	for (size_t k = 0; k < n; k++) {
		subj[0] = iss[0] = 'x';
		if (x509_names(cert, k, subj, sizeof subj, iss, sizeof iss,
		               NULL) != -1 ||
		    subj[0] || iss[0]) {
			all = 0;
			T_CHECK(0, "prefix of %zu bytes accepted", k);
			break;
		}
	}
	T_CHECK(all, "every truncation refused");

	/* a byte changed anywhere: a clean answer either way */
	for (size_t k = 0; k < n; k++) {
		unsigned char save = cert[k];

		cert[k] ^= 0xa5;
		if (x509_names(cert, n, subj, sizeof subj, iss, sizeof iss,
		               NULL) == 0)
			T_CHECK(strlen(subj) < sizeof subj &&
			            strlen(iss) < sizeof iss,
			        "bounded");
		else
			T_CHECK(!subj[0] && !iss[0], "refused: empty");
		cert[k] = save;
	}
	T_CHECK(x509_names((const unsigned char *)"\x30\x03\x02\x01\x00", 5,
	                   subj, sizeof subj, iss, sizeof iss, &why) < 0 &&
	            why[0],
	        "not a certificate: %s", why);
}

int
main(void)
{
	test_rdns();
	test_strings();
	test_escapes();
	test_limits();
	test_malformed();
	test_certificate();
	return T_DONE();
}
