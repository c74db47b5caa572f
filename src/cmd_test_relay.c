/*
 * cmd_test_relay.c - `tinymta test-relay [--json] [-o N=V]… [--to ADDR]
 * [--data]`: try the relay settings now, step by step, with the smtp
 * agent's own pieces (smtp_client_*.c: next hop, MX lookup, connection
 * with timeouts, reply parser, STARTTLS/wrappermode, AUTH), and tell
 * which step failed with the server's exact reply. -o overrides main.cf
 * (a web UI tests unsaved form values). The next hop is relayhost, else
 * the domain of the recipient (its MX). Envelope: MAIL FROM
 * tinymta_sender_address, else tinymta_admin_address, else
 * postmaster@$myorigin; RCPT TO --to, else tinymta_admin_address, else
 * postmaster@$myhostname. Without --data the transaction ends with RSET.
 * The transcript comes from the connection's trace hook; AUTH secrets
 * are shown as <redacted>. After TLS, a line names the server's
 * certificate (subject, issuer, notAfter). Exit: 0 ok, 64 usage or
 * configuration, 69 a permanent failure (5xx, refused, no such domain,
 * TLS), 75 temporary (4xx, timeout, lost connection, DNS temporary
 * failure).
 */
#include "cmd_tinymta.h"
#include "conf.h"
#include "smtp_client.h"
#include "util/str.h"
#include "x509_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TR_MAX 32768 /* transcript bytes kept */
#define TR_OPTS 64   /* -o options */
#define TR_CRED 512  /* user:password, as smtp_client_auth.c's CRED_MAX */

struct test {
	struct smtpc s;
	char tr[TR_MAX]; /* lines "C: …" / "S: …", each ending in '\n' */
	size_t trlen;
	int login;        /* inside AUTH LOGIN: the next lines are secret */
	const char *step; /* the failed step, NULL while all is well */
	char reply[SMTPC_TEXT_LINE]; /* the server's reply, or the error */
	int code;                    /* exit code of a failure */
	char tls_desc[200];
	int tls_trust;
	char tls_err[TLS_ERR_MAX];
	int tls_used;
	char not_after[32]; /* the leaf certificate's, ISO 8601 UTC */
	char subject[X509_DN_TEXT_MAX], issuer[X509_DN_TEXT_MAX];
	int names; /* 1 when subject and issuer were read */
};

static void
tr_add(struct test *t, const char *pfx, const char *p, size_t n)
{
	size_t k = strlen(pfx);

	if (t->trlen + k + n + 2 > sizeof t->tr)
		return; /* full: the rest is dropped (bounded) */
	memcpy(t->tr + t->trlen, pfx, k);
	t->trlen += k;
	for (size_t i = 0; i < n; i++) /* printable only */
		t->tr[t->trlen++] =
		    (unsigned char)p[i] < ' ' || (unsigned char)p[i] >= 0x7f
		        ? '?'
		        : p[i];
	t->tr[t->trlen++] = '\n';
	t->tr[t->trlen] = '\0';
}

/* 1 when p[n] begins with the word w, in any case. */
static int
starts(const char *p, size_t n, const char *w)
{
	size_t k = strlen(w);

	if (n < k)
		return 0;
	for (size_t i = 0; i < k; i++)
		if ((p[i] | 0x20) != (w[i] | 0x20))
			return 0;
	return 1;
}

/* The connection's trace hook. */
static void
trace(void *ctx, int sent, const char *p, size_t n)
{
	struct test *t = ctx;

	if (!sent) {
		size_t a = 0;

		for (size_t i = 0; i <= n; i++)
			if (i == n || p[i] == '\n') {
				tr_add(t, "S: ", p + a, i - a);
				a = i + 1;
			}
		t->login = t->login && n >= 3 && memcmp(p, "334", 3) == 0;
		return;
	}
	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	if (starts(p, n, "AUTH PLAIN ")) {
		tr_add(t, "C: ", "AUTH PLAIN <redacted>", 21);
	} else if (t->login) {
		tr_add(t, "C: ", "<redacted>", 10);
	} else {
		if (starts(p, n, "AUTH LOGIN"))
			t->login = 1;
		tr_add(t, "C: ", p, n);
	}
}

static int
fail(struct test *t, const char *step, int code, const char *text)
{
	t->step = step;
	t->code = code;
	str_copy(t->reply, sizeof t->reply, text);
	return -1;
}

