/*
 * tls_pem.c - certificates and private keys from PEM files with BearSSL's
 * decoders: the chain (leaf first), the key (PKCS#1 "RSA PRIVATE KEY",
 * SEC1 "EC PRIVATE KEY" or PKCS#8 "PRIVATE KEY"), and the check that the
 * key belongs to the leaf certificate. Files are read by the smtpd that
 * uses them, from descriptors the master opened as root (docs/processes.md)
 * or by path. Trusted-ish input (the administrator's files), still parsed
 * with bounds: a broken file gives an error naming it.
 */
#include "tls.h"
#include "util/io.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pem_out {
	unsigned char *buf;
	size_t len, cap;
	int over;
};

static void
pem_dest(void *ctx, const void *src, size_t len)
{
	struct pem_out *o = ctx;

	if (o->over || len > o->cap - o->len) {
		o->over = 1;
		return;
	}
	memcpy(o->buf + o->len, src, len);
	o->len += len;
}

struct pem_walk {
	br_pem_decoder_context pc;
	struct pem_out o;
	char name[128];
	int inobj, n;
	int (*fn)(void *arg, const char *name, const unsigned char *der,
	          size_t dlen);
	void *arg;
	char *err;
	size_t errcap;
};

/* Handle the decoder's event after a push. 0 go on, -1 stop. */
static int
pem_event(struct pem_walk *w)
{
	int rc;

	switch (br_pem_decoder_event(&w->pc)) {
	case BR_PEM_BEGIN_OBJ:
		str_copy(w->name, sizeof w->name, br_pem_decoder_name(&w->pc));
		w->o.len = 0;
		w->o.over = 0;
		br_pem_decoder_setdest(&w->pc, pem_dest, &w->o);
		w->inobj = 1;
		return 0;
	case BR_PEM_END_OBJ:
		w->inobj = 0;
		if (w->o.over) {
			snprintf(w->err, w->errcap,
			         "PEM object \"%s\" over %d bytes", w->name,
			         TLS_DER_MAX);
			return -1;
		}
		w->n++;
		rc = w->fn ? w->fn(w->arg, w->name, w->o.buf, w->o.len) : 0;
		return rc < 0 ? rc : 0;
	case BR_PEM_ERROR:
		snprintf(w->err, w->errcap, "malformed PEM (object %d)",
		         w->n + 1);
		return -1;
	default:
		return 0;
	}
}

/* Push all of p[len]; the decoder stops at each event. */
static int
pem_push_run(struct pem_walk *w, const char *p, size_t len)
{
	while (len > 0) {
		size_t k = br_pem_decoder_push(&w->pc, p, len);
		int rc = pem_event(w);

		if (rc < 0)
			return rc;
		p += k;
		len -= k;
	}
	return 0;
}

/* BearSSL's decoder wants LF line ends: CRs are left out (files edited
 * on Windows have CRLF). */
static int
pem_push(struct pem_walk *w, const char *p, size_t len)
{
	while (len > 0) {
		const char *cr = memchr(p, '\r', len);
		size_t n = cr ? (size_t)(cr - p) : len;
		int rc = pem_push_run(w, p, n);

		if (rc < 0)
			return rc;
		p += n + (cr != NULL);
		len -= n + (cr != NULL);
	}
	return 0;
}

