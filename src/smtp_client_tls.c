/*
 * smtp_client_tls.c - TLS for the smtp agent (see smtp_client.h):
 * smtp_tls_security_level (legacy smtp_use_tls), smtp_tls_CAfile,
 * smtp_tls_fingerprint_*, and the switch of a connection to TLS after
 * STARTTLS or at once (smtp_tls_wrappermode). The BearSSL session
 * (tls_client.c) becomes the connection's transport through
 * smtpc_conn_set_io, which drops any buffered plaintext; plaintext that
 * the server sent after its 220 reply aborts the session first (STARTTLS
 * response injection). Runs as mail_owner; the handshake and the
 * certificates are the server's, untrusted, parsed by BearSSL.
 */
#include "smtp_client.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void why(struct smtpc *s, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
why(struct smtpc *s, const char *dsn, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof s->why, fmt, ap);
	va_end(ap);
	str_copy(s->why_dsn, sizeof s->why_dsn, dsn);
}

int
smtpc_tls_setup(struct smtpc *s)
{
	const struct conf *c = s->role.conf;
	static char lv[64], ca[CONF_VALUE_MAX], dg[16];
	char err[TLS_ERR_MAX];
	int level;

	if (s->tls_ready)
		return s->tls_ready > 0 ? 0 : -1;
	s->tls_ready = -1;
	/* conf_get's value lives until the next conf_* call: copies */
	str_copy(lv, sizeof lv, conf_get(c, "smtp_tls_security_level"));
	str_copy(ca, sizeof ca, conf_get(c, "smtp_tls_CAfile"));
	str_copy(dg, sizeof dg, conf_get(c, "smtp_tls_fingerprint_digest"));
	str_copy(s->tls_match, sizeof s->tls_match,
	         conf_get(c, "smtp_tls_fingerprint_cert_match"));
	level = *lv ? tls_level_parse(lv)
	            : (conf_bool(c, "smtp_use_tls") ? TLS_LV_MAY : TLS_LV_NONE);
	if (level < 0) {
		why(s, "4.3.5", "bad smtp_tls_security_level: %s", lv);
		log_error("%s", s->why);
		return -1;
	}
	/* implicit TLS cannot fall back to plaintext */
	if (conf_bool(c, "smtp_tls_wrappermode") && level < TLS_LV_ENCRYPT)
		level = TLS_LV_ENCRYPT;
	s->tls_level = level;
	if (level != TLS_LV_NONE && *ca &&
	    tls_anchors_load(&s->anchors, ca, err, sizeof err) < 0) {
		why(s, "4.3.5", "smtp_tls_CAfile: %s", err);
		log_error("%s", s->why);
		return -1;
	}
	if (level >= TLS_LV_VERIFY && s->anchors.n == 0) {
		why(s, "4.3.5",
		    "smtp_tls_security_level = %s needs smtp_tls_CAfile",
		    level == TLS_LV_SECURE ? "secure" : "verify");
		log_error("%s", s->why);
		return -1;
	}
	s->pol.level = (enum tls_level)level;
	s->pol.anchors = s->anchors.n ? &s->anchors : NULL;
	s->pol.digest = str_eq_nocase(dg, "md5")    ? br_md5_ID
	                : str_eq_nocase(dg, "sha1") ? br_sha1_ID
	                                            : br_sha256_ID;
	s->pol.match = s->tls_match;
	if (level == TLS_LV_FINGERPRINT && !*s->pol.match) {
		why(s, "4.3.5",
		    "smtp_tls_security_level = fingerprint needs "
		    "smtp_tls_fingerprint_cert_match");
		log_error("%s", s->why);
		return -1;
	}
	s->tls_ready = 1;
	return 0;
}

static ssize_t
tls_rd(struct smtpc_conn *c, void *buf, size_t n, int64_t deadline_ms)
{
	struct tls_client *t = c->io.ctx;
	ssize_t r;

	t->t.timeout_ms = -1;
	if (deadline_ms > 0) {
		int64_t left = deadline_ms - smtpc_now_ms();

		t->t.timeout_ms = left <= 0         ? 1
		                  : left > 86400000 ? 86400000
		                                    : (int)left;
	}
	r = tls_read(&t->t, buf, n);
	if (r < 0)
		errno = t->t.ev == TLS_EV_TIMEOUT ? ETIMEDOUT
		        : t->t.ev == TLS_EV_IO    ? t->t.sys_errno
		                                  : EPROTO;
	return r;
}

