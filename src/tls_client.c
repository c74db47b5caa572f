/*
 * tls_client.c - a BearSSL TLS 1.2 client session (the smtp agent's
 * STARTTLS and smtp_tls_wrappermode): the same suites, engines and socket
 * I/O as tls_server.c, and the check of the server's certificate by
 * smtp_tls_security_level. The X.509 class below feeds the chain to
 * BearSSL's minimal engine (trust anchors from smtp_tls_CAfile, validity
 * at the given time, the host name) and digests the leaf certificate on
 * the way, keeping its DER for its names (tls_client_names); its
 * end_chain decides by the level:
 *   may, encrypt   any certificate (its verdict is only logged)
 *   fingerprint    the leaf's digest is in smtp_tls_fingerprint_cert_match
 *   verify, secure a trusted chain, valid now, for the name
 * UNTRUSTED: the certificates are the server's, parsed by BearSSL.
 */
#include "tls.h"
#include "util/io.h"
#include "x509_names.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Same order as the server's (tls_server.c). */
static const uint16_t client_suites[] = {
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
};

int
tls_level_parse(const char *s)
{
	static const char *const names[] = {"none",        "may",    "encrypt",
	                                    "fingerprint", "verify", "secure"};

	for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
		if (str_eq_nocase(s, names[i]))
			return i;
	return -1;
}

/* ---- trust anchors ---- */

struct dn_out {
	struct tls_anchors *a;
	size_t start;
	int over;
};

static void
dn_append(void *ctx, const void *p, size_t len)
{
	struct dn_out *d = ctx;

	if (d->over || len > d->a->cap - d->a->used) {
		d->over = 1;
		return;
	}
	memcpy(d->a->mem + d->a->used, p, len);
	d->a->used += len;
}

static unsigned char *
keep(struct tls_anchors *a, const unsigned char *p, size_t len)
{
	unsigned char *at;

	if (len > a->cap - a->used)
		return NULL;
	at = a->mem + a->used;
	memcpy(at, p, len);
	a->used += len;
	return at;
}

struct ca_load {
	struct tls_anchors *a;
	br_x509_decoder_context dc;
	char *err;
	size_t errcap;
	int bad;
};

static int
add_ca(void *arg, const char *name, const unsigned char *der, size_t dlen)
{
	struct ca_load *l = arg;
	struct tls_anchors *a = l->a;
	struct dn_out d = {a, a->used, 0};
	br_x509_trust_anchor *ta;
	const br_x509_pkey *pk;
	size_t mark = a->used;

	if (strcmp(name, "CERTIFICATE") != 0 &&
	    strcmp(name, "X509 CERTIFICATE") != 0 &&
	    strcmp(name, "TRUSTED CERTIFICATE") != 0)
		return 0;
	if (a->n == TLS_CA_MAX) {
		snprintf(l->err, l->errcap, "more than %d certificates",
		         TLS_CA_MAX);
		return -1;
	}
	br_x509_decoder_init(&l->dc, dn_append, &d);
	br_x509_decoder_push(&l->dc, der, dlen);
	pk = br_x509_decoder_get_pkey(&l->dc);
	if (!pk || d.over) {
		/* a certificate BearSSL cannot use (an unsupported key):
		 * skipped, as a system bundle may hold some */
		a->used = mark;
		l->bad++;
		return 0;
	}
	ta = &a->ta[a->n];
	memset(ta, 0, sizeof *ta);
	ta->dn.data = a->mem + d.start;
	ta->dn.len = a->used - d.start;
	ta->flags = br_x509_decoder_isCA(&l->dc) ? BR_X509_TA_CA : 0;
	ta->pkey.key_type = pk->key_type;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		ta->pkey.key.rsa.n = keep(a, pk->key.rsa.n, pk->key.rsa.nlen);
		ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
		ta->pkey.key.rsa.e = keep(a, pk->key.rsa.e, pk->key.rsa.elen);
		ta->pkey.key.rsa.elen = pk->key.rsa.elen;
		if (!ta->pkey.key.rsa.n || !ta->pkey.key.rsa.e)
			goto full;
	} else {
		ta->pkey.key.ec.curve = pk->key.ec.curve;
		ta->pkey.key.ec.q = keep(a, pk->key.ec.q, pk->key.ec.qlen);
		ta->pkey.key.ec.qlen = pk->key.ec.qlen;
		if (!ta->pkey.key.ec.q)
			goto full;
	}
	a->n++;
	return 0;
