/*
 * test_tls_pem.c - PEM objects (several, text around them, no final line
 * end, broken base64, no END line), and certificate + key loading: an EC
 * key in SEC1 and PKCS#8 form matching its certificate, a key of another
 * certificate refused, files without a certificate or a key, and real
 * files by path with an error naming the unreadable one.
 */
#include "t.h"
#include "tls.h"
#include "x509_write.h"

#include <stdlib.h>
#include <unistd.h>

struct seen {
	int n;
	char names[4][32];
	size_t lens[4];
};

static int
collect(void *arg, const char *name, const unsigned char *der, size_t len)
{
	struct seen *s = arg;

	(void)der;
	if (s->n < 4) {
		snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
		s->lens[s->n] = len;
	}
	s->n++;
	return 0;
}

static void
test_pem(void)
{
	const char *two = "junk before\n-----BEGIN A-----\nAAEC\n-----END "
	                  "A-----\nmiddle\n-----BEGIN B THING-----\r\nAwQF"
	                  "Bg==\r\n-----END B THING-----";
	struct seen s = {0};
	char err[TLS_ERR_MAX] = "";

	T_CHECK(tls_pem_each(two, strlen(two), collect, &s, err, sizeof err) ==
	            2,
	        "two objects: %s", err);
	T_STREQ(s.names[0], "A", "first name");
	T_STREQ(s.names[1], "B THING", "second name");
	T_CHECK(s.lens[0] == 3 && s.lens[1] == 4, "decoded lengths %zu %zu",
	        s.lens[0], s.lens[1]);
	T_CHECK(tls_pem_each("none here\n", 10, collect, &s, err, sizeof err) ==
	            0,
	        "no object: 0");
	T_CHECK(tls_pem_each("-----BEGIN A-----\nAA!C\n-----END A-----\n", 38,
	                     NULL, NULL, err, sizeof err) < 0,
	        "bad base64 refused");
	T_CHECK(tls_pem_each("-----BEGIN A-----\nAAEC\n", 23, NULL, NULL, err,
	                     sizeof err) < 0 &&
	            strstr(err, "no END line"),
	        "no END line: %s", err);
}

/* A P-256 key and its self-signed certificate, as PEM. */
static void
make(const char *seed, char *cert, size_t ccap, char *key, size_t kcap,
     int pkcs8)
{
	br_hmac_drbg_context rng;
	br_ec_private_key sk;
	br_ec_public_key pk;
	unsigned char kbuf[BR_EC_KBUF_PRIV_MAX_SIZE],
	    qbuf[BR_EC_KBUF_PUB_MAX_SIZE], der[2048];
	struct x509_self r = {"a.example", 1795651200, 1795651200 + 86400, {1}};
	size_t n;

	br_hmac_drbg_init(&rng, &br_sha256_vtable, seed, strlen(seed));
	br_ec_keygen(&rng.vtable, br_ec_get_default(), &sk, kbuf,
	             BR_EC_secp256r1);
	br_ec_compute_pub(br_ec_get_default(), &pk, qbuf, &sk);
	n = x509_self_signed(&r, &sk, &pk, der, sizeof der);
	T_CHECK(n > 0 && br_pem_encode(NULL, der, n, "CERTIFICATE",
	                               BR_PEM_LINE64) < ccap,
	        "certificate");
	br_pem_encode(cert, der, n, "CERTIFICATE", BR_PEM_LINE64);
	n = pkcs8 ? br_encode_ec_pkcs8_der(der, &sk, &pk)
	          : br_encode_ec_raw_der(der, &sk, &pk);
	T_CHECK(n > 0 && n < 300, "key DER");
	T_CHECK(br_pem_encode(NULL, der, n, "X", BR_PEM_LINE64) + 20 < kcap,
	        "key PEM fits");
	br_pem_encode(key, der, n, pkcs8 ? "PRIVATE KEY" : "EC PRIVATE KEY",
	              BR_PEM_LINE64);
}

