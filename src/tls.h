/*
 * tls.h - TLS 1.2 with BearSSL for the servers (smtpd, pop3d):
 * certificates and keys from PEM (tls_pem.c), the server context with a
 * hand-picked set of engines and a read/write layer with timeouts over a
 * socket (tls_server.c). BearSSL has no TLS 1.3. Nothing here allocates
 * by what the peer sends: the connection is one fixed struct.
 */
#ifndef TINYMTA_TLS_H
#define TINYMTA_TLS_H

#include <bearssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TLS_CHAIN_MAX 8        /* certificates in a chain */
#define TLS_PEM_FILE_MAX 65536 /* a PEM file (chain or key) */
#define TLS_DER_MAX 16384      /* one PEM object, decoded */
#define TLS_ERR_MAX 512        /* an error text */
#define TLS_CLOSE_MS 5000      /* at most for sending close_notify */

/* ---- tls_pem.c ---- */

/* Call fn for each PEM object of text[len] ("-----BEGIN name-----" …
 * "-----END name-----"), with its decoded DER. Text outside objects is
 * ignored. Returns the number of objects, or -1 (malformed or an object
 * over TLS_DER_MAX: err says which) or the first negative value of fn. */
int tls_pem_each(const char *text, size_t len,
                 int (*fn)(void *arg, const char *name,
                           const unsigned char *der, size_t dlen),
                 void *arg, char *err, size_t errcap);

/* A certificate chain and its private key, decoded (heap, one block). */
struct tls_creds {
	br_x509_certificate chain[TLS_CHAIN_MAX];
	size_t nchain;
	int key_type;                /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
	br_skey_decoder_context key; /* the key points into it */
	unsigned char der[TLS_CHAIN_MAX * 4096]; /* the certificates, DER */
	size_t derlen;
};

/* Load the chain (leaf first) and key from descriptors (-1: open the
 * path) or paths. The key must match the leaf certificate. 0, or -1
 * with err naming the file and what is wrong. */
int tls_creds_load(struct tls_creds *c, int cert_fd, const char *cert_path,
                   int key_fd, const char *key_path, char *err, size_t errcap);
/* From memory (the tests, and the two above). */
int tls_creds_parse(struct tls_creds *c, const char *cert, size_t certlen,
                    const char *cert_path, const char *key, size_t keylen,
                    const char *key_path, char *err, size_t errcap);
/* Forget the key (explicit_bzero). */
void tls_creds_wipe(struct tls_creds *c);

/* ---- tls_server.c ---- */

enum tls_ev { TLS_EV_NONE, TLS_EV_TIMEOUT, TLS_EV_STOP, TLS_EV_EOF, TLS_EV_IO };

struct tls_conn {
	/* both contexts begin with their br_ssl_engine_context (the common
	 * initial sequence, C11 6.5.2.3): sc.eng is the engine of either */
	union {
		br_ssl_server_context sc;
		br_ssl_client_context cc;
	};
	br_sslio_context io;
	int fd;
	int timeout_ms;
	int (*stopping)(void); /* may be NULL: 1 to give up a wait */
	enum tls_ev ev;        /* why the last call failed */
	int sys_errno;         /* with TLS_EV_IO */
	/* half duplex: SMTP and POP3 never need both directions at once */
	unsigned char buf[BR_SSL_BUFSIZE_MONO];
};

/* Set up a server session on fd with creds (which must outlive t). 0, or
 * -1 (no entropy). The handshake happens in tls_handshake. */
int tls_server_init(struct tls_conn *t, const struct tls_creds *creds, int fd,
                    int timeout_ms, int (*stopping)(void));
/* The socket I/O of t->io over t->fd (both sides; after the reset). */
void tls_io_init(struct tls_conn *t);
/* Run the handshake. 0, or -1 (t->ev, or tls_error_text). */
int tls_handshake(struct tls_conn *t);
/* Read at most len bytes of application data. >0, 0 at the end (the
 * peer closed), -1 (t->ev says why). */
ssize_t tls_read(struct tls_conn *t, void *buf, size_t len);
/* Write and flush all of buf. 0, or -1. */
int tls_write_all(struct tls_conn *t, const void *buf, size_t len);
/* Send close_notify without waiting for the peer's (best effort, at most
 * TLS_CLOSE_MS). */
void tls_close(struct tls_conn *t);
/* "TLSv1.2 with cipher ECDHE-ECDSA-AES256-GCM-SHA384 (256/256 bits)" */
void tls_describe(const struct tls_conn *t, char *out, size_t cap);
/* The failure of the last call as text ("timeout", "handshake failure: no
 * common cipher suite (BearSSL error 34)" …). */
void tls_error_text(const struct tls_conn *t, char *out, size_t cap);
/* OpenSSL's name and the key bits of a suite we offer; NULL if unknown. */
const char *tls_suite_name(uint16_t suite, int *bits);

/* ---- tls_client.c ---- */

/* Levels of smtp_tls_security_level, weakest first. */
enum tls_level {
	TLS_LV_NONE,
	TLS_LV_MAY,
	TLS_LV_ENCRYPT,
	TLS_LV_FINGERPRINT,
	TLS_LV_VERIFY,
	TLS_LV_SECURE,
};

#define TLS_CA_FILE_MAX (1 << 20) /* smtp_tls_CAfile: a system bundle */
#define TLS_CA_MAX 1024           /* trust anchors taken from it */

