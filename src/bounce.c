/*
 * bounce.c - delivery status notifications (RFC 3464): at the end of a
 * message's round in qmgr, queue a multipart/report from MAILER-DAEMON
 * with the null sender: a failure report (bounce), a delay warning or a
 * success report to the sender, with the original message or its header
 * (RET, dsn.c), plus postmaster copies as notify_classes asks. A failure
 * of a message from the null sender goes to the postmaster once (a
 * double bounce); a failed postmaster notice is discarded and logged.
 * Runs in qmgr as mail_owner (syslog name tinymta/bounce); reads only
 * validated queue files, and copies their text into the report as is
 * (addresses and reasons hold no control bytes, qfile.h).
 */
#include "bounce.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/str.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dsn {
	struct qfile_writer w;
	struct qmsg *m;
	const struct conf *c;
	enum dsn_kind kind;
	int postmaster; /* the copy for the postmaster, or a double bounce */
	int full;       /* return the whole message, not only its header */
	int one;        /* a list owner's report: d->rc is its one member */
	const struct dsn_words *words;
	struct qfile_rcpt rc;
	char host[256];
	char to[QFILE_ADDR_MAX + 1];
	char tag[16]; /* Message-ID part: ".oHASH" for owner reports */
	char boundary[QFILE_ID_MAX + 300];
	int ok;
};

static void
put(struct dsn *d, const char *s)
{
	if (d->ok && qfile_put_content(&d->w, s, strlen(s)) < 0)
		d->ok = 0;
}

