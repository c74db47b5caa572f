/*
 * qfile_gsync.c - group commit of a queue directory: step 5 of the write
 * protocol (docs/queue-format.md), the directory fsync that makes a
 * rename durable, shared between the processes that renamed into the same
 * directory at nearly the same time (20 smtpd sessions ending DATA
 * together need one directory fsync, not 20).
 *
 * The protocol, through QDIR/public/commit.QUEUE for DIR = QDIR/QUEUE
 * (public/ belongs to mail_owner; not in DIR itself, where every name is
 * a message): the file holds C, the number of directory fsyncs completed under
 * its lock. A writer, after its rename returned:
 *   1. takes LOCK_SH: now no fsync is in flight (fsyncs run under
 *      LOCK_EX), reads C and drops the lock. Every fsync numbered C+1 or
 *      later starts after this moment, so after the rename;
 *   2. takes LOCK_EX and reads C again: when it reached C+1, such an
 *      fsync has completed and the rename is durable; otherwise it fsyncs
 *      the directory itself, writes C+1 and drops the lock.
 * A failed fsync does not advance C: every waiter then syncs on its own
 * and sees the error itself. C needs no durability (it only orders
 * processes that are running); a lock file replaced under a running
 * writer only splits the group in two, each still correct. When .commit
 * cannot be used (no public/, no permission, not ours, no flock), the directory
 * is fsynced alone, as before.
 */
#include "qfile.h"
#include "util/io.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int
lock(int fd, int op)
{
	int r;

	do
		r = flock(fd, op);
	while (r < 0 && errno == EINTR);
	return r;
}

static uint64_t
count(int fd)
{
	uint64_t c = 0;

	if (pread(fd, &c, sizeof c, 0) != (ssize_t)sizeof c)
		c = 0;
	return c;
}

/* Only a lock file of our own that nobody else can open: another user
 * could otherwise hold its lock or write a count that skips our fsync. */
static int
trusted(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       st.st_uid == geteuid() && (st.st_mode & 077) == 0;
}

/* The group protocol on an open directory and lock file: 0 durable, -1. */
static int
group(int dfd, int lfd)
{
	uint64_t c0, c;
	int r = 0;

	if (lock(lfd, LOCK_SH) < 0)
		return io_fsync(dfd);
	c0 = count(lfd);
	if (lock(lfd, LOCK_EX) < 0) /* converts: no fsync in between counts */
		return io_fsync(dfd);
	c = count(lfd);
	if (c < c0 + 1) {
		r = io_fsync(dfd);
		c++;
		/* a failed pwrite leaves C behind: the others sync alone */
		if (r == 0 && pwrite(lfd, &c, sizeof c, 0) != (ssize_t)sizeof c)
			log_warn("cannot update the group commit count: %s",
			         strerror(errno));
	}
	lock(lfd, LOCK_UN); /* close() drops it anyway */
	return r;
}

/* QDIR/public/commit.QUEUE for DIR = QDIR/QUEUE; -1 when DIR has no
 * parent part or the path does not fit (then the plain fsync). */
static int
lock_path(char *out, size_t cap, const char *dir)
{
	const char *slash = strrchr(dir, '/');
	int n;

	if (!slash || slash == dir || !slash[1])
		return -1;
	n = snprintf(out, cap, "%.*s/public/commit.%s", (int)(slash - dir), dir,
	             slash + 1);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int
qfile_sync_dir(const char *dir)
{
	char path[600];
	int dfd, lfd, r, saved;

	dfd = io_open(dir, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0)
		return -1;
	lfd = -1;
	if (lock_path(path, sizeof path, dir) == 0)
		lfd = io_open(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
	if (lfd >= 0 && !trusted(lfd)) {
		io_close(lfd);
		lfd = -1;
	}
	r = lfd >= 0 ? group(dfd, lfd) : io_fsync(dfd);
	saved = errno;
	if (lfd >= 0)
		io_close(lfd);
	io_close(dfd);
	errno = saved;
	return r;
}
