/*
 * qmgr_msg.c - one message in the active queue: activation (move into
 * active/, validate, resolve each recipient), per-recipient results
 * written in place, and the end of a round: removal, bounce, or deferral
 * with doubling backoff, and the notifications due then (bounce.c):
 * failures, success reports (NOTIFY=SUCCESS), one delay warning after
 * delay_warning_time. Runs as mail_owner; queue files are validated by
 * qfile_open before anything in them is used, and a damaged one moves to
 * corrupt/.
 */
#include "bounce.h"
#include "qmgr.h"
#include "qmgr_route.h"
#include "util/clock.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
severity(int status)
{
	return status == QFILE_RCPT_BOUNCED    ? 2
	       : status == QFILE_RCPT_DEFERRED ? 1
	                                       : 0;
}

static void
add_work(struct qmgr *q, struct qmsg *m, unsigned idx, const struct resolved *r,
         struct qdest *d)
{
	struct qwork *w = calloc(1, sizeof *w);

	if (w) {
		w->user = strdup(r->user);
		w->target = strdup(r->target);
		w->addr = strdup(r->addr);
		w->sender = strdup(r->sender);
	}
	if (!w || !w->user || !w->target || !w->addr || !w->sender) {
		if (w) {
			free(w->user);
			free(w->target);
			free(w->addr);
			free(w->sender);
		}
		free(w);
		qmgr_msg_result(q, m, idx, QFILE_RCPT_DEFERRED, "4.3.0",
		                "out of memory");
		return;
	}
	w->m = m;
	w->idx = idx;
	w->kind = r->kind;
	w->dest = d;
	m->rc[idx].pending++;
	m->pending++;
	if (d) {
		*d->tail = w;
		d->tail = &w->next;
		d->ntodo++;
		return;
	}
	*q->todo_tail = w;
	q->todo_tail = &w->next;
}

/* soft_bounce: a permanent failure is recorded and logged as temporary,
 * keeping its detail (5.1.1 becomes 4.1.1, as in Postfix). */
static int
soften(const struct qmgr *q, int status, const char **dsn, char buf[8])
{
	if (status != QFILE_RCPT_BOUNCED ||
	    !conf_bool(q->role.conf, "soft_bounce"))
		return status;
	if (str_copy(buf, 8, *dsn) < 0 || buf[0] != '5')
		str_copy(buf, 8, "4.0.0");
	buf[0] = '4';
	*dsn = buf;
	return QFILE_RCPT_DEFERRED;
}

/* An immediate result (no agent): counts as one delivery, logged here.
 * r: the destination it is about (its sender override), or NULL; d: the
 * scheduler's destination that deferred it (next_retry), or NULL. */
static void
now_dest(struct qmgr *q, struct qmsg *m, unsigned idx, const struct resolved *r,
         struct qdest *d, int status, const char *dsn, const char *text)
{
	struct qfile_rcpt rc;
	double delay = difftime(time(NULL), (time_t)m->r.info.arrival);
	char soft[8];

	status = soften(q, status, &dsn, soft);
	if (qfile_rcpt(&m->r, idx, &rc) == 0)
		log_info("%s: to=<%s>, relay=none, delay=%.0f, dsn=%s, "
		         "status=%s (%s)",
		         m->id, rc.addr, delay < 0 ? 0 : delay, dsn,
		         status == QFILE_RCPT_BOUNCED ? "bounced" : "deferred",
		         text);
	m->rc[idx].pending++;
	m->pending++;
	if (qmgr_msg_dest_result(q, m, idx, r ? r->sender : "",
	                         r ? r->addr : "", status, dsn,
	                         text) == QFILE_RCPT_DEFERRED &&
	    d)
		qmgr_msg_note_dest(m, d);
}

static void
now_result(struct qmgr *q, struct qmsg *m, unsigned idx, int status,
           const char *dsn, const char *text)
{
	now_dest(q, m, idx, NULL, NULL, status, dsn, text);
}

/* m, deferred before, is tried again for d: d stops counting it among
 * the mail that waits for its next attempt (next_retry). */