static void putf(struct dsn *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
putf(struct dsn *d, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	put(d, buf);
}

static void
rfc5322_date(char *out, size_t cap, time_t t)
{
	struct tm tm;

	if (!localtime_r(&t, &tm) ||
	    !strftime(out, cap, "%a, %d %b %Y %H:%M:%S %z", &tm))
		str_copy(out, cap, "Thu, 01 Jan 1970 00:00:00 +0000");
}

/* How recipient i ended this round (QFILE_RCPT_*), or -1 when it was
 * done before, is still in flight, or cannot be read. Fills *rc. */
static int
round_status(struct qmsg *m, size_t i, struct qfile_rcpt *rc)
{
	if (m->rc[i].done || m->rc[i].pending || qfile_rcpt(&m->r, i, rc) < 0)
		return -1;
	if (m->rc[i].worst == QFILE_RCPT_PENDING)
		return rc->status == QFILE_RCPT_DELIVERED ? QFILE_RCPT_DELIVERED
		                                          : -1;
	return m->rc[i].worst;
}

/* 1 when recipient i belongs in a notification of kind k. */
static int
reportable(struct qmsg *m, enum dsn_kind k, size_t i, struct qfile_rcpt *rc)
{
	int st = round_status(m, i, rc);

	return st >= 0 && dsn_wants(k, rc->notify, st);
}

/* The next recipient to report, from *i on, into d->rc: 1, or 0 when
 * there is none left. An owner's report names its one member. */
static int
next_rcpt(struct dsn *d, size_t *i)
{
	if (d->one)
		return (*i)++ == 0;
	while (*i < d->m->nrcpt)
		if (reportable(d->m, d->kind, (*i)++, &d->rc))
			return 1;
	return 0;
}

static void
human_part(struct dsn *d)
{
	const char *text;
	char code[8], a[64], b[64];

	putf(d,
	     "--%s\nContent-Description: Notification\n"
	     "Content-Type: text/plain; charset=us-ascii\n\n"
	     "This is the mail system at host %s.\n\n",
	     d->boundary, d->host);
	put(d, d->words->intro);
	if (d->kind == DSN_DELAYED) {
		dsn_duration(a, sizeof a,
		             conf_time(d->c, "delay_warning_time"));
		dsn_duration(b, sizeof b,
		             conf_time(d->c, "maximal_queue_lifetime"));
		putf(d,
		     "Your message could not be delivered for more than %s.\n"
		     "It will be retried until it is %s old.\n\n",
		     a, b);
	}
	put(d, d->words->outro);
	put(d, "\n");
	for (size_t i = 0; next_rcpt(d, &i);) {
		text = dsn_split_reason(d->rc.reason, code, "");
		putf(d, "<%s>: %s\n", d->rc.addr, text);
	}
	put(d, "\n");
}

static void
rcpt_fields(struct dsn *d)
{
	char code[8], date[64];
	const char *text =
	    dsn_split_reason(d->rc.reason, code, d->words->status);

	putf(d, "\nFinal-Recipient: rfc822; %s\n", d->rc.addr);
	if (d->rc.orcpt[0])
		putf(d, "Original-Recipient: %s\n", d->rc.orcpt);
	putf(d, "Action: %s\nStatus: %s\nDiagnostic-Code: X-Tinymta; %s\n",
	     d->words->action, code, text);
	if (d->kind == DSN_DELAYED) {
		rfc5322_date(
		    date, sizeof date,
		    (time_t)d->m->r.info.arrival +
		        (time_t)conf_time(d->c, "maximal_queue_lifetime"));
		putf(d, "Will-Retry-Until: %s\n", date);
	}
}

static void
status_part(struct dsn *d)
{
	char date[64], envid[120];

	rfc5322_date(date, sizeof date, (time_t)d->m->r.info.arrival);
	putf(d,
	     "--%s\nContent-Description: Delivery report\n"
	     "Content-Type: message/delivery-status\n\n"
	     "Reporting-MTA: dns; %s\nX-Tinymta-Queue-ID: %s\n"
	     "X-Tinymta-Sender: rfc822; %s\n",
	     d->boundary, d->host, d->m->id, d->m->r.info.sender);
	if (qfile_attr_get(&d->m->r, "envid", envid, sizeof envid) == 1)
		putf(d, "Original-Envelope-Id: %s\n", envid);
	putf(d, "Arrival-Date: %s\n", date);
	for (size_t i = 0; next_rcpt(d, &i);)
		rcpt_fields(d);
	put(d, "\n");
}

/* The original message, or its header section only. */
static void
original_part(struct dsn *d)
{
	char buf[8192];
	int prev_nl = 1;
	ssize_t n;

	putf(d, "--%s\nContent-Description: %s%s\nContent-Type: %s\n\n",
	     d->boundary, d->words->part, d->full ? "" : " Headers",
	     d->full ? "message/rfc822" : "text/rfc822-headers");
	qfile_content_rewind(&d->m->r);
	while (d->ok &&
	       (n = qfile_content_read(&d->m->r, buf, sizeof buf)) > 0) {
		size_t len = (size_t)n;

		for (size_t i = 0; !d->full && i < len; i++) {
			if (buf[i] == '\n' && prev_nl) { /* end of header */
				len = i;
				n = -2;
				break;
			}
			prev_nl = buf[i] == '\n';
		}
		if (d->ok && qfile_put_content(&d->w, buf, len) < 0)
			d->ok = 0;
		if (n == -2)
			break;
	}
	putf(d, "\n--%s--\n", d->boundary);
}

static void
headers(struct dsn *d)
{
	char date[64];

	rfc5322_date(date, sizeof date, time(NULL));
	putf(d,
	     "From: MAILER-DAEMON@%s (Mail Delivery System)\nTo: <%s>\n"
	     "Subject: %s\nDate: %s\n"
	     "Message-ID: <%s.%s%s%s@%s>\nAuto-Submitted: auto-replied\n"
	     "MIME-Version: 1.0\n"
	     "Content-Type: multipart/report; report-type=delivery-status;\n"
	     "\tboundary=\"%s\"\n\nThis is a MIME-encapsulated message.\n\n",
	     d->host, d->to, d->words->subject, date, d->m->id,
	     d->words->action, d->postmaster ? ".pm" : "", d->tag, d->host,
	     d->boundary);
}

/* 1 for a notice to the postmaster: its failure is never reported. */
static int
is_postmaster_notice(struct qmsg *m)
{
	char origin[32] = "";

	return qfile_attr_get(&m->r, "origin", origin, sizeof origin) == 1 &&
	       strcmp(origin, "double-bounce") == 0;
}

static void
postmaster_addr(struct dsn *d)
{
	static const char *const param[] = {
	    [DSN_FAILED] = "bounce_notice_recipient",
	    [DSN_DELAYED] = "delay_notice_recipient",
	    [DSN_DELIVERED] = "bounce_notice_recipient",
	};
	const char *name = d->m->r.info.sender[0] ? param[d->kind]
	                                          : "2bounce_notice_recipient";
	const char *v = conf_get(d->c, name); /* NULL: not in the table */

	str_copy(d->to, sizeof d->to, v && *v ? v : "postmaster");
}

/* A list owner's report (bounce_owner): to whom, and its one member. */
struct owner_report {
	const char *to;
	struct qfile_rcpt rc;
};

/* ".o" and the FNV-1a hash of the member: one Message-ID per report. */
static void
owner_tag(char *out, size_t cap, const char *member)
{
	uint32_t h = 2166136261u;

	for (const char *p = member; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(out, cap, ".o%08x", (unsigned)h);
}

static void
setup(struct dsn *d, struct qmgr *q, struct qmsg *m, enum dsn_kind k,
      int postmaster, const struct owner_report *o)
{
	char ret[16];
	int has_ret = qfile_attr_get(&m->r, "ret", ret, sizeof ret) == 1;

	d->m = m;
	d->c = q->role.conf;
	d->kind = k;
	d->postmaster = postmaster;
	d->words = dsn_words(k, postmaster);
	d->ok = 1;
	str_copy(d->host, sizeof d->host, conf_get(d->c, "myhostname"));
	if (postmaster)
		postmaster_addr(d);
	else
		str_copy(d->to, sizeof d->to, o ? o->to : m->r.info.sender);
	if (o) {
		d->one = 1;
		d->rc = o->rc;
		owner_tag(d->tag, sizeof d->tag, o->rc.addr);
	}
	/* a double bounce carries the whole bounce; other copies headers */
	d->full = postmaster ? !m->r.info.sender[0]
	                     : dsn_full_content(k, has_ret ? ret : NULL);
	snprintf(d->boundary, sizeof d->boundary, "%s.%ld/%s", m->id,
	         (long)time(NULL), d->host);
}

/* Write and commit one notification; 0 or -1 (logged). */
static int
write_one(struct qmgr *q, struct qmsg *m, enum dsn_kind k, int postmaster,
          const struct owner_report *o)
{
	struct dsn *d = mem_big_alloc(sizeof *d);
	char incoming[QUEUE_PATH_MAX], id[QFILE_ID_MAX];
	int r = -1;

	if (!d || queue_path(incoming, sizeof incoming, q->qdir, "incoming",
	                     NULL) < 0)
		goto out;
	setup(d, q, m, k, postmaster, o);
	if (qfile_create(&d->w, incoming, 0) < 0)
		goto out;
	d->ok = qfile_put_attr(&d->w, "origin",
	                       postmaster ? "double-bounce" : "bounce") == 0 &&
	        qfile_put_sender(&d->w, "") == 0 &&
	        qfile_put_rcpt(&d->w, d->to, "", 0) == 0;
	headers(d);
	human_part(d);
	status_part(d);
	original_part(d);
	if (!d->ok) {
		qfile_abort(&d->w);
		errno = errno ? errno : EIO;
	} else if (qfile_commit(&d->w, id) == 0) {
		log_set_name("bounce");
		log_info("%s: %s: %s", m->id, d->words->log, id);
		log_set_name("qmgr");
		q->scan_incoming = 1;
		r = 0;
	}
out:
	if (r < 0)
		log_error("%s: cannot queue the %s: %s", m->id,
		          d && d->words ? d->words->log : "notification",
		          strerror(errno));
	mem_big_free(d, sizeof *d);
	return r;
}

int
bounce_send(struct qmgr *q, struct qmsg *m, enum dsn_kind k)
{
	static const char *const cls[] = {[DSN_FAILED] = "bounce",
	                                  [DSN_DELAYED] = "delay",
	                                  [DSN_DELIVERED] = ""};
	struct qfile_rcpt *rc = malloc(sizeof *rc);
	int any = 0;

	for (size_t i = 0; rc && i < m->nrcpt && !any; i++)
		any = reportable(m, k, i, rc);
	free(rc);
	if (!rc)
		return -1;
	if (!any)
		return 0;
	if (is_postmaster_notice(m)) {
		if (k == DSN_FAILED)
			log_warn("%s: undeliverable postmaster notification "
			         "discarded",
			         m->id);
		return 0;
	}
	if (!m->r.info.sender[0]) /* never to the null sender */
		return k == DSN_FAILED ? write_one(q, m, k, 1, NULL) : 0;
	if (write_one(q, m, k, 0, NULL) < 0)
		return -1;
	if (*cls[k] &&
	    dsn_class(conf_get(q->role.conf, "notify_classes"), cls[k]))
		(void)write_one(q, m, k, 1,
		                NULL); /* a copy: its failure is logged */
	return 0;
}

int
bounce_create(struct qmgr *q, struct qmsg *m)
{
	return bounce_send(q, m, DSN_FAILED);
}

int
bounce_owner(struct qmgr *q, struct qmsg *m, unsigned idx, const char *owner,
             const char *member, const char *dsn, const char *text)
{
	struct owner_report *o = calloc(1, sizeof *o);
	struct qfile_rcpt *rc = &o->rc;
	int r = -1;

	if (!o)
		return -1;
	if (qfile_rcpt(&m->r, idx, rc) == 0) {
		if (!rc->orcpt[0] &&
		    snprintf(rc->orcpt, sizeof rc->orcpt, "rfc822; %s",
		             rc->addr) >= (int)sizeof rc->orcpt)
			rc->orcpt[0] = '\0'; /* too long: not given */
		str_copy(rc->addr, sizeof rc->addr, member);
		if (snprintf(rc->reason, sizeof rc->reason, "%s %s", dsn,
		             text) >= (int)sizeof rc->reason)
			rc->reason[sizeof rc->reason - 1] = '\0'; /* cut */
		o->to = owner;
		r = write_one(q, m, DSN_FAILED, 0, o);
	}
	free(o);
	return r;
}
