/*
 * qmgr_job.c - hand deliveries to agents: work for one mailbox goes to
 * one agent at a time, in batches of up to QMGR_BATCH (the agent appends
 * them under one lock with one fsync); remote work goes to `tinymta smtp`
 * agents per destination (NEXTHOP), up to QMGR_SMTP_BATCH items of any
 * messages per agent (one connection), as many agents at once as the
 * destination's window allows (qmgr_dest.c); each agent's result lines
 * are read back from its pipe. An smtp agent whose connection is good
 * says "idle" after its results and waits for the next batch to its
 * destination on a socket of its own (IPC_SMTP_MORE): new items for that
 * destination go to such an agent first, and the connection is reused.
 * Runs as mail_owner. The agent's lines are checked (slot, index,
 * status) before they change anything.
 */
#define _GNU_SOURCE /* pipe2, O_TMPFILE */
#include "ipc.h"
#include "qmgr.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const kinds[] = {"mailbox", "pipe", "file"};

/* The frame room for a batch's items: IPC_FRAME_MAX less the rest of an
 * IPC_DELIVER frame (header, user, role, -r FD, NEXTHOP). Items of long
 * (valid) addresses fill it before the item count does: a batch that did
 * not fit its frame could never start, and was retried forever. */
#define QMGR_FRAME_ROOM (IPC_FRAME_MAX - 1024 - QDEST_NAME_MAX)

/* The bytes of w's fields in a frame (item_fields; numbers at most 10
 * digits). */
static size_t
item_bytes(const struct qwork *w, int local)
{
	size_t n = strlen(w->m->id) + 1 + 2 * 11 + strlen(w->addr) + 1 +
	           strlen(w->sender) + 1;

	if (local)
		n += strlen(kinds[w->kind]) + 1 + strlen(w->target) + 1;
	return n;
}

size_t
qmgr_jobs_busy(const struct qmgr *q)
{
	size_t n = 0;

	for (size_t i = 0; i < QMGR_JOBS_MAX; i++)
		if (q->jobs[i])
			n++;
	return n;
}

static int
target_busy(const struct qmgr *q, const char *target)
{
	for (size_t i = 0; i < QMGR_JOBS_MAX; i++)
		if (q->jobs[i] && strcmp(q->jobs[i]->target, target) == 0)
			return 1;
	return 0;
}

static void
free_work(struct qwork *w)
{
	free(w->user);
	free(w->target);
	free(w->addr);
	free(w->sender);
	free(w);
}

/* Take up to QMGR_BATCH works for the first mailbox not being written. */
static int
take_batch(struct qmgr *q, struct qjob *j)
{
	struct qwork **pp = &q->todo, *first = NULL;
	size_t used = 0;

	j->nwork = 0;
	while (*pp && j->nwork < QMGR_BATCH) {
		struct qwork *w = *pp;
		int same = first && w->kind == first->kind &&
		           strcmp(w->target, first->target) == 0 &&
		           strcmp(w->user, first->user) == 0;

		if ((!first && !target_busy(q, w->target)) || same) {
			used += item_bytes(w, 1);
			if (first && used > QMGR_FRAME_ROOM)
				break; /* the frame is full */
			if (!first)
				first = w;
			j->work[j->nwork++] = w;
			*pp = w->next;
			w->next = NULL;
		} else {
			pp = &w->next;
		}
	}
	q->todo_tail = &q->todo;
	while (*q->todo_tail)
		q->todo_tail = &(*q->todo_tail)->next;
	if (first)
		str_copy(j->target, sizeof j->target, first->target);
	return j->nwork > 0;
}

static unsigned
slot_of(struct qjob *j, struct qmsg *m)
{
	for (size_t s = 0; s < j->nslot; s++)
		if (j->slot[s] == m)
			return (unsigned)s;
	j->slot[j->nslot] = m;
	return (unsigned)j->nslot++;
}

