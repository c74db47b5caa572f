/*
 * smtp_client_auth.c - SASL AUTH of the smtp agent (RFC 4954) with
 * smtp_sasl_auth_enable: the credentials come from
 * smtp_sasl_password_maps ("user:password"), looked up as Postfix does
 * under the next hop as written (`[smtp.example.com]:587`) and then under
 * the server's host name (or given directly: smtpc.cred, test-relay
 * --user); PLAIN (RFC 4616) when the server offers it,
 * else LOGIN. Credentials are sent only inside TLS (DIFFERS FROM POSTFIX,
 * whose smtp_sasl_tls_security_options allow plaintext): a session
 * without TLS that would need them is deferred. A refused login defers
 * too (4.7.0, with the server's reply), as Postfix does. The secret is
 * never logged and is wiped after use. The server's replies are
 * untrusted (the bounded parser).
 */
#include "map.h"
#include "smtp_client.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CRED_MAX 512 /* user:password */

/* Base64 of in[len] into out[cap] (RFC 4648, padded). -1 when it does
 * not fit. */
static int
b64(const unsigned char *in, size_t len, char *out, size_t cap)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	if ((len + 2) / 3 * 4 + 1 > cap)
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = i + 1 < len ? abc[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? abc[v & 63] : '=';
	}
	out[o] = '\0';
	return 0;
}

/* 1 when the AUTH line of the EHLO reply lists mech. */
static int
offers(const struct smtpc *s, const char *mech)
{
	char w[64];
	const char *p = s->ext.auth;

	while (*p) {
		size_t n = 0;

		while (*p == ' ')
			p++;
		while (p[n] && p[n] != ' ')
			n++;
		if (n > 0 && str_copy_n(w, sizeof w, p, n) >= 0 &&
		    str_eq_nocase(w, mech))
			return 1;
		p += n;
	}
	return 0;
}

/* The credentials for this next hop: 1 found (cred = "user:password"),
 * 0 none, -1 the map could not be read (s->why). */
static int
lookup(struct smtpc *s, char *cred, size_t cap)
{
	static struct map m;
	const char *spec = conf_get(s->role.conf, "smtp_sasl_password_maps");
	const char *keys[2] = {s->hop ? s->hop : s->nexthop, s->dest->host};
	char list[CONF_VALUE_MAX], one[CONF_VALUE_MAX];
	const char *cur = list;

	str_copy(list, sizeof list, spec);
	while (conf_list_next(&cur, one, sizeof one)) {
		if (map_open(&m, one, 0) < 0) {
			if (errno == ENOENT)
				continue; /* no table: no credentials */
			smtpc_fmt(s->why, sizeof s->why,
			          "smtp_sasl_password_maps: cannot open %s: %s",
			          one, strerror(errno));
			str_copy(s->why_dsn, sizeof s->why_dsn, "4.3.0");
			return -1;
		}
		for (size_t k = 0; k < 2; k++) {
			int r = map_lookup(&m, keys[k], cred, cap, NULL);

			if (r != 0) {
				map_close(&m);
				if (r > 0)
					return 1;
				smtpc_fmt(s->why, sizeof s->why,
				          "smtp_sasl_password_maps: %s: lookup "
				          "of %s failed: %s",
				          one, keys[k], strerror(errno));
				str_copy(s->why_dsn, sizeof s->why_dsn,
				         "4.3.0");
				return -1;
			}
		}
		map_close(&m);
	}
	return 0;
}

/* Send line (a secret: wiped by the caller), read the reply. */
static int
step(struct smtpc *s, const char *line)
{
	smtpc_conn_deadline(&s->conn,
	                    conf_time(s->role.conf, "smtp_helo_timeout"));
	if (smtpc_conn_printf(&s->conn, "%s\r\n", line) < 0 ||
	    smtpc_conn_reply(&s->conn, &s->reply) < 0)
		return -1;
	/* the command sits in the write buffer until flushed: wipe it */
	explicit_bzero(s->conn.wbuf, sizeof s->conn.wbuf);
	return 0;
}

