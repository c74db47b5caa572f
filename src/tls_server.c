/*
 * tls_server.c - a BearSSL TLS 1.2 server session over a socket: the
 * engines picked by hand (ECDHE with ECDSA or RSA signatures, AES-GCM and
 * ChaCha20-Poly1305 only: no RC4, 3DES, CBC or SHA-1 suites), a half-
 * duplex I/O buffer (BR_SSL_BUFSIZE_MONO: SMTP and POP3 are lock-step, so
 * the engine never needs to receive and send at once), entropy from
 * getrandom() (works in a chroot without /dev/urandom), and reads and
 * writes with the session's timeout. UNTRUSTED: every byte from fd goes to
 * BearSSL's record layer.
 */
#include "tls.h"
#include "util/str.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

/* Server preference order: GCM and ChaCha20 with ECDHE; the key type
 * picks the ECDSA or the RSA half. */
static const struct suite {
	uint16_t id;
	int bits;
	const char *name; /* OpenSSL's name, as Postfix logs it */
} suites[] = {
    {BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, 256,
     "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, 256,
     "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 128,
     "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, 256,
     "ECDHE-RSA-AES256-GCM-SHA384"},
    {BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, 256,
     "ECDHE-RSA-CHACHA20-POLY1305"},
    {BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, 128,
     "ECDHE-RSA-AES128-GCM-SHA256"},
};
#define NSUITES (sizeof suites / sizeof suites[0])

const char *
tls_suite_name(uint16_t id, int *bits)
{
	for (size_t i = 0; i < NSUITES; i++)
		if (suites[i].id == id) {
			if (bits)
				*bits = suites[i].bits;
			return suites[i].name;
		}
	return NULL;
}

/* Wait for fd (POLLIN or POLLOUT) within the timeout. 0, or -1 with
 * t->ev set. */
static int
wait_fd(struct tls_conn *t, short what)
{
	struct pollfd p = {t->fd, what, 0};
	int r;

	for (;;) {
		r = poll(&p, 1, t->timeout_ms);
		if (r > 0)
			return 0;
		if (r == 0) {
			t->ev = TLS_EV_TIMEOUT;
			return -1;
		}
		if (errno != EINTR) {
			t->ev = TLS_EV_IO;
			t->sys_errno = errno;
			return -1;
		}
		if (t->stopping && t->stopping()) {
			t->ev = TLS_EV_STOP;
			return -1;
		}
	}
}

static int
low_read(void *ctx, unsigned char *buf, size_t len)
{
	struct tls_conn *t = ctx;

	for (;;) {
		ssize_t n;

		if (wait_fd(t, POLLIN) < 0)
			return -1;
		n = read(t->fd, buf, len);
		if (n > 0)
			return (int)n;
		if (n == 0) {
			t->ev = TLS_EV_EOF;
			return -1;
		}
		if (errno != EINTR && errno != EAGAIN) {
			t->ev = TLS_EV_IO;
			t->sys_errno = errno;
			return -1;
		}
	}
}

static int
low_write(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls_conn *t = ctx;

	for (;;) {
		ssize_t n;

		if (wait_fd(t, POLLOUT) < 0)
			return -1;
		/* no SIGPIPE when the peer is gone (the smtp client does not
		 * ignore it); a descriptor that is not a socket: write(2) */
		n = send(t->fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(t->fd, buf, len);
		if (n > 0)
			return (int)n;
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			t->ev = TLS_EV_IO;
			t->sys_errno = errno;
			return -1;
		}
	}
}

int
tls_server_init(struct tls_conn *t, const struct tls_creds *c, int fd,
                int timeout_ms, int (*stopping)(void))
{
	br_ssl_server_context *sc = &t->sc;
	br_ssl_engine_context *e = &sc->eng;
	uint16_t ids[NSUITES];
	unsigned char seed[32];

	t->fd = fd;
	t->timeout_ms = timeout_ms;
	t->stopping = stopping;
	t->ev = TLS_EV_NONE;
	t->sys_errno = 0;
	br_ssl_server_zero(sc);
	br_ssl_engine_set_versions(e, BR_TLS12, BR_TLS12);
	for (size_t i = 0; i < NSUITES; i++)
		ids[i] = suites[i].id;
	br_ssl_engine_set_suites(e, ids, NSUITES);
	br_ssl_engine_add_flags(e, BR_OPT_ENFORCE_SERVER_PREFERENCES |
	                               BR_OPT_NO_RENEGOTIATION);
	/* handshake hashes and signature hashes: no MD5, no SHA-1 */
	br_ssl_engine_set_hash(e, br_sha256_ID, &br_sha256_vtable);
	br_ssl_engine_set_hash(e, br_sha384_ID, &br_sha384_vtable);
	br_ssl_engine_set_hash(e, br_sha512_ID, &br_sha512_vtable);
	br_ssl_engine_set_prf_sha256(e, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(e, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_ec(e);
	br_ssl_engine_set_default_aes_gcm(e);
	br_ssl_engine_set_default_chapol(e);
	if (c->key_type == BR_KEYTYPE_EC)
		br_ssl_server_set_single_ec(
		    sc, c->chain, c->nchain, br_skey_decoder_get_ec(&c->key),
		    BR_KEYTYPE_SIGN, 0, br_ec_get_default(),
		    br_ecdsa_sign_asn1_get_default());
	else
		br_ssl_server_set_single_rsa(
		    sc, c->chain, c->nchain, br_skey_decoder_get_rsa(&c->key),
		    BR_KEYTYPE_SIGN, br_rsa_private_get_default(),
		    br_rsa_pkcs1_sign_get_default());
	br_ssl_engine_set_buffer(e, t->buf, sizeof t->buf, 0);
	if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
		t->ev = TLS_EV_IO;
		t->sys_errno = errno;
		return -1;
	}
	br_ssl_engine_inject_entropy(e, seed, sizeof seed);
	explicit_bzero(seed, sizeof seed);
	if (!br_ssl_server_reset(sc))
		return -1;
	tls_io_init(t);
	return 0;
}

void
tls_io_init(struct tls_conn *t)
{
	br_sslio_init(&t->io, &t->sc.eng, low_read, t, low_write, t);
	/* the handshake's flights go out as separate writes: without this,
	 * Nagle's algorithm and delayed ACKs add 40 ms to each handshake */
	(void)setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &(int){1},
	                 sizeof(int));
}

