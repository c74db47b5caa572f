/*
 * smtpd_cmd.c - the SMTP command table of smtpd: the states each verb is
 * legal in, a check_ function that validates and replies with no side
 * effects, a do_ function that acts (OpenSMTPD's check/proceed split).
 * Runs as mail_owner (smtpd) or the invoking user (sendmail -bs). The
 * command line is UNTRUSTED; it arrives parsed by smtp_parse.c.
 */
#include "resolve.h"
#include "sasl.h"
#include "rewrite.h"
#include "smtpd.h"
#include "smtpd_relay.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

struct command {
	enum smtp_verb verb;
	unsigned states;      /* SMTPD_S_* where it is legal */
	const char *badstate; /* the reply elsewhere */
	int (*check)(struct smtpd *s, const struct smtp_cmd *c);
	void (*run)(struct smtpd *s, const struct smtp_cmd *c);
};

/* ---- HELO / EHLO ---- */

/* A HELO name: one token of printable ASCII (a domain or an address
 * literal; Postfix's strict checks are smtpd_helo_restrictions). */
static int
check_helo(struct smtpd *s, const struct smtp_cmd *c)
{
	for (size_t i = 0; i < c->arglen; i++) {
		unsigned char b = (unsigned char)c->arg[i];

		if (b <= ' ' || b >= 0x7f) {
			smtpd_reply(s, "501 5.5.2 Syntax: %s hostname",
			            smtp_verb_name(c->verb));
			return -1;
		}
	}
	if (c->arglen > SMTPD_HELO_MAX) {
		smtpd_reply(s, "501 5.5.2 Error: HELO name too long");
		return -1;
	}
	return 0;
}

static void
greeted(struct smtpd *s, const struct smtp_cmd *c)
{
	smtpd_reset(s);
	str_copy_n(s->helo, sizeof s->helo, c->arg, c->arglen);
	s->state = SMTPD_S_HELO;
}

static void
do_helo(struct smtpd *s, const struct smtp_cmd *c)
{
	greeted(s, c);
	s->flags &= ~(unsigned)SMTPD_F_ESMTP;
	smtpd_reply(s, "250 %s", s->myhostname);
}

/* The EHLO keywords; STARTTLS and AUTH get rows with their issue. */
static int
ext_size(const struct smtpd *s, char *out, size_t cap)
{
	if (s->size_limit)
		return snprintf(out, cap, "SIZE %llu",
		                (unsigned long long)s->size_limit);
	return snprintf(out, cap, "SIZE");
}

static int
ext_vrfy(const struct smtpd *s, char *out, size_t cap)
{
	return s->vrfy_disabled ? 0 : snprintf(out, cap, "VRFY");
}

static int
ext_utf8(const struct smtpd *s, char *out, size_t cap)
{
	return s->utf8 ? snprintf(out, cap, "SMTPUTF8") : 0;
}

static int
ext_auth(const struct smtpd *s, char *out, size_t cap)
{
	return sasl_offered(s) ? snprintf(out, cap, "AUTH PLAIN LOGIN") : 0;
}

static int
ext_starttls(const struct smtpd *s, char *out, size_t cap)
{
	return smtpd_tls_offered(s) ? snprintf(out, cap, "STARTTLS") : 0;
}

static const struct extension {
	const char *name; /* fixed keyword, or NULL: fn writes it */
	int (*fn)(const struct smtpd *s, char *out, size_t cap);
} extensions[] = {
    {"PIPELINING", NULL},          {NULL, ext_size},   {NULL, ext_vrfy},
    {"ENHANCEDSTATUSCODES", NULL}, {"8BITMIME", NULL}, {NULL, ext_utf8},
    {NULL, ext_starttls},          {NULL, ext_auth},   {"CHUNKING", NULL},
};

static void
do_ehlo(struct smtpd *s, const struct smtp_cmd *c)
{
	char kw[sizeof extensions / sizeof extensions[0]][64];
	size_t n = 0;

	greeted(s, c);
	s->flags |= SMTPD_F_ESMTP;
	for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++) {
		const struct extension *e = &extensions[i];

		if (e->name)
			str_copy(kw[n++], sizeof kw[0], e->name);
		else if (e->fn(s, kw[n], sizeof kw[0]) > 0)
			n++;
	}
	smtpd_reply(s, "250-%s", s->myhostname);
	for (size_t i = 0; i < n; i++)
		smtpd_reply(s, "250%c%s", i + 1 < n ? '-' : ' ', kw[i]);
}

/* ---- MAIL ---- */

