/*
 * smtp_client_session.c - one SMTP connection of the smtp agent (see
 * smtp_client.h): greeting, EHLO (HELO when EHLO gets 5xx), then each
 * pending mail transaction: MAIL FROM with SIZE= and BODY=8BITMIME, the
 * RCPT TOs (sent in one write with MAIL when the server offers
 * PIPELINING, replies read in order), DATA, the content, the final dot;
 * RSET between transactions when one ended early; QUIT. Each step waits
 * at most its timeout. Runs as mail_owner; the server's replies are
 * untrusted and go through the bounded parser.
 *
 * Failure rules: a connection that fails before a transaction ends (lost,
 * timed out, a garbled reply, 421) leaves the transaction's undecided
 * items pending for the next address; once the final dot is sent, a lost
 * reply defers them (the message may have arrived: Postfix's "may be
 * sent more than once").
 */
#include "smtp_client.h"
#include "util/log.h"
#include "util/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The server's name for texts: host[addr], as Postfix (a literal:
 * 192.0.2.1[192.0.2.1]). */
static void
server_name(const struct smtpc *s, char *out, size_t cap)
{
	smtpc_fmt(out, cap, "%s[%s]", s->dest->host, s->dest->addr);
}

static void set_why(struct smtpc *s, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
set_why(struct smtpc *s, const char *dsn, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof s->why, fmt, ap);
	va_end(ap);
	str_copy(s->why_dsn, sizeof s->why_dsn, dsn);
}

/* The connection failed while doing what: s->why says how. */
static void
conn_failed(struct smtpc *s, const char *what)
{
	char name[SMTPC_HOST_MAX + 64];

	server_name(s, name, sizeof name);
	if (s->conn.timed_out)
		set_why(s, "4.4.2", "conversation with %s timed out while %s",
		        name, what);
	else if (strcmp(s->conn.err, "lost connection") == 0)
		set_why(s, "4.4.2", "lost connection with %s while %s", name,
		        what);
	else
		set_why(s, "4.4.2", "error talking to %s while %s: %s", name,
		        what, s->conn.err);
	log_info("%s", s->why);
}

/* "host H[A] said: REPLY (in reply to CMD command)" into out. */
static void
said(const struct smtpc *s, const char *cmd, char *out, size_t cap)
{
	char name[SMTPC_HOST_MAX + 64], line[400];

	server_name(s, name, sizeof name);
	smtpc_reply_line(&s->reply, line, sizeof line);
	smtpc_fmt(out, cap, "host %s said: %s (in reply to %s command)", name,
	          line, cmd);
}

/* A 421 reply to cmd: the server closes the session; s->why says so. */
static int
closing(struct smtpc *s, const char *cmd)
{
	if (s->reply.code != 421)
		return 0;
	said(s, cmd, s->why, sizeof s->why);
	smtpc_reply_dsn(&s->reply, s->why_dsn, sizeof s->why_dsn);
	return 1;
}

/* Apply a 4xx/5xx reply to CMD to the undecided items of transaction t
 * (only == 1: only those whose RCPT was accepted). */
static void
fail_items(struct smtpc *s, size_t t, const char *cmd, int only_accepted)
{
	char text[SMTPC_TEXT_LINE], dsn[16];
	int st = s->reply.code >= 500 ? SMTPC_BOUNCED : SMTPC_DEFERRED;

	said(s, cmd, text, sizeof text);
	smtpc_reply_dsn(&s->reply, dsn, sizeof dsn);
	for (size_t i = 0; i < s->nitems; i++) {
		struct smtpc_item *it = &s->items[i];

		if ((size_t)it->txn != t || it->status != SMTPC_PENDING ||
		    (only_accepted && !it->accepted))
			continue;
		smtpc_item_set(it, st, dsn, "%s", text);
	}
}

static void
relay_of(const struct smtpc *s, struct smtpc_item *it)
{
	char name[SMTPC_HOST_MAX + 64];

	server_name(s, name, sizeof name);
	smtpc_fmt(it->relay, sizeof it->relay, "%s:%u", name, s->dest->port);
}

