/*
 * test_tls_client.c - the smtp client's certificate check (tls_client.c)
 * in real handshakes with tls_server.c over a socketpair (the server in a
 * child process): a self-signed certificate for a.example valid for one
 * day, checked at chosen times (the policy's "now", as while the clock
 * is unset): may accepts anything (untrusted), verify with the
 * certificate as its trust anchor passes, and fails with a distinct
 * reason for another name, a time after or before the validity, an
 * unknown issuer; fingerprint pins by SHA-256 and SHA-1; trust anchors
 * from a PEM bundle.
 */
#include "t.h"
#include "tls.h"
#include "x509_write.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 1795651200 /* not before; not after: T0 + 1 day */

static char cert[2048], key[1024], cert2[2048], key2[1024];
static unsigned char der[2048];
static size_t derlen;

static void
make(const char *seed, char *c, size_t ccap, char *k, size_t kcap)
{
	br_hmac_drbg_context rng;
	br_ec_private_key sk;
	br_ec_public_key pk;
	unsigned char kbuf[BR_EC_KBUF_PRIV_MAX_SIZE],
	    qbuf[BR_EC_KBUF_PUB_MAX_SIZE], d[2048];
	struct x509_self r = {"a.example", T0, T0 + 86400, {1}};
	size_t n;

	br_hmac_drbg_init(&rng, &br_sha256_vtable, seed, strlen(seed));
	br_ec_keygen(&rng.vtable, br_ec_get_default(), &sk, kbuf,
	             BR_EC_secp256r1);
	br_ec_compute_pub(br_ec_get_default(), &pk, qbuf, &sk);
	n = x509_self_signed(&r, &sk, &pk, d, sizeof d);
	T_CHECK(n > 0 && br_pem_encode(NULL, d, n, "CERTIFICATE",
	                               BR_PEM_LINE64) < ccap,
	        "certificate");
	br_pem_encode(c, d, n, "CERTIFICATE", BR_PEM_LINE64);
	if (c == cert) {
		memcpy(der, d, n);
		derlen = n;
	}
	n = br_encode_ec_raw_der(d, &sk, &pk);
	T_CHECK(n > 0 && br_pem_encode(NULL, d, n, "EC PRIVATE KEY",
	                               BR_PEM_LINE64) < kcap,
	        "key");
	br_pem_encode(k, d, n, "EC PRIVATE KEY", BR_PEM_LINE64);
}

/* A handshake against the server with cert/key; the client's result. */
struct outcome {
	int ok;
	int trust;
	char why[200];
	char fp[200];
};

static struct outcome
shake(const struct tls_client_policy *pol)
{
	static struct tls_creds creds;
	static struct tls_client c;
	struct outcome o = {0};
	char err[TLS_ERR_MAX];
	int sv[2], st;
	pid_t pid;

	T_CHECK(tls_creds_parse(&creds, cert, strlen(cert), "c", key,
	                        strlen(key), "k", err, sizeof err) == 0,
	        "creds: %s", err);
	T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	pid = fork();
	if (pid == 0) {
		static struct tls_conn s;
		char buf[16];

		close(sv[0]);
		if (tls_server_init(&s, &creds, sv[1], 5000, NULL) < 0 ||
		    tls_handshake(&s) < 0)
			_exit(1);
		if (tls_write_all(&s, "hello", 5) < 0 ||
		    tls_read(&s, buf, sizeof buf) != 3)
			_exit(2);
		_exit(0);
	}
	close(sv[1]);
	if (tls_client_init(&c, sv[0], 5000, pol) == 0 &&
	    tls_handshake(&c.t) == 0) {
		char buf[16];

		o.ok = tls_read(&c.t, buf, sizeof buf) == 5 &&
		       tls_write_all(&c.t, "bye", 3) == 0;
		o.trust = tls_client_trust(&c);
	}
	tls_client_cert_error(&c, o.why, sizeof o.why);
	tls_client_fingerprint(&c, o.fp, sizeof o.fp);
	close(sv[0]);
	waitpid(pid, &st, 0);
	return o;
}