static void
retry_taken(struct qmsg *m, struct qdest *d)
{
	if (m->r.info.next_attempt == 0)
		return;
	for (unsigned i = 0; i < m->ntaken; i++)
		if (m->taken[i] == d)
			return;
	if (m->ntaken == QMGR_MSG_DESTS)
		return;
	m->taken[m->ntaken++] = d;
	qdest_retry_take(d, (time_t)m->r.info.next_attempt);
}

/* A remote recipient: its next hop's queue, or at once deferred (a dead
 * destination: no agent, its last error), bounced or deferred by the
 * routing tables. */
static void
route_remote(struct qmgr *q, struct qmsg *m, unsigned idx,
             const struct resolved *r)
{
	char hop[QDEST_NAME_MAX], why[QDEST_ERROR_MAX + 40];
	const char *sender = r->sender[0] ? r->sender : m->r.info.sender;
	enum qroute k = qmgr_route(q->role.conf, sender, r->addr, hop,
	                           sizeof hop, why, sizeof why);
	struct qdest *d;
	time_t now = time(NULL);

	if (k == QR_BOUNCE) {
		/* "error:5.7.1 text" as Postfix's error(8): its own code */
		char dsn[8] = "5.0.0";
		const char *text = why;
		size_t n = strspn(why, "0123456789.");

		if (why[0] == '5' && why[1] == '.' && n >= 5 && n < 8 &&
		    why[n] == ' ') {
			str_copy_n(dsn, sizeof dsn, why, n);
			text = why + n + 1;
		}
		now_dest(q, m, idx, r, NULL, QFILE_RCPT_BOUNCED, dsn, text);
		return;
	}
	if (k == QR_DEFER) {
		now_dest(q, m, idx, r, NULL, QFILE_RCPT_DEFERRED, "4.3.0", why);
		return;
	}
	d = qmgr_dest(q, hop);
	if (d)
		retry_taken(m, d);
	if (!d) {
		now_dest(q, m, idx, r, NULL, QFILE_RCPT_DEFERRED, "4.3.0",
		         "too many destinations at once");
		return;
	}
	qdest_revive(d, now);
	if (qdest_is_dead(d, now)) {
		snprintf(why, sizeof why, "delivery temporarily suspended: %s",
		         d->last_error[0] ? d->last_error : "unreachable");
		now_dest(q, m, idx, r, d, QFILE_RCPT_DEFERRED, "4.4.1", why);
		return;
	}
	add_work(q, m, idx, r, d);
}

static void
route(struct qmgr *q, struct qmsg *m, unsigned idx, const char *rcpt)
{
	/* in BSS, as smtpd's: malloc'd, these 210 KiB cost an mmap, page
	 * faults and a munmap per recipient; filled afresh by each call */
	static struct resolved res[RESOLVE_MAX];
	size_t n = 0;

	resolve_rcpt(q->role.conf, rcpt, res, RESOLVE_MAX, &n);
	for (size_t i = 0; i < n; i++) {
		const struct resolved *r = &res[i];

		/* A notification (null sender) keeps it, whatever list it
		 * reaches: its failures must never come back as new mail to
		 * an owner (owner-x: x would loop). */
		if (!m->r.info.sender[0])
			res[i].sender[0] = '\0';

		switch (r->kind) {
		case RES_MAILBOX:
		case RES_PIPE:
		case RES_FILE:
			add_work(q, m, idx, r, NULL);
			break;
		case RES_REMOTE:
			route_remote(q, m, idx, r);
			break;
		case RES_BOUNCE:
			now_dest(q, m, idx, r, NULL, QFILE_RCPT_BOUNCED, r->dsn,
			         r->reason);
			break;
		case RES_DEFER:
			now_result(q, m, idx, QFILE_RCPT_DEFERRED, r->dsn,
			           r->reason);
			break;
		}
	}
	if (n == 0)
		now_result(q, m, idx, QFILE_RCPT_BOUNCED, "5.1.1",
		           "recipient resolved to nothing");
}