static int
command(struct smtpc *s, long long timeout, const char *line)
{
	smtpc_conn_deadline(&s->conn, timeout);
	return smtpc_conn_printf(&s->conn, "%s\r\n", line);
}

static int
reply(struct smtpc *s, long long timeout)
{
	smtpc_conn_deadline(&s->conn, timeout);
	return smtpc_conn_reply(&s->conn, &s->reply);
}

/* EHLO (HELO when EHLO gets 5xx and TLS is not on): 0 ready for mail,
 * -1 not (s->why set). s->ext gets the extensions. */
static int
ehlo(struct smtpc *s)
{
	long long helo_to = conf_time(s->role.conf, "smtp_helo_timeout");
	const char *name = conf_get(s->role.conf, "smtp_helo_name");
	char line[SMTPC_TEXT_LINE], cmd[300];
	const char *what = "EHLO";

	smtpc_fmt(cmd, sizeof cmd, "EHLO %s", name);
	if (command(s, helo_to, cmd) < 0 || reply(s, helo_to) < 0) {
		conn_failed(s, "performing the EHLO handshake");
		return -1;
	}
	memset(&s->ext, 0, sizeof s->ext);
	if (s->reply.code / 100 == 2) {
		smtpc_ehlo_parse(&s->reply, &s->ext);
		return 0;
	}
	if (s->reply.code / 100 == 5 && !s->tls_on &&
	    s->tls_level < TLS_LV_ENCRYPT) {
		what = "HELO";
		smtpc_fmt(cmd, sizeof cmd, "HELO %s", name);
		if (command(s, helo_to, cmd) < 0 || reply(s, helo_to) < 0) {
			conn_failed(s, "performing the HELO handshake");
			return -1;
		}
		if (s->reply.code / 100 == 2)
			return 0;
	}
	said(s, what, line, sizeof line);
	set_why(s, "4.4.2", "%s", line);
	return -1;
}

/* STARTTLS when the level asks for it and the server offers it; EHLO
 * again inside TLS. 0 go on, -1 not (s->why set: deferred). */
static int
starttls(struct smtpc *s)
{
	long long helo_to = conf_time(s->role.conf, "smtp_helo_timeout");
	char sn[SMTPC_HOST_MAX + 64], line[SMTPC_TEXT_LINE];

	server_name(s, sn, sizeof sn);
	if (s->tls_on || s->tls_level == TLS_LV_NONE)
		return 0;
	if (!(s->ext.flags & SMTPC_EXT_STARTTLS)) {
		if (s->tls_level == TLS_LV_MAY)
			return 0;
		set_why(s, "4.7.4",
		        "TLS is required, but was not offered by host %s", sn);
		log_info("%s", s->why);
		return -1;
	}
	if (command(s, helo_to, "STARTTLS") < 0 || reply(s, helo_to) < 0) {
		conn_failed(s, "sending STARTTLS");
		return -1;
	}
	if (s->reply.code != 220) {
		if (s->tls_level == TLS_LV_MAY)
			return 0; /* Postfix's may: go on in plaintext */
		smtpc_reply_line(&s->reply, line, sizeof line);
		set_why(s, "4.7.4",
		        "TLS is required, but host %s refused to start TLS: %s",
		        sn, line);
		log_info("%s", s->why);
		return -1;
	}
	if (smtpc_tls_start(s, 0) < 0)
		return -1;
	return ehlo(s);
}

/* Greeting, EHLO/HELO, STARTTLS, AUTH: 0 ready for mail, -1 not (s->why
 * set). */