static void
test_levels(void)
{
	struct tls_anchors self, other;
	struct tls_client_policy pol = {TLS_LV_MAY,   "a.example", NULL,
	                                br_sha256_ID, "",          T0 + 60};
	char err[TLS_ERR_MAX];
	struct outcome o;

	T_CHECK(tls_anchors_parse(&self, cert, strlen(cert), "self.pem", err,
	                          sizeof err) == 0 &&
	            self.n == 1,
	        "anchor from PEM: %s", err);
	T_CHECK(tls_anchors_parse(&other, cert2, strlen(cert2), "other.pem",
	                          err, sizeof err) == 0,
	        "other anchor: %s", err);
	tls_anchors_free(&other);
	T_CHECK(tls_anchors_parse(&other, "no pem", 6, "x.pem", err,
	                          sizeof err) < 0 &&
	            strstr(err, "x.pem: no usable CA"),
	        "empty bundle: %s", err);
	T_CHECK(tls_anchors_parse(&other, cert2, strlen(cert2), "other.pem",
	                          err, sizeof err) == 0,
	        "other anchor again");

	o = shake(&pol);
	T_CHECK(o.ok && o.trust == 0, "may: untrusted but up (%d)", o.trust);
	pol.now = T0 + 5 * 86400;
	o = shake(&pol);
	T_CHECK(o.ok, "may: an expired certificate is fine");

	pol.level = TLS_LV_VERIFY;
	pol.anchors = &self;
	pol.now = T0 + 60;
	o = shake(&pol);
	T_CHECK(o.ok && o.trust == 2, "verify: verified (%s)", o.why);
	pol.name = "b.example";
	o = shake(&pol);
	T_CHECK(!o.ok && strstr(o.why, "name mismatch"), "verify: name: %s",
	        o.why);
	pol.name = "a.example";
	pol.now = T0 + 2 * 86400;
	o = shake(&pol);
	T_CHECK(!o.ok && strstr(o.why, "expired"), "verify: expired: %s",
	        o.why);
	pol.now = T0 - 86400; /* the build date before the certificate */
	o = shake(&pol);
	T_CHECK(!o.ok && strstr(o.why, "not yet valid"),
	        "verify: not yet valid: %s", o.why);
	pol.now = T0 + 60;
	pol.anchors = &other;
	o = shake(&pol);
	T_CHECK(!o.ok && strcmp(o.why, "unknown CA") == 0,
	        "verify: unknown CA: %s", o.why);
	pol.level = TLS_LV_MAY; /* may with anchors: trusted, logged */
	pol.anchors = &self;
	o = shake(&pol);
	T_CHECK(o.ok && o.trust == 1, "may: trusted chain (%d)", o.trust);
	tls_anchors_free(&self);
	tls_anchors_free(&other);
}

static void
hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 3 * i, i + 1 < n ? "%02x:" : "%02x", p[i]);
}

static void
test_fingerprint(void)
{
	struct tls_client_policy pol = {
	    TLS_LV_FINGERPRINT, "a.example", NULL, br_sha256_ID, "", T0 + 60};
	unsigned char h[32];
	char want[100], list[300], upper[100];
	br_sha256_context sc;
	br_sha1_context s1;
	struct outcome o;

	br_sha256_init(&sc);
	br_sha256_update(&sc, der, derlen);
	br_sha256_out(&sc, h);
	hex(h, 32, want);
	snprintf(list, sizeof list, "AB:CD, %s", want);
	pol.match = list;
	o = shake(&pol);
	T_CHECK(o.ok && o.trust == 2, "sha256 listed (lower case): %s", o.why);
	for (size_t i = 0; want[i]; i++)
		upper[i] = (char)(want[i] >= 'a' ? want[i] - 32 : want[i]),
		upper[i + 1] = '\0';
	T_STREQ(o.fp, upper, "logged fingerprint");
	pol.match = "AB:CD:EF";
	o = shake(&pol);
	T_CHECK(!o.ok && strcmp(o.why, "fingerprint mismatch") == 0,
	        "not listed: %s", o.why);
	pol.now = T0 + 30 * 86400; /* pinning ignores dates, as Postfix */
	pol.match = list;
	o = shake(&pol);
	T_CHECK(o.ok, "fingerprint: dates not checked");
	br_sha1_init(&s1);
	br_sha1_update(&s1, der, derlen);
	br_sha1_out(&s1, h);
	hex(h, 20, want);
	pol.digest = br_sha1_ID;
	pol.match = want;
	o = shake(&pol);
	T_CHECK(o.ok, "sha1 listed");
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	make("one", cert, sizeof cert, key, sizeof key);
	make("two", cert2, sizeof cert2, key2, sizeof key2);
	T_CHECK(tls_level_parse("Verify") == TLS_LV_VERIFY &&
	            tls_level_parse("none") == TLS_LV_NONE &&
	            tls_level_parse("dane") < 0,
	        "level names");
	test_levels();
	test_fingerprint();
	return T_DONE();
}
