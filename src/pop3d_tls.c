/*
 * pop3d_tls.c - TLS in the pop3d login phase (docs/pop3d.md "TLS"): the
 * certificate (pop3d_tls_cert_file / pop3d_tls_key_file, from the
 * descriptors the master opened as root), STLS (RFC 2595) and POP3S
 * (pop3d_tls_wrappermode) on the pop3_io stream, and the relay that keeps
 * the TLS session after the login: a TLS session cannot move to another
 * process, so the login process hands the mailbox phase one end of a
 * socketpair and copies between the TLS stream and the other end.
 * UNTRUSTED: every byte from the client (BearSSL's record layer, then the
 * mailbox process's parser; the relay does not look at the bytes).
 */
#include "pop3d.h"
#include "role.h"
#include "tls.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TLS_RECORD_MAX 16384 /* plaintext of one TLS record */
/* client -> mailbox: room for one whole record after what the login phase
 * had buffered, so that a read always empties the engine (its buffer is
 * half duplex: it cannot send while received data waits) */
#define RELAY_UP (POP3_IO_RBUF + TLS_RECORD_MAX)
#define RELAY_DOWN 16384     /* mailbox -> client, one read */
#define RELAY_STOP_MS 5000   /* after SIGTERM: the mailbox's last words */
#define RELAY_SLACK_MS 30000 /* past pop3d_timeout: the mailbox is stuck */

void
pop3d_tls_init(struct pop3d *d)
{
	char cert[CONF_VALUE_MAX], key[CONF_VALUE_MAX];

	str_copy(cert, sizeof cert, conf_get(d->conf, "pop3d_tls_cert_file"));
	str_copy(key, sizeof key, conf_get(d->conf, "pop3d_tls_key_file"));
	if (*cert)
		d->creds = tls_service_creds(cert, key);
	tls_service_close_passed();
}

int
pop3d_tls_available(const struct pop3d *d)
{
	return d->creds != NULL;
}

/* The pop3_io transport over the TLS session. */
static ssize_t
op_read(void *ctx, void *buf, size_t len)
{
	ssize_t n = tls_read(ctx, buf, len);

	if (n < 0)
		errno = EIO;
	return n;
}

static ssize_t
op_write(void *ctx, const void *buf, size_t len)
{
	if (tls_write_all(ctx, buf, len) < 0) {
		errno = EIO;
		return -1;
	}
	return (ssize_t)len;
}

static size_t
pending(void *ctx)
{
	struct tls_conn *t = ctx;

	return (br_ssl_engine_current_state(&t->sc.eng) & BR_SSL_RECVAPP) != 0;
}

static const struct pop3_io_ops tls_ops = {op_read, op_write, pending};

/* Drop the plaintext that came with STLS (buffered, or already in the
 * socket before our reply): it was sent before TLS and must not be read
 * as if it came through it (as CVE-2011-0411 for SMTP). */
static void
drop_plaintext(struct pop3d *d)
{
	size_t dropped = d->io.rlen - d->io.rpos;
	char junk[512];
	ssize_t n;

	d->io.rpos = d->io.rlen = 0;
	while ((n = recv(d->io.rfd, junk, sizeof junk, MSG_DONTWAIT)) > 0)
		dropped += (size_t)n;
	if (dropped > 0)
		log_warn("[%s]: discarding %zu bytes of plaintext pipelined "
		         "after STLS",
		         d->ip, dropped);
}

int
pop3d_tls_start(struct pop3d *d, int stls)
{
	char what[96];

	if (stls) {
		drop_plaintext(d);
		pop3d_reply(d, "+OK Begin TLS negotiation");
		if (pop3_io_flush(&d->io) < 0)
			return -1;
	}
	d->tlsc = tls_service_accept(d->creds, d->io.rfd, d->io.timeout_ms,
	                             role_stopping, what, sizeof what);
	if (!d->tlsc) {
		log_info("[%s]: TLS handshake failed: %s", d->ip, what);
		return -1;
	}
	log_info("[%s]: %s: %s%s", d->ip, stls ? "STLS" : "POP3S", what,
	         tls_service_reused() ? " (session reused)" : "");
	pop3_io_set_ops(&d->io, &tls_ops, d->tlsc);
	d->tls = 1;
	return 0;
}

