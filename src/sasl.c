/*
 * sasl.c - SMTP AUTH for smtpd (see sasl.h). Runs in the smtpd role as
 * mail_owner; reads the users CDB (tinymta_sasl_users, 0640 root:mail_owner
 * group) and asks the master, over the control socket, to count failed
 * attempts per client. UNTRUSTED: every AUTH line the client sends; they
 * hold secrets, so nothing of them reaches a log (only the mechanism and,
 * after success, the login name, escaped) and the buffers that held them
 * are wiped.
 */
#define _GNU_SOURCE /* explicit_bzero in glibc */
#include "sasl.h"
#include "ctl_client.h"
#include "map.h"
#include "sasl_decode.h"
#include "util/log.h"
#include "util/str.h"

#include <crypt.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Hashed when the user is unknown, so that a wrong name costs what a
 * wrong password costs (no user enumeration by timing). */
#define DUMMY_SALT "$6$tinymtadummysalt$"

static const char *const mech_names[] = {NULL, "PLAIN", "LOGIN"};

int
sasl_offered(const struct smtpd *s)
{
	if (s->flags & SMTPD_F_LOCAL)
		return 0;
	if (!conf_bool(s->conf, "smtpd_sasl_auth_enable"))
		return 0;
	return !conf_bool(s->conf, "smtpd_tls_auth_only") ||
	       (s->flags & SMTPD_F_TLS);
}

/* ---- verification ---- */

/* crypt(pass, setting) compared in constant time with want[wlen]. */
static int
hash_matches(const char *pass, const char *setting, const char *want,
             size_t wlen)
{
	const char *h = crypt(pass, setting);

	/* glibc/libxcrypt answer "*0"/"*1" for a bad setting, musl NULL */
	if (!h || h[0] != '$')
		return 0;
	return sasl_const_eq(h, strlen(h), want, wlen);
}

static int
verify(const char *spec, const char *user, const char *pass, int need_admin)
{
	struct map *m = malloc(sizeof *m);
	char val[SASL_HASH_MAX + 64], hash[SASL_HASH_MAX + 1];
	size_t vlen = 0, hlen;
	int r, admin, ok;

	if (!m)
		return -1;
	r = map_open(m, spec, 0);
	if (r < 0 && errno != ENOENT) {
		free(m);
		return -1;
	}
	if (r == 0) {
		r = map_lookup(m, user, val, sizeof val, &vlen);
		map_close(m);
		if (r < 0 && errno != ERANGE) {
			free(m);
			return -1;
		}
	}
	free(m);
	hlen = r == 1 ? sasl_value_hash(val, vlen, &admin) : 0;
	if (r != 1 || hlen == 0 || hlen > SASL_HASH_MAX || val[0] != '$') {
		/* the same work, and never a match */
		hash_matches(pass, DUMMY_SALT, DUMMY_SALT, strlen(DUMMY_SALT));
		return 0;
	}
	memcpy(hash, val, hlen);
	hash[hlen] = '\0';
	ok = hash_matches(pass, hash, hash, hlen);
	explicit_bzero(val, sizeof val);
	return ok && (admin || !need_admin);
}

int
sasl_verify(const char *spec, const char *user, const char *pass)
{
	return verify(spec, user, pass, 0);
}

int
sasl_verify_admin(const char *spec, const char *user, const char *pass)
{
	return verify(spec, user, pass, 1);
}

/* ---- the failure count kept by the master ---- */

/* Ask the master ("auth-count ADDR" or "auth-fail ADDR"): the failures of
 * this client in the current minute, or 0 when no limit applies or the
 * master cannot be asked (the limit then does not hold: logged). */
static unsigned long
failures(struct smtpd *s, const char *what)
{
	if (conf_int(s->conf, "smtpd_client_auth_rate_limit") <= 0 ||
	    s->mynetworks)
		return 0; /* Postfix: $mynetworks are exempt from anvil */
	return ctl_auth_failures(s->qdir, what, s->client_addr);
}

/* 1 when the client is at or over smtpd_client_auth_rate_limit. */
static int
over_limit(struct smtpd *s, unsigned long n)
{
	long long lim = conf_int(s->conf, "smtpd_client_auth_rate_limit");

	return lim > 0 && n >= (unsigned long long)lim;
}

/* Refuse the client for the rest of the minute: wait (a tarpit), 421. */
static void
refuse(struct smtpd *s, unsigned long n)
{
	log_warn("%s: too many failed AUTH attempts (%lu in a minute); "
	         "disconnecting",
	         s->client, n);
	smtpd_flush(s);
	poll(NULL, 0, SMTPD_SLEEP_MS);
	smtpd_reply(s, "421 4.7.0 %s Error: too many failed AUTH attempts",
	            s->myhostname);
	s->flags |= SMTPD_F_QUIT;
}

/* ---- the exchange ---- */