int
tls_handshake(struct tls_conn *t)
{
	/* flush runs the engine until application data may be sent */
	return br_sslio_flush(&t->io) == 0 ? 0 : -1;
}

ssize_t
tls_read(struct tls_conn *t, void *buf, size_t len)
{
	int n = br_sslio_read(&t->io, buf, len > 16384 ? 16384 : len);

	if (n > 0)
		return n;
	/* a close_notify from the peer ends the engine without an error */
	if (br_ssl_engine_current_state(&t->sc.eng) == BR_SSL_CLOSED &&
	    br_ssl_engine_last_error(&t->sc.eng) == BR_ERR_OK)
		return 0;
	if (t->ev == TLS_EV_EOF)
		return 0;
	return -1;
}

int
tls_write_all(struct tls_conn *t, const void *buf, size_t len)
{
	if (br_sslio_write_all(&t->io, buf, len) < 0)
		return -1;
	return br_sslio_flush(&t->io) == 0 ? 0 : -1;
}

/* Send close_notify and return: br_sslio_close would also wait for the
 * peer's close_notify, and a client that waits for the server to close
 * first (after 221) would hold the session until the timeout. */
void
tls_close(struct tls_conn *t)
{
	br_ssl_engine_context *e = &t->sc.eng;

	if (br_ssl_engine_current_state(e) == BR_SSL_CLOSED)
		return;
	br_ssl_engine_close(e);
	if (t->timeout_ms > TLS_CLOSE_MS || t->timeout_ms < 0)
		t->timeout_ms = TLS_CLOSE_MS;
	while (br_ssl_engine_current_state(e) & BR_SSL_SENDREC) {
		size_t len;
		unsigned char *buf = br_ssl_engine_sendrec_buf(e, &len);
		int n = low_write(t, buf, len);

		if (n < 0)
			break;
		br_ssl_engine_sendrec_ack(e, (size_t)n);
	}
}

void
tls_describe(const struct tls_conn *t, char *out, size_t cap)
{
	br_ssl_session_parameters pp;
	int bits = 0;
	const char *name;
	unsigned v = br_ssl_engine_get_version(&t->sc.eng);

	br_ssl_engine_get_session_parameters(&t->sc.eng, &pp);
	name = tls_suite_name(pp.cipher_suite, &bits);
	snprintf(out, cap, "TLSv1.%u with cipher %s (%d/%d bits)",
	         v >= BR_TLS10 ? v - BR_TLS10 : 0, name ? name : "unknown",
	         bits, bits);
}

static const struct {
	int code;
	const char *text;
} errs[] = {
    {BR_ERR_UNSUPPORTED_VERSION, "unsupported protocol version"},
    {BR_ERR_BAD_VERSION, "bad protocol version"},
    {BR_ERR_BAD_MAC, "bad record MAC"},
    {BR_ERR_UNKNOWN_TYPE, "not a TLS record"},
    {BR_ERR_UNEXPECTED, "unexpected message"},
    {BR_ERR_BAD_HANDSHAKE, "bad handshake message"},
    {BR_ERR_BAD_CIPHER_SUITE, "no shared cipher"},
    {BR_ERR_LIMIT_EXCEEDED, "limit exceeded"},
    {BR_ERR_BAD_FINISHED, "bad Finished message"},
    {BR_ERR_INVALID_ALGORITHM, "no shared signature algorithm"},
    {BR_ERR_BAD_SIGNATURE, "bad signature"},
};

void
tls_error_text(const struct tls_conn *t, char *out, size_t cap)
{
	int e = br_ssl_engine_last_error(&t->sc.eng);
	const char *what = NULL;

	switch (t->ev) {
	case TLS_EV_TIMEOUT:
		str_copy(out, cap, "timeout");
		return;
	case TLS_EV_STOP:
		str_copy(out, cap, "shutting down");
		return;
	case TLS_EV_EOF:
		str_copy(out, cap, "lost connection");
		return;
	case TLS_EV_IO:
		snprintf(out, cap, "%s", strerror(t->sys_errno));
		return;
	case TLS_EV_NONE:
		break;
	}
	if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT) {
		snprintf(out, cap, "received fatal alert %d",
		         e - BR_ERR_RECV_FATAL_ALERT);
		return;
	}
	if (e >= BR_ERR_SEND_FATAL_ALERT) {
		snprintf(out, cap, "sent fatal alert %d",
		         e - BR_ERR_SEND_FATAL_ALERT);
		return;
	}
	for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
		if (errs[i].code == e)
			what = errs[i].text;
	snprintf(out, cap, "%s (BearSSL error %d)", what ? what : "TLS error",
	         e);
}