static struct qmsg *
open_msg(struct qmgr *q, const char *id)
{
	struct qmsg *m = calloc(1, sizeof *m);
	char path[QUEUE_PATH_MAX], where[300], why[400];
	enum qfile_err err;

	if (!m || queue_path(path, sizeof path, q->qdir, "active", id) < 0) {
		free(m);
		return NULL;
	}
	str_copy(m->id, sizeof m->id, id);
	if (qfile_open(&m->r, path, 1, &err, where, sizeof where) < 0) {
		qfile_describe(why, sizeof why, err, where, errno);
		if (err == QFILE_ERR_IO)
			log_warn("%s: cannot open: %s", id, why);
		else
			queue_quarantine(q->qdir, "active", id, why);
		free(m);
		return NULL;
	}
	m->nrcpt = m->r.info.nrcpt;
	m->rc = calloc(m->nrcpt ? m->nrcpt : 1, sizeof *m->rc);
	if (!m->rc) {
		qfile_close(&m->r);
		free(m);
		return NULL;
	}
	return m;
}

int
qmgr_activate(struct qmgr *q, const char *from, const char *id)
{
	struct qfile_rcpt *rc;
	struct qmsg *m;

	if (strcmp(from, "active") != 0 &&
	    queue_move(q->qdir, from, "active", id) < 0) {
		if (errno != ENOENT)
			log_warn("%s: cannot move from %s to active: %s", id,
			         from, strerror(errno));
		return -1;
	}
	m = open_msg(q, id);
	rc = malloc(sizeof *rc);
	if (!m || !rc) {
		free(rc);
		return -1;
	}
	m->next = q->active;
	q->active = m;
	q->nactive++;
	log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", id,
	         m->r.info.sender, (unsigned long long)m->r.info.file_size,
	         m->nrcpt);
	for (size_t i = 0; i < m->nrcpt; i++) {
		if (qfile_rcpt(&m->r, i, rc) < 0) {
			now_result(q, m, (unsigned)i, QFILE_RCPT_DEFERRED,
			           "4.3.0", "cannot read recipient");
		} else if (rc->status == QFILE_RCPT_DELIVERED ||
		           rc->status == QFILE_RCPT_BOUNCED) {
			m->rc[i].done = 1;
		} else {
			route(q, m, (unsigned)i, rc->addr);
		}
	}
	free(rc);
	qmgr_msg_maybe_done(q, m);
	return 0;
}

static void
store(struct qmsg *m, unsigned idx, int status, const char *dsn,
      const char *text)
{
	struct qfile_rcpt rc;
	char reason[QFILE_REASON_MAX + 1];

	snprintf(reason, sizeof reason, "%s %s", dsn, text);
	if (qfile_rcpt(&m->r, idx, &rc) < 0 ||
	    qfile_set_rcpt(&m->r, &rc, status, reason) < 0)
		log_error("%s: cannot record status of recipient %u: %s", m->id,
		          idx, strerror(errno));
}

void
qmgr_msg_result(struct qmgr *q, struct qmsg *m, unsigned idx, int status,
                const char *dsn, const char *text)
{
	struct qrcpt *r;
	char soft[8];

	if (idx >= m->nrcpt || m->rc[idx].pending == 0)
		return;
	r = &m->rc[idx];
	status = soften(q, status, &dsn, soft);
	if (severity(status) > severity(r->worst) ||
	    (r->worst == 0 && status != QFILE_RCPT_DELIVERED)) {
		r->worst = (uint8_t)status;
		store(m, idx, status, dsn, text);
	}
	r->pending--;
	m->pending--;
	if (r->pending == 0 && r->worst == QFILE_RCPT_PENDING)
		store(m, idx, QFILE_RCPT_DELIVERED, "2.0.0", "delivered");
	if (r->worst == QFILE_RCPT_BOUNCED)
		m->bounced_now = 1;
	if (r->worst == QFILE_RCPT_DEFERRED)
		m->deferred_now = 1;
}