full:
	snprintf(l->err, l->errcap, "certificates too large");
	return -1;
}

int
tls_anchors_parse(struct tls_anchors *a, const char *pem, size_t len,
                  const char *path, char *err, size_t errcap)
{
	char why[TLS_ERR_MAX] = "";
	struct ca_load *l = calloc(1, sizeof *l);
	int r;

	memset(a, 0, sizeof *a);
	/* the DER of each certificate is shorter than its PEM: names and
	 * keys fit in len bytes */
	a->cap = len + 1;
	a->mem = malloc(a->cap);
	a->ta = calloc(TLS_CA_MAX, sizeof *a->ta);
	if (!l || !a->mem || !a->ta) {
		free(l);
		tls_anchors_free(a);
		snprintf(err, errcap, "%s: out of memory", path);
		return -1;
	}
	l->a = a;
	l->err = why;
	l->errcap = sizeof why;
	r = tls_pem_each(pem, len, add_ca, l, why, sizeof why);
	free(l);
	if (r < 0) {
		snprintf(err, errcap, "%s: %s", path, why);
		tls_anchors_free(a);
		return -1;
	}
	if (a->n == 0) {
		snprintf(err, errcap, "%s: no usable CA certificate", path);
		tls_anchors_free(a);
		return -1;
	}
	return 0;
}

int
tls_anchors_load(struct tls_anchors *a, const char *path, char *err,
                 size_t errcap)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	if (io_slurp(path, TLS_CA_FILE_MAX, &text, &len) < 0) {
		snprintf(err, errcap, "cannot read %s: %s", path,
		         errno == EFBIG ? "file too large" : strerror(errno));
		return -1;
	}
	r = tls_anchors_parse(a, text, len, path, err, errcap);
	free(text);
	return r;
}

void
tls_anchors_free(struct tls_anchors *a)
{
	free(a->mem);
	free(a->ta);
	memset(a, 0, sizeof *a);
}

/* ---- the certificate check ---- */

static const br_hash_class *
digest_class(int id)
{
	switch (id) {
	case br_md5_ID:
		return &br_md5_vtable;
	case br_sha1_ID:
		return &br_sha1_vtable;
	default:
		return &br_sha256_vtable;
	}
}

static struct tls_x509 *
X(const br_x509_class *const *ctx)
{
	return (struct tls_x509 *)(void *)ctx;
}

static void
x_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct tls_x509 *x = X(ctx);
	const char *name = x->pol->level >= TLS_LV_VERIFY ? x->pol->name : NULL;

	(void)server_name; /* SNI; the name to check is the policy's */
	x->ncert = 0;
	x->chain_err = 0;
	x->fp_matched = 0;
	x->fplen = 0;
	x->leaf_len = 0;
	x->leaf_big = 0;
	x->leaf_done = 0;
	x->xm.vtable->start_chain(&x->xm.vtable, name);
}

static void
x_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct tls_x509 *x = X(ctx);

	if (x->ncert == 0) {
		br_x509_decoder_init(&x->leaf, NULL, NULL);
		digest_class(x->pol->digest)->init(&x->hash.vtable);
		x->leaf_big = length > sizeof x->leaf_der;
	}
	x->xm.vtable->start_cert(&x->xm.vtable, length);
}

static void
x_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct tls_x509 *x = X(ctx);

	if (x->ncert == 0) {
		br_x509_decoder_push(&x->leaf, buf, len);
		x->hash.vtable->update(&x->hash.vtable, buf, len);
		if (x->leaf_big || len > sizeof x->leaf_der - x->leaf_len) {
			x->leaf_big = 1;
		} else {
			memcpy(x->leaf_der + x->leaf_len, buf, len);
			x->leaf_len += len;
		}
	}
	x->xm.vtable->append(&x->xm.vtable, buf, len);
}