static ssize_t
tls_wr(struct smtpc_conn *c, const void *buf, size_t n, int64_t deadline_ms)
{
	struct tls_client *t = c->io.ctx;

	t->t.timeout_ms = -1;
	if (deadline_ms > 0) {
		int64_t left = deadline_ms - smtpc_now_ms();

		t->t.timeout_ms = left <= 0         ? 1
		                  : left > 86400000 ? 86400000
		                                    : (int)left;
	}
	if (tls_write_all(&t->t, buf, n) < 0) {
		errno = t->t.ev == TLS_EV_TIMEOUT ? ETIMEDOUT
		        : t->t.ev == TLS_EV_IO    ? t->t.sys_errno
		                                  : EPROTO;
		return -1;
	}
	return (ssize_t)n;
}

static void
tls_cl(struct smtpc_conn *c)
{
	struct tls_client *t = c->io.ctx;

	if (t)
		tls_close(&t->t);
}

void
smtpc_tls_end(struct smtpc *s)
{
	if (s->tls) {
		explicit_bzero(s->tls, sizeof *s->tls);
		free(s->tls);
	}
	s->tls = NULL;
	s->tls_on = 0;
}

static const char *const trust_words[] = {"Untrusted", "Trusted", "Verified"};

int
smtpc_tls_start(struct smtpc *s, int wrapper)
{
	const struct smtpc_dest *d = s->dest;
	char name[SMTPC_HOST_MAX + 64], err[TLS_ERR_MAX], desc[200];
	struct smtpc_io io = {tls_rd, tls_wr, tls_cl, NULL};
	long long to = conf_time(s->role.conf, "smtp_helo_timeout");
	int64_t now =
	    clock_is_set() ? (int64_t)time(NULL) : clock_build_epoch();

	smtpc_fmt(name, sizeof name, "%s[%s]", d->host, d->addr);
	if (wrapper && smtpc_conn_pending(&s->conn)) {
		/* the client speaks first in TLS: a greeting in plaintext */
		why(s, "4.7.5",
		    "Cannot start TLS: host %s sent plaintext before the TLS "
		    "handshake (smtp_tls_wrappermode = yes for a port without "
		    "implicit TLS?)",
		    name);
		log_info("%s", s->why);
		smtpc_conn_close(&s->conn);
		return -1;
	}
	if (!wrapper && smtpc_conn_pending(&s->conn)) {
		why(s, "4.7.0",
		    "STARTTLS response injection by host %s: plaintext after "
		    "the 220 reply",
		    name);
		log_warn("%s", s->why);
		return -1;
	}
	smtpc_tls_end(s);
	s->tls = calloc(1, sizeof *s->tls);
	if (!s->tls) {
		why(s, "4.3.0", "out of memory for TLS");
		return -1;
	}
	/* verify/secure: the MX host's or the relay's name, as looked up */
	s->pol.name = d->host;
	s->pol.now = now;
	if (tls_client_init(s->tls, s->conn.fd, (int)(to * 1000), &s->pol) <
	    0) {
		why(s, "4.3.0", "cannot set up TLS: no entropy");
		return -1;
	}
	if (tls_handshake(&s->tls->t) < 0) {
		tls_client_cert_error(s->tls, err, sizeof err);
		if (err[0])
			why(s, "4.7.5",
			    "Server certificate not trusted: %s (host %s)", err,
			    name);
		else {
			tls_error_text(&s->tls->t, err, sizeof err);
			why(s, "4.7.5",
			    "Cannot start TLS: handshake with host %s "
			    "failed: %s",
			    name, err);
		}
		if (s->pol.level == TLS_LV_FINGERPRINT) {
			tls_client_fingerprint(s->tls, err, sizeof err);
			log_info("%s: server certificate fingerprint %s", name,
			         err);
		}
		log_info("%s", s->why);
		smtpc_conn_close(&s->conn); /* no QUIT into a broken stream */
		return -1;
	}
	io.ctx = s->tls;
	smtpc_conn_set_io(&s->conn, &io);
	s->tls_on = 1;
	tls_describe(&s->tls->t, desc, sizeof desc);
	log_info("%s TLS connection established to %s:%u: %s",
	         trust_words[tls_client_trust(s->tls)], name, d->port, desc);
	return 0;
}
