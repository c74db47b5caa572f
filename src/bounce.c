/*
 * bounce.c - delivery status notifications (RFC 3464): when recipients of
 * a message bounced, queue a multipart/report from MAILER-DAEMON with the
 * null sender to the message's sender, with the original message (or only
 * its header, RET=HDRS). A message from the null sender produces one
 * double bounce to postmaster; a double bounce that fails is discarded and
 * logged. Runs in qmgr as mail_owner (syslog name tinymta/bounce).
 */
#include "qmgr.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dsn {
	struct qfile_writer w;
	struct qmsg *m;
	const struct conf *c;
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

/* 1 when recipient i bounced in this round and asked to hear of it. */
static int
reportable(struct qmsg *m, size_t i, struct qfile_rcpt *rc)
{
	if (m->rc[i].done || m->rc[i].worst != QFILE_RCPT_BOUNCED ||
	    qfile_rcpt(&m->r, i, rc) < 0)
		return 0;
	return rc->notify == 0 || (rc->notify & QFILE_NOTIFY_FAILURE);
}

static void
human_part(struct dsn *d, struct qfile_rcpt *rc)
{
	const char *host = conf_get(d->c, "myhostname");

	putf(d,
	     "--%s\nContent-Description: Notification\n"
	     "Content-Type: text/plain; charset=us-ascii\n\n"
	     "This is the mail system at host %s.\n\n"
	     "I'm sorry to have to inform you that your message could not\n"
	     "be delivered to one or more recipients. It's attached below.\n\n"
	     "For further assistance, please send mail to postmaster.\n\n"
	     "                   The mail system\n\n",
	     d->boundary, host);
	for (size_t i = 0; i < d->m->nrcpt; i++)
		if (reportable(d->m, i, rc))
			putf(d, "<%s>: %s\n", rc->addr,
			     strlen(rc->reason) > 6 ? rc->reason + 6
			                            : rc->reason);
	put(d, "\n");
}

static void
status_part(struct dsn *d, struct qfile_rcpt *rc)
{
	char date[64];

	rfc5322_date(date, sizeof date, (time_t)d->m->r.info.arrival);
	putf(d,
	     "--%s\nContent-Description: Delivery report\n"
	     "Content-Type: message/delivery-status\n\n"
	     "Reporting-MTA: dns; %s\nX-Tinymta-Queue-ID: %s\n"
	     "Arrival-Date: %s\n",
	     d->boundary, conf_get(d->c, "myhostname"), d->m->id, date);
	for (size_t i = 0; i < d->m->nrcpt; i++) {
		char code[8] = "5.0.0";

		if (!reportable(d->m, i, rc))
			continue;
		if (strlen(rc->reason) > 6 && rc->reason[5] == ' ')
			str_copy_n(code, sizeof code, rc->reason, 5);
		putf(d, "\nFinal-Recipient: rfc822; %s\n", rc->addr);
		if (rc->orcpt[0])
			putf(d, "Original-Recipient: %s\n", rc->orcpt);
		putf(d,
		     "Action: failed\nStatus: %s\n"
		     "Diagnostic-Code: X-Tinymta; %s\n",
		     code,
		     strlen(rc->reason) > 6 ? rc->reason + 6 : rc->reason);
	}
	put(d, "\n");
}

/* The original message, or its header section only. */
static void
original_part(struct dsn *d)
{
	char ret[16] = "", buf[8192];
	int hdrs = qfile_attr_get(&d->m->r, "ret", ret, sizeof ret) == 1 &&
	           strcmp(ret, "hdrs") == 0;
	int prev_nl = 1;
	ssize_t n;

	putf(d,
	     "--%s\nContent-Description: Undelivered Message%s\n"
	     "Content-Type: %s\n\n",
	     d->boundary, hdrs ? " Headers" : "",
	     hdrs ? "text/rfc822-headers" : "message/rfc822");
	qfile_content_rewind(&d->m->r);
	while (d->ok &&
	       (n = qfile_content_read(&d->m->r, buf, sizeof buf)) > 0) {
		size_t len = (size_t)n;

		for (size_t i = 0; hdrs && i < len; i++) {
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
headers(struct dsn *d, const char *to)
{
	char date[64];
	const char *host = conf_get(d->c, "myhostname");

	rfc5322_date(date, sizeof date, time(NULL));
	putf(d,
	     "From: MAILER-DAEMON@%s (Mail Delivery System)\nTo: <%s>\n"
	     "Subject: Undelivered Mail Returned to Sender\nDate: %s\n"
	     "Message-ID: <%s.bounce@%s>\nAuto-Submitted: auto-replied\n"
	     "MIME-Version: 1.0\n"
	     "Content-Type: multipart/report; report-type=delivery-status;\n"
	     "\tboundary=\"%s\"\n\nThis is a MIME-encapsulated message.\n\n",
	     host, to, date, d->m->id, host, d->boundary);
}

static int
is_double_bounce(struct qmsg *m)
{
	char origin[32] = "";

	return qfile_attr_get(&m->r, "origin", origin, sizeof origin) == 1 &&
	       strcmp(origin, "double-bounce") == 0;
}

int
bounce_create(struct qmgr *q, struct qmsg *m)
{
	struct dsn *d = mem_big_alloc(sizeof *d);
	struct qfile_rcpt *rc = malloc(sizeof *rc);
	char incoming[QUEUE_PATH_MAX], id[QFILE_ID_MAX];
	const char *to = m->r.info.sender[0] ? m->r.info.sender : "postmaster";
	int any = 0, r = -1;

	if (!d || !rc ||
	    queue_path(incoming, sizeof incoming, q->qdir, "incoming", NULL) <
	        0)
		goto out;
	for (size_t i = 0; i < m->nrcpt && !any; i++)
		any = reportable(m, i, rc);
	if (!any || is_double_bounce(m)) {
		if (any)
			log_warn("%s: undeliverable double bounce discarded",
			         m->id);
		r = 0;
		goto out;
	}
	d->m = m;
	d->c = q->role.conf;
	d->ok = 1;
	snprintf(d->boundary, sizeof d->boundary, "%s.%ld/%s", m->id,
	         (long)time(NULL), conf_get(d->c, "myhostname"));
	if (qfile_create(&d->w, incoming, 0) < 0)
		goto out;
	d->ok = qfile_put_attr(&d->w, "origin",
	                       m->r.info.sender[0] ? "bounce"
	                                           : "double-bounce") == 0 &&
	        qfile_put_sender(&d->w, "") == 0 &&
	        qfile_put_rcpt(&d->w, to, "", 0) == 0;
	headers(d, to);
	human_part(d, rc);
	status_part(d, rc);
	original_part(d);
	if (!d->ok || qfile_commit(&d->w, id) < 0) {
		if (d->ok)
			goto out; /* commit removed the temporary file */
		qfile_abort(&d->w);
		goto out;
	}
	log_set_name("bounce");
	log_info("%s: sender non-delivery notification: %s", m->id, id);
	log_set_name("qmgr");
	q->scan_incoming = 1;
	r = 0;
out:
	mem_big_free(d, sizeof *d);
	free(rc);
	return r;
}