static void
x_end_cert(const br_x509_class **ctx)
{
	struct tls_x509 *x = X(ctx);

	if (x->ncert == 0) {
		x->hash.vtable->out(&x->hash.vtable, x->fp);
		x->fplen = (x->hash.vtable->desc >> BR_HASHDESC_OUT_OFF) &
		           BR_HASHDESC_OUT_MASK;
		x->leaf_done = !x->leaf_big;
	}
	x->ncert++;
	x->xm.vtable->end_cert(&x->xm.vtable);
}

/* 1 when the leaf's digest is one of the list's "AA:BB:…" entries
 * (separated by spaces or commas; case and colons are not significant). */
static int
fp_listed(const struct tls_x509 *x)
{
	const char *p = x->pol->match ? x->pol->match : "";

	while (*p) {
		size_t k = 0;
		int ok = 1;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!*p)
			break;
		for (; *p && *p != ' ' && *p != ',' && *p != '\t'; p++) {
			static const char hex[] = "0123456789abcdef";
			const char *h;
			unsigned v;

			if (*p == ':')
				continue;
			h = strchr(hex, *p | 0x20);
			if (!h || !*h || k / 2 >= x->fplen) {
				ok = 0;
				continue;
			}
			v = (unsigned)(h - hex);
			if ((k % 2 == 0 ? x->fp[k / 2] >> 4
			                : x->fp[k / 2] & 15) != v)
				ok = 0;
			k++;
		}
		if (ok && k == 2 * x->fplen)
			return 1;
	}
	return 0;
}

static unsigned
x_end_chain(const br_x509_class **ctx)
{
	struct tls_x509 *x = X(ctx);

	x->chain_err = (int)x->xm.vtable->end_chain(&x->xm.vtable);
	if (x->ncert == 0 || !br_x509_decoder_get_pkey(&x->leaf))
		return x->chain_err ? (unsigned)x->chain_err
		                    : BR_ERR_X509_EMPTY_CHAIN;
	switch (x->pol->level) {
	case TLS_LV_FINGERPRINT:
		x->fp_matched = fp_listed(x);
		return x->fp_matched ? 0 : BR_ERR_X509_NOT_TRUSTED;
	case TLS_LV_VERIFY:
	case TLS_LV_SECURE:
		return (unsigned)x->chain_err;
	default:
		return 0;
	}
}

static const br_x509_pkey *
x_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	struct tls_x509 *x = X(ctx);

	/* the leaf's key: the same as the minimal engine's when it trusts
	 * the chain, and also there when it does not (may, encrypt) */
	if (usages)
		*usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
	return br_x509_decoder_get_pkey(&x->leaf);
}

static const br_x509_class x_vtable = {
    sizeof(struct tls_x509),
    x_start_chain,
    x_start_cert,
    x_append,
    x_end_cert,
    x_end_chain,
    x_get_pkey,
};

static void
x_init(struct tls_x509 *x, const struct tls_client_policy *pol)
{
	const struct tls_anchors *a = pol->anchors;
	br_x509_minimal_context *xm = &x->xm;
	int64_t now = pol->now < 0 ? 0 : pol->now;

	memset(x, 0, sizeof *x);
	x->vtable = &x_vtable;
	x->pol = pol;
	br_x509_minimal_init(xm, &br_sha256_vtable, a ? a->ta : NULL,
	                     a ? a->n : 0);
	br_x509_minimal_set_hash(xm, br_sha1_ID, &br_sha1_vtable);
	br_x509_minimal_set_hash(xm, br_sha224_ID, &br_sha224_vtable);
	br_x509_minimal_set_hash(xm, br_sha256_ID, &br_sha256_vtable);
	br_x509_minimal_set_hash(xm, br_sha384_ID, &br_sha384_vtable);
	br_x509_minimal_set_hash(xm, br_sha512_ID, &br_sha512_vtable);
	br_x509_minimal_set_rsa(xm, br_rsa_pkcs1_vrfy_get_default());
	br_x509_minimal_set_ecdsa(xm, br_ec_get_default(),
	                          br_ecdsa_vrfy_asn1_get_default());
	/* days since 0000-01-01 (1970-01-01 is day 719528) and seconds */
	br_x509_minimal_set_time(xm, (uint32_t)(now / 86400 + 719528),
	                         (uint32_t)(now % 86400));
}