static void
fail_job(struct qmgr *q, struct qjob *j, const char *why)
{
	for (size_t i = 0; i < j->nwork; i++) {
		struct qwork *w = j->work[i];

		if (!w)
			continue;
		qmgr_msg_result(q, w->m, w->idx, QFILE_RCPT_DEFERRED, "4.3.0",
		                why);
		if (w->dest)
			qmgr_msg_note_dest(w->m, w->dest);
		j->work[i] = NULL;
		qmgr_msg_maybe_done(q, w->m);
		free_work(w);
	}
	j->nwork = 0;
}

/* The fields of one item: ID SLOT IDX [KIND TARGET] ADDR SENDER. */
static size_t
item_fields(struct qjob *j, struct qwork *w, char num[2][16], const char **f)
{
	size_t nf = 0;

	snprintf(num[0], 16, "%u", slot_of(j, w->m));
	snprintf(num[1], 16, "%u", w->idx);
	f[nf++] = w->m->id;
	f[nf++] = num[0];
	f[nf++] = num[1];
	if (!j->dest) {
		f[nf++] = kinds[w->kind];
		f[nf++] = w->target;
	}
	f[nf++] = w->addr;
	f[nf++] = w->sender;
	return nf;
}

/* Open the slots' files read-only (their own offsets) into fds[]. The
 * number opened, or -1 (those opened are closed). */
static int
open_slots(const struct qmgr *q, const struct qjob *j, int *fds)
{
	for (size_t s = 0; s < j->nslot; s++) {
		char path[QUEUE_PATH_MAX];

		if (queue_path(path, sizeof path, q->qdir, "active",
		               j->slot[s]->id) < 0 ||
		    (fds[s] = io_open(path, O_RDONLY | O_NOFOLLOW, 0)) < 0) {
			while (s > 0)
				io_close(fds[--s]);
			return -1;
		}
	}
	return (int)j->nslot;
}

/* Ask the master for an agent: `local ITEM…` (7 fields an item) or, for
 * a destination, `smtp -r FD NEXTHOP ITEM…` (5 fields; FD its work
 * socket, after the queue files). fds: the result pipe (the agent's
 * stdout), the queue files (3, 4, …), the work socket. 0, or -1 (the
 * caller fails the job). */
static int
launch(struct qmgr *q, struct qjob *j)
{
	const char *f[IPC_FIELDS_MAX];
	char num[QMGR_ITEMS_MAX][2][16], rfd[16];
	int fds[IPC_FDS_MAX], p[2], w[2] = {-1, -1}, r = -1, n;
	size_t nf = j->dest ? 5 : 2, nfd = 1;

	j->more = -1;
	j->nslot = 0;
	for (size_t i = 0; i < j->nwork; i++)
		nf += item_fields(j, j->work[i], num[i], f + nf);
	f[0] = j->dest ? "" : j->work[0]->user;
	f[1] = j->dest ? "smtp" : "local";
	if (j->dest) {
		snprintf(rfd, sizeof rfd, "%zu", 3 + j->nslot);
		f[2] = "-r";
		f[3] = rfd;
		f[4] = j->dest->name;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, w) <
		    0)
			return -1;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		goto out;
	fds[0] = p[1];
	n = open_slots(q, j, fds + 1);
	if (n >= 0) {
		nfd += (size_t)n;
		if (w[1] >= 0)
			fds[nfd++] = w[1];
		r = ipc_send(3, IPC_DELIVER, f, nf, fds, nfd);
		for (size_t i = 1; i < 1 + (size_t)n; i++)
			io_close(fds[i]);
	}
	io_close(p[1]);
	if (r < 0)
		io_close(p[0]);
out:
	if (w[1] >= 0)
		io_close(w[1]);
	if (r < 0) {
		if (w[0] >= 0)
			io_close(w[0]);
		return -1;
	}
	j->pipe = p[0];
	j->more = w[0];
	j->idle = 0;
	j->blen = 0;
	return 0;
}

/* Move up to max of d's waiting items into j, no more than fit a frame. */
static void
take_dest_work(struct qjob *j, struct qdest *d, size_t max)
{
	j->nwork = 0;
	for (size_t used = 0; j->nwork < max && d->todo;) {
		struct qwork *w = d->todo;

		used += item_bytes(w, 0);
		if (j->nwork > 0 && used > QMGR_FRAME_ROOM)
			break; /* the frame is full */
		d->todo = w->next;
		w->next = NULL;
		d->ntodo--;
		j->work[j->nwork++] = w;
	}
	if (!d->todo)
		d->tail = &d->todo;
}