static int
hello(struct smtpc *s)
{
	long long helo_to = conf_time(s->role.conf, "smtp_helo_timeout");
	char line[SMTPC_TEXT_LINE];

	if (conf_bool(s->role.conf, "smtp_tls_wrappermode") &&
	    smtpc_tls_start(s, 1) < 0)
		return -1;
	if (reply(s, helo_to) < 0) {
		conn_failed(s, "receiving the initial server greeting");
		return -1;
	}
	if (s->reply.code / 100 != 2) {
		char sn[SMTPC_HOST_MAX + 64];

		server_name(s, sn, sizeof sn);
		smtpc_reply_line(&s->reply, line, sizeof line);
		set_why(s, "4.4.2", "host %s refused to talk to me: %s", sn,
		        line);
		return -1;
	}
	s->greeted = 1;
	if (ehlo(s) < 0 || starttls(s) < 0)
		return -1;
	return smtpc_auth(s);
}

/* Bounce every undecided item of t with text. */
static void
bounce_txn(struct smtpc *s, size_t t, const char *dsn, const char *text)
{
	for (size_t i = 0; i < s->nitems; i++)
		if ((size_t)s->items[i].txn == t &&
		    s->items[i].status == SMTPC_PENDING) {
			relay_of(s, &s->items[i]);
			smtpc_item_set(&s->items[i], SMTPC_BOUNCED, dsn, "%s",
			               text);
		}
}

static int
eightbit(const char *a)
{
	for (; *a; a++)
		if ((unsigned char)*a >= 0x80)
			return 1;
	return 0;
}

/* An address of t that needs SMTPUTF8 (RFC 6531): 8-bit bytes. */
static int
utf8_addr(const struct smtpc *s, size_t t)
{
	if (eightbit(s->txns[t].sender))
		return 1;
	for (size_t i = 0; i < s->nitems; i++)
		if ((size_t)s->items[i].txn == t &&
		    s->items[i].status == SMTPC_PENDING &&
		    eightbit(s->items[i].addr))
			return 1;
	return 0;
}

/* Checks that need no command: 1 when t was settled here. */
static int
precheck(struct smtpc *s, size_t t)
{
	const struct smtpc_txn *x = &s->txns[t];
	char name[SMTPC_HOST_MAX + 64], text[SMTPC_TEXT_LINE];

	server_name(s, name, sizeof name);
	if (!(s->ext.flags & SMTPC_EXT_SMTPUTF8) && utf8_addr(s, t)) {
		smtpc_fmt(text, sizeof text,
		          "SMTPUTF8 is required, but was not offered by host "
		          "%s",
		          name);
		bounce_txn(s, t, "5.6.7", text);
		return 1;
	}
	if (x->has8bit && !(s->ext.flags & SMTPC_EXT_8BITMIME)) {
		smtpc_fmt(text, sizeof text,
		          "message has 8-bit content, but the server %s does "
		          "not support 8BITMIME (tinymta does not convert to "
		          "7 bit)",
		          name);
		bounce_txn(s, t, "5.6.3", text);
		return 1;
	}
	if ((s->ext.flags & SMTPC_EXT_SIZE) && s->ext.size > 0 &&
	    x->size > s->ext.size) {
		smtpc_fmt(text, sizeof text,
		          "message size %llu exceeds size limit %llu of "
		          "server %s",
		          (unsigned long long)x->size,
		          (unsigned long long)s->ext.size, name);
		bounce_txn(s, t, "5.3.4", text);
		return 1;
	}
	return 0;
}

/* 1 when v is usable as an ESMTP parameter value (RFC 3461 xtext: no
 * space, no control, no 8-bit byte; at most max bytes). */
static int
xtext_ok(const char *v, size_t max)
{
	size_t n = strlen(v);

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f)
			return 0;
	return 1;
}

/* RFC 3461 RET= and ENVID= of the message, when the server has DSN. */
static void
dsn_mail(struct smtpc *s, struct qfile_reader *q, char *ext, size_t cap)
{
	char v[QFILE_ATTR_MAX], p[QFILE_ATTR_MAX + 16];

	if (!(s->ext.flags & SMTPC_EXT_DSN))
		return;
	if (qfile_attr_get(q, "ret", v, sizeof v) == 1 &&
	    (str_eq_nocase(v, "full") || str_eq_nocase(v, "hdrs"))) {
		smtpc_fmt(p, sizeof p, " RET=%s",
		          str_eq_nocase(v, "full") ? "FULL" : "HDRS");
		str_append(ext, cap, p);
	}
	if (qfile_attr_get(q, "envid", v, sizeof v) == 1 && xtext_ok(v, 100)) {
		smtpc_fmt(p, sizeof p, " ENVID=%s", v);
		str_append(ext, cap, p);
	}
}