/* 1 when s is an IPv4 or IPv6 address (no SNI for those, RFC 6066). */
static int
is_address(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

int
tls_client_init(struct tls_client *c, int fd, int timeout_ms,
                const struct tls_client_policy *pol)
{
	struct tls_conn *t = &c->t;
	br_ssl_client_context *cc = &t->cc;
	br_ssl_engine_context *e = &cc->eng;
	unsigned char seed[32];
	const char *sni = pol->name && *pol->name && !is_address(pol->name)
	                      ? pol->name
	                      : NULL;

	t->fd = fd;
	t->timeout_ms = timeout_ms;
	t->stopping = NULL;
	t->ev = TLS_EV_NONE;
	t->sys_errno = 0;
	br_ssl_client_zero(cc);
	br_ssl_engine_set_versions(e, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_suites(
	    e, client_suites, sizeof client_suites / sizeof client_suites[0]);
	br_ssl_engine_add_flags(e, BR_OPT_NO_RENEGOTIATION);
	br_ssl_engine_set_hash(e, br_sha256_ID, &br_sha256_vtable);
	br_ssl_engine_set_hash(e, br_sha384_ID, &br_sha384_vtable);
	br_ssl_engine_set_hash(e, br_sha512_ID, &br_sha512_vtable);
	br_ssl_engine_set_prf_sha256(e, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(e, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_ec(e);
	br_ssl_engine_set_default_aes_gcm(e);
	br_ssl_engine_set_default_chapol(e);
	br_ssl_engine_set_default_rsavrfy(e);
	br_ssl_engine_set_default_ecdsa(e);
	x_init(&c->x, pol);
	br_ssl_engine_set_x509(e, &c->x.vtable);
	br_ssl_engine_set_buffer(e, t->buf, sizeof t->buf, 0);
	if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
		t->ev = TLS_EV_IO;
		t->sys_errno = errno;
		return -1;
	}
	br_ssl_engine_inject_entropy(e, seed, sizeof seed);
	explicit_bzero(seed, sizeof seed);
	if (!br_ssl_client_reset(cc, sni, 0))
		return -1;
	tls_io_init(t);
	return 0;
}

int
tls_client_trust(const struct tls_client *c)
{
	if (c->x.pol->level == TLS_LV_FINGERPRINT)
		return c->x.fp_matched ? 2 : 0;
	if (c->x.chain_err != 0)
		return 0;
	return c->x.pol->level >= TLS_LV_VERIFY ? 2 : 1;
}

void
tls_client_cert_error(const struct tls_client *c, char *out, size_t cap)
{
	int e = br_ssl_engine_last_error(&c->t.cc.eng);

	out[0] = '\0';
	if (e < BR_ERR_X509_OK || e > BR_ERR_X509_NOT_TRUSTED)
		return;
	if (c->x.pol->level == TLS_LV_FINGERPRINT && !c->x.fp_matched &&
	    c->x.fplen > 0) {
		str_copy(out, cap, "fingerprint mismatch");
		return;
	}
	switch (e) {
	case BR_ERR_X509_NOT_TRUSTED:
		str_copy(out, cap, "unknown CA");
		break;
	case BR_ERR_X509_BAD_SERVER_NAME:
		snprintf(out, cap, "name mismatch (not for %s)",
		         c->x.pol->name ? c->x.pol->name : "");
		break;
	case BR_ERR_X509_EXPIRED:
		str_copy(out, cap, "certificate expired or not yet valid");
		break;
	case BR_ERR_X509_BAD_SIGNATURE:
		str_copy(out, cap, "bad signature in the chain");
		break;
	case BR_ERR_X509_NOT_CA:
		str_copy(out, cap, "an issuer is not a CA");
		break;
	default:
		snprintf(out, cap,
		         "invalid certificate chain (BearSSL error %d)", e);
	}
}

void
tls_client_fingerprint(const struct tls_client *c, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < c->x.fplen && o + 4 <= cap; i++)
		o += (size_t)snprintf(out + o, cap - o, i ? ":%02X" : "%02X",
		                      c->x.fp[i]);
}

int
tls_client_names(const struct tls_client *c, char *subject, size_t scap,
                 char *issuer, size_t icap)
{
	if (!c->x.leaf_done) {
		subject[0] = issuer[0] = '\0';
		return -1;
	}
	return x509_names(c->x.leaf_der, c->x.leaf_len, subject, scap, issuer,
	                  icap, NULL);
}
