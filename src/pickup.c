/*
 * pickup.c - the pickup role: runs as mail_owner, started by the master.
 * Takes each file that `sendmail` left in maildrop/ (UNTRUSTED: any local
 * user wrote it, and may still be writing to it), reads it once while the
 * validating parser checks every byte, into a private unlinked copy; then
 * writes a queue file of its own into incoming/ from that copy, with the
 * submitter taken from the file's owner uid, and unlinks the original.
 * A file that fails validation moves to corrupt/ with a log line.
 */
#define _GNU_SOURCE /* pipe2, O_TMPFILE */
#include "cmd_tinymta.h"
#include "ipc.h"
#include "pickup.h"
#include "qfile.h"
#include "qfile_check.h"
#include "queue.h"
#include "rewrite.h"
#include "role.h"
#include "wake.h"
#include "util/io.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define PICKUP_RESCAN_MS 60000 /* safety net when a wake-up was lost */
#define COPY_CHUNK 65536

/* Copy fd into an unlinked file in dir while validating it. Returns the
 * copy's descriptor, or -1 with *err/where set (QFILE_ERR_IO: errno). */
static int
copy_validated(int fd, const char *dir, enum qfile_err *err, char *where,
               size_t wcap)
{
	struct qfile_info info;
	struct qcheck *q = mem_big_alloc(sizeof *q);
	unsigned char *buf = mem_big_alloc(COPY_CHUNK);
	int tmp = -1;
	ssize_t n;

	*err = QFILE_ERR_IO;
	if (!q || !buf)
		goto out;
	tmp = io_open(dir, O_TMPFILE | O_RDWR, 0600);
	if (tmp < 0)
		goto out;
	qcheck_init(q, &info, where, wcap);
	while ((n = io_read(fd, buf, COPY_CHUNK)) > 0) {
		qcheck_feed(q, buf, (size_t)n);
		if (io_write_all(tmp, buf, (size_t)n) < 0)
			break;
	}
	if (n != 0) {
		str_copy(where, wcap, strerror(errno));
		io_close(tmp);
		tmp = -1;
		goto out;
	}
	*err = qcheck_finish(q);
	if (*err != QFILE_OK) {
		io_close(tmp);
		tmp = -1;
	}
out:
	mem_big_free(q, sizeof *q);
	mem_big_free(buf, COPY_CHUNK);
	return tmp;
}

static int
put_content(void *w, const void *p, size_t n)
{
	return qfile_put_content(w, p, n);
}

/* Write the new queue file from the validated private copy, with the
 * envelope and header addresses rewritten for queue entry (rewrite.h).
 * 0; -1 write error (errno); -2 a lookup table could not be read (why):
 * the maildrop file stays for the next round. */
static int
rewrite(const struct conf *c, struct qfile_reader *r, const char *incoming,
        uid_t uid, char id[QFILE_ID_MAX], char *why, size_t whylen)
{
	struct qfile_writer *w = mem_big_alloc(sizeof *w);
	struct qfile_rcpt *rc = malloc(sizeof *rc);
	char name[QFILE_ATTR_NAME_MAX + 1], value[QFILE_ATTR_MAX + 1], num[24];
	char addr[QFILE_ADDR_MAX + 1];
	int ok = w && rc && qfile_create(w, incoming, r->info.flags) == 0;
	int maperr = 0, cr = 0;

	for (size_t i = 0; ok && i < r->info.nattr; i++)
		ok = qfile_attr(r, i, name, sizeof name, value, sizeof value) ==
		         0 &&
		     (strcmp(name, "uid") == 0 ||
		      qfile_put_attr(w, name, value) == 0);
	snprintf(num, sizeof num, "%lu", (unsigned long)uid);
	ok = ok && qfile_put_attr(w, "uid", num) == 0;
	if (ok && rewrite_addr(c, RW_ENTRY_SENDER, r->info.sender, addr,
	                       sizeof addr, why, whylen) < 0)
		ok = 0, maperr = 1;
	ok = ok && qfile_put_sender(w, addr) == 0;
	for (size_t i = 0; ok && i < r->info.nrcpt; i++) {
		ok = qfile_rcpt(r, i, rc) == 0;
		if (ok && rewrite_addr(c, RW_ENTRY_RCPT, rc->addr, addr,
		                       sizeof addr, why, whylen) < 0)
			ok = 0, maperr = 1;
		ok = ok && qfile_put_rcpt(w, addr, rc->orcpt, rc->notify) == 0;
	}
	if (ok &&
	    (cr = rewrite_content(c, 0, r, put_content, w, why, whylen)) < 0)
		ok = 0, maperr = cr == -2;
	ok = ok && qfile_commit(w, id) == 0;
	if (!ok && w && w->fd >= 0)
		qfile_abort(w);
	mem_big_free(w, sizeof *w);
	free(rc);
	return ok ? 0 : maperr ? -2 : -1;
}