int
sasl_check(struct smtpd *s, const struct smtp_cmd *c)
{
	enum sasl_mech m;
	const char *ir;
	size_t irlen;
	enum sasl_err e;

	if (!sasl_offered(s)) {
		if (!(s->flags & SMTPD_F_LOCAL) &&
		    conf_bool(s->conf, "smtpd_sasl_auth_enable"))
			smtpd_reply(s, "538 5.7.11 Encryption required for "
			               "requested authentication mechanism");
		else
			smtpd_reply(s, "503 5.5.1 Error: authentication not "
			               "enabled");
		return -1;
	}
	if (s->state == SMTPD_S_CONNECT || !(s->flags & SMTPD_F_ESMTP)) {
		smtpd_reply(s, "503 5.5.1 Error: send EHLO first");
		return -1;
	}
	if (s->flags & SMTPD_F_AUTH) {
		smtpd_reply(s, "503 5.5.1 Error: already authenticated");
		return -1;
	}
	e = sasl_parse_auth(c->arg, c->arglen, &m, &ir, &irlen);
	if (e == SASL_ERR_MECH) {
		smtpd_reply(s, "504 5.5.4 Unsupported authentication "
		               "mechanism");
		return -1;
	}
	if (e != SASL_OK) {
		smtpd_reply(s, "501 5.5.4 Syntax: AUTH mechanism "
		               "[initial-response]");
		return -1;
	}
	return 0;
}

/* Decode a client response held in s->line or an initial response. 0, or
 * -1 (replied). */
static int
decode(struct smtpd *s, const char *b64, size_t len, unsigned char *out,
       size_t cap, size_t *outlen)
{
	enum sasl_err e = sasl_b64_decode(b64, len, out, cap, outlen);

	if (e == SASL_OK)
		return 0;
	if (e == SASL_ERR_TOO_LONG)
		smtpd_reply(s, "500 5.5.6 Authentication exchange line is too "
		               "long");
	else
		smtpd_reply(s, "501 5.5.2 Cannot decode response");
	return -1;
}

/* Send "334 prompt", read the answer and decode it into out[cap]. 0, or
 * -1 (replied; the session may be over). */
static int
ask(struct smtpd *s, const char *prompt, unsigned char *out, size_t cap,
    size_t *outlen)
{
	int r, rc;

	smtpd_reply(s, "334 %s", prompt);
	r = smtpd_getline(s);
	if (r <= 0 || r == 3) {
		if (r == 3)
			smtpd_reply(s, "521 5.5.2 %s Error: bare <LF> received",
			            s->myhostname);
		s->flags |= SMTPD_F_QUIT;
		return -1;
	}
	if (r == 2) {
		smtpd_reply(s, "500 5.5.6 Authentication exchange line is too "
		               "long");
		return -1;
	}
	if (s->linelen == 1 && s->line[0] == '*') {
		smtpd_reply(s, "501 5.7.0 Authentication aborted");
		return -1;
	}
	rc = decode(s, s->line, s->linelen, out, cap, outlen);
	explicit_bzero(s->line, s->linelen);
	return rc;
}

struct cred {
	char user[SASL_USER_MAX + 1];
	char pass[SASL_PASS_MAX + 1];
	unsigned char msg[SASL_MSG_MAX];
};

/* PLAIN: one message, from the initial response or after "334 ". 1 got
 * a well-formed message, 0 malformed (a failure), -1 replied. */
static int
plain(struct smtpd *s, const char *ir, size_t irlen, struct cred *k)
{
	size_t n = 0;

	if (ir ? decode(s, ir, irlen, k->msg, sizeof k->msg, &n) < 0
	       : ask(s, "", k->msg, sizeof k->msg, &n) < 0)
		return -1;
	return sasl_plain_parse(k->msg, n, k->user, k->pass) == SASL_OK;
}

/* One LOGIN field into out[max+1]: no NUL, 1..max bytes. */
static int
login_field(const unsigned char *in, size_t n, char *out, size_t max)
{
	if (n == 0 || n > max || memchr(in, '\0', n))
		return 0;
	memcpy(out, in, n);
	out[n] = '\0';
	return 1;
}

/* LOGIN: "Username:" (unless an initial response), then "Password:". */
static int
login(struct smtpd *s, const char *ir, size_t irlen, struct cred *k)
{
	size_t n = 0;
	int ok;

	if (ir ? decode(s, ir, irlen, k->msg, sizeof k->msg, &n) < 0
	       : ask(s, "VXNlcm5hbWU6", k->msg, sizeof k->msg, &n) < 0)
		return -1;
	ok = login_field(k->msg, n, k->user, SASL_USER_MAX) &&
	     sasl_user_check(k->user, n) == SASL_OK;
	if (ask(s, "UGFzc3dvcmQ6", k->msg, sizeof k->msg, &n) < 0)
		return -1;
	return login_field(k->msg, n, k->pass, SASL_PASS_MAX) && ok;
}

