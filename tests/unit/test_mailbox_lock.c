/*
 * test_mailbox_lock.c - dotlock and fcntl locks on real files in a
 * temporary directory, with forked children as the other lock holders.
 */
#include "mailbox_lock.h"
#include "t.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];
static char mbox[128];
static char lockp[160];

static long
ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (long)(b.tv_sec - a->tv_sec) * 1000 +
	       (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void
fast_opts(struct mailbox_lock_opts *o, unsigned timeout_ms)
{
	mailbox_lock_defaults(o);
	o->timeout_ms = timeout_ms;
	o->retry_ms = 20;
	o->tries = 1000;
}

static void
make_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

static void
set_mtime(const char *path, time_t t)
{
	struct timeval tv[2] = {{t, 0}, {t, 0}};

	if (lutimes(path, tv) < 0) {
		perror("lutimes");
		exit(2);
	}
}

/* A child that holds a lock until the parent closes the pipe. The child
 * writes one byte when it holds the lock. kind: 'd' dotlock, 'w'/'r'
 * fcntl write/read lock on fd. */
struct holder {
	pid_t pid;
	int wfd;
};

static void
child_hold(char kind, int ready, int wait)
{
	struct mailbox_lock_opts o;
	struct mailbox_dotlock l = {.held = 0};
	char c = 'x';
	int fd = -1, r;

	fast_opts(&o, 1000);
	if (kind == 'd') {
		r = mailbox_lock_dot_acquire(&l, mbox, &o);
	} else {
		fd = open(mbox, O_RDWR | O_CREAT, 0600);
		r = fd < 0 ? -1
		           : mailbox_lock_fcntl_acquire(
		                 fd, kind == 'w' ? F_WRLCK : F_RDLCK, &o);
	}
	if (r < 0 || write(ready, &c, 1) != 1)
		_exit(3);
	if (read(wait, &c, 1) < 0)
		_exit(4);
	if (kind == 'd' && mailbox_lock_dot_release(&l) < 0)
		_exit(5);
	_exit(0);
}

static struct holder
hold(char kind)
{
	struct holder h = {-1, -1};
	int ready[2], wait[2];
	char c;

	if (pipe(ready) < 0 || pipe(wait) < 0)
		exit(2);
	h.pid = fork();
	if (h.pid < 0)
		exit(2);
	if (h.pid == 0) {
		close(ready[0]);
		close(wait[1]);
		child_hold(kind, ready[1], wait[0]);
	}
	close(ready[1]);
	close(wait[0]);
	if (read(ready[0], &c, 1) != 1)
		fprintf(stderr, "holder %c did not start\n", kind);
	close(ready[0]);
	h.wfd = wait[1];
	return h;
}

static int
unhold(struct holder h)
{
	int st;

	close(h.wfd);
	if (waitpid(h.pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

static void
test_dot_basic(void)
{
	struct mailbox_lock_opts o;
	struct mailbox_dotlock l = {.held = 0};
	struct stat st;
	char buf[32] = "", want[32];
	FILE *f;

	fast_opts(&o, 200);
	T_CHECK(mailbox_lock_dot_acquire(&l, mbox, &o) == 0, "acquire: %s",
	        strerror(errno));
	T_STREQ(l.path, lockp, "lock path");
	T_CHECK(lstat(lockp, &st) == 0 && S_ISREG(st.st_mode) &&
	            (st.st_mode & 07777) == 0600,
	        "lock file 0600");
	f = fopen(lockp, "r");
	if (f) {
		if (!fgets(buf, sizeof buf, f))
			buf[0] = '\0';
		fclose(f);
	}
	snprintf(want, sizeof want, "%ld\n", (long)getpid());
	T_STREQ(buf, want, "lock file holds our pid");
	T_CHECK(mailbox_lock_dot_release(&l) == 0, "release");
	T_CHECK(access(lockp, F_OK) < 0 && errno == ENOENT, "lock removed");
	T_CHECK(mailbox_lock_dot_release(&l) == 0, "second release is a no-op");
}

static void
test_dot_held_by_child(void)
{
	struct mailbox_lock_opts o;
	struct mailbox_dotlock l = {.held = 0};
	struct holder h = hold('d');
	struct timespec t0;
	long ms;
	int r;

	fast_opts(&o, 300);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = mailbox_lock_dot_acquire(&l, mbox, &o);
	ms = ms_since(&t0);
	T_CHECK(r < 0 && errno == EAGAIN, "held: EAGAIN (r=%d %s)", r,
	        strerror(errno));
	T_CHECK(ms >= 290 && ms < 3000, "waited about the bound: %ld ms", ms);
	T_CHECK(l.held == 0, "not held");
	T_CHECK(unhold(h) == 0, "child released its lock");
	T_CHECK(mailbox_lock_dot_acquire(&l, mbox, &o) == 0, "free again");
	T_CHECK(mailbox_lock_dot_release(&l) == 0, "release");
}

static void
test_dot_tries_bound(void)
{
	struct mailbox_lock_opts o;
	struct mailbox_dotlock l = {.held = 0};
	struct timespec t0;
	long ms;

	make_file(lockp, "1\n");
	fast_opts(&o, 10000);
	o.tries = 3;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	T_CHECK(mailbox_lock_dot_acquire(&l, mbox, &o) < 0 && errno == EAGAIN,
	        "fresh foreign lock: EAGAIN");
	ms = ms_since(&t0);
	T_CHECK(ms >= 35 && ms < 2000, "3 tries, 2 pauses of 20 ms: %ld ms",
	        ms);
	T_CHECK(access(lockp, F_OK) == 0, "fresh lock left alone");
	unlink(lockp);
}

static void
test_dot_stale(void)
{
	struct mailbox_lock_opts o;
	struct mailbox_dotlock l = {.held = 0};
	struct stat st;
	static const long ages[] = {-1000, 1000, -301, 301};
	size_t i;

	fast_opts(&o, 200);
	o.stale_s = 300;
	for (i = 0; i < sizeof ages / sizeof ages[0]; i++) {
		make_file(lockp, "99999\n");
		set_mtime(lockp, time(NULL) + ages[i]);
		T_CHECK(mailbox_lock_dot_acquire(&l, mbox, &o) == 0,
		        "stale lock (age %ld) broken: %s", -ages[i],
		        strerror(errno));
		T_CHECK(lstat(lockp, &st) == 0 && st.st_ino == l.ino,
		        "the lock is ours now");
		T_CHECK(mailbox_lock_dot_release(&l) == 0, "release");
	}
	make_file(lockp, "99999\n");
	set_mtime(lockp, time(NULL) - 250);
	T_CHECK(mailbox_lock_dot_acquire(&l, mbox, &o) < 0 && errno == EAGAIN,
	        "lock younger than stale_s is respected");
	unlink(lockp);
}

static void
test_dot_symlink(void)
{
	struct mailbox_lock_opts o;
	struct mailbox_dotlock l = {.held = 0};
	char target[160];

	snprintf(target, sizeof target, "%s/target", dir);
	T_CHECK(symlink(target, lockp) == 0, "symlink");
	fast_opts(&o, 100);
	T_CHECK(mailbox_lock_dot_acquire(&l, mbox, &o) < 0 && errno == EAGAIN,
	        "a symlink lock is a held lock");
	T_CHECK(access(target, F_OK) < 0, "symlink target not created");
	unlink(lockp);
}

static void
test_dot_replaced(void)
{
	struct mailbox_lock_opts o;
	struct mailbox_dotlock l = {.held = 0};
	char other[160];
	struct stat st;

	fast_opts(&o, 100);
	snprintf(other, sizeof other, "%s/other", dir);
	T_CHECK(mailbox_lock_dot_acquire(&l, mbox, &o) == 0, "acquire");
	set_mtime(lockp, time(NULL) - 1000);
	T_CHECK(mailbox_lock_dot_touch(&l) == 0, "touch");
	T_CHECK(lstat(lockp, &st) == 0 && st.st_mtime >= time(NULL) - 5,
	        "touch refreshed mtime");
	/* Somebody broke our lock as stale and took it. */
	make_file(other, "12345\n");
	T_CHECK(rename(other, lockp) == 0, "replace");
	T_CHECK(mailbox_lock_dot_touch(&l) < 0 && errno == ESTALE,
	        "touch of a lock not ours: ESTALE");
	T_CHECK(mailbox_lock_dot_release(&l) < 0 && errno == ESTALE,
	        "release of a lock not ours: ESTALE");
	T_CHECK(access(lockp, F_OK) == 0, "their lock left alone");
	unlink(lockp);
}

static void
test_dot_errors(void)
{
	struct mailbox_lock_opts o;
	struct mailbox_dotlock l = {.held = 0};
	char longp[MAILBOX_LOCK_PATH_MAX];
	char missing[160];

	fast_opts(&o, 100);
	memset(longp, 'a', sizeof longp - 5);
	longp[sizeof longp - 5] = '\0'; /* + ".lock" does not fit */
	T_CHECK(mailbox_lock_dot_acquire(&l, longp, &o) < 0 &&
	            errno == ENAMETOOLONG,
	        "path too long");
	longp[sizeof longp - 6] = '\0'; /* fits exactly; the dir is missing */
	T_CHECK(mailbox_lock_dot_acquire(&l, longp, &o) < 0 &&
	            errno == ENAMETOOLONG,
	        "too long for the kernel: %s", strerror(errno));
	snprintf(missing, sizeof missing, "%s/nodir/user", dir);
	T_CHECK(mailbox_lock_dot_acquire(&l, missing, &o) < 0 &&
	            errno == ENOENT,
	        "missing directory: ENOENT, no retries");
	l.held = 0;
	T_CHECK(mailbox_lock_dot_touch(&l) < 0 && errno == ESTALE,
	        "touch without a lock");
}

static void
test_fcntl(void)
{
	struct mailbox_lock_opts o;
	struct holder h;
	struct timespec t0;
	long ms;
	int fd, r;

	make_file(mbox, "");
	fd = open(mbox, O_RDWR);
	fast_opts(&o, 250);
	h = hold('w');
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = mailbox_lock_fcntl_acquire(fd, F_WRLCK, &o);
	ms = ms_since(&t0);
	T_CHECK(r < 0 && errno == EAGAIN, "write lock held by child: EAGAIN");
	T_CHECK(ms >= 240 && ms < 3000, "waited the bound: %ld ms", ms);
	T_CHECK(mailbox_lock_fcntl_acquire(fd, F_RDLCK, &o) < 0 &&
	            errno == EAGAIN,
	        "read lock also refused");
	T_CHECK(unhold(h) == 0, "child done");
	T_CHECK(mailbox_lock_fcntl_acquire(fd, F_WRLCK, &o) == 0, "free: ok");
	T_CHECK(mailbox_lock_fcntl_release(fd) == 0, "release");
	h = hold('r');
	T_CHECK(mailbox_lock_fcntl_acquire(fd, F_RDLCK, &o) == 0,
	        "read locks share");
	T_CHECK(mailbox_lock_fcntl_acquire(fd, F_WRLCK, &o) < 0 &&
	            errno == EAGAIN,
	        "write lock waits for the reader");
	T_CHECK(unhold(h) == 0, "child done");
	T_CHECK(mailbox_lock_fcntl_acquire(-1, F_WRLCK, &o) < 0 &&
	            errno == EBADF,
	        "bad fd: EBADF at once");
	close(fd);
	unlink(mbox);
}

static void
test_defaults(void)
{
	struct mailbox_lock_opts o;

	mailbox_lock_defaults(&o);
	T_CHECK(o.timeout_ms == MAILBOX_LOCK_TIMEOUT_MS &&
	            o.retry_ms == MAILBOX_LOCK_RETRY_MS &&
	            o.tries == MAILBOX_LOCK_TRIES &&
	            o.stale_s == MAILBOX_LOCK_STALE_S,
	        "defaults");
	T_CHECK((uint64_t)o.retry_ms * o.tries >= o.timeout_ms,
	        "the count bound does not cut the time bound short");
}

int
main(void)
{
	snprintf(dir, sizeof dir, "/tmp/t_mlock.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(mbox, sizeof mbox, "%s/user", dir);
	snprintf(lockp, sizeof lockp, "%s/user.lock", dir);
	signal(SIGPIPE, SIG_IGN);
	test_defaults();
	test_dot_basic();
	test_dot_held_by_child();
	test_dot_tries_bound();
	test_dot_stale();
	test_dot_symlink();
	test_dot_replaced();
	test_dot_errors();
	test_fcntl();
	rmdir(dir);
	return T_DONE();
}