int
qmgr_msg_dest_result(struct qmgr *q, struct qmsg *m, unsigned idx,
                     const char *owner, const char *member, int status,
                     const char *dsn, const char *text)
{
	char soft[8];
	const char *d0 = dsn;

	if (owner[0] && idx < m->nrcpt && m->rc[idx].pending > 0 &&
	    soften(q, status, &dsn, soft) == QFILE_RCPT_BOUNCED) {
		if (bounce_owner(q, m, idx, owner, member, dsn, text) == 0) {
			status = QFILE_RCPT_DELIVERED;
			dsn = "2.0.0";
			text = "delivered (member failure reported to the "
			       "list owner)";
		} else {
			status = QFILE_RCPT_DEFERRED;
			dsn = "4.3.0";
			text = "cannot queue the report to the list owner";
		}
	}
	qmgr_msg_result(q, m, idx, status, dsn, text);
	return soften(q, status, &d0, soft);
}

void
qmgr_msg_note_dest(struct qmsg *m, struct qdest *d)
{
	for (unsigned i = 0; i < m->ndests; i++)
		if (m->dests[i] == d)
			return;
	if (m->ndests == QMGR_MSG_DESTS)
		return; /* its next attempt shows at the others only */
	m->dests[m->ndests++] = d;
	d->refs++;
}

static void
unlink_active(struct qmgr *q, struct qmsg *m)
{
	char path[QUEUE_PATH_MAX];

	if (queue_path(path, sizeof path, q->qdir, "active", m->id) == 0 &&
	    unlink(path) == 0)
		log_info("%s: removed", m->id);
	else
		log_error("%s: cannot remove: %s", m->id, strerror(errno));
}

/* The time a message's age counts from, or -1 while ages cannot be told.
 * DESIGN.md "Clock": nothing is judged by age while the clock is unset; a
 * message whose arrival was stamped on an unset clock counts from the
 * first time the queue manager sees it with a set clock (recorded in
 * place, so a restart does not reset it). */
static int64_t
age_origin(struct qmsg *m)
{
	int64_t now = (int64_t)time(NULL);

	if (!clock_is_set())
		return -1;
	if (!(m->r.info.flags & QFILE_FLAG_CLOCK_UNSET))
		return (int64_t)m->r.info.arrival;
	if (m->r.info.age_base == 0 &&
	    qfile_set_age_base(&m->r, (uint64_t)now) < 0) {
		log_warn("%s: cannot record the age base: %s", m->id,
		         strerror(errno));
		return -1;
	}
	return (int64_t)m->r.info.age_base;
}

/* 1 when the message is older than its queue lifetime. */
static int
expired(struct qmgr *q, struct qmsg *m)
{
	int64_t origin = age_origin(m);
	long long life = conf_time(q->role.conf, m->r.info.sender[0]
	                                             ? "maximal_queue_lifetime"
	                                             : "bounce_queue_lifetime");

	if (origin < 0)
		return 0; /* never bounce for age on an unset clock */
	return (int64_t)time(NULL) - origin > life;
}

/* Every deferred recipient bounces: 5.4.7, the message is too old. */
static void
expire(struct qmsg *m)
{
	struct qfile_rcpt rc;

	for (size_t i = 0; i < m->nrcpt; i++) {
		if (m->rc[i].done || qfile_rcpt(&m->r, i, &rc) < 0 ||
		    rc.status != QFILE_RCPT_DEFERRED)
			continue;
		char text[QFILE_REASON_MAX + 40];

		snprintf(text, sizeof text, "delivery time expired (%.190s)",
		         rc.reason);
		m->rc[i].worst = QFILE_RCPT_BOUNCED;
		store(m, (unsigned)i, QFILE_RCPT_BOUNCED, "5.4.7", text);
		log_info("%s: to=<%s>, relay=none, delay=%lld, dsn=5.4.7, "
		         "status=expired, returned to sender (%s)",
		         m->id, rc.addr,
		         (long long)time(NULL) - (long long)m->r.info.arrival,
		         rc.reason);
	}
	m->bounced_now = 1;
	m->deferred_now = 0;
}