/* Postfix's rule: the spool must keep queue_minfree bytes free after the
 * announced message size (SIZE=). A statvfs failure does not refuse mail:
 * the write itself will tell. */
static int
spool_has_room(const struct smtpd *s, uint64_t size)
{
	struct statvfs v;
	uint64_t avail, need;

	if (statvfs(s->qdir, &v) < 0)
		return 1;
	avail = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
	if (__builtin_add_overflow(size, s->minfree, &need))
		return 0;
	return avail >= need;
}

static int
check_mail(struct smtpd *s, const struct smtp_cmd *c)
{
	/* RFC 3207: after STARTTLS the client greets again (and so in TLS
	 * sessions, whatever smtpd_helo_required says) */
	if ((s->helo_required || s->tls) && s->state == SMTPD_S_CONNECT) {
		smtpd_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return -1;
	}
	if (c->has_size && s->size_limit && c->size > s->size_limit) {
		smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return -1;
	}
	if (!spool_has_room(s, c->has_size ? c->size : 0)) {
		smtpd_reply(s, "452 4.3.1 Insufficient system storage");
		return -1;
	}
	return sasl_sender_check(s, &c->path);
}

/* Envelope addresses as stored: canonical maps and masquerading
 * (rewrite.h); sendmail -bs files go through pickup, which does it. 0, or
 * -1 when a lookup table could not be read (logged). */
static int
entry_rewrite(struct smtpd *s, enum rewrite_where w, const char *in, char *out,
              size_t cap)
{
	char why[QFILE_REASON_MAX];

	if (s->flags & SMTPD_F_LOCAL)
		return str_copy(out, cap, in) < 0 ? -1 : 0;
	if (rewrite_addr(s->conf, w, in, out, cap, why, sizeof why) >= 0)
		return 0;
	log_warn("%s: %s", s->qid[0] ? s->qid : "NOQUEUE", why);
	return -1;
}

static int
put_envelope(struct smtpd *s, const char *sender)
{
	static const char *const bodies[] = {NULL, "7bit", "8bitmime"};
	char helo[SMTPD_HELO_MAX + 1], uid[24];
	int r = 0;

	snprintf(uid, sizeof uid, "%lu", s->uid);
	str_copy(helo, sizeof helo, s->helo[0] ? s->helo : "unknown");
	r |= qfile_put_attr(s->w, "origin",
	                    s->flags & SMTPD_F_LOCAL ? "sendmail" : "smtp");
	if (s->flags & SMTPD_F_LOCAL)
		r |= qfile_put_attr(s->w, "uid", uid);
	r |= qfile_put_attr(s->w, "client", s->client);
	r |= qfile_put_attr(s->w, "helo", helo);
	if (bodies[s->body])
		r |= qfile_put_attr(s->w, "body", bodies[s->body]);
	if (s->smtputf8)
		r |= qfile_put_attr(s->w, "smtputf8", "yes");
	r |= qfile_put_sender(s->w, sender);
	return r ? -1 : 0;
}

/* The queue file, at the first accepted recipient (as Postfix: rejects
 * before it log NOQUEUE). 0, or -1 (replied). */
static int
open_file(struct smtpd *s)
{
	char dir[QUEUE_PATH_MAX];
	const char *q = s->flags & SMTPD_F_LOCAL ? "maildrop" : "incoming";
	uint32_t fl = clock_is_set() ? 0 : QFILE_FLAG_CLOCK_UNSET;
	char sender[ADDR_TEXT_MAX];

	if (entry_rewrite(s, RW_ENTRY_SENDER, s->sender, sender,
	                  sizeof sender) < 0) {
		smtpd_reply(s, "451 4.3.0 Error: temporary lookup failure");
		return -1;
	}

	/* one session per process: one writer, in BSS (a malloc'd 65 KiB one
	 * cost an mmap/munmap pair per message) */
	static struct qfile_writer writer;

	s->w = &writer;
	if (queue_path(dir, sizeof dir, s->qdir, q, NULL) < 0 ||
	    qfile_create(s->w, dir, fl) < 0) {
		log_error("cannot create a queue file in %s/%s: %s", s->qdir, q,
		          strerror(errno));
		s->w = NULL;
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		return -1;
	}
	str_copy(s->qid, sizeof s->qid, s->w->id);
	if (put_envelope(s, sender) < 0) {
		log_error("%s: queue file write error: %s", s->qid,
		          strerror(errno));
		qfile_abort(s->w);
		s->w = NULL;
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		return -1;
	}
	if (s->flags & SMTPD_F_AUTH) {
		char user[SASL_USER_MAX * 4 + 1];

		str_escape(user, sizeof user, s->sasl_user,
		           strlen(s->sasl_user));
		log_info("%s: client=%s, sasl_username=%s", s->qid, s->client,
		         user);
	} else {
		log_info("%s: client=%s", s->qid, s->client);
	}
	return 0;
}