/* A failure by the server's reply to step (69 for 5xx, 75 else). */
static int
fail_reply(struct test *t, const char *step)
{
	char line[SMTPC_TEXT_LINE];

	smtpc_reply_line(&t->s.reply, line, sizeof line);
	return fail(t, step, t->s.reply.code >= 500 ? 69 : 75, line);
}

/* A failure of the connection (lost, timeout, garbled). */
static int
fail_conn(struct test *t, const char *step)
{
	return fail(t, step, 75, t->s.conn.err);
}

static int
cmd_reply(struct test *t, const char *step, long long to, const char *pre,
          const char *arg, const char *post)
{
	smtpc_conn_deadline(&t->s.conn, to);
	if (smtpc_conn_printf(&t->s.conn, "%s%s%s\r\n", pre, arg, post) < 0 ||
	    smtpc_conn_reply(&t->s.conn, &t->s.reply) < 0)
		return fail_conn(t, step);
	return 0;
}

/* The leaf's notAfter (BearSSL's decoder keeps days since 0000-01-01 and
 * seconds of that day; 719528 days is 1970-01-01). */
static void
not_after(struct test *t)
{
	const br_x509_decoder_context *d = &t->s.tls->x.leaf;
	time_t when;
	struct tm tm;

	t->not_after[0] = '\0';
	if (!br_x509_decoder_get_pkey((br_x509_decoder_context *)d) ||
	    d->notafter_days < 719528)
		return;
	when = (time_t)((int64_t)(d->notafter_days - 719528) * 86400 +
	                d->notafter_seconds);
	if (gmtime_r(&when, &tm) == NULL ||
	    strftime(t->not_after, sizeof t->not_after, "%Y-%m-%dT%H:%M:%SZ",
	             &tm) == 0)
		t->not_after[0] = '\0';
}

/* The human output's certificate line ("-- " lines are not in the JSON
 * transcript). The names are already escaped to printable ASCII and
 * valid UTF-8 (x509_names.h), so they go in as they are, not through
 * tr_add's '?' for every non-ASCII byte. */
static void
cert_note(struct test *t)
{
	char line[2 * X509_DN_TEXT_MAX + 100];
	int n;

	if (!t->names && !t->not_after[0])
		return;
	n = snprintf(line, sizeof line,
	             "-- certificate: subject %s; issuer %s; not after %s\n",
	             t->names ? t->subject : "(unavailable)",
	             t->names ? t->issuer : "(unavailable)",
	             t->not_after[0] ? t->not_after : "(unavailable)");
	if (n < 0 || (size_t)n >= sizeof line ||
	    t->trlen + (size_t)n + 1 > sizeof t->tr)
		return;
	memcpy(t->tr + t->trlen, line, (size_t)n + 1);
	t->trlen += (size_t)n;
}

static void
tls_note(struct test *t)
{
	if (!t->s.tls)
		return;
	t->tls_used = 1;
	not_after(t);
	t->names = tls_client_names(t->s.tls, t->subject, sizeof t->subject,
	                            t->issuer, sizeof t->issuer) == 0;
	if (t->s.tls_on) {
		tls_describe(&t->s.tls->t, t->tls_desc, sizeof t->tls_desc);
		t->tls_trust = tls_client_trust(t->s.tls);
		tr_add(t, "-- TLS: ", t->tls_desc, strlen(t->tls_desc));
	}
	cert_note(t);
	tls_client_cert_error(t->s.tls, t->tls_err, sizeof t->tls_err);
}

static int
tls_start(struct test *t, int wrapper)
{
	int r = smtpc_tls_start(&t->s, wrapper);

	tls_note(t);
	if (r < 0)
		return fail(t, "tls", 69, t->s.why);
	return 0;
}

static int
ehlo(struct test *t)
{
	long long to = conf_time(t->s.role.conf, "smtp_helo_timeout");
	char name[CONF_VALUE_MAX]; /* conf_get's buffer is reused */

	str_copy(name, sizeof name, conf_get(t->s.role.conf, "smtp_helo_name"));

	if (cmd_reply(t, "ehlo", to, "EHLO ", name, "") < 0)
		return -1;
	if (t->s.reply.code / 100 != 2)
		return fail_reply(t, "ehlo");
	memset(&t->s.ext, 0, sizeof t->s.ext);
	smtpc_ehlo_parse(&t->s.reply, &t->s.ext);
	return 0;
}

