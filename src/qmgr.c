/*
 * qmgr.c - the queue manager's loop (see qmgr.h): scans, the master link
 * and agents' result pipes in one poll(). Runs as mail_owner; what it
 * reads from the queue is validated by qfile_open, what it hears on the
 * link comes from the master.
 */
#include "cmd_tinymta.h"
#include "qmgr.h"
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

/* Activate the files of one queue, oldest first. With due set, only
 * deferred files whose time (mtime) has come. */
static void
scan(struct qmgr *q, const char *queue, int due)
{
	char(*ids)[QFILE_ID_MAX] = malloc(QMGR_IDS_MAX * sizeof *ids);
	struct queue_iter it;
	time_t now = time(NULL), next = 0;
	size_t n = 0;
	int dfd;

	if (!ids || queue_iter_open(&it, q->qdir, queue) < 0) {
		if (ids)
			log_error("cannot scan %s: %s", queue, strerror(errno));
		free(ids);
		return;
	}
	dfd = dirfd(it.d);
	while (n < QMGR_IDS_MAX && queue_iter_next(&it, ids[n]) == 1) {
		struct stat st;

		if (due && !q->flush &&
		    fstatat(dfd, ids[n], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_mtime > now) {
			if (next == 0 || st.st_mtime < next)
				next = st.st_mtime;
			continue;
		}
		n++;
	}
	queue_iter_close(&it);
	qsort(ids, n, sizeof *ids, cmp_id);
	size_t i = 0;

	for (; i < n && room(q); i++)
		qmgr_activate(q, queue, ids[i]);
	if (due && i < n) /* no room for all: look again soon */
		q->next_deferred_scan = now + 1;
	else if (due && (next != 0 || n == 0))
		q->next_deferred_scan = next;
	if (!due && i < n)
		q->scan_incoming = 1;
	free(ids);
}

static void
status_reply(struct qmgr *q)
{
	char json[200];
	const char *f[] = {json};

	snprintf(json, sizeof json,
	         "\"deliveries_active\": %zu, \"destinations\": []",
	         qmgr_jobs_busy(q));
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
		q->flush = 1;
	else if (m.type == IPC_STATUS)
		status_reply(q);
	else if (m.type == IPC_DELIVER_ID && m.nfields == 1)
		deliver_id(q, m.field[0]);
	return 0;
}

static int
timeout_ms(const struct qmgr *q, time_t next_incoming)
{
	time_t now = time(NULL), t = next_incoming;

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
		scan(q, "incoming", 0);
		*next_incoming = now + delay;
	}
	if (q->flush ||
	    (q->next_deferred_scan && now >= q->next_deferred_scan)) {
		q->next_deferred_scan = now + delay;
		scan(q, "deferred", 1);
		q->flush = 0;
	}
	qmgr_dispatch(q);
}

static void
loop(struct qmgr *q)
{
	time_t next_incoming = 0;

	while (!role_stopping()) {
		struct pollfd p[1 + QMGR_JOBS_MAX];
		size_t js[QMGR_JOBS_MAX];
		nfds_t n = 1;

		work(q, &next_incoming);
		p[0] = (struct pollfd){3, POLLIN, 0};
		for (size_t i = 0; i < QMGR_JOBS_MAX; i++)
			if (q->jobs[i]) {
				js[n - 1] = i;
				p[n++] = (struct pollfd){q->jobs[i]->pipe,
				                         POLLIN, 0};
			}
		if (poll(p, n, timeout_ms(q, next_incoming)) < 0) {
			if (errno == EINTR)
				continue;
			log_fatal(71, "poll: %s", strerror(errno));
		}
		for (nfds_t i = 1; i < n; i++)
			if (p[i].revents)
				qmgr_job_input(q, js[i - 1]);
		if (p[0].revents && link_input(q) < 0)
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
	scan(q, "active", 0); /* left over from a crash: at least once */
	q->next_deferred_scan = time(NULL);
	loop(q);
	drain_jobs(q);
	return 0;
}