void
pop3d_tls_end(struct pop3d *d)
{
	pop3_io_set_ops(&d->io, NULL, NULL);
	tls_service_free(d->tlsc);
	d->tlsc = NULL;
	tls_service_end();
	tls_service_free_creds(d->creds);
	d->creds = NULL;
}

/* The relay's state: bytes from the client waiting for the mailbox. */
struct relay {
	struct pop3d *d;
	int pair;
	size_t uplen;
	char up[RELAY_UP];
	char down[RELAY_DOWN];
};

/* Client -> up. 1 read, 0 the client closed, -1 a failure. */
static int
from_client(struct relay *r)
{
	ssize_t n =
	    tls_read(r->d->tlsc, r->up + r->uplen, sizeof r->up - r->uplen);

	if (n <= 0) {
		char why[96];

		if (n < 0) {
			tls_error_text(r->d->tlsc, why, sizeof why);
			log_info("[%s]: TLS relay: client: %s", r->d->ip, why);
		}
		return (int)n;
	}
	r->uplen += (size_t)n;
	return 1;
}

/* up -> mailbox, as much as the socket takes. 0, or -1 (it is gone). */
static int
to_mailbox(struct relay *r)
{
	ssize_t n = send(r->pair, r->up, r->uplen, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	memmove(r->up, r->up + n, r->uplen - (size_t)n);
	r->uplen -= (size_t)n;
	return 0;
}

/* Mailbox -> client. 1 copied, 0 the mailbox closed, -1 a failure. */
static int
from_mailbox(struct relay *r)
{
	ssize_t n = recv(r->pair, r->down, sizeof r->down, MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 1 : -1;
	if (n == 0)
		return 0;
	if (tls_write_all(r->d->tlsc, r->down, (size_t)n) < 0) {
		char why[96];

		tls_error_text(r->d->tlsc, why, sizeof why);
		log_info("[%s]: TLS relay: client: %s", r->d->ip, why);
		return -1;
	}
	return 1;
}

int
pop3d_tls_relay(struct pop3d *d, int pair)
{
	static struct relay r;
	long long idle_end, stop_end = 0;
	int timeout = d->io.timeout_ms, eof = 0;

	r.d = d;
	r.pair = pair;
	/* what the login phase read past the PASS line (pipelining) */
	r.uplen = d->io.rlen - d->io.rpos;
	memcpy(r.up, d->io.rbuf + d->io.rpos, r.uplen);
	d->io.rpos = d->io.rlen = 0;
	idle_end = pop3_io_now_ms() + timeout + RELAY_SLACK_MS;
	for (;;) {
		int room = !eof && sizeof r.up - r.uplen >= TLS_RECORD_MAX;
		int pend = room && pending(d->tlsc);
		struct pollfd p[2] = {
		    {d->io.rfd, (short)(room ? POLLIN : 0), 0},
		    {pair, (short)(POLLIN | (r.uplen ? POLLOUT : 0)), 0}};
		int n = poll(p, 2, pend ? 0 : 1000);
		long long now = pop3_io_now_ms();

		if (n < 0 && errno != EINTR) {
			log_error("TLS relay: poll: %s", strerror(errno));
			break;
		}
		if (role_stopping() && !stop_end)
			stop_end = now + RELAY_STOP_MS;
		if (stop_end && now >= stop_end)
			break;
		if (n <= 0 && !pend) {
			if (now < idle_end)
				continue;
			log_warn(
			    "[%s]: TLS relay: no traffic for %d s; closing",
			    d->ip, (timeout + RELAY_SLACK_MS) / 1000);
			break;
		}
		idle_end = now + timeout + RELAY_SLACK_MS;
		/* client first: the engine must hold no received data when
		 * it sends */
		if (room &&
		    (pend || (p[0].revents & (POLLIN | POLLHUP | POLLERR)))) {
			int k = from_client(&r);

			if (k < 0)
				break;
			if (k == 0) {
				/* the client closed: the mailbox still reads
				 * what came before (a QUIT) and may answer */
				eof = 1;
				stop_end = now + RELAY_STOP_MS;
			}
		}
		if (r.uplen && to_mailbox(&r) < 0)
			break;
		if (eof == 1 && r.uplen == 0) {
			(void)shutdown(pair, SHUT_WR);
			eof = 2;
		}
		if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    from_mailbox(&r) <= 0)
			break;
	}
	close(pair);
	return 0;
}