/* The next batch of d's waiting items to the idle agent j (IPC_SMTP_MORE
 * with the queue files). 0, or -1: the agent is retired and the items
 * are deferred. */
static int
send_more(struct qmgr *q, struct qjob *j, struct qdest *d)
{
	const char *f[IPC_FIELDS_MAX];
	char num[QMGR_ITEMS_MAX][2][16];
	int fds[IPC_FDS_MAX], n, r = -1;
	size_t nf = 0;

	take_dest_work(j, d, QMGR_SMTP_BATCH);
	j->nslot = 0;
	for (size_t i = 0; i < j->nwork; i++)
		nf += item_fields(j, j->work[i], num[i], f + nf);
	n = open_slots(q, j, fds);
	if (n >= 0) {
		r = ipc_send(j->more, IPC_SMTP_MORE, f, nf, fds, (size_t)n);
		for (int i = 0; i < n; i++)
			io_close(fds[i]);
	}
	if (r < 0) {
		log_warn("cannot hand more mail to a delivery agent: %s",
		         strerror(errno));
		fail_job(q, j, "cannot hand the mail to a delivery agent");
		qmgr_retire(j);
		return -1;
	}
	j->idle = 0;
	return 0;
}

void
qmgr_retire(struct qjob *j)
{
	if (j->more >= 0)
		io_close(j->more); /* the agent sees EOF: QUIT, exit */
	j->more = -1;
	j->idle = 0;
}

void
qmgr_retire_idle(struct qmgr *q)
{
	for (size_t i = 0; i < QMGR_JOBS_MAX; i++)
		if (q->jobs[i] && q->jobs[i]->idle)
			qmgr_retire(q->jobs[i]);
}

void
qmgr_limits(const struct qmgr *q, struct qdest_limits *l)
{
	const struct conf *c = q->role.conf;

	l->initial = (unsigned)conf_int(c, "initial_destination_concurrency");
	l->limit =
	    (unsigned)conf_int(c, "default_destination_concurrency_limit");
	l->cohort_limit = (unsigned)conf_int(
	    c, "default_destination_concurrency_failed_cohort_limit");
	l->dead_time = conf_time(c, "tinymta_dead_destination_time");
}

struct qdest *
qmgr_dest(struct qmgr *q, const char *nexthop)
{
	struct qdest_limits l;

	qmgr_limits(q, &l);
	return qdest_get(&q->dests, nexthop, &l, 1);
}

void
qmgr_revive(struct qmgr *q, const char *site)
{
	char hop[QDEST_NAME_MAX];

	/* A domain also revives its next hop (relayhost, transport). */
	if (!site || qmgr_site_hop(q, site, hop, sizeof hop) < 0)
		hop[0] = '\0';
	for (struct qdest *d = q->dests.head; d; d = d->next)
		if (d->dead_until != 0 &&
		    (!site || str_eq_nocase(site, d->name) ||
		     (hop[0] && str_eq_nocase(hop, d->name)))) {
			d->dead_until = 1; /* long past: a probe next */
			qdest_revive(d, time(NULL));
		}
}

static size_t
free_slot(const struct qmgr *q)
{
	size_t slot = 0;

	while (slot < QMGR_JOBS_MAX && q->jobs[slot])
		slot++;
	return slot;
}

static long long
process_limit(const struct qmgr *q)
{
	long long limit = conf_int(q->role.conf, "default_process_limit");

	return limit > QMGR_JOBS_MAX ? QMGR_JOBS_MAX : limit;
}

static void defer_waiting(struct qmgr *q, struct qdest *d);