/* RFC 3461 NOTIFY= and ORCPT= of a recipient, when the server has DSN. */
static void
dsn_rcpt(struct smtpc *s, const struct smtpc_item *it, char *ext, size_t cap)
{
	static const char *const words[] = {"SUCCESS", "FAILURE", "DELAY"};
	struct qfile_rcpt *rc = &s->rc;
	char p[QFILE_ADDR_MAX + 16];

	if (!(s->ext.flags & SMTPC_EXT_DSN) ||
	    qfile_rcpt(&s->q[it->slot], it->idx, rc) < 0)
		return;
	if (rc->notify & QFILE_NOTIFY_NEVER) {
		str_append(ext, cap, " NOTIFY=NEVER");
	} else if (rc->notify) {
		const char *sep = " NOTIFY=";

		for (unsigned b = 0; b < 3; b++)
			if (rc->notify & (1u << b)) {
				str_append(ext, cap, sep);
				str_append(ext, cap, words[b]);
				sep = ",";
			}
	}
	if (rc->orcpt[0] && strchr(rc->orcpt, ';') &&
	    xtext_ok(rc->orcpt, 500)) {
		smtpc_fmt(p, sizeof p, " ORCPT=%s", rc->orcpt);
		str_append(ext, cap, p);
	}
}

/* Queue MAIL FROM for t. 0, or -1 (conn error, or s->why for a rewriting
 * failure: then *defer is set). */
static int
put_mail(struct smtpc *s, size_t t, int *defer)
{
	const struct smtpc_txn *x = &s->txns[t];
	char from[QFILE_ADDR_MAX + 1], ext[300] = "";

	if (smtpc_rewrite_sender(s, x->sender, from, sizeof from, s->why,
	                         sizeof s->why) < 0) {
		*defer = 1;
		return -1;
	}
	if (s->ext.flags & SMTPC_EXT_SIZE)
		smtpc_fmt(ext, sizeof ext, " SIZE=%llu",
		          (unsigned long long)x->size);
	if (x->has8bit)
		str_append(ext, sizeof ext, " BODY=8BITMIME");
	if ((x->smtputf8 || utf8_addr(s, t)) &&
	    (s->ext.flags & SMTPC_EXT_SMTPUTF8))
		str_append(ext, sizeof ext, " SMTPUTF8");
	dsn_mail(s, &s->q[x->slot], ext, sizeof ext);
	smtpc_conn_deadline(&s->conn, SMTPC_MAIL_TIMEOUT);
	return smtpc_conn_printf(&s->conn, "MAIL FROM:<%s>%s\r\n", from, ext);
}

static int
put_rcpt(struct smtpc *s, struct smtpc_item *it, int *defer)
{
	char to[QFILE_ADDR_MAX + 1], ext[QFILE_ADDR_MAX + 64] = "";

	if (smtpc_rewrite_rcpt(s, it->addr, to, sizeof to, s->why,
	                       sizeof s->why) < 0) {
		*defer = 1;
		return -1;
	}
	dsn_rcpt(s, it, ext, sizeof ext);
	smtpc_conn_deadline(&s->conn, SMTPC_RCPT_TIMEOUT);
	return smtpc_conn_printf(&s->conn, "RCPT TO:<%s>%s\r\n", to, ext);
}

/* One RCPT reply for it. */
static void
rcpt_result(struct smtpc *s, struct smtpc_item *it)
{
	char text[SMTPC_TEXT_LINE], dsn[16];

	relay_of(s, it);
	if (s->reply.code / 100 == 2) {
		it->accepted = 1;
		return;
	}
	said(s, "RCPT TO", text, sizeof text);
	smtpc_reply_dsn(&s->reply, dsn, sizeof dsn);
	smtpc_item_set(it,
	               s->reply.code >= 500 ? SMTPC_BOUNCED : SMTPC_DEFERRED,
	               dsn, "%s", text);
}

