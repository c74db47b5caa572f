/*
 * mailbox_lock.c - dotlock and fcntl locking of a mailbox (see
 * mailbox_lock.h). Used by local delivery, which runs as the mailbox owner
 * (never root), and later by pop3d and `mail` in the same user's process.
 * Inputs: the mailbox path (built by the caller from configuration and a
 * validated user name) and whatever other processes left in the spool
 * directory: an existing lock file is never trusted beyond its lstat().
 */
#include "mailbox_lock.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void
mailbox_lock_defaults(struct mailbox_lock_opts *o)
{
	o->timeout_ms = MAILBOX_LOCK_TIMEOUT_MS;
	o->retry_ms = MAILBOX_LOCK_RETRY_MS;
	o->tries = MAILBOX_LOCK_TRIES;
	o->stale_s = MAILBOX_LOCK_STALE_S;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer; a
	 * failure would only make the time bound expire early. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return UINT64_MAX / 2;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec req = {(time_t)(ms / 1000),
	                       (long)(ms % 1000) * 1000000};
	struct timespec rem;

	while (nanosleep(&req, &rem) < 0 && errno == EINTR)
		req = rem;
}

/*
 * Call attempt(arg) until it returns 0, fails with an errno other than
 * EAGAIN, or the bounds in *o run out (then -1 with errno EAGAIN).
 */
static int
retry(int (*attempt)(void *), void *arg, const struct mailbox_lock_opts *o)
{
	uint64_t start = now_ms(), elapsed;
	unsigned n = 0;

	for (;;) {
		if (attempt(arg) == 0)
			return 0;
		if (errno != EAGAIN)
			return -1;
		if (++n >= o->tries)
			break;
		elapsed = now_ms() - start;
		if (elapsed >= o->timeout_ms)
			break;
		if (elapsed + o->retry_ms > o->timeout_ms)
			sleep_ms((unsigned)(o->timeout_ms - elapsed));
		else
			sleep_ms(o->retry_ms);
	}
	errno = EAGAIN;
	return -1;
}

struct dot_try {
	struct mailbox_dotlock *l;
	const struct mailbox_lock_opts *o;
};

/* Fill the lock file we just created and remember its identity. */
static int
dot_fill(struct mailbox_dotlock *l, int fd)
{
	char pid[32];
	struct stat st;
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid()), saved;

	if (n < 0 || (size_t)n >= sizeof pid)
		n = 0;
	if (io_write_all(fd, pid, (size_t)n) < 0 || fstat(fd, &st) < 0) {
		saved = errno;
		io_close(fd);
		unlink(l->path);
		errno = saved;
		return -1;
	}
	if (io_close(fd) < 0) {
		saved = errno;
		unlink(l->path);
		errno = saved;
		return -1;
	}
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->held = 1;
	return 0;
}

static int
is_stale(const struct stat *st, unsigned stale_s)
{
	time_t now = time(NULL);
	long long age = (long long)now - (long long)st->st_mtime;

	/* A lock from the future means the clock was set (or reset) since
	 * it was made: routers boot without a real-time clock. */
	return age > (long long)stale_s || -age > (long long)stale_s;
}

/*
 * Remove the lock file if it is stale: 1 removed (or already gone), 0 it is
 * fresh, -1 error. The second lstat narrows, but cannot close, the window
 * in which another process replaces the stale file with a fresh one.
 */
static int
dot_break_stale(const char *path, unsigned stale_s)
{
	struct stat st, again;
	char esc[MAILBOX_LOCK_PATH_MAX];

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 1 : -1;
	if (!is_stale(&st, stale_s))
		return 0;
	if (lstat(path, &again) < 0)
		return errno == ENOENT ? 1 : -1;
	if (again.st_ino != st.st_ino || again.st_dev != st.st_dev ||
	    again.st_mtime != st.st_mtime)
		return 0;
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	str_escape(esc, sizeof esc, path, strlen(path));
	log_warn("removed stale lock file %s (mtime %lld)", esc,
	         (long long)st.st_mtime);
	return 1;
}

static int
dot_attempt(void *arg)
{
	struct dot_try *t = arg;
	int fd, pass, r = 0;

	/* Two passes: the second follows the removal of a stale lock. */
	for (pass = 0; pass < 2; pass++) {
		fd = io_open(t->l->path,
		             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
		if (fd >= 0)
			return dot_fill(t->l, fd);
		if (errno != EEXIST)
			return -1;
		r = dot_break_stale(t->l->path, t->o->stale_s);
		if (r <= 0)
			break;
	}
	if (r >= 0)
		errno = EAGAIN;
	return -1;
}

int
mailbox_lock_dot_acquire(struct mailbox_dotlock *l, const char *mbox_path,
                         const struct mailbox_lock_opts *o)
{
	struct dot_try t = {l, o};

	l->held = 0;
	if (snprintf(l->path, sizeof l->path, "%s.lock", mbox_path) >=
	    (int)sizeof l->path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return retry(dot_attempt, &t, o);
}

/* 0 when the lock file at l->path is still the one we created. */
static int
dot_is_ours(const struct mailbox_dotlock *l)
{
	struct stat st;

	if (lstat(l->path, &st) < 0)
		return -1;
	if (st.st_dev != l->dev || st.st_ino != l->ino) {
		errno = ESTALE;
		return -1;
	}
	return 0;
}

int
mailbox_lock_dot_touch(struct mailbox_dotlock *l)
{
	if (!l->held) {
		errno = ESTALE;
		return -1;
	}
	if (dot_is_ours(l) < 0) {
		if (errno == ENOENT)
			errno = ESTALE;
		return -1;
	}
	return utimensat(AT_FDCWD, l->path, NULL, AT_SYMLINK_NOFOLLOW);
}

int
mailbox_lock_dot_release(struct mailbox_dotlock *l)
{
	if (!l->held)
		return 0;
	l->held = 0;
	if (dot_is_ours(l) < 0)
		return errno == ENOENT ? 0 : -1;
	if (unlink(l->path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

struct fcntl_try {
	int fd;
	short type;
};

static int
fcntl_attempt(void *arg)
{
	struct fcntl_try *t = arg;
	struct flock fl;
	int r;

	memset(&fl, 0, sizeof fl);
	fl.l_type = t->type;
	fl.l_whence = SEEK_SET;
	do
		r = fcntl(t->fd, F_SETLK, &fl);
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno == EACCES)
		errno = EAGAIN; /* POSIX allows either for "held" */
	return r < 0 ? -1 : 0;
}

int
mailbox_lock_fcntl_acquire(int fd, short type,
                           const struct mailbox_lock_opts *o)
{
	struct fcntl_try t = {fd, type};

	return retry(fcntl_attempt, &t, o);
}

int
mailbox_lock_fcntl_release(int fd)
{
	struct fcntl_try t = {fd, F_UNLCK};

	return fcntl_attempt(&t);
}