/* Greeting, EHLO, TLS by the level, AUTH. */
static int
hello(struct test *t)
{
	struct smtpc *s = &t->s;
	long long to = conf_time(s->role.conf, "smtp_helo_timeout");

	if (conf_bool(s->role.conf, "smtp_tls_wrappermode") &&
	    tls_start(t, 1) < 0)
		return -1;
	smtpc_conn_deadline(&s->conn, to);
	if (smtpc_conn_reply(&s->conn, &s->reply) < 0)
		return fail_conn(t, "greeting");
	if (s->reply.code / 100 != 2)
		return fail_reply(t, "greeting");
	if (ehlo(t) < 0)
		return -1;
	if (!s->tls_on && s->tls_level != TLS_LV_NONE) {
		if (!(s->ext.flags & SMTPC_EXT_STARTTLS)) {
			if (s->tls_level != TLS_LV_MAY)
				return fail(t, "tls", 69,
				            "TLS is required, but was not "
				            "offered by the server");
		} else {
			if (cmd_reply(t, "tls", to, "STARTTLS", "", "") < 0)
				return -1;
			if (s->reply.code != 220) {
				if (s->tls_level != TLS_LV_MAY)
					return fail_reply(t, "tls");
			} else if (tls_start(t, 0) < 0 || ehlo(t) < 0) {
				return -1;
			}
		}
	}
	if (smtpc_auth(s) < 0) {
		/* the server's reply when it refused; else AUTH's reason */
		if (s->reply.code >= 400 && strstr(s->why, "said"))
			return fail(t, "auth", s->reply.code >= 500 ? 69 : 75,
			            s->why);
		return fail(t, "auth", 69, s->why);
	}
	return 0;
}

/* A small test message, with the final dot. */
static int
message(struct test *t, const char *from, const char *to)
{
	char msg[2048], date[64], host[256];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm) ==
	        0)
		str_copy(date, sizeof date, "Thu, 01 Jan 1970 00:00:00 +0000");
	str_copy(host, sizeof host, conf_get(t->s.role.conf, "myhostname"));
	n = snprintf(msg, sizeof msg,
	             "From: <%s>\r\nTo: <%s>\r\nDate: %s\r\n"
	             "Subject: tinymta test-relay\r\n"
	             "Message-ID: <test-relay.%lld.%ld@%s>\r\n"
	             "\r\n"
	             "This is a test message of tinymta test-relay from %s.\r\n"
	             ".\r\n",
	             from, to, date, (long long)now, (long)getpid(), host,
	             host);
	if (n < 0 || (size_t)n >= sizeof msg)
		return fail(t, "data", 64, "address too long");
	tr_add(t, "C: ", "(test message)", 14);
	tr_add(t, "C: ", ".", 1);
	smtpc_conn_deadline(
	    &t->s.conn, conf_time(t->s.role.conf, "smtp_data_done_timeout"));
	if (smtpc_conn_put(&t->s.conn, msg, (size_t)n) < 0 ||
	    smtpc_conn_reply(&t->s.conn, &t->s.reply) < 0)
		return fail_conn(t, "data");
	if (t->s.reply.code / 100 != 2)
		return fail_reply(t, "data");
	return 0;
}

static int
transaction(struct test *t, const char *from, const char *to, int data)
{
	struct smtpc *s = &t->s;

	if (cmd_reply(t, "mail", SMTPC_MAIL_TIMEOUT, "MAIL FROM:<", from, ">") <
	    0)
		return -1;
	if (s->reply.code / 100 != 2)
		return fail_reply(t, "mail");
	if (cmd_reply(t, "rcpt", SMTPC_RCPT_TIMEOUT, "RCPT TO:<", to, ">") < 0)
		return -1;
	if (s->reply.code / 100 != 2)
		return fail_reply(t, "rcpt");
	if (!data)
		return cmd_reply(t, "rcpt", SMTPC_RSET_TIMEOUT, "RSET", "", "");
	if (cmd_reply(t, "data", SMTPC_DATA_INIT_TIMEOUT, "DATA", "", "") < 0)
		return -1;
	if (s->reply.code != 354)
		return fail_reply(t, "data");
	return message(t, from, to);
}