static void
do_mail(struct smtpd *s, const struct smtp_cmd *c)
{
	addr_format(&c->path, s->sender, sizeof s->sender);
	s->body = c->body;
	s->smtputf8 = c->smtputf8;
	s->state = SMTPD_S_MAIL;
	smtpd_reply(s, "250 2.1.0 Ok");
}

/* ---- RCPT ---- */

/* Reply "CODE <rcpt>: TEXT" and log it. */
static void
reject_rcpt(struct smtpd *s, const char *rcpt, const char *code,
            const char *text)
{
	char reply[ADDR_TEXT_MAX + 200];

	snprintf(reply, sizeof reply, "%s <%s>: %s", code, rcpt, text);
	smtpd_log_reject(s, "RCPT", reply, rcpt);
	smtpd_reply(s, "%s", reply);
}

/* 1 when resolve says every destination is an unknown user (5.1.1). A
 * recipient that recipient_canonical_maps rewrites is known (Postfix);
 * a table error is do_rcpt's to answer. */
static int
unknown_user(struct smtpd *s, const char *rcpt)
{
	/* in BSS: malloc'd, these 210 KiB cost an mmap/munmap pair per RCPT;
	 * only the pages a lookup fills become resident */
	static struct resolved r[RESOLVE_MAX];
	size_t n = 0, bounced = 0;
	char alt[ADDR_TEXT_MAX];

	if (rewrite_addr(s->conf, RW_ENTRY_RCPT, rcpt, alt, sizeof alt, NULL,
	                 0) != 0)
		return 0;
	if (resolve_rcpt(s->conf, rcpt, r, RESOLVE_MAX, &n) == 0)
		for (size_t i = 0; i < n; i++)
			bounced += r[i].kind == RES_BOUNCE &&
			           strcmp(r[i].dsn, "5.1.1") == 0;
	return n > 0 && bounced == n;
}

/* Relay control and recipient validation. 0 accept, -1 rejected. */
static int
rcpt_policy(struct smtpd *s, const struct addr *a, const char *rcpt)
{
	struct relay_client cl = {s->mynetworks, !!(s->flags & SMTPD_F_AUTH)};
	char bad[64] = "";
	int err = 0;
	enum relay_dest d = smtpd_relay_dest(s->conf, a, &err);
	/* tested now: conf_get's value lives until the next conf_* call */
	const char *lrm = conf_get(s->conf, "local_recipient_maps");
	int local_check = lrm && *lrm;

	switch (smtpd_relay_check(conf_get(s->conf, "smtpd_relay_restrictions"),
	                          &cl, d != RELAY_DEST_OTHER, bad,
	                          sizeof bad)) {
	case RELAY_PERMIT:
		break;
	case RELAY_REJECT:
		reject_rcpt(s, rcpt, "554 5.7.1", "Relay access denied");
		return -1;
	case RELAY_DEFER:
		reject_rcpt(s, rcpt, "454 4.7.1", "Relay access denied");
		return -1;
	case RELAY_CONFIG:
		log_warn("unknown smtpd_relay_restrictions element \"%s\"",
		         bad);
		reject_rcpt(s, rcpt, "451 4.3.5", "Server configuration error");
		return -1;
	}
	if (err) {
		reject_rcpt(s, rcpt, "451 4.3.0", "Temporary lookup failure");
		return -1;
	}
	if (a->domain[0] &&
	    ((d == RELAY_DEST_LOCAL && local_check) ||
	     d == RELAY_DEST_VIRTUAL) &&
	    unknown_user(s, rcpt)) {
		reject_rcpt(s, rcpt, "550 5.1.1",
		            d == RELAY_DEST_LOCAL
		                ? "Recipient address rejected: User unknown "
		                  "in local recipient table"
		                : "Recipient address rejected: User unknown "
		                  "in virtual alias table");
		return -1;
	}
	return 0;
}

static int
check_rcpt(struct smtpd *s, const struct smtp_cmd *c)
{
	(void)c;
	if ((long long)s->nrcpt >= s->rcpt_limit) {
		smtpd_reply(s, "452 4.5.3 Error: too many recipients");
		return -1;
	}
	return 0;
}