static void
test_creds(void)
{
	struct tls_creds *c = malloc(sizeof *c);
	char cert[2048], key[1024], cert2[2048], key2[1024], p8[1024],
	    both[4096], err[TLS_ERR_MAX];

	make("one", cert, sizeof cert, key, sizeof key, 0);
	make("one", cert, sizeof cert, p8, sizeof p8, 1);
	make("two", cert2, sizeof cert2, key2, sizeof key2, 0);
	T_CHECK(tls_creds_parse(c, cert, strlen(cert), "c.pem", key,
	                        strlen(key), "k.pem", err, sizeof err) == 0,
	        "SEC1 key matches: %s", err);
	T_CHECK(c->nchain == 1 && c->key_type == BR_KEYTYPE_EC, "one EC cert");
	T_CHECK(tls_creds_parse(c, cert, strlen(cert), "c.pem", p8, strlen(p8),
	                        "k.pem", err, sizeof err) == 0,
	        "PKCS#8 key matches: %s", err);
	T_CHECK(tls_creds_parse(c, cert, strlen(cert), "c.pem", key2,
	                        strlen(key2), "k2.pem", err, sizeof err) < 0,
	        "another key refused");
	T_STREQ(err,
	        "k2.pem: private key does not match the certificate in c.pem",
	        "mismatch text");
	snprintf(both, sizeof both, "%s%s", cert, cert2);
	T_CHECK(tls_creds_parse(c, both, strlen(both), "chain.pem", key,
	                        strlen(key), "k.pem", err, sizeof err) == 0 &&
	            c->nchain == 2,
	        "a chain of two, leaf first: %s", err);
	T_CHECK(tls_creds_parse(c, both, strlen(both), "chain.pem", key2,
	                        strlen(key2), "k.pem", err, sizeof err) < 0,
	        "the key must match the first certificate");
	T_CHECK(tls_creds_parse(c, key, strlen(key), "k.pem", key, strlen(key),
	                        "k.pem", err, sizeof err) < 0 &&
	            strstr(err, "k.pem: no PEM certificate"),
	        "no certificate: %s", err);
	T_CHECK(tls_creds_parse(c, cert, strlen(cert), "c.pem", cert,
	                        strlen(cert), "c.pem", err, sizeof err) < 0 &&
	            strstr(err, "c.pem: no PEM private key"),
	        "no key: %s", err);
	snprintf(both, sizeof both, "%s%s", key, cert); /* one file */
	T_CHECK(tls_creds_parse(c, both, strlen(both), "all.pem", both,
	                        strlen(both), "all.pem", err, sizeof err) == 0,
	        "key and certificate in one file: %s", err);
	free(c);
}

static void
test_files(void)
{
	struct tls_creds *c = malloc(sizeof *c);
	char cert[2048], key[1024], err[TLS_ERR_MAX];
	char dir[] = "/tmp/tls_pem_XXXXXX", cp[64], kp[64];
	FILE *f;

	make("files", cert, sizeof cert, key, sizeof key, 0);
	T_CHECK(mkdtemp(dir) != NULL, "temp dir");
	snprintf(cp, sizeof cp, "%s/cert.pem", dir);
	snprintf(kp, sizeof kp, "%s/key.pem", dir);
	f = fopen(cp, "w");
	fputs(cert, f);
	fclose(f);
	f = fopen(kp, "w");
	fputs(key, f);
	fclose(f);
	T_CHECK(tls_creds_load(c, -1, cp, -1, kp, err, sizeof err) == 0,
	        "by path: %s", err);
	unlink(kp);
	T_CHECK(tls_creds_load(c, -1, cp, -1, kp, err, sizeof err) < 0 &&
	            strstr(err, kp) && strstr(err, "No such file"),
	        "missing key named: %s", err);
	unlink(cp);
	rmdir(dir);
	free(c);
}

int
main(void)
{
	test_pem();
	test_creds();
	test_files();
	return T_DONE();
}