static int
session(struct test *t, const char *nexthop, const char *from, const char *to,
        int data)
{
	struct smtpc *s = &t->s;
	struct smtpc_dest d[SMTPC_ADDRS_MAX];
	char dsn[16], why[SMTPC_TEXT_LINE];
	size_t n = 0, i;
	enum smtpc_lookup lk;

	s->nexthop = s->hop = nexthop;
	lk = smtpc_lookup(s->role.conf, nexthop, d, SMTPC_ADDRS_MAX, &n, dsn,
	                  sizeof dsn, why, sizeof why);
	if (lk != SMTPC_LK_OK || n == 0)
		return fail(t, "dns", lk == SMTPC_LK_BOUNCE ? 69 : 75,
		            lk == SMTPC_LK_OK ? "no address" : why);
	if (smtpc_tls_setup(s) < 0)
		return fail(t, "tls", 64, s->why);
	for (i = 0; i < n; i++) {
		char line[SMTPC_HOST_MAX + 300];

		s->dest = &d[i];
		if (smtpc_conn_open(
		        &s->conn, (const struct sockaddr *)&d[i].sa, d[i].salen,
		        conf_time(s->role.conf, "smtp_connect_timeout")) == 0)
			break;
		smtpc_fmt(line, sizeof line, "connect to %s[%s]:%u: %s",
		          d[i].host, d[i].addr, d[i].port, s->conn.err);
		fail(t, "connect", s->conn.timed_out ? 75 : 69, line);
	}
	if (i == n)
		return -1;
	t->step = NULL;
	{
		char line[SMTPC_HOST_MAX + 100];

		smtpc_fmt(line, sizeof line, "connected to %s[%s]:%u",
		          d[i].host, d[i].addr, d[i].port);
		tr_add(t, "-- ", line, strlen(line));
	}
	if (hello(t) == 0 && transaction(t, from, to, data) == 0)
		smtpc_reply_line(&s->reply, t->reply, sizeof t->reply);
	if (s->conn.fd >= 0) {
		smtpc_conn_deadline(&s->conn, 10);
		if (smtpc_conn_printf(&s->conn, "QUIT\r\n") == 0 &&
		    smtpc_conn_reply(&s->conn, &s->reply) < 0)
			(void)0; /* the reply to QUIT does not matter */
	}
	smtpc_conn_close(&s->conn);
	smtpc_tls_end(s);
	return t->step ? -1 : 0;
}

/* "TLSv1.2 with cipher NAME (…)" into its parts. */
static void
json_tls(const struct test *t, FILE *f)
{
	char ver[64] = "", ciph[128] = "";
	const char *w = strstr(t->tls_desc, " with cipher ");

	if (!t->tls_used) {
		fputs("null", f);
		return;
	}
	if (w) {
		const char *e;

		str_copy_n(ver, sizeof ver, t->tls_desc,
		           (size_t)(w - t->tls_desc));
		w += 13;
		e = strchr(w, ' ');
		str_copy_n(ciph, sizeof ciph, w,
		           e ? (size_t)(e - w) : strlen(w));
	}
	fputs("{\"version\": ", f);
	ver[0] ? conf_json_string(f, ver) : (void)fputs("null", f);
	fputs(", \"cipher\": ", f);
	ciph[0] ? conf_json_string(f, ciph) : (void)fputs("null", f);
	fputs(", \"subject\": ", f);
	t->names ? conf_json_string(f, t->subject) : (void)fputs("null", f);
	fputs(", \"issuer\": ", f);
	t->names ? conf_json_string(f, t->issuer) : (void)fputs("null", f);
	fputs(", \"not_after\": ", f);
	t->not_after[0] ? conf_json_string(f, t->not_after)
	                : (void)fputs("null", f);
	fprintf(f, ", \"verified\": %s, \"verify_error\": ",
	        t->tls_desc[0] && t->tls_trust == 2 ? "true" : "false");
	t->tls_err[0] ? conf_json_string(f, t->tls_err)
	              : (void)fputs("null", f);
	fputs("}", f);
}

static void
print_json(const struct test *t, FILE *f)
{
	const char *p = t->tr;
	const char *sep = "";

	fprintf(f,
	        "{\"ok\": %s, \"failed_step\": ", t->step ? "false" : "true");
	t->step ? conf_json_string(f, t->step) : (void)fputs("null", f);
	fputs(", \"reply\": ", f);
	conf_json_string(f, t->reply);
	fputs(", \"tls\": ", f);
	json_tls(t, f);
	fputs(", \"transcript\": [", f);
	while (*p) {
		const char *e = strchr(p, '\n');
		char line[SMTPC_LINE_MAX + 8];

		str_copy_n(line, sizeof line, p, (size_t)(e - p));
		if (strncmp(line, "-- ", 3) != 0) {
			fputs(sep, f);
			conf_json_string(f, line);
			sep = ", ";
		}
		p = e + 1;
	}
	fputs("]}\n", f);
}

static void
usage(void)
{
	fprintf(stderr, "usage: tinymta test-relay [--json] [-o name=value]... "
	                "[--to ADDR] [--data] [--user USER]\n");
}

/* --user: "user:password" into cred[cap], the password being the first
 * line of stdin. 0, or -1 with the error printed. */