static void
do_rcpt(struct smtpd *s, const struct smtp_cmd *c)
{
	char rcpt[ADDR_TEXT_MAX], orig[ADDR_TEXT_MAX];
	struct addr a = c->path;

	if (a.domain[0] == '\0') { /* <Postmaster> */
		str_copy(a.local, sizeof a.local, "postmaster");
		resolve_bare_domain(s->conf, a.domain, sizeof a.domain);
	}
	addr_format(&c->path, rcpt, sizeof rcpt);
	if (rcpt_policy(s, &c->path, rcpt) < 0)
		return;
	addr_format(&a, orig, sizeof orig);
	if (entry_rewrite(s, RW_ENTRY_RCPT, orig, rcpt, sizeof rcpt) < 0) {
		reject_rcpt(s, orig, "451 4.3.0", "Temporary lookup failure");
		return;
	}
	if (!s->w && open_file(s) < 0)
		return;
	if (qfile_put_rcpt(s->w, rcpt, NULL, 0) < 0) {
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		return;
	}
	if (s->nrcpt++ == 0)
		str_copy(s->first_rcpt, sizeof s->first_rcpt, rcpt);
	s->state = SMTPD_S_RCPT;
	smtpd_reply(s, "250 2.1.5 Ok");
}

/* ---- the rest ---- */

static void
do_data(struct smtpd *s, const struct smtp_cmd *c)
{
	(void)c;
	if (s->bdat) { /* RFC 3030: no DATA inside a BDAT transaction */
		smtpd_reply(s, "503 5.5.1 Error: DATA after BDAT");
		return;
	}
	smtpd_data(s);
}

/* BDAT in any state: the chunk is always read (and dropped when BDAT is
 * not allowed), so that its bytes are never taken for commands. */
static void
do_bdat(struct smtpd *s, const struct smtp_cmd *c)
{
	const char *refuse = NULL;

	if (s->state == SMTPD_S_CONNECT || s->state == SMTPD_S_HELO)
		refuse = "503 5.5.1 Error: need MAIL command";
	else if (s->state == SMTPD_S_MAIL)
		refuse = "503 5.5.1 Error: need RCPT command";
	smtpd_bdat(s, c->size, c->last, refuse);
}

static void
do_rset(struct smtpd *s, const struct smtp_cmd *c)
{
	(void)c;
	smtpd_reset(s);
	smtpd_reply(s, "250 2.0.0 Ok");
}

static void
do_noop(struct smtpd *s, const struct smtp_cmd *c)
{
	(void)c;
	smtpd_reply(s, "250 2.0.0 Ok");
}

static void
do_quit(struct smtpd *s, const struct smtp_cmd *c)
{
	(void)c;
	smtpd_reply(s, "221 2.0.0 Bye");
	s->flags |= SMTPD_F_QUIT;
}

static void
do_vrfy(struct smtpd *s, const struct smtp_cmd *c)
{
	char arg[SMTP_CMD_MAX * 4];

	if (s->vrfy_disabled) {
		smtpd_reply(s, "502 5.5.1 VRFY command is disabled");
		return;
	}
	str_escape(arg, sizeof arg, c->arg, c->arglen);
	smtpd_reply(s, "252 2.0.0 %s", arg);
}

static void
do_help(struct smtpd *s, const struct smtp_cmd *c)
{
	(void)c;
	smtpd_reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT "
	               "RSET NOOP QUIT VRFY HELP");
}

static void
do_starttls(struct smtpd *s, const struct smtp_cmd *c)
{
	(void)c;
	smtpd_starttls(s);
}

static const struct command commands[] = {
    {SMTP_CMD_HELO, SMTPD_S_ANY, NULL, check_helo, do_helo},
    {SMTP_CMD_EHLO, SMTPD_S_ANY, NULL, check_helo, do_ehlo},
    {SMTP_CMD_MAIL, SMTPD_S_CONNECT | SMTPD_S_HELO,
     "503 5.5.1 Error: nested MAIL command", check_mail, do_mail},
    {SMTP_CMD_RCPT, SMTPD_S_MAIL | SMTPD_S_RCPT,
     "503 5.5.1 Error: need MAIL command", check_rcpt, do_rcpt},
    {SMTP_CMD_DATA, SMTPD_S_RCPT, "503 5.5.1 Error: need RCPT command", NULL,
     do_data},
    {SMTP_CMD_RSET, SMTPD_S_ANY, NULL, NULL, do_rset},
    {SMTP_CMD_NOOP, SMTPD_S_ANY, NULL, NULL, do_noop},
    {SMTP_CMD_QUIT, SMTPD_S_ANY, NULL, NULL, do_quit},
    {SMTP_CMD_VRFY, SMTPD_S_ANY, NULL, NULL, do_vrfy},
    {SMTP_CMD_HELP, SMTPD_S_ANY, NULL, NULL, do_help},
    {SMTP_CMD_STARTTLS, SMTPD_S_ANY, NULL, NULL, do_starttls},
    {SMTP_CMD_AUTH, SMTPD_S_CONNECT | SMTPD_S_HELO,
     "503 5.5.1 Error: MAIL transaction in progress", sasl_check, sasl_auth},
    {SMTP_CMD_BDAT, SMTPD_S_ANY, NULL, NULL, do_bdat},
};