static void
defer(struct qmgr *q, struct qmsg *m)
{
	long long minb = conf_time(q->role.conf, "minimal_backoff_time");
	long long maxb = conf_time(q->role.conf, "maximal_backoff_time");
	uint32_t attempts = m->r.info.attempts + 1;
	long long wait = minb;
	time_t now = time(NULL);
	struct timespec ts[2];

	for (uint32_t i = 1; i < attempts && wait < maxb; i++)
		wait *= 2;
	if (wait > maxb)
		wait = maxb;
	if (qfile_set_schedule(&m->r, attempts, (uint64_t)(now + wait),
	                       (uint64_t)now) < 0 ||
	    io_fsync(m->r.fd) < 0)
		log_error("%s: cannot record the next attempt: %s", m->id,
		          strerror(errno));
	/* The file's mtime is its next attempt: scans need only stat(). */
	ts[0].tv_sec = now;
	ts[0].tv_nsec = 0;
	ts[1].tv_sec = now + wait;
	ts[1].tv_nsec = 0;
	if (futimens(m->r.fd, ts) < 0)
		log_warn("%s: futimens: %s", m->id, strerror(errno));
	if (queue_move(q->qdir, "active", "deferred", m->id) < 0)
		log_error("%s: cannot move to deferred: %s", m->id,
		          strerror(errno));
	else
		log_debug("%s: deferred, attempt %u, next in %lld s", m->id,
		          attempts, wait);
	if (q->next_deferred_scan == 0 || now + wait < q->next_deferred_scan)
		q->next_deferred_scan = now + wait;
	for (unsigned i = 0; i < m->ndests; i++)
		qdest_retry_add(m->dests[i], now + wait);
}

static void
forget(struct qmgr *q, struct qmsg *m)
{
	for (struct qmsg **p = &q->active; *p; p = &(*p)->next)
		if (*p == m) {
			*p = m->next;
			break;
		}
	q->nactive--;
	for (unsigned i = 0; i < m->ndests; i++)
		m->dests[i]->refs--;
	qfile_close(&m->r);
	free(m->rc);
	free(m);
}

/* The bounce could not be queued: the recipients that bounced this round
 * go back to deferred (reason kept), so that the next round bounces them
 * again and retries the notification. */
static void
unbounce(struct qmsg *m)
{
	struct qfile_rcpt rc;

	for (size_t i = 0; i < m->nrcpt; i++)
		if (!m->rc[i].done && m->rc[i].worst == QFILE_RCPT_BOUNCED &&
		    (qfile_rcpt(&m->r, i, &rc) < 0 ||
		     qfile_set_rcpt(&m->r, &rc, QFILE_RCPT_DEFERRED,
		                    rc.reason) < 0))
			log_error("%s: cannot record status of recipient %zu: "
			          "%s",
			          m->id, i, strerror(errno));
	m->deferred_now = 1;
}

/* A delay warning is due once, in the first round that ends after
 * delay_warning_time (dsn.c); never on an untrusted clock. */
static int
delay_due(const struct qmgr *q, struct qmsg *m)
{
	int64_t origin = age_origin(m);

	return dsn_delay_due(
	    origin < 0 ? 0 : origin, (int64_t)m->r.info.last_attempt,
	    (int64_t)time(NULL), conf_time(q->role.conf, "delay_warning_time"),
	    origin >= 0);
}

void
qmgr_msg_maybe_done(struct qmgr *q, struct qmsg *m)
{
	if (m->pending > 0)
		return;
	if (m->deferred_now && expired(q, m))
		expire(m);
	if (m->bounced_now && bounce_send(q, m, DSN_FAILED) < 0) {
		log_error("%s: cannot queue the bounce; keeping the message",
		          m->id);
		unbounce(m);
	}
	(void)bounce_send(q, m, DSN_DELIVERED); /* a failure is logged */
	if (m->deferred_now && delay_due(q, m))
		(void)bounce_send(q, m, DSN_DELAYED);
	if (m->deferred_now)
		defer(q, m);
	else
		unlink_active(q, m);
	forget(q, m);
}
