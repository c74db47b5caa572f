/*
 * qmgr.c - the queue manager's loop (see qmgr.h): scans, the master link
 * and agents' result pipes in one poll(). Runs as mail_owner; what it
 * reads from the queue is validated by qfile_open, what it hears on the
 * link comes from the master.
 */
#include "cmd_tinymta.h"
#include "conf.h"
#include "qmgr.h"
#include "wake.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QMGR_IDS_MAX 4096 /* IDs taken from incoming/ in one scan */
/* The status reply: within the master's (master_ctl.c fromq). */
#define QMGR_STATUS_MAX 6500
/* Remote deliveries waiting for an agent before deferred mail waits on
 * disk: enough to keep every agent of a destination busy. */
#define QMGR_WAITING_MAX 256

static int
cmp_id(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static int
room(const struct qmgr *q)
{
	return (long long)q->nactive <
	       conf_int(q->role.conf, "qmgr_message_active_limit");
}

/* Room for deferred mail: also only while few remote deliveries wait for
 * an agent (a backlog stays on disk, not in memory, while a destination
 * is slow or being probed). New mail is not held back by this. */
static int
room_deferred(const struct qmgr *q)
{
	size_t waiting = 0;

	for (const struct qdest *d = q->dests.head; d; d = d->next)
		waiting += d->ntodo;
	return room(q) && waiting < QMGR_WAITING_MAX;
}

/* Activate the files of incoming/ (or active/ at start), oldest first:
 * new mail goes in at once. */
static void
scan(struct qmgr *q, const char *queue)
{
	char(*ids)[QFILE_ID_MAX] = malloc(QMGR_IDS_MAX * sizeof *ids);
	struct queue_iter it;
	size_t n = 0, i = 0;

	if (!ids || queue_iter_open(&it, q->qdir, queue) < 0) {
		if (ids)
			log_error("cannot scan %s: %s", queue, strerror(errno));
		free(ids);
		return;
	}
	while (n < QMGR_IDS_MAX && queue_iter_next(&it, ids[n]) == 1)
		n++;
	queue_iter_close(&it);
	qsort(ids, n, sizeof *ids, cmp_id);
	for (; i < n && room(q); i++)
		qmgr_activate(q, queue, ids[i]);
	if (i < n || n == QMGR_IDS_MAX)
		q->scan_incoming = 1;
	free(ids);
}

static int
before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when a postqueue -s request takes the deferred file id (not due;
 * st: its stat): it was deferred before the request and has a recipient
 * for that site. The file is opened only when some site may take it. */
static int
site_takes(struct qmgr *q, const char *id, const struct stat *st)
{
	char path[QUEUE_PATH_MAX], where[200];
	struct qfile_reader r;
	enum qfile_err e;
	int hit = 0;
	size_t i;

	for (i = 0; i < q->nsites; i++)
		if (before(&st->st_ctim, &q->sites[i].since))
			break;
	if (i == q->nsites ||
	    queue_path(path, sizeof path, q->qdir, "deferred", id) < 0 ||
	    qfile_open(&r, path, 0, &e, where, sizeof where) < 0)
		return 0; /* damaged: it waits for its time (then corrupt/) */
	for (; !hit && i < q->nsites; i++)
		hit = before(&st->st_ctim, &q->sites[i].since) &&
		      qmgr_site_match(q, &r, q->sites[i].name);
	qfile_close(&r);
	return hit;
}

/* List the deferred files whose time (mtime) has come, or all on a
 * flush, or those of a site on a postqueue -s, into q->pend (sorted:
 * oldest first), at most QMGR_IDS_MAX at a time: a round over a larger
 * queue goes on where the last part stopped (the directory stays open),
 * so that every file gets its turn. A part that reads queue files (-s)
 * also ends after QMGR_STEP_MS. They are activated a few at a time
 * (activate_some): new mail is never stuck behind a backlog. */
static void
scan_deferred(struct qmgr *q)
{
	time_t now = time(NULL);
	long long end = ms_now() + QMGR_STEP_MS;
	size_t n = 0;
	int dfd, more = 0;

	if (!q->pend)
		q->pend = malloc(QMGR_IDS_MAX * sizeof *q->pend);
	if (!q->pend ||
	    (!q->dit.d && queue_iter_open(&q->dit, q->qdir, "deferred") < 0)) {
		log_error("cannot scan deferred: %s", strerror(errno));
		q->flush = 0;
		q->nsites = 0;
		return;
	}
	dfd = dirfd(q->dit.d);
	while (queue_iter_next(&q->dit, q->pend[n]) == 1) {
		struct stat st;

		/* A flush takes every file not requeued since it began (a
		 * retry moves the file: its ctime changes). */
		if (fstatat(dfd, q->pend[n], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_mtime > now &&
		    (!q->flush || !before(&st.st_ctim, &q->flush_since)) &&
		    !(q->nsites && site_takes(q, q->pend[n], &st))) {
			if (q->round_next == 0 || st.st_mtime < q->round_next)
				q->round_next = st.st_mtime;
			if (q->nsites && ms_now() >= end) {
				more = 1; /* -s: the rest on the next part */
				break;
			}
			continue;
		}
		if (++n == QMGR_IDS_MAX || (q->nsites && ms_now() >= end)) {
			more = 1; /* the rest on the next part */
			break;
		}
	}
	qsort(q->pend, n, sizeof *q->pend, cmp_id);
	q->npend = n;
	q->ipend = 0;
	if (more) {
		q->next_deferred_scan = now; /* once these are in */
		return;
	}
	queue_iter_close(&q->dit);
	q->dit.d = NULL;
	q->flush = 0; /* the round is complete */
	q->nsites = 0;
	if (q->round_next != 0)
		q->next_deferred_scan = q->round_next;
	q->round_next = 0;
}

/* Activate listed deferred files for at most QMGR_STEP_MS, then let the
 * loop look at new mail and agents' results. */
static void
activate_some(struct qmgr *q)
{
	long long end = ms_now() + QMGR_STEP_MS;

	while (q->ipend < q->npend && room_deferred(q) && ms_now() < end)
		qmgr_activate(q, "deferred", q->pend[q->ipend++]);
	if (q->ipend >= q->npend) {
		free(q->pend);
		q->pend = NULL;
		q->npend = q->ipend = 0;
	}
}

/* ", "NAME": T' (seconds since the epoch), or null for 0. */
static void
put_time(FILE *mf, const char *name, time_t t)
{
	if (t)
		fprintf(mf, ", \"%s\": %lld", name, (long long)t);
	else
		fprintf(mf, ", \"%s\": null", name);
}

/* The status members: active deliveries and the destinations (as many
 * as fit the reply; the dead ones first). */
static void
status_reply(struct qmgr *q)
{
	char json[QMGR_STATUS_MAX];
	const char *f[] = {json};
	FILE *mf = fmemopen(json, sizeof json, "w");
	time_t now = time(NULL);
	int first = 1;

	if (!mf) {
		snprintf(json, sizeof json,
		         "\"deliveries_active\": %zu, \"destinations\": []",
		         qmgr_jobs_busy(q));
		ipc_send(3, IPC_REPLY, f, 1, NULL, 0);
		return;
	}
	fprintf(mf, "\"deliveries_active\": %zu, \"destinations\": [",
	        qmgr_jobs_busy(q));
	for (int pass = 0; pass < 2; pass++)
		for (struct qdest *d = q->dests.head; d; d = d->next) {
			char err[120];

			qdest_revive(d, now);
			if (qdest_is_dead(d, now) != (pass == 0) ||
			    ftell(mf) > (long)sizeof json - 1200)
				continue;
			str_copy(err, sizeof err, d->last_error);
			fprintf(mf, "%s{\"name\": ", first ? "" : ", ");
			conf_json_string(mf, d->name);
			fprintf(mf,
			        ", \"concurrency\": %u, \"window\": %u, "
			        "\"waiting\": %zu, \"last_error\": ",
			        d->busy, d->probe ? 1 : d->window, d->ntodo);
			if (d->last_error[0])
				conf_json_string(mf, err);
			else
				fputs("null", mf);
			put_time(mf, "next_retry", qdest_next_retry(d, now));
			put_time(mf, "dead_until", d->dead_until);
			fputs("}", mf);
			first = 0;
		}
	fputs("]", mf);
	if (fclose(mf) != 0)
		json[sizeof json - 1] = '\0';
	ipc_send(3, IPC_REPLY, f, 1, NULL, 0);
}

static void
deliver_id(struct qmgr *q, const char *id)
{
	if (!qfile_id_valid(id))
		return;
	if (qmgr_activate(q, "deferred", id) < 0)
		qmgr_activate(q, "incoming", id);
}

/* IPC_FLUSH: every deferred file (site NULL) or those for site, now.
 * An explicit flush also tries dead destinations again (a probe): the
 * administrator says the site is back. A round in progress starts over,
 * so that the files it has passed are looked at for this request too. */
static void
flush_request(struct qmgr *q, const char *site)
{
	struct timespec now;
	size_t i = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	if (site && strlen(site) >= QDEST_NAME_MAX) {
		log_warn("flush: site name too long: ignored");
		return;
	}
	qmgr_revive(q, site);
	while (site && i < q->nsites && !str_eq_nocase(q->sites[i].name, site))
		i++;
	if (!site || i == QMGR_FLUSH_SITES) {
		q->flush = 1; /* too many sites at once: all of them */
		q->flush_since = now;
	} else {
		if (i == q->nsites)
			str_copy(q->sites[q->nsites++].name, QDEST_NAME_MAX,
			         site);
		q->sites[i].since = now;
	}
	if (q->dit.d) {
		queue_iter_close(&q->dit);
		q->dit.d = NULL;
		q->round_next = 0;
	}
	log_info("flush of %s requested", site ? site : "all deferred mail");
}

/* 0 to go on, -1 when the master is gone. */
static int
link_input(struct qmgr *q)
{
	unsigned char buf[IPC_FRAME_MAX];
	struct ipc_msg m;
	int r = role_link_read(&q->role, 3, buf, &m);

	if (r <= 0)
		return r;
	for (size_t i = 0; i < m.nfds; i++)
		close(m.fds[i]);
	if (m.type == IPC_WAKEUP)
		q->scan_incoming = 1;
	else if (m.type == IPC_FLUSH)
		flush_request(q, m.nfields == 1 && m.field[0][0] ? m.field[0]
		                                                 : NULL);
	else if (m.type == IPC_STATUS)
		status_reply(q);
	else if (m.type == IPC_DELIVER_ID && m.nfields == 1)
		deliver_id(q, m.field[0]);
	return 0;
}

/* Every frame waiting on the link (bounded), not one per turn of the
 * loop: a status request is not kept waiting behind a run of wake-ups
 * (the master gives up on qmgr's reply after 500 ms). */
static int
link_frames(struct qmgr *q)
{
	for (int i = 0; i < 64; i++) {
		struct pollfd p = {3, POLLIN, 0};

		if (i > 0 && (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)))
			return 0;
		if (link_input(q) < 0)
			return -1;
	}
	return 0;
}

static int
timeout_ms(const struct qmgr *q, time_t next_incoming)
{
	time_t now = time(NULL), t = next_incoming;

	if (q->scan_incoming || (q->npend > 0 && room_deferred(q)) ||
	    qmgr_dests_waiting(q))
		return 0;
	if (q->next_deferred_scan && q->next_deferred_scan < t)
		t = q->next_deferred_scan;
	return t <= now ? 0 : (int)(t - now) * 1000;
}

static void
work(struct qmgr *q, time_t *next_incoming)
{
	time_t now = time(NULL);
	long long delay = conf_time(q->role.conf, "queue_run_delay");

	if (q->scan_incoming || now >= *next_incoming) {
		q->scan_incoming = 0;
		scan(q, "incoming");
		*next_incoming = now + delay;
	}
	qmgr_dispatch(q); /* new mail's agents first */
	if (q->npend == 0 &&
	    (q->flush || q->nsites ||
	     (q->next_deferred_scan && now >= q->next_deferred_scan))) {
		q->next_deferred_scan = now + delay;
		scan_deferred(q);
	}
	if (q->npend > 0)
		activate_some(q);
	qmgr_dispatch(q);
}

static void
loop(struct qmgr *q)
{
	time_t next_incoming = 0;

	while (!role_stopping()) {
		struct pollfd p[2 + QMGR_JOBS_MAX];
		size_t js[QMGR_JOBS_MAX];
		nfds_t n = 2;

		work(q, &next_incoming);
		p[0] = (struct pollfd){3, POLLIN, 0};
		p[1] = (struct pollfd){q->wake, POLLIN, 0}; /* -1: ignored */
		for (size_t i = 0; i < QMGR_JOBS_MAX; i++)
			if (q->jobs[i]) {
				js[n - 2] = i;
				p[n++] = (struct pollfd){q->jobs[i]->pipe,
				                         POLLIN, 0};
			}
		if (poll(p, n, timeout_ms(q, next_incoming)) < 0) {
			if (errno == EINTR)
				continue;
			log_fatal(71, "poll: %s", strerror(errno));
		}
		for (nfds_t i = 2; i < n; i++)
			if (p[i].revents)
				qmgr_job_input(q, js[i - 2]);
		if (p[1].revents) {
			wake_drain(q->wake);
			q->scan_incoming = 1;
		}
		if (p[0].revents && link_frames(q) < 0)
			return;
	}
}

/* On stop: let running deliveries report (bounded), so that a delivered
 * message is not delivered again after a restart. */
static void
drain_jobs(struct qmgr *q)
{
	for (int waited = 0; qmgr_jobs_busy(q) && waited < 8000;
	     waited += 100) {
		struct pollfd p[QMGR_JOBS_MAX];
		size_t js[QMGR_JOBS_MAX];
		nfds_t n = 0;

		qmgr_retire_idle(q); /* their connections: QUIT now */
		for (size_t i = 0; i < QMGR_JOBS_MAX; i++)
			if (q->jobs[i]) {
				js[n] = i;
				p[n++] = (struct pollfd){q->jobs[i]->pipe,
				                         POLLIN, 0};
			}
		if (poll(p, n, 100) > 0)
			for (nfds_t i = 0; i < n; i++)
				if (p[i].revents)
					qmgr_job_input(q, js[i]);
	}
}

int
tinymta_qmgr_main(int argc, char **argv)
{
	struct qmgr *q = calloc(1, sizeof *q);

	(void)argc;
	(void)argv;
	if (!q || role_init(&q->role, "qmgr") < 0)
		return 78;
	str_copy(q->qdir, sizeof q->qdir,
	         conf_get(q->role.conf, "queue_directory"));
	q->todo_tail = &q->todo;
	/* 0600: only mail_owner's smtpd wakes qmgr this way (others ask the
	 * master); without it new mail waits for queue_run_delay's scan */
	q->wake = wake_bind(q->qdir, "qmgr", 0600);
	if (q->wake < 0)
		log_error("cannot bind %s/public/qmgr: %s", q->qdir,
		          strerror(errno));
	scan(q, "active"); /* left over from a crash: at least once */
	q->next_deferred_scan = time(NULL);
	loop(q);
	drain_jobs(q);
	return 0;
}
