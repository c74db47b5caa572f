/*
 * qmgr_job.c - hand deliveries to agents: work for one mailbox goes to
 * one agent at a time, in batches of up to QMGR_BATCH (the agent appends
 * them under one lock with one fsync), and each agent's result lines are
 * read back from its pipe. Runs as mail_owner. The agent's lines are
 * checked (slot, index, status) before they change anything.
 */
#define _GNU_SOURCE /* pipe2, O_TMPFILE */
#include "ipc.h"
#include "qmgr.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const kinds[] = {"mailbox", "pipe", "file"};

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

	j->nwork = 0;
	while (*pp && j->nwork < QMGR_BATCH) {
		struct qwork *w = *pp;
		int same = first && w->kind == first->kind &&
		           strcmp(w->target, first->target) == 0 &&
		           strcmp(w->user, first->user) == 0;

		if ((!first && !target_busy(q, w->target)) || same) {
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
		j->work[i] = NULL;
		qmgr_msg_maybe_done(q, w->m);
		free_work(w);
	}
	j->nwork = 0;
}

/* Open the slots' files read-only (their own offsets) and ask the master
 * for an agent. 0, or -1 (the caller fails the job). */
static int
launch(struct qmgr *q, struct qjob *j)
{
	const char *f[IPC_FIELDS_MAX];
	char num[QMGR_BATCH][2][16];
	int fds[IPC_FDS_MAX], p[2], r = -1;
	size_t nf = 0, nfd = 1;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fds[0] = p[1];
	f[nf++] = j->work[0]->user;
	f[nf++] = "local";
	j->nslot = 0;
	for (size_t i = 0; i < j->nwork; i++) {
		struct qwork *w = j->work[i];
		unsigned s = slot_of(j, w->m);

		snprintf(num[i][0], sizeof num[i][0], "%u", s);
		snprintf(num[i][1], sizeof num[i][1], "%u", w->idx);
		f[nf++] = w->m->id;
		f[nf++] = num[i][0];
		f[nf++] = num[i][1];
		f[nf++] = kinds[w->kind];
		f[nf++] = w->target;
		f[nf++] = w->addr;
		f[nf++] = w->sender;
	}
	for (size_t s = 0; s < j->nslot; s++) {
		char path[QUEUE_PATH_MAX];

		if (queue_path(path, sizeof path, q->qdir, "active",
		               j->slot[s]->id) < 0 ||
		    (fds[nfd] = io_open(path, O_RDONLY | O_NOFOLLOW, 0)) < 0)
			goto out;
		nfd++;
	}
	r = ipc_send(3, IPC_DELIVER, f, nf, fds, nfd);
out:
	for (size_t i = 0; i < nfd; i++)
		io_close(fds[i]);
	if (r < 0) {
		io_close(p[0]);
		return -1;
	}
	j->pipe = p[0];
	j->blen = 0;
	return 0;
}

void
qmgr_dispatch(struct qmgr *q)
{
	long long limit = conf_int(q->role.conf, "default_process_limit");

	if (limit > QMGR_JOBS_MAX)
		limit = QMGR_JOBS_MAX;
	while (q->todo && (long long)qmgr_jobs_busy(q) < limit) {
		struct qjob *j;
		size_t slot = 0;

		while (slot < QMGR_JOBS_MAX && q->jobs[slot])
			slot++;
		if (slot == QMGR_JOBS_MAX)
			return;
		j = calloc(1, sizeof *j);
		if (!j)
			return;
		if (!take_batch(q, j)) {
			free(j);
			return;
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
}

/* One line "SLOT IDX STATUS DSN TEXT" from an agent. */
static void
job_line(struct qmgr *q, struct qjob *j, char *line)
{
	char st[16], dsn[16];
	unsigned slot, idx;
	int n = 0, status;

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
			qmgr_msg_dest_result(q, w->m, idx, w->sender, w->addr,
			                     status, dsn, line + n);
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
	q->jobs[slot] = NULL;
	fail_job(q, j, "delivery agent ended without a result");
	free(j);
}