static void
failed(struct smtpd *s, enum sasl_mech m)
{
	unsigned long n = failures(s, "auth-fail");

	log_warn("%s: SASL %s authentication failed", s->client, mech_names[m]);
	smtpd_reply(s, "535 5.7.8 Error: authentication failed");
	if (over_limit(s, n))
		refuse(s, n);
}

static void
succeeded(struct smtpd *s, enum sasl_mech m, const char *user)
{
	char shown[SASL_USER_MAX * 4 + 1];

	s->flags |= SMTPD_F_AUTH;
	str_copy(s->sasl_user, sizeof s->sasl_user, user);
	str_escape(shown, sizeof shown, user, strlen(user));
	log_info("%s: sasl_method=%s, sasl_username=%s", s->client,
	         mech_names[m], shown);
	smtpd_reply(s, "235 2.7.0 Authentication successful");
}

void
sasl_auth(struct smtpd *s, const struct smtp_cmd *c)
{
	struct cred *k = calloc(1, sizeof *k); /* fixed size */
	unsigned long n = failures(s, "auth-count");
	enum sasl_mech m = SASL_MECH_PLAIN;
	const char *ir;
	size_t irlen;
	char spec[CONF_VALUE_MAX];
	int r;

	if (over_limit(s, n)) {
		free(k);
		refuse(s, n);
		return;
	}
	if (!k) {
		smtpd_reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	(void)sasl_parse_auth(c->arg, c->arglen, &m, &ir, &irlen);
	r = m == SASL_MECH_PLAIN ? plain(s, ir, irlen, k)
	                         : login(s, ir, irlen, k);
	explicit_bzero(s->line, s->linelen); /* the initial response */
	if (r == 1) {
		str_copy(spec, sizeof spec,
		         conf_get(s->conf, "tinymta_sasl_users"));
		r = sasl_verify(spec, k->user, k->pass);
		if (r < 0) {
			log_error("cannot read %s.cdb: %s", spec,
			          strerror(errno));
			smtpd_reply(s, "454 4.7.0 Temporary authentication "
			               "failure");
		}
	}
	if (r == 1)
		succeeded(s, m, k->user);
	else if (r == 0)
		failed(s, m);
	explicit_bzero(k, sizeof *k);
	free(k);
	explicit_bzero(s->in, s->inpos); /* consumed: never read again */
}

/* ---- smtpd_sender_login_maps ---- */

/* 1 when login is one of the comma/space separated names in owners. */
static int
owned_by(const char *owners, const char *login)
{
	const char *cur = owners;
	char name[SASL_USER_MAX + 1];

	while (conf_list_next(&cur, name, sizeof name))
		if (str_eq_nocase(name, login))
			return 1;
	return 0;
}

/* The owners of the sender: the address, else "@domain", in each map of
 * the list. 1 found (owners[cap]), 0 not, -1 error. */
static int
owners_of(const char *maps, const struct addr *a, const char *text,
          char *owners, size_t cap)
{
	const char *cur = maps;
	char spec[CONF_VALUE_MAX], key[ADDR_DOMAIN_MAX + 2];
	struct map *m = malloc(sizeof *m);
	int r = 0;

	if (!m)
		return -1;
	snprintf(key, sizeof key, "@%s", a->domain);
	while (r == 0 && conf_list_next(&cur, spec, sizeof spec)) {
		if (map_open(m, spec, 0) < 0) {
			log_error("smtpd_sender_login_maps: %s: %s", spec,
			          strerror(errno));
			r = -1;
			break;
		}
		r = map_lookup(m, text, owners, cap, NULL);
		if (r == 0 && a->domain[0])
			r = map_lookup(m, key, owners, cap, NULL);
		map_close(m);
	}
	free(m);
	return r;
}

int
sasl_sender_check(struct smtpd *s, const struct addr *sender)
{
	char maps[CONF_VALUE_MAX], text[ADDR_TEXT_MAX], owners[1024],
	    reply[ADDR_TEXT_MAX + SASL_USER_MAX + 80];
	int r;

	str_copy(maps, sizeof maps,
	         conf_get(s->conf, "smtpd_sender_login_maps"));
	if (!(s->flags & SMTPD_F_AUTH) || !maps[0] ||
	    (!sender->local[0] && !sender->domain[0]))
		return 0;
	addr_format(sender, text, sizeof text);
	r = owners_of(maps, sender, text, owners, sizeof owners);
	if (r < 0) {
		smtpd_reply(s, "451 4.3.0 <%s>: Temporary lookup failure",
		            text);
		return -1;
	}
	if (r == 1 && owned_by(owners, s->sasl_user))
		return 0;
	snprintf(
	    reply, sizeof reply,
	    "553 5.7.1 <%s>: Sender address rejected: not owned by user %s",
	    text, s->sasl_user);
	smtpd_log_reject(s, "MAIL", reply, "");
	smtpd_reply(s, "%s", reply);
	return -1;
}