static void
quarantine(struct pickup *p, const char *id, const char *why)
{
	if (queue_quarantine(p->qdir, "maildrop", id, why) < 0 &&
	    unlink(p->path) < 0)
		log_error("%s: cannot remove bad maildrop file: %s", id,
		          strerror(errno));
}

/* 0 done (picked up or quarantined), -1 try again later. */
static int
pickup_file(struct pickup *p, const char *id)
{
	struct qfile_reader r;
	struct stat st;
	enum qfile_err err;
	char where[300], newid[QFILE_ID_MAX], incoming[QUEUE_PATH_MAX];
	int fd, copy;

	if (queue_path(p->path, sizeof p->path, p->qdir, "maildrop", id) < 0 ||
	    queue_path(incoming, sizeof incoming, p->qdir, "incoming", NULL) <
	        0)
		return -1;
	fd = io_open(p->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		io_close(fd);
		quarantine(p, id, "not a regular file with one link");
		return 0;
	}
	copy = copy_validated(fd, incoming, &err, where, sizeof where);
	io_close(fd);
	if (copy < 0) {
		char why[400];

		qfile_describe(why, sizeof why, err, where, errno);
		if (err == QFILE_ERR_IO) {
			log_warn("%s: uid=%lu: cannot copy: %s", id,
			         (unsigned long)st.st_uid, why);
			return -1;
		}
		quarantine(p, id, why);
		return 0;
	}
	if (qfile_open_fd(&r, copy, 0, &err, where, sizeof where) < 0) {
		log_error("%s: private copy failed to validate: %s", id,
		          qfile_strerror(err));
		return -1;
	}
	switch (rewrite(p->conf, &r, incoming, st.st_uid, newid, where,
	                sizeof where)) {
	case -2:
		log_warn("%s: uid=%lu: left in maildrop for the next pickup: "
		         "%s",
		         id, (unsigned long)st.st_uid, where);
		qfile_close(&r);
		return -1;
	case -1:
		log_warn("%s: cannot write queue file in %s: %s", id, incoming,
		         strerror(errno));
		qfile_close(&r);
		return -1;
	}
	log_info("%s: uid=%lu from=<%s>", newid, (unsigned long)st.st_uid,
	         r.info.sender); /* as submitted; the file holds it rewritten */
	qfile_close(&r);
	if (unlink(p->path) < 0)
		log_error("%s: cannot remove %s: %s", newid, p->path,
		          strerror(errno));
	return 0;
}

static int
scan(struct pickup *p)
{
	struct queue_iter it;
	char id[QFILE_ID_MAX];
	int n = 0, r;

	if (queue_iter_open(&it, p->qdir, "maildrop") < 0) {
		log_error("cannot open %s/maildrop: %s", p->qdir,
		          strerror(errno));
		return 0;
	}
	while ((r = queue_iter_next(&it, id)) == 1)
		if (pickup_file(p, id) == 0)
			n++;
	queue_iter_close(&it);
	return n;
}

int
tinymta_pickup_main(int argc, char **argv)
{
	struct pickup *p = calloc(1, sizeof *p);
	struct role role;
	int wake;

	(void)argc;
	(void)argv;
	if (!p || role_init(&role, "pickup") < 0)
		return 78;
	str_copy(p->qdir, sizeof p->qdir,
	         conf_get(role.conf, "queue_directory"));
	/* 0666: anyone may wake pickup (sendmail runs as any user) */
	wake = wake_bind(p->qdir, "pickup", 0666);
	if (wake < 0)
		log_fatal(71, "cannot bind %s/public/pickup: %s", p->qdir,
		          strerror(errno));
	while (!role_stopping()) {
		struct pollfd fds[2] = {{wake, POLLIN, 0}, {3, POLLIN, 0}};

		wake_drain(wake);
		p->conf = role.conf; /* a reload may have replaced it */
		if (scan(p) > 0)
			ipc_send(3, IPC_WAKEUP, NULL, 0, NULL, 0);
		if (poll(fds, 2, PICKUP_RESCAN_MS) < 0 && errno != EINTR)
			log_fatal(71, "poll: %s", strerror(errno));
		if (fds[1].revents && role_link_input(&role, 3) < 0)
			break;
	}
	return 0;
}