static int
read_cred(const char *user, char *cred, size_t cap)
{
	char pw[TR_CRED + 2];
	size_t n;
	int r = -1, long_line;

	if (!*user || strchr(user, ':')) {
		fprintf(stderr, "test-relay: --user: empty or contains ':'\n");
		return -1;
	}
	if (!fgets(pw, sizeof pw, stdin)) {
		fprintf(stderr, "test-relay: --user: no password on stdin\n");
		return -1;
	}
	n = strlen(pw);
	/* no newline before the buffer's end (and not the last line) */
	long_line = (n == 0 || pw[n - 1] != '\n') && !feof(stdin);
	while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
		pw[--n] = '\0';
	if (n == 0 || long_line ||
	    (size_t)snprintf(cred, cap, "%s:%s", user, pw) >= cap)
		fprintf(stderr, "test-relay: --user: the password is empty or "
		                "too long\n");
	else
		r = 0;
	explicit_bzero(pw, sizeof pw);
	return r;
}

int
tinymta_test_relay_main(int argc, char **argv)
{
	static struct test t;
	static char cred[TR_CRED], dash_o[] = "-o",
	                           auth_on[] = "smtp_sasl_auth_enable=yes";
	char *ov[2 * TR_OPTS + 3];
	const char *user = NULL;
	int nov = 1, json = 0, data = 0, rc = 64;
	const char *to = NULL;
	char rcpt[QFILE_ADDR_MAX + 1], from[QFILE_ADDR_MAX + 1];
	char nexthop[CONF_VALUE_MAX];
	struct conf_problems *ps;
	const char *v;

	ov[0] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--data") == 0) {
			data = 1;
		} else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
			to = argv[++i];
		} else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
			user = argv[++i];
		} else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc &&
		           nov + 2 <= 2 * TR_OPTS) {
			ov[nov++] = argv[i];
			ov[nov++] = argv[++i];
		} else {
			usage();
			return 64;
		}
	}
	if (user) {
		if (read_cred(user, cred, sizeof cred) < 0)
			return 64;
		t.s.cred = cred;
		ov[nov++] = dash_o; /* after the -o options: it wins */
		ov[nov++] = auth_on;
	}
	t.s.conn.fd = -1;
	t.s.conn.trace = trace;
	t.s.conn.trace_ctx = &t;
	ps = conf_problems_new();
	t.s.role.conf = conf_new(NULL);
	t.s.role.name = "test-relay";
	if (!ps || !t.s.role.conf || conf_load(t.s.role.conf, ps) < 0) {
		if (ps)
			conf_problems_print(ps, stderr, "test-relay");
		goto out;
	}
	if (tinymta_conf_overrides(t.s.role.conf, nov, ov) < 0)
		goto out;
	v = conf_get(t.s.role.conf, "tinymta_admin_address");
	if (to)
		str_copy(rcpt, sizeof rcpt, to);
	else if (v[0])
		str_copy(rcpt, sizeof rcpt, v);
	else
		smtpc_fmt(rcpt, sizeof rcpt, "postmaster@%s",
		          conf_get(t.s.role.conf, "myhostname"));
	v = conf_get(t.s.role.conf, "tinymta_sender_address");
	if (!v[0])
		v = conf_get(t.s.role.conf, "tinymta_admin_address");
	if (v[0])
		str_copy(from, sizeof from, v);
	else
		smtpc_fmt(from, sizeof from, "postmaster@%s",
		          conf_get(t.s.role.conf, "myorigin"));
	v = conf_get(t.s.role.conf, "relayhost");
	if (v[0]) {
		str_copy(nexthop, sizeof nexthop, v);
	} else if (strchr(rcpt, '@') && strrchr(rcpt, '@')[1]) {
		str_copy(nexthop, sizeof nexthop, strrchr(rcpt, '@') + 1);
	} else {
		fprintf(stderr,
		        "test-relay: no relayhost and no domain in the "
		        "recipient %s\n",
		        rcpt);
		goto out;
	}
	rc = session(&t, nexthop, from, rcpt, data) == 0 ? 0 : t.code;
	if (json) {
		print_json(&t, stdout);
	} else {
		fputs(t.tr, stdout);
		if (t.step)
			printf("failed at %s: %s\n", t.step, t.reply);
		else
			printf("ok\n");
	}
	if (fflush(stdout) != 0)
		rc = rc ? rc : 74;
out:
	conf_problems_free(ps);
	if (t.s.role.conf)
		conf_free(t.s.role.conf);
	explicit_bzero(cred, sizeof cred);
	return rc;
}