/* Settle every undecided item of t with s->why (deferred). */
static void
defer_txn(struct smtpc *s, size_t t, int only_accepted)
{
	for (size_t i = 0; i < s->nitems; i++) {
		struct smtpc_item *it = &s->items[i];

		if ((size_t)it->txn == t && it->status == SMTPC_PENDING &&
		    (!only_accepted || it->accepted))
			smtpc_item_set(it, SMTPC_DEFERRED, s->why_dsn, "%s",
			               s->why);
	}
}

/* The envelope: MAIL and RCPTs. 1 some recipient accepted, 0 none (the
 * transaction needs RSET), -1 the connection failed. */
static int
envelope(struct smtpc *s, size_t t)
{
	int pipe = (s->ext.flags & SMTPC_EXT_PIPELINING) != 0, defer = 0;
	int mail_ok, any = 0;
	char sent[SMTP_ITEMS] = {0}; /* a RCPT went out for item i */
	size_t i;

	for (i = 0; i < s->nitems; i++) {
		s->items[i].accepted = 0;
		if ((size_t)s->items[i].txn == t &&
		    s->items[i].status == SMTPC_PENDING) {
			relay_of(s, &s->items[i]);
			sent[i] = 1; /* with pipelining: all, now */
		}
	}
	if (put_mail(s, t, &defer) < 0)
		goto failed;
	if (!pipe) {
		if (reply(s, SMTPC_MAIL_TIMEOUT) < 0)
			goto failed;
	}
	for (i = 0; pipe && i < s->nitems; i++)
		if (sent[i] && put_rcpt(s, &s->items[i], &defer) < 0)
			goto failed;
	if (pipe && reply(s, SMTPC_MAIL_TIMEOUT) < 0)
		goto failed;
	mail_ok = s->reply.code / 100 == 2;
	if (!mail_ok) {
		fail_items(s, t, "MAIL FROM", 0);
		if (closing(s, "MAIL FROM"))
			return -1;
		if (!pipe)
			return 0;
	}
	/* with pipelining each RCPT sent has its reply, also after a failed
	 * MAIL (read and dropped); without, RCPTs follow a good MAIL only */
	for (i = 0; i < s->nitems; i++) {
		struct smtpc_item *it = &s->items[i];

		if (!sent[i])
			continue;
		if (!pipe && put_rcpt(s, it, &defer) < 0)
			goto failed;
		if (reply(s, SMTPC_RCPT_TIMEOUT) < 0)
			goto failed;
		if (mail_ok)
			rcpt_result(s, it);
		any |= it->accepted;
		if (closing(s, "RCPT TO"))
			return -1;
	}
	return any;
failed:
	if (defer) { /* a map could not be read: not the server's fault */
		str_copy(s->why_dsn, sizeof s->why_dsn, "4.3.0");
		defer_txn(s, t, 0);
	} else {
		conn_failed(s, "sending MAIL FROM/RCPT TO");
	}
	return -1;
}