/* The reply for a line the parser refused. */
static void
parse_error(struct smtpd *s, enum smtp_perr e, const struct smtp_cmd *c)
{
	int mail = c->verb == SMTP_CMD_MAIL;

	switch (e) {
	case SMTP_P_OK:
	case SMTP_P_UNKNOWN:
		smtpd_reply(s, "502 5.5.2 Error: command not recognized");
		break;
	case SMTP_P_SYNTAX:
		if (mail || c->verb == SMTP_CMD_RCPT)
			smtpd_reply(s, "501 5.5.4 Syntax: %s",
			            mail ? "MAIL FROM:<address>"
			                 : "RCPT TO:<address>");
		else
			smtpd_reply(s, "501 5.5.4 Syntax: %s%s",
			            smtp_verb_name(c->verb),
			            c->verb == SMTP_CMD_HELO ||
			                    c->verb == SMTP_CMD_EHLO
			                ? " hostname"
			                : "");
		break;
	case SMTP_P_ADDR:
		smtpd_reply(s, "501 5.1.%d Bad %s address syntax: %s",
		            mail ? 7 : 3, mail ? "sender" : "recipient",
		            addr_strerror(c->aerr));
		break;
	case SMTP_P_8BIT:
		smtpd_reply(s, "553 5.6.7 Error: non-ASCII address without "
		               "SMTPUTF8 support");
		break;
	case SMTP_P_PARAM:
		smtpd_reply(s, "555 5.5.4 Unsupported option");
		break;
	case SMTP_P_PARAMVAL:
		smtpd_reply(s, "501 5.5.4 Bad parameter value");
		break;
	}
}

static const struct command *
find(enum smtp_verb v)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (commands[i].verb == v)
			return &commands[i];
	return NULL;
}

void
smtpd_dispatch(struct smtpd *s, const char *line, size_t len)
{
	struct smtp_cmd c;
	enum smtp_perr e =
	    smtp_parse_cmd(line, len, s->utf8 ? SMTP_PF_UTF8 : 0, &c);
	const struct command *cmd = find(c.verb);

	str_copy(s->last_cmd, sizeof s->last_cmd, smtp_verb_name(c.verb));
	if (len + 2 > SMTP_CMD_MAX && c.verb != SMTP_CMD_MAIL &&
	    c.verb != SMTP_CMD_RCPT && c.verb != SMTP_CMD_AUTH) {
		smtpd_reply(s, "500 5.5.2 Error: line too long");
		return;
	}
	if (e != SMTP_P_OK && c.verb == SMTP_CMD_BDAT) {
		/* the chunk's length is unknown: its bytes would be read as
		 * commands (smuggling); end the session */
		smtpd_reply(s, "501 5.5.4 Syntax: BDAT count [LAST]");
		s->flags |= SMTPD_F_QUIT;
		return;
	}
	if (e != SMTP_P_OK || !cmd) {
		parse_error(s, e, &c);
		return;
	}
	if (!(cmd->states & s->state)) {
		smtpd_reply(s, "%s", cmd->badstate);
		return;
	}
	if (s->tls_level == SMTPD_TLS_ENCRYPT && !s->tls &&
	    (c.verb == SMTP_CMD_MAIL || c.verb == SMTP_CMD_AUTH ||
	     c.verb == SMTP_CMD_VRFY)) {
		smtpd_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if (cmd->check && cmd->check(s, &c) < 0)
		return;
	cmd->run(s, &c);
}

void
smtpd_reset(struct smtpd *s)
{
	if (s->w) {
		qfile_abort(s->w);
		s->w = NULL;
	}
	s->bdat = 0;
	s->sender[0] = s->first_rcpt[0] = '\0';
	s->qid[0] = '\0';
	s->nrcpt = 0;
	s->body = s->smtputf8 = 0;
	if (s->state & (SMTPD_S_MAIL | SMTPD_S_RCPT))
		s->state = SMTPD_S_HELO;
}