static int
fail(struct smtpc *s, const char *name, const char *what)
{
	char line[SMTPC_TEXT_LINE];

	if (what) {
		smtpc_fmt(s->why, sizeof s->why,
		          "SASL authentication failed; cannot authenticate to "
		          "server %s: %s",
		          name, what);
		str_copy(s->why_dsn, sizeof s->why_dsn, "4.7.0");
	} else {
		smtpc_reply_line(&s->reply, line, sizeof line);
		smtpc_fmt(s->why, sizeof s->why,
		          "SASL authentication failed; server %s said: %s",
		          name, line);
		str_copy(s->why_dsn, sizeof s->why_dsn, "4.7.0");
	}
	log_warn("%s", s->why);
	return -1;
}

/* The exchange with user and pass: 0 accepted (235), -1 not. */
static int
exchange(struct smtpc *s, const char *name, const char *user, const char *pass)
{
	unsigned char msg[CRED_MAX + 2];
	char enc[CRED_MAX * 2], line[CRED_MAX * 2 + 16];
	size_t ul = strlen(user), pl = strlen(pass);
	int plain = offers(s, "PLAIN"), r = -1;

	if (!plain && !offers(s, "LOGIN"))
		return fail(s, name, "no mechanism in common (PLAIN, LOGIN)");
	if (plain) { /* authzid empty, authcid, password */
		msg[0] = '\0';
		memcpy(msg + 1, user, ul);
		msg[1 + ul] = '\0';
		memcpy(msg + 2 + ul, pass, pl);
		if (b64(msg, ul + pl + 2, enc, sizeof enc) == 0) {
			smtpc_fmt(line, sizeof line, "AUTH PLAIN %s", enc);
			r = step(s, line);
		}
	} else if (step(s, "AUTH LOGIN") == 0 && s->reply.code == 334 &&
	           b64((const unsigned char *)user, ul, enc, sizeof enc) == 0 &&
	           step(s, enc) == 0 && s->reply.code == 334 &&
	           b64((const unsigned char *)pass, pl, enc, sizeof enc) == 0) {
		r = step(s, enc);
	} else if (s->conn.err[0] == '\0') {
		r = 0; /* a refusal in the middle: its reply is in s->reply */
	}
	explicit_bzero(msg, sizeof msg);
	explicit_bzero(enc, sizeof enc);
	explicit_bzero(line, sizeof line);
	if (r < 0) {
		return fail(s, name,
		            s->conn.err[0] ? s->conn.err
		                           : "credentials too long");
	}
	if (s->reply.code != 235)
		return fail(s, name, NULL);
	return 0;
}

int
smtpc_auth(struct smtpc *s)
{
	char cred[CRED_MAX], name[SMTPC_HOST_MAX + 64];
	char *colon;
	int r;

	if (!conf_bool(s->role.conf, "smtp_sasl_auth_enable") ||
	    !(s->ext.flags & SMTPC_EXT_AUTH))
		return 0;
	smtpc_fmt(name, sizeof name, "%s[%s]", s->dest->host, s->dest->addr);
	if (s->cred && str_copy(cred, sizeof cred, s->cred) < 0) {
		explicit_bzero(cred, sizeof cred);
		return fail(s, name, "credentials too long");
	}
	r = s->cred ? 1 : lookup(s, cred, sizeof cred);
	if (r <= 0) {
		if (r < 0)
			log_warn("%s", s->why);
		return r;
	}
	colon = strchr(cred, ':');
	if (!colon || colon == cred) {
		explicit_bzero(cred, sizeof cred);
		return fail(s, name,
		            "smtp_sasl_password_maps entry is not "
		            "user:password");
	}
	if (!s->tls_on) {
		explicit_bzero(cred, sizeof cred);
		smtpc_fmt(s->why, sizeof s->why,
		          "not sending credentials for %s over an unencrypted "
		          "connection (STARTTLS %s; smtp_tls_security_level)",
		          name,
		          s->ext.flags & SMTPC_EXT_STARTTLS ? "not used"
		                                            : "not offered");
		str_copy(s->why_dsn, sizeof s->why_dsn, "4.7.0");
		log_warn("%s", s->why);
		return -1;
	}
	*colon = '\0';
	s->conn.err[0] = '\0';
	r = exchange(s, name, cred, colon + 1);
	explicit_bzero(cred, sizeof cred);
	return r;
}