/* DATA, the content, the dot. 0 done, -1 the connection failed. */
static int
data(struct smtpc *s, size_t t)
{
	char text[SMTPC_TEXT_LINE];
	int r;

	if (command(s, SMTPC_DATA_INIT_TIMEOUT, "DATA") < 0 ||
	    reply(s, SMTPC_DATA_INIT_TIMEOUT) < 0) {
		conn_failed(s, "sending DATA command");
		return -1;
	}
	if (s->reply.code != 354) {
		fail_items(s, t, "DATA", 1);
		return closing(s, "DATA") ? -1 : 1;
	}
	r = smtpc_send_content(s, &s->q[s->txns[t].slot]);
	if (r == -2) { /* a table could not be read: drop the connection
		        * before the dot, defer (s->why says which) */
		log_warn("%s", s->why);
		defer_txn(s, t, 0);
		return -1;
	}
	if (r < 0) {
		conn_failed(s, "sending message body");
		return -1;
	}
	if (reply(s, conf_time(s->role.conf, "smtp_data_done_timeout")) < 0) {
		conn_failed(s, "sending end of data -- message may be sent "
		               "more than once");
		defer_txn(s, t, 1);
		return -1;
	}
	if (s->reply.code / 100 != 2) {
		fail_items(s, t, "end of DATA", 1);
		return closing(s, "end of DATA") ? -1 : 0;
	}
	smtpc_reply_line(&s->reply, text, sizeof text);
	for (size_t i = 0; i < s->nitems; i++) {
		struct smtpc_item *it = &s->items[i];

		if ((size_t)it->txn == t && it->status == SMTPC_PENDING &&
		    it->accepted)
			smtpc_item_set(it, SMTPC_SENT, "2.0.0", "%s", text);
	}
	return 0;
}

/* One transaction: 0 clean end, 1 ended early (RSET before the next),
 * -1 the connection is gone. */
static int
transaction(struct smtpc *s, size_t t)
{
	int r;

	if (precheck(s, t))
		return 0;
	r = envelope(s, t);
	if (r <= 0)
		return r < 0 ? -1 : 1; /* no recipient: RSET before the next */
	return data(s, t);
}

/* QUIT without awaiting its reply (Postfix's smtp_skip_quit_response: a
 * server slow to say goodbye delays no result), then close. */
static void
quit(struct smtpc *s, int broken)
{
	if (!broken && s->conn.fd >= 0 &&
	    command(s, SMTPC_QUIT_TIMEOUT, "QUIT") == 0)
		(void)smtpc_conn_flush(&s->conn);
	smtpc_conn_close(&s->conn);
	smtpc_tls_end(s);
}

/* Every pending transaction on the open connection; then QUIT, or, with
 * s->keep, the connection stays open for the next batch. */
static void
run(struct smtpc *s)
{
	int broken = 0;

	for (size_t t = 0; t < s->ntxn && !broken; t++) {
		int r;

		if (!smtpc_txn_pending(s, t))
			continue;
		if (s->dirty && (command(s, SMTPC_RSET_TIMEOUT, "RSET") < 0 ||
		                 reply(s, SMTPC_RSET_TIMEOUT) < 0 ||
		                 s->reply.code / 100 != 2)) {
			conn_failed(s, "sending RSET");
			broken = 1;
			break;
		}
		r = transaction(s, t);
		s->dirty = r != 0;
		broken = r < 0;
	}
	if (broken || !s->keep)
		quit(s, broken);
}

int
smtpc_session(struct smtpc *s, const struct smtpc_dest *dest)
{
	char name[SMTPC_HOST_MAX + 64];

	s->dest = dest;
	server_name(s, name, sizeof name);
	if (smtpc_tls_setup(s) < 0)
		return -1;
	if (smtpc_conn_open(
	        &s->conn, (const struct sockaddr *)&dest->sa, dest->salen,
	        conf_time(s->role.conf, "smtp_connect_timeout")) < 0) {
		set_why(s, "4.4.1", "connect to %s:%u: %s", name, dest->port,
		        s->conn.err);
		log_info("%s", s->why);
		return -1;
	}
	if (hello(s) < 0) {
		quit(s, s->conn.fd < 0);
		return -1;
	}
	s->dirty = 0;
	run(s);
	return 0;
}

int
smtpc_session_again(struct smtpc *s)
{
	if (s->conn.fd < 0)
		return -1;
	if (smtpc_conn_idle_broken(&s->conn)) {
		log_debug("connection to %s[%s] closed while idle: a new one",
		          s->dest->host, s->dest->addr);
		smtpc_conn_close(&s->conn);
		smtpc_tls_end(s);
		return -1;
	}
	s->greeted = 1;
	run(s);
	return 0;
}

void
smtpc_session_end(struct smtpc *s)
{
	if (s->conn.fd >= 0)
		quit(s, 0);
}