int
tls_pem_each(const char *text, size_t len,
             int (*fn)(void *arg, const char *name, const unsigned char *der,
                       size_t dlen),
             void *arg, char *err, size_t errcap)
{
	struct pem_walk *w = calloc(1, sizeof *w);
	int rc;

	if (!w || !(w->o.buf = malloc(TLS_DER_MAX))) {
		free(w);
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	w->o.cap = TLS_DER_MAX;
	w->fn = fn;
	w->arg = arg;
	w->err = err;
	w->errcap = errcap;
	br_pem_decoder_init(&w->pc);
	/* a final newline closes an END line without its line end */
	rc = pem_push(w, text, len);
	if (rc == 0)
		rc = pem_push(w, "\n", 1);
	if (rc == 0 && w->inobj) {
		snprintf(err, errcap, "PEM object \"%s\" has no END line",
		         w->name);
		rc = -1;
	}
	if (rc == 0)
		rc = w->n;
	explicit_bzero(w->o.buf, TLS_DER_MAX);
	free(w->o.buf);
	free(w);
	return rc;
}

/* ---- the chain ---- */

struct chain_load {
	struct tls_creds *c;
	char *err;
	size_t errcap;
};

static int
add_cert(void *arg, const char *name, const unsigned char *der, size_t dlen)
{
	struct chain_load *l = arg;
	struct tls_creds *c = l->c;

	if (strcmp(name, "CERTIFICATE") != 0 &&
	    strcmp(name, "X509 CERTIFICATE") != 0 &&
	    strcmp(name, "TRUSTED CERTIFICATE") != 0)
		return 0; /* a key in the same file, parameters… */
	if (c->nchain == TLS_CHAIN_MAX || dlen > sizeof c->der - c->derlen) {
		snprintf(l->err, l->errcap, "more than %d certificates",
		         TLS_CHAIN_MAX);
		return -1;
	}
	memcpy(c->der + c->derlen, der, dlen);
	c->chain[c->nchain].data = c->der + c->derlen;
	c->chain[c->nchain].data_len = dlen;
	c->nchain++;
	c->derlen += dlen;
	return 0;
}

/* ---- the key ---- */

struct key_load {
	br_skey_decoder_context *dc;
	int found, bad;
};

static int
add_key(void *arg, const char *name, const unsigned char *der, size_t dlen)
{
	struct key_load *l = arg;

	if (strcmp(name, "RSA PRIVATE KEY") != 0 &&
	    strcmp(name, "EC PRIVATE KEY") != 0 &&
	    strcmp(name, "PRIVATE KEY") != 0)
		return 0;
	if (l->found++)
		return 0; /* the first key counts */
	br_skey_decoder_init(l->dc);
	br_skey_decoder_push(l->dc, der, dlen);
	l->bad = br_skey_decoder_last_error(l->dc);
	return 0;
}

/* Strip leading zero bytes of a big-endian integer. */
static const unsigned char *
trim(const unsigned char *p, size_t *len)
{
	while (*len > 0 && *p == 0) {
		p++;
		(*len)--;
	}
	return p;
}

static int
same_int(const unsigned char *a, size_t alen, const unsigned char *b,
         size_t blen)
{
	a = trim(a, &alen);
	b = trim(b, &blen);
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* 1 when the private key is the leaf certificate's, 0 when not, -1 when
 * the certificate cannot be decoded (err says why). */
static int
key_matches(struct tls_creds *c, char *err, size_t errcap)
{
	br_x509_decoder_context *xc = malloc(sizeof *xc);
	const br_x509_pkey *pk;
	int r = 0;

	if (!xc) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	br_x509_decoder_init(xc, NULL, NULL);
	br_x509_decoder_push(xc, c->chain[0].data, c->chain[0].data_len);
	pk = br_x509_decoder_get_pkey(xc);
	if (!pk) {
		snprintf(err, errcap,
		         "first certificate not decodable "
		         "(BearSSL error %d)",
		         br_x509_decoder_last_error(xc));
		free(xc);
		return -1;
	}
	if (c->key_type == BR_KEYTYPE_EC && pk->key_type == BR_KEYTYPE_EC) {
		const br_ec_private_key *sk = br_skey_decoder_get_ec(&c->key);
		unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE];
		br_ec_public_key pub;
		size_t n =
		    sk->curve == pk->key.ec.curve
		        ? br_ec_compute_pub(br_ec_get_default(), &pub, q, sk)
		        : 0;

		r = n > 0 && n == pk->key.ec.qlen &&
		    memcmp(q, pk->key.ec.q, n) == 0;
	} else if (c->key_type == BR_KEYTYPE_RSA &&
	           pk->key_type == BR_KEYTYPE_RSA) {
		const br_rsa_private_key *sk = br_skey_decoder_get_rsa(&c->key);
		br_rsa_compute_modulus mod =
		    br_rsa_compute_modulus_get_default();
		unsigned char *nb = malloc(512);
		size_t nlen = nb ? mod(NULL, sk) : 0;

		if (nlen > 0 && nlen <= 512 && mod(nb, sk) == nlen)
			r = same_int(nb, nlen, pk->key.rsa.n, pk->key.rsa.nlen);
		free(nb);
	}
	free(xc);
	return r;
}

static int
read_file(int fd, const char *path, char **out, size_t *len, char *err,
          size_t errcap)
{
	char *buf;
	ssize_t n;

	if (fd < 0) {
		if (io_slurp(path, TLS_PEM_FILE_MAX, out, len) == 0)
			return 0;
		snprintf(err, errcap, "cannot read %s: %s", path,
		         errno == EFBIG ? "file too large" : strerror(errno));
		return -1;
	}
	buf = malloc(TLS_PEM_FILE_MAX + 1);
	if (!buf) {
		snprintf(err, errcap, "%s: out of memory", path);
		return -1;
	}
	if (lseek(fd, 0, SEEK_SET) < 0 && errno != ESPIPE) {
		snprintf(err, errcap, "cannot read %s: %s", path,
		         strerror(errno));
		free(buf);
		return -1;
	}
	n = io_read_full(fd, buf, TLS_PEM_FILE_MAX + 1);
	if (n < 0 || n > TLS_PEM_FILE_MAX) {
		snprintf(err, errcap, "cannot read %s: %s", path,
		         n < 0 ? strerror(errno) : "file too large");
		free(buf);
		return -1;
	}
	*out = buf;
	*len = (size_t)n;
	return 0;
}

int
tls_creds_parse(struct tls_creds *c, const char *cert, size_t certlen,
                const char *cert_path, const char *key, size_t keylen,
                const char *key_path, char *err, size_t errcap)
{
	char why[TLS_ERR_MAX] = "";
	struct chain_load cl = {c, why, sizeof why};
	struct key_load kl = {&c->key, 0, 0};
	int r;

	c->nchain = 0;
	c->derlen = 0;
	c->key_type = 0;
	if (tls_pem_each(cert, certlen, add_cert, &cl, why, sizeof why) < 0) {
		snprintf(err, errcap, "%s: %s", cert_path, why);
		return -1;
	}
	if (c->nchain == 0) {
		snprintf(err, errcap, "%s: no PEM certificate in the file",
		         cert_path);
		return -1;
	}
	if (tls_pem_each(key, keylen, add_key, &kl, why, sizeof why) < 0) {
		snprintf(err, errcap, "%s: %s", key_path, why);
		return -1;
	}
	if (!kl.found || kl.bad) {
		if (kl.found)
			snprintf(err, errcap,
			         "%s: private key not decodable (BearSSL error "
			         "%d)",
			         key_path, kl.bad);
		else
			snprintf(err, errcap,
			         "%s: no PEM private key in the file",
			         key_path);
		return -1;
	}
	c->key_type = br_skey_decoder_key_type(&c->key);
	r = key_matches(c, why, sizeof why);
	if (r < 0) {
		snprintf(err, errcap, "%s: %s", cert_path, why);
		return -1;
	}
	if (r == 0) {
		snprintf(err, errcap,
		         "%s: private key does not match the certificate in %s",
		         key_path, cert_path);
		tls_creds_wipe(c);
		return -1;
	}
	return 0;
}

int
tls_creds_load(struct tls_creds *c, int cert_fd, const char *cert_path,
               int key_fd, const char *key_path, char *err, size_t errcap)
{
	char *cert = NULL, *key = NULL;
	size_t certlen = 0, keylen = 0;
	int rc = -1;

	if (read_file(cert_fd, cert_path, &cert, &certlen, err, errcap) == 0 &&
	    read_file(key_fd, key_path, &key, &keylen, err, errcap) == 0)
		rc = tls_creds_parse(c, cert, certlen, cert_path, key, keylen,
		                     key_path, err, errcap);
	if (key)
		explicit_bzero(key, keylen);
	free(cert);
	free(key);
	return rc;
}

void
tls_creds_wipe(struct tls_creds *c)
{
	explicit_bzero(&c->key, sizeof c->key);
	c->key_type = 0;
}