/* Trust anchors decoded from a PEM bundle (one heap block). */
struct tls_anchors {
	br_x509_trust_anchor *ta;
	size_t n;
	unsigned char *mem; /* names and keys */
	size_t used, cap;
};

/* Load the CA certificates of path as trust anchors. 0, or -1 with err
 * naming the file. */
int tls_anchors_load(struct tls_anchors *a, const char *path, char *err,
                     size_t errcap);
int tls_anchors_parse(struct tls_anchors *a, const char *pem, size_t len,
                      const char *path, char *err, size_t errcap);
void tls_anchors_free(struct tls_anchors *a);

/* What the client checks of the server's certificate. */
struct tls_client_policy {
	enum tls_level level;
	const char *name; /* verify/secure: the name the certificate needs;
	                   * also sent as SNI when it is not an address */
	const struct tls_anchors *anchors; /* may be NULL (none trusted) */
	int digest;        /* br_md5_ID, br_sha1_ID or br_sha256_ID */
	const char *match; /* fingerprint: the list, "AA:BB:…, …" */
	int64_t now;       /* seconds since the epoch for validity */
};

#define TLS_LEAF_DER_MAX 8192 /* the leaf certificate kept for its names */

/* The certificate check: BearSSL's minimal X.509 engine for the chain
 * (trust, dates, name) inside a class that also digests the leaf, keeps
 * its DER (up to TLS_LEAF_DER_MAX) and decides by the level. */
struct tls_x509 {
	const br_x509_class *vtable;
	br_x509_minimal_context xm;
	br_x509_decoder_context leaf;
	br_hash_compat_context hash;
	const struct tls_client_policy *pol;
	unsigned ncert;
	int chain_err;  /* br_x509_minimal's verdict (0: trusted) */
	int fp_matched; /* fingerprint level: the leaf's digest is listed */
	unsigned char fp[64];
	size_t fplen;
	unsigned char leaf_der[TLS_LEAF_DER_MAX];
	size_t leaf_len;
	int leaf_big;  /* the leaf was larger: not kept */
	int leaf_done; /* leaf_der holds the whole leaf */
};

struct tls_client {
	struct tls_conn t;
	struct tls_x509 x;
};

/* Set up a client session on fd for pol (which must outlive c). 0, or
 * -1 (no entropy). The handshake happens in tls_handshake. */
int tls_client_init(struct tls_client *c, int fd, int timeout_ms,
                    const struct tls_client_policy *pol);
/* After a handshake: 2 verified (trusted chain and name, or a listed
 * fingerprint), 1 trusted chain (name unchecked), 0 untrusted. */
int tls_client_trust(const struct tls_client *c);
/* Why the certificate was refused, for the bounce/defer text ("unknown
 * CA", "name mismatch", "certificate expired or not yet valid", …);
 * "" when it was not refused. */
void tls_client_cert_error(const struct tls_client *c, char *out, size_t cap);
/* The leaf's fingerprint as "AA:BB:…" (the level's digest). */
void tls_client_fingerprint(const struct tls_client *c, char *out, size_t cap);
/* The leaf's subject and issuer as text (x509_names.h), also after a
 * refused chain. 0, or -1 (no certificate, over TLS_LEAF_DER_MAX, or
 * unreadable names: both ""). */
int tls_client_names(const struct tls_client *c, char *subject, size_t scap,
                     char *issuer, size_t icap);
/* smtp_tls_security_level etc. into a level (-1: not a level). */
int tls_level_parse(const char *s);

/* ---- tls_cache.c ---- */

#define TLS_CACHE_SLOTS 256     /* sessions remembered (~27 KB shared) */
#define TLS_CACHE_LIFETIME 3600 /* seconds, as Postfix's default */

struct tls_cache_shm;
struct tls_cache {
	const br_ssl_session_cache_class *vtable; /* first: BearSSL's view */
	int fd;
	struct tls_cache_shm *shm;
	unsigned hits; /* sessions resumed from it */
};

/* The master: a new shared table (a memfd, close-on-exec). fd or -1. */
int tls_cache_create(void);
/* smtpd: map the table the master passed. 0, or -1 (no cache). */
int tls_cache_attach(struct tls_cache *c, int fd);
void tls_cache_detach(struct tls_cache *c);
/* Use c for t's handshake (before tls_handshake). */
void tls_server_use_cache(struct tls_conn *t, struct tls_cache *c);

/* ---- tls_service.c: the servers' side (smtpd, pop3d) ---- */

/* Load cert and key, from the descriptors the master passed for exactly
 * these paths, else by path. NULL when unusable (logged "TLS disabled:
 * …"). */
struct tls_creds *tls_service_creds(const char *cert, const char *key);
/* Close the descriptors the master passed (after tls_service_creds). */
void tls_service_close_passed(void);
void tls_service_free_creds(struct tls_creds *c);
/* A session on fd with the master's shared session cache, after the
 * handshake (heap); what gets tls_describe's text. NULL on failure, what
 * then says why. */
struct tls_conn *tls_service_accept(const struct tls_creds *c, int fd,
                                    int timeout_ms, int (*stopping)(void),
                                    char *what, size_t cap);
/* close_notify, wipe and free (NULL: nothing). */
void tls_service_free(struct tls_conn *t);
/* 1 when the last handshake resumed a cached session. */
int tls_service_reused(void);
/* Detach the session cache. */
void tls_service_end(void);

#endif
