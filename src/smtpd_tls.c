/*
 * smtpd_tls.c - TLS in smtpd: the security level of the service
 * (smtpd_tls_security_level, or the legacy smtpd_use_tls and
 * smtpd_enforce_tls), the certificate and key (tls_service.c: from
 * descriptors the master opened as root, or by path), STARTTLS (RFC 3207)
 * and implicit TLS (smtpd_tls_wrappermode). After STARTTLS nothing of the
 * plaintext phase survives: pipelined bytes are dropped (CVE-2011-0411)
 * and the client must greet again.
 */
#include "role.h"
#include "smtpd.h"
#include "tls.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
tls_level(const struct conf *c)
{
	const char *l = conf_get(c, "smtpd_tls_security_level");

	if (l && *l)
		return strcmp(l, "encrypt") == 0 ? SMTPD_TLS_ENCRYPT
		       : strcmp(l, "may") == 0   ? SMTPD_TLS_MAY
		                                 : SMTPD_TLS_NONE;
	if (conf_bool(c, "smtpd_enforce_tls"))
		return SMTPD_TLS_ENCRYPT;
	return conf_bool(c, "smtpd_use_tls") ? SMTPD_TLS_MAY : SMTPD_TLS_NONE;
}

struct tls_creds *
smtpd_tls_creds(const struct conf *c)
{
	char cert[CONF_VALUE_MAX], key[CONF_VALUE_MAX];
	struct tls_creds *cr = NULL;

	if (tls_level(c) != SMTPD_TLS_NONE ||
	    conf_bool(c, "smtpd_tls_wrappermode")) {
		str_copy(cert, sizeof cert, conf_get(c, "smtpd_tls_cert_file"));
		str_copy(key, sizeof key, conf_get(c, "smtpd_tls_key_file"));
		cr = tls_service_creds(cert, key);
	}
	tls_service_close_passed();
	return cr;
}

void
smtpd_tls_init(struct smtpd *s)
{
	if (s->flags & SMTPD_F_LOCAL) {
		s->creds = NULL; /* sendmail -bs: no TLS; its environment is
		                    the user's */
		return;
	}
	s->tls_level = tls_level(s->conf);
	s->tls_wrapper = conf_bool(s->conf, "smtpd_tls_wrappermode");
	s->tls_received = conf_bool(s->conf, "smtpd_tls_received_header");
}

int
smtpd_tls_offered(const struct smtpd *s)
{
	return s->creds && !s->tls && s->tls_level != SMTPD_TLS_NONE;
}

int
smtpd_tls_start(struct smtpd *s)
{
	char what[96];

	if (!s->creds) {
		log_error("cannot start TLS for %s: no usable certificate",
		          s->client);
		return -1;
	}
	s->tls = tls_service_accept(s->creds, s->in_fd, s->timeout_ms,
	                            role_stopping, what, sizeof what);
	if (!s->tls) {
		log_info("SSL_accept error from %s: %s", s->client, what);
		return -1;
	}
	log_info("Anonymous TLS connection established from %s: %s%s",
	         s->client, what,
	         tls_service_reused() ? " (session reused)" : "");
	if (s->tls_received)
		snprintf(s->tls_text, sizeof s->tls_text,
		         "(using %s)\n\t(No client certificate requested)",
		         what);
	s->flags |= SMTPD_F_TLS;
	return 0;
}

void
smtpd_starttls(struct smtpd *s)
{
	size_t left = s->inlen - s->inpos;

	if (s->tls) {
		smtpd_reply(s, "554 5.5.1 Error: TLS already active");
		return;
	}
	if (s->tls_level == SMTPD_TLS_NONE) {
		smtpd_reply(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (!s->creds) {
		smtpd_reply(s, "454 4.7.0 TLS not available due to local "
		               "problem");
		return;
	}
	if (s->state & (SMTPD_S_MAIL | SMTPD_S_RCPT)) {
		smtpd_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	smtpd_reply(s, "220 2.0.0 Ready to start TLS");
	if (smtpd_flush(s) < 0)
		return;
	/* CVE-2011-0411: what came with STARTTLS was sent in plaintext and
	 * must not be read as if it came through TLS */
	if (left > 0)
		log_warn("%s: discarding %zu bytes of plaintext pipelined "
		         "after STARTTLS",
		         s->client, left);
	s->inpos = s->inlen = 0;
	smtpd_reset(s);
	s->helo[0] = '\0';
	s->state = SMTPD_S_CONNECT;
	/* RFC 3207 4.2: forget everything the client said before, AUTH too */
	s->flags &= ~(unsigned)(SMTPD_F_ESMTP | SMTPD_F_AUTH);
	s->auth_text[0] = '\0';
	s->sasl_user[0] = '\0';
	if (smtpd_tls_start(s) < 0)
		s->flags |= SMTPD_F_QUIT;
}

void
smtpd_tls_end(struct smtpd *s)
{
	tls_service_free(s->tls);
	s->tls = NULL;
	tls_service_end();
	s->creds = NULL; /* the process's (smtpd_tls_creds), not ours */
}