/* Start the agents one destination may have now. */
static void
dispatch_dest(struct qmgr *q, struct qdest *d, time_t now)
{
	long long limit = process_limit(q);

	qdest_revive(d, now);
	for (size_t i = 0; i < QMGR_JOBS_MAX && d->ntodo > 0; i++)
		if (q->jobs[i] && q->jobs[i]->dest == d && q->jobs[i]->idle)
			(void)send_more(q, q->jobs[i], d);
	while (d->ntodo > 0) {
		long long busy = (long long)qmgr_jobs_busy(q);
		unsigned avail = qdest_may_start(
		    d, now, busy < limit ? (unsigned)(limit - busy) : 0);
		size_t n = qdest_batch(d->ntodo, avail, QMGR_SMTP_BATCH);
		size_t slot = free_slot(q);
		struct qjob *j;

		if (avail == 0 || slot == QMGR_JOBS_MAX) {
			if (busy >= limit) /* idle agents of others give way */
				qmgr_retire_idle(q);
			return;
		}
		j = calloc(1, sizeof *j);
		if (!j)
			return;
		j->dest = d;
		j->site = -1;
		str_copy(j->target, sizeof j->target, d->name);
		take_dest_work(j, d, n);
		if (launch(q, j) < 0) {
			log_warn("cannot start a delivery agent: %s",
			         strerror(errno));
			fail_job(q, j, "cannot start a delivery agent");
			free(j);
			return;
		}
		d->busy++;
		q->jobs[slot] = j;
	}
}

void
qmgr_dispatch(struct qmgr *q)
{
	long long limit = process_limit(q);
	time_t now = time(NULL);

	if (q->todo && (long long)qmgr_jobs_busy(q) >= limit)
		qmgr_retire_idle(q); /* local mail waits for their slots */
	while (q->todo && (long long)qmgr_jobs_busy(q) < limit) {
		struct qjob *j;
		size_t slot = free_slot(q);

		if (slot == QMGR_JOBS_MAX)
			break;
		j = calloc(1, sizeof *j);
		if (!j)
			break;
		if (!take_batch(q, j)) {
			free(j);
			break;
		}
		if (launch(q, j) < 0) {
			log_warn("cannot start a delivery agent: %s",
			         strerror(errno));
			fail_job(q, j, "cannot start a delivery agent");
			free(j);
			continue;
		}
		q->jobs[slot] = j;
	}
	for (struct qdest *d = q->dests.head; d; d = d->next) {
		qdest_revive(d, now);
		if (d->ntodo > 0 && qdest_is_dead(d, now))
			defer_waiting(q, d);
		else if (d->ntodo > 0)
			dispatch_dest(q, d, now);
	}
	qdest_gc(
	    &q->dests,
	    (size_t)conf_int(q->role.conf, "tinymta_dead_destination_limit"),
	    now);
}

static long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A dead destination's waiting items are deferred with its error,
 * without an agent, for at most QMGR_STEP_MS at a time (each deferral
 * may end a message: an fsync), so that new mail is not held up. */
static void
defer_waiting(struct qmgr *q, struct qdest *d)
{
	char why[QDEST_ERROR_MAX + 40];
	long long end = ms_now() + QMGR_STEP_MS;

	snprintf(why, sizeof why, "delivery temporarily suspended: %s",
	         d->last_error[0] ? d->last_error : "unreachable");
	while (d->todo && ms_now() < end) {
		struct qwork *w = d->todo;

		d->todo = w->next;
		d->ntodo--;
		log_info("%s: to=<%s>, relay=none, dsn=4.4.1, status=deferred "
		         "(%s)",
		         w->m->id, w->addr, why);
		if (qmgr_msg_dest_result(q, w->m, w->idx, w->sender, w->addr,
		                         QFILE_RCPT_DEFERRED, "4.4.1",
		                         why) == QFILE_RCPT_DEFERRED)
			qmgr_msg_note_dest(w->m, d);
		qmgr_msg_maybe_done(q, w->m);
		free_work(w);
	}
	if (!d->todo) {
		d->tail = &d->todo;
		d->ntodo = 0;
	}
}

int
qmgr_dests_waiting(const struct qmgr *q)
{
	time_t now = time(NULL);

	for (struct qdest *d = q->dests.head; d; d = d->next)
		if (d->ntodo > 0 && qdest_is_dead(d, now))
			return 1;
	return 0;
}

/* The destination's feedback for an agent's site line (at the end of a
 * batch or of the agent). */
static void
site_feedback(struct qmgr *q, struct qjob *j, int agent_ended)
{
	struct qdest_limits l;
	struct qdest *d = j->dest;
	int dead;

	qmgr_limits(q, &l);
	dead = agent_ended
	           ? qdest_agent_done(d, &l, j->site, j->site_text, time(NULL))
	           : qdest_batch_done(d, &l, j->site, j->site_text, time(NULL));
	if (dead)
		log_warn("destination %s is dead for %lld s: %s", d->name,
		         l.dead_time, d->last_error);
	j->site = -1;
}

/* "idle": every item of the batch has its line; the agent waits for
 * more (send_more) with its connection open. */
static void
batch_over(struct qmgr *q, struct qjob *j)
{
	fail_job(q, j, "delivery agent gave no result");
	site_feedback(q, j, 0);
	j->nslot = 0;
	if (j->more >= 0)
		j->idle = 1;
}

/* One line "SLOT IDX STATUS DSN TEXT" from an agent. */
static void
job_line(struct qmgr *q, struct qjob *j, char *line)
{
	char st[16], dsn[16];
	unsigned slot, idx;
	int n = 0, status;

	if (j->dest && strcmp(line, "idle") == 0) {
		batch_over(q, j);
		return;
	}
	if (j->dest && strncmp(line, "site ", 5) == 0) {
		const char *t = line + 5;

		if (strncmp(t, "ok", 2) == 0 && (!t[2] || t[2] == ' '))
			j->site = 1;
		else if (strncmp(t, "failed", 6) == 0 && (!t[6] || t[6] == ' '))
			j->site = 0;
		else
			log_warn("bad site line from a delivery agent ignored");
		t = strchr(t, ' ');
		str_copy(j->site_text, sizeof j->site_text, t ? t + 1 : "");
		return;
	}
	if (sscanf(line, "%u %u %15s %15s %n", &slot, &idx, st, dsn, &n) < 4 ||
	    n == 0 || slot >= j->nslot) {
		log_warn("bad line from a delivery agent ignored");
		return;
	}
	status = strcmp(st, "sent") == 0      ? QFILE_RCPT_DELIVERED
	         : strcmp(st, "bounced") == 0 ? QFILE_RCPT_BOUNCED
	                                      : QFILE_RCPT_DEFERRED;
	for (size_t i = 0; i < j->nwork; i++) {
		struct qwork *w = j->work[i];

		if (w && w->m == j->slot[slot] && w->idx == idx) {
			if (qmgr_msg_dest_result(
			        q, w->m, idx, w->sender, w->addr, status, dsn,
			        line + n) == QFILE_RCPT_DEFERRED &&
			    w->dest)
				qmgr_msg_note_dest(w->m, w->dest);
			j->work[i] = NULL;
			qmgr_msg_maybe_done(q, w->m);
			free_work(w);
			return;
		}
	}
}

void
qmgr_job_input(struct qmgr *q, size_t slot)
{
	struct qjob *j = q->jobs[slot];
	ssize_t r =
	    io_read(j->pipe, j->buf + j->blen, sizeof j->buf - 1 - j->blen);
	char *nl;

	if (r > 0) {
		j->blen += (size_t)r;
		j->buf[j->blen] = '\0';
		while ((nl = memchr(j->buf, '\n', j->blen)) != NULL) {
			*nl = '\0';
			job_line(q, j, j->buf);
			j->blen -= (size_t)(nl + 1 - j->buf);
			memmove(j->buf, nl + 1, j->blen);
		}
		if (j->blen < sizeof j->buf - 1)
			return;
		log_warn("over-long line from a delivery agent");
	}
	io_close(j->pipe);
	qmgr_retire(j);
	q->jobs[slot] = NULL;
	fail_job(q, j, "delivery agent ended without a result");
	if (j->dest)
		site_feedback(q, j, 1);
	free(j);
}
