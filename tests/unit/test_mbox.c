/*
 * test_mbox.c - mbox delivery on real files in a temporary directory:
 * byte-exact records, refusals of unsafe mailboxes, lock contention with
 * forked children, a file replaced between open and lock, size limits,
 * group commit, a full file system (root only), and the Delivered-To
 * scanner.
 */
#include "mbox.h"
#include "util/io.h"
#include "t.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T1 1795970708 /* Sun Nov 29 16:45:08 2026 UTC */
#define T2 1793513109 /* Sun Nov  1 06:05:09 2026 UTC */
#define FROM1 "From alice@example.org Sun Nov 29 16:45:08 2026\n"
#define HDR1 "Return-Path: <alice@example.org>\nDelivered-To: bob@example.org\n"

static char dir[64];
static char mbox[200];

/* ---- helpers ---- */

struct src {
	const char *p;
	size_t len, pos, chunk;
	size_t fail_at; /* fail with EIO once pos reaches this; 0: never */
};

static ssize_t
src_read(void *ctx, void *buf, size_t cap)
{
	struct src *s = ctx;
	size_t n = s->len - s->pos;

	if (s->fail_at && s->pos >= s->fail_at) {
		errno = EIO;
		return -1;
	}
	if (s->chunk && n > s->chunk)
		n = s->chunk;
	if (n > cap)
		n = cap;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

static struct src
src_of(const char *text, size_t chunk)
{
	struct src s = {text, strlen(text), 0, chunk, 0};

	return s;
}

static struct mbox_msg
msg_of(struct src *s, const char *sender)
{
	struct mbox_msg m = {sender, "bob@example.org", T1, src_read, s};

	return m;
}

static void
opts_fast(struct mbox_opts *o)
{
	mbox_opts_defaults(o, getuid(), getgid());
	o->lock.timeout_ms = 300;
	o->lock.retry_ms = 20;
	o->lock.tries = 1000;
}

static char *
slurp(const char *path, size_t *len)
{
	char *p = NULL;

	if (io_slurp(path, 1 << 24, &p, len) < 0) {
		*len = 0;
		return NULL;
	}
	return p;
}

static void
put_file(const char *path, const char *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || io_write_all(fd, p, len) < 0 || close(fd) < 0) {
		perror(path);
		exit(2);
	}
}

static int
file_is(const char *path, const char *want, size_t wlen, const char *ctx)
{
	size_t len;
	char *got = slurp(path, &len);
	int ok = got && len == wlen && memcmp(got, want, len) == 0;

	T_CHECK(ok, "%s: file differs (%zu bytes, want %zu)\n--- got\n%.*s",
	        ctx, len, wlen, (int)(len > 2000 ? 2000 : len), got ? got : "");
	free(got);
	return ok;
}

#define FILE_IS(path, lit, ctx) file_is(path, lit, sizeof(lit) - 1, ctx)

/* "WHAT: strerror(err)" as this libc spells it (glibc and musl differ). */
static const char *
why(const char *what, int err)
{
	static char buf[256];

	snprintf(buf, sizeof buf, "%s: %s", what, strerror(err));
	return buf;
}

static void
reset(void)
{
	unlink(mbox);
}

static int
deliver_text(const char *text, size_t chunk, struct mbox_result *res)
{
	struct mbox_opts o;
	struct src s = src_of(text, chunk);
	struct mbox_msg m = msg_of(&s, "alice@example.org");

	opts_fast(&o);
	return (int)mbox_deliver(mbox, &o, &m, res);
}

static int
lock_left(void)
{
	char p[256];

	snprintf(p, sizeof p, "%s.lock", mbox);
	return access(p, F_OK) == 0;
}

/* ---- records ---- */

static void
test_new_and_existing(void)
{
	struct mbox_result r;
	struct stat st;

	reset();
	T_CHECK(deliver_text("Subject: hi\n\nbody\n", 0, &r) == MBOX_OK,
	        "new mailbox: %s %s", r.dsn, r.reason);
	T_STREQ(r.dsn, "2.0.0", "dsn");
	T_STREQ(r.reason, "delivered to mailbox", "reason");
	FILE_IS(mbox, FROM1 HDR1 "Subject: hi\n\nbody\n\n", "new mailbox");
	T_CHECK(stat(mbox, &st) == 0 && (st.st_mode & 07777) == 0600 &&
	            st.st_uid == getuid(),
	        "created 0600, ours");
	T_CHECK(!lock_left(), "dotlock removed");
	T_CHECK(deliver_text("Subject: two\n\nmore\n", 0, &r) == MBOX_OK,
	        "existing mailbox");
	FILE_IS(mbox,
	        FROM1 HDR1 "Subject: hi\n\nbody\n\n" FROM1 HDR1
	                   "Subject: two\n\nmore\n\n",
	        "appended");
}

static void
test_escaping(void)
{
	static const char in[] = "Subject: x\n\nFrom here\n>From there\n"
	                         ">>From everywhere\nFromage\n From x\n"
	                         ">>> quoted\n>From\nFrom\n>\n\nFrom ";
	static const char want[] =
	    FROM1 HDR1 "Subject: x\n\n>From here\n>>From there\n"
	               ">>>From everywhere\nFromage\n From x\n"
	               ">>> quoted\n>From\nFrom\n>\n\n>From \n\n";
	static const size_t chunks[] = {0, 1, 2, 3, 5, 7};
	struct mbox_result r;
	size_t i;

	for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		char ctx[64];

		reset();
		snprintf(ctx, sizeof ctx, "mboxrd escaping, chunk %zu",
		         chunks[i]);
		T_CHECK(deliver_text(in, chunks[i], &r) == MBOX_OK, "%s", ctx);
		FILE_IS(mbox, want, ctx);
	}
	/* A held prefix at the very end of content without newline. */
	reset();
	T_CHECK(deliver_text("a\n>>Fro", 2, &r) == MBOX_OK, "held tail");
	FILE_IS(mbox, FROM1 HDR1 "a\n>>Fro\n\n", "held prefix released");
}

static void
test_endings(void)
{
	struct mbox_result r;
	struct mbox_opts o;
	struct src s = src_of("", 0);
	struct mbox_msg m = msg_of(&s, "");

	reset();
	T_CHECK(deliver_text("Subject: x\n\nno newline", 0, &r) == MBOX_OK,
	        "no final newline");
	FILE_IS(mbox, FROM1 HDR1 "Subject: x\n\nno newline\n\n",
	        "newline added, then the blank line");
	reset();
	T_CHECK(deliver_text("", 0, &r) == MBOX_OK, "empty content");
	FILE_IS(mbox, FROM1 HDR1 "\n", "empty content");
	reset();
	opts_fast(&o);
	m.date = T2;
	T_CHECK(mbox_deliver(mbox, &o, &m, &r) == MBOX_OK, "null sender");
	FILE_IS(mbox,
	        "From MAILER-DAEMON Sun Nov  1 06:05:09 2026\n"
	        "Return-Path: <>\nDelivered-To: bob@example.org\n\n",
	        "null sender, one-digit day");
	/* Someone left the mailbox without a final newline. */
	put_file(mbox, "junk", 4);
	T_CHECK(deliver_text("x\n", 0, &r) == MBOX_OK, "after junk");
	FILE_IS(mbox, "junk\n" FROM1 HDR1 "x\n\n", "From_ starts a line");
}

/* MBOX_ADDR_MAX at limit-1, limit and limit+1. */
static void
envelope_limits(void)
{
	static char addr[MBOX_ADDR_MAX + 2];
	static const size_t lens[] = {MBOX_ADDR_MAX - 1, MBOX_ADDR_MAX,
	                              MBOX_ADDR_MAX + 1};
	struct mbox_result r;
	struct mbox_opts o;
	struct src s = src_of("x\n", 0);
	struct mbox_msg m = msg_of(&s, "alice@example.org");
	size_t i;

	opts_fast(&o);
	m.recipient = addr;
	for (i = 0; i < 3; i++) {
		memset(addr, 'r', lens[i]);
		addr[lens[i]] = '\0';
		s.pos = 0;
		T_CHECK(mbox_deliver(mbox, &o, &m, &r) ==
		            (lens[i] <= MBOX_ADDR_MAX ? MBOX_OK : MBOX_PERM),
		        "recipient of %zu bytes: %s", lens[i], r.reason);
	}
	m.recipient = "bob@example.org";
	m.sender = addr; /* still MBOX_ADDR_MAX + 1 bytes */
	s.pos = 0;
	T_CHECK(mbox_deliver(mbox, &o, &m, &r) == MBOX_PERM,
	        "sender of MBOX_ADDR_MAX+1 bytes");
	addr[MBOX_ADDR_MAX] = '\0';
	s.pos = 0;
	T_CHECK(mbox_deliver(mbox, &o, &m, &r) == MBOX_OK,
	        "sender of MBOX_ADDR_MAX bytes: %s", r.reason);
}

static void
test_bad_envelope(void)
{
	struct mbox_result r;
	struct mbox_opts o;
	struct src s = src_of("x\n", 0);
	struct mbox_msg m = msg_of(&s, "alice@example.org");

	reset();
	put_file(mbox, "old\n", 4);
	opts_fast(&o);
	m.recipient = "bob@example.org\nX-Injected: yes";
	T_CHECK(mbox_deliver(mbox, &o, &m, &r) == MBOX_PERM, "newline in rcpt");
	T_STREQ(r.dsn, "5.3.0", "dsn");
	m.recipient = "bob@example.org";
	m.sender = "a\rb";
	T_CHECK(mbox_deliver(mbox, &o, &m, &r) == MBOX_PERM, "CR in sender");
	FILE_IS(mbox, "old\n", "nothing written");
	envelope_limits();
}

/* ---- unsafe mailboxes ---- */

static void
test_symlink(void)
{
	char target[256];
	struct mbox_result r;

	reset();
	snprintf(target, sizeof target, "%s/target", dir);
	put_file(target, "precious\n", 9);
	T_CHECK(symlink(target, mbox) == 0, "symlink");
	T_CHECK(deliver_text("x\n", 0, &r) == MBOX_PERM, "symlink: PERM");
	T_STREQ(r.dsn, "5.2.0", "dsn");
	T_STREQ(r.reason, "mailbox is a symbolic link", "reason");
	FILE_IS(target, "precious\n", "target untouched");
	T_CHECK(!lock_left(), "dotlock removed after refusal");
	unlink(mbox);
	unlink(target);
	T_CHECK(symlink(target, mbox) == 0, "dangling symlink");
	T_CHECK(deliver_text("x\n", 0, &r) == MBOX_PERM, "dangling: PERM");
	T_CHECK(access(target, F_OK) < 0, "dangling target not created");
	unlink(mbox);
}

static void
test_hardlink(void)
{
	char other[256];
	struct mbox_result r;

	reset();
	snprintf(other, sizeof other, "%s/other", dir);
	put_file(mbox, "old\n", 4);
	T_CHECK(link(mbox, other) == 0, "link");
	T_CHECK(deliver_text("x\n", 0, &r) == MBOX_PERM, "nlink 2: PERM");
	T_STREQ(r.reason, "mailbox has 2 hard links", "reason");
	FILE_IS(mbox, "old\n", "unchanged");
	unlink(other);
}

static void
test_not_regular(void)
{
	struct mbox_result r;

	reset();
	T_CHECK(mkdir(mbox, 0700) == 0, "mkdir");
	T_CHECK(deliver_text("x\n", 0, &r) == MBOX_PERM, "directory: PERM");
	T_STREQ(r.reason, "mailbox is not a regular file", "dir reason");
	rmdir(mbox);
	T_CHECK(mkfifo(mbox, 0600) == 0, "mkfifo");
	T_CHECK(deliver_text("x\n", 0, &r) == MBOX_PERM, "fifo: PERM, no hang");
	T_STREQ(r.reason, "mailbox is not a regular file", "fifo reason");
	unlink(mbox);
}

static void
test_owner(void)
{
	struct mbox_result r;
	struct mbox_opts o;
	struct src s = src_of("x\n", 0);
	struct mbox_msg m = msg_of(&s, "alice@example.org");
	char want[80];

	reset();
	put_file(mbox, "old\n", 4);
	opts_fast(&o);
	o.uid = getuid() + 1;
	T_CHECK(mbox_deliver(mbox, &o, &m, &r) == MBOX_PERM, "other uid: PERM");
	snprintf(want, sizeof want, "mailbox is owned by uid %ld, not %ld",
	         (long)getuid(), (long)getuid() + 1);
	T_STREQ(r.reason, want, "reason");
	if (getuid() != 0) {
		printf("skip: chown test needs root\n");
		return;
	}
	T_CHECK(chown(mbox, 65534, 65534) == 0, "chown");
	T_CHECK(deliver_text("x\n", 0, &r) == MBOX_PERM, "owned by 65534");
	T_STREQ(r.reason, "mailbox is owned by uid 65534, not 0", "reason");
	FILE_IS(mbox, "old\n", "unchanged");
}

/* ---- locks ---- */

/* A child holding the dotlock ('d') or an fcntl lock ('f') until the
 * parent closes the pipe. */
struct holder {
	pid_t pid;
	int wfd;
};

static void
child_hold(char kind, int ready, int wait)
{
	struct mailbox_lock_opts lo;
	struct mailbox_dotlock l = {.held = 0};
	int fd = -1, r;
	char c = 'x';

	mailbox_lock_defaults(&lo);
	lo.timeout_ms = 1000;
	if (kind == 'd') {
		r = mailbox_lock_dot_acquire(&l, mbox, &lo);
	} else {
		fd = open(mbox, O_RDWR | O_CREAT, 0600);
		r = fd < 0 ? -1 : mailbox_lock_fcntl_acquire(fd, F_WRLCK, &lo);
	}
	if (r < 0 || write(ready, &c, 1) != 1)
		_exit(3);
	if (read(wait, &c, 1) < 0)
		_exit(4);
	if (kind == 'd')
		mailbox_lock_dot_release(&l);
	_exit(0);
}

static struct holder
hold(char kind)
{
	struct holder h;
	int ready[2], wait[2];
	char c;

	if (pipe(ready) < 0 || pipe(wait) < 0 || (h.pid = fork()) < 0)
		exit(2);
	if (h.pid == 0) {
		close(ready[0]);
		close(wait[1]);
		child_hold(kind, ready[1], wait[0]);
	}
	close(ready[1]);
	close(wait[0]);
	if (read(ready[0], &c, 1) != 1)
		fprintf(stderr, "holder did not start\n");
	close(ready[0]);
	h.wfd = wait[1];
	return h;
}

static int
unhold(struct holder h)
{
	int st;

	close(h.wfd);
	if (waitpid(h.pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static long
ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (long)(b.tv_sec - a->tv_sec) * 1000 +
	       (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void
test_dotlock_held(void)
{
	struct mbox_result r;
	struct timespec t0;
	struct holder h;
	long ms;

	reset();
	put_file(mbox, "old\n", 4);
	h = hold('d');
	clock_gettime(CLOCK_MONOTONIC, &t0);
	T_CHECK(deliver_text("x\n", 0, &r) == MBOX_TEMP, "dotlock held: TEMP");
	ms = ms_since(&t0);
	T_CHECK(ms >= 290 && ms < 3000, "after the bound: %ld ms", ms);
	T_STREQ(r.dsn, "4.2.1", "dsn");
	T_STREQ(r.reason, why("cannot lock mailbox (lock file)", EAGAIN),
	        "reason");
	T_CHECK(lock_left(), "their lock is left alone");
	T_CHECK(unhold(h) == 0, "child");
	FILE_IS(mbox, "old\n", "unchanged");
}

static void
test_dotlock_stale(void)
{
	struct mbox_result r;
	struct timeval tv[2];
	char lp[256];

	reset();
	snprintf(lp, sizeof lp, "%s.lock", mbox);
	put_file(lp, "4242\n", 5);
	tv[0].tv_sec = tv[1].tv_sec = time(NULL) - 3600;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	T_CHECK(utimes(lp, tv) == 0, "age the lock");
	T_CHECK(deliver_text("x\n", 0, &r) == MBOX_OK, "stale lock: OK (%s)",
	        r.reason);
	T_CHECK(!lock_left(), "stale lock gone, ours removed");
	FILE_IS(mbox, FROM1 HDR1 "x\n\n", "delivered");
}

static void
test_fcntl_held(void)
{
	struct mbox_result r;
	struct holder h;

	reset();
	put_file(mbox, "old\n", 4);
	h = hold('f');
	T_CHECK(deliver_text("x\n", 0, &r) == MBOX_TEMP, "fcntl held: TEMP");
	T_STREQ(r.dsn, "4.2.1", "dsn");
	T_STREQ(r.reason, why("cannot lock mailbox", EAGAIN), "reason");
	T_CHECK(!lock_left(), "our dotlock released");
	T_CHECK(unhold(h) == 0, "child");
	FILE_IS(mbox, "old\n", "unchanged");
	T_CHECK(deliver_text("x\n", 0, &r) == MBOX_OK, "free again");
}

/* The test hook: replace the mailbox by rename between open and lock,
 * as a POP3 session does when it rewrites the mailbox. */
struct swap {
	unsigned calls;
	int always;
};

static void
swap_hook(void *arg, const char *path, unsigned attempt)
{
	struct swap *s = arg;
	char tmp[200], keep[200];

	s->calls++;
	if (attempt > 0 && !s->always)
		return;
	snprintf(tmp, sizeof tmp, "%s.new", path);
	snprintf(keep, sizeof keep, "%s.old", path);
	put_file(tmp, "NEW\n", 4);
	if (!s->always && link(path, keep) < 0)
		perror("link");
	if (rename(tmp, path) < 0)
		perror("rename");
}

static void
test_replaced(void)
{
	struct mbox_result r;
	struct mbox_opts o;
	struct src s = src_of("x\n", 0);
	struct mbox_msg m = msg_of(&s, "alice@example.org");
	struct swap sw = {0, 0};
	char keep[256];

	reset();
	snprintf(keep, sizeof keep, "%s.old", mbox);
	put_file(mbox, "OLD\n", 4);
	opts_fast(&o);
	o.after_open = swap_hook;
	o.hook_arg = &sw;
	T_CHECK(mbox_deliver(mbox, &o, &m, &r) == MBOX_OK, "replaced: %s",
	        r.reason);
	T_CHECK(sw.calls == 2, "reopened once (%u opens)", sw.calls);
	FILE_IS(mbox, "NEW\n" FROM1 HDR1 "x\n\n", "landed in the new file");
	FILE_IS(keep, "OLD\n", "old file untouched");
	unlink(keep);

	sw.calls = 0;
	sw.always = 1;
	s.pos = 0;
	o.reopen_max = 3;
	T_CHECK(mbox_deliver(mbox, &o, &m, &r) == MBOX_TEMP, "always replaced");
	T_CHECK(sw.calls == 3, "bounded: %u opens", sw.calls);
	T_STREQ(r.reason, "mailbox was replaced while being locked, 3 times",
	        "reason");
	T_CHECK(!lock_left(), "dotlock released");
}

/* ---- limits and failures ---- */

static void
test_size_limit(void)
{
	static const char rec[] = FROM1 HDR1 "x\n\n";
	const size_t reclen = sizeof rec - 1;
	struct mbox_result r;
	struct mbox_opts o;
	struct src s = src_of("x\n", 0);
	struct mbox_msg m = msg_of(&s, "alice@example.org");
	char *big;
	size_t i;

	reset();
	put_file(mbox, "old\n", 4);
	opts_fast(&o);
	o.size_limit = 4 + reclen - 1;
	T_CHECK(mbox_deliver(mbox, &o, &m, &r) == MBOX_PERM, "limit-1: PERM");
	T_STREQ(r.dsn, "5.2.2", "dsn");
	FILE_IS(mbox, "old\n", "unchanged at limit-1");
	o.size_limit = 4 + reclen;
	s.pos = 0;
	T_CHECK(mbox_deliver(mbox, &o, &m, &r) == MBOX_OK, "exactly the limit");
	o.size_limit = 4 + reclen + 1;
	s.pos = 0;
	T_CHECK(mbox_deliver(mbox, &o, &m, &r) == MBOX_PERM,
	        "already near the limit");
	FILE_IS(mbox, "old\n" FROM1 HDR1 "x\n\n", "one record");

	/* Large enough that buffers reach the file before the limit hits. */
	big = malloc(100000);
	for (i = 0; i < 99999; i++)
		big[i] = (i % 64 == 63) ? '\n' : 'a';
	big[99999] = '\0';
	s = src_of(big, 0);
	o.size_limit = 60000;
	T_CHECK(mbox_deliver(mbox, &o, &m, &r) == MBOX_PERM, "big: PERM");
	FILE_IS(mbox, "old\n" FROM1 HDR1 "x\n\n", "cut back byte-exact");
	free(big);
}

static void
test_read_error(void)
{
	struct mbox_result r;
	struct mbox_opts o;
	struct src s = src_of("Subject: x\n\nlots of content\n", 4);
	struct mbox_msg m = msg_of(&s, "alice@example.org");

	reset();
	put_file(mbox, "old\n", 4);
	opts_fast(&o);
	s.fail_at = 12;
	T_CHECK(mbox_deliver(mbox, &o, &m, &r) == MBOX_TEMP,
	        "read error: TEMP");
	T_STREQ(r.dsn, "4.3.0", "dsn");
	T_STREQ(r.reason, why("cannot read message content", EIO), "reason");
	FILE_IS(mbox, "old\n", "cut back");
}

static void
test_group_commit(void)
{
	static const char rec_a[] = FROM1 HDR1 "a\n\n";
	struct mbox_result ra, rb, rc, rcommit;
	struct mbox_opts o;
	struct mbox mb;
	struct src sa = src_of("a\n", 0), sb = src_of("b\n", 0),
	           sc = src_of("c is longer\n", 0);
	struct mbox_msg ma = msg_of(&sa, "alice@example.org"),
	                mbm = msg_of(&sb, "alice@example.org"),
	                mc = msg_of(&sc, "alice@example.org");
	unsigned long fs;

	reset();
	put_file(mbox, "old\n", 4);
	opts_fast(&o);
	/* room for the old content and two short records, not the third */
	o.size_limit = 4 + 2 * (sizeof rec_a - 1) + 5;
	T_CHECK(mbox_open(&mb, mbox, &o, &ra) == 0, "open: %s", ra.reason);
	fs = io_fsync_count();
	T_CHECK(mbox_append(&mb, &ma, &ra) == 0, "append 1 pending");
	T_CHECK(mbox_append(&mb, &mbm, &rb) == 0, "append 2 pending");
	T_CHECK(mbox_append(&mb, &mc, &rc) < 0 && rc.status == MBOX_PERM,
	        "append 3 over the limit: PERM");
	T_STREQ(rc.dsn, "5.2.2", "dsn 3");
	T_CHECK(io_fsync_count() == fs, "no fsync before commit");
	T_CHECK(mbox_commit(&mb, &rcommit) == 0, "commit");
	T_CHECK(io_fsync_count() == fs + 1, "exactly one fsync");
	T_STREQ(rcommit.dsn, "2.0.0", "commit dsn");
	mbox_close(&mb);
	FILE_IS(mbox, "old\n" FROM1 HDR1 "a\n\n" FROM1 HDR1 "b\n\n",
	        "file ends right after message 2");

	/* A failure in the middle leaves its neighbours intact. */
	reset();
	sa.pos = sb.pos = sc.pos = 0;
	sb.fail_at = 1;
	o.size_limit = 0;
	T_CHECK(mbox_open(&mb, mbox, &o, &ra) == 0, "open new");
	T_CHECK(mbox_append(&mb, &ma, &ra) == 0, "1");
	T_CHECK(mbox_append(&mb, &mbm, &rb) < 0 && rb.status == MBOX_TEMP,
	        "2 fails");
	T_CHECK(mbox_append(&mb, &mc, &rc) == 0, "3");
	T_CHECK(mbox_commit(&mb, &rcommit) == 0, "commit");
	mbox_close(&mb);
	FILE_IS(mbox, FROM1 HDR1 "a\n\n" FROM1 HDR1 "c is longer\n\n",
	        "1 and 3");

	/* Appended but never committed: cut off at close. */
	sa.pos = 0;
	T_CHECK(mbox_open(&mb, mbox, &o, &ra) == 0, "open");
	T_CHECK(mbox_append(&mb, &ma, &ra) == 0, "pending");
	mbox_close(&mb);
	mbox_close(&mb);
	FILE_IS(mbox, FROM1 HDR1 "a\n\n" FROM1 HDR1 "c is longer\n\n",
	        "uncommitted record removed");
	T_CHECK(!lock_left(), "unlocked");
	T_CHECK(mbox_append(&mb, &ma, &ra) < 0 && ra.status == MBOX_TEMP,
	        "append after close refused");
}

/* Root only: a 64 KiB tmpfs fills up; the mailbox must come back to its
 * previous size byte-exact and a small message must still fit. */
static void
test_full_disk(void)
{
	char fsdir[100], saved[200];
	char *pre, *big;
	size_t i;
	struct mbox_result r;

	if (getuid() != 0) {
		printf("skip: full disk test needs root\n");
		return;
	}
	snprintf(fsdir, sizeof fsdir, "%s/fs", dir);
	if (mkdir(fsdir, 0700) < 0 ||
	    mount("tmpfs", fsdir, "tmpfs", 0, "size=64k,mode=0700") < 0) {
		printf("skip: cannot mount tmpfs: %s\n", strerror(errno));
		rmdir(fsdir);
		return;
	}
	snprintf(saved, sizeof saved, "%s", mbox);
	snprintf(mbox, sizeof mbox, "%s/bob", fsdir);
	pre = malloc(8000);
	big = malloc(200001);
	for (i = 0; i < 8000; i++)
		pre[i] = (i % 80 == 79) ? '\n' : 'p';
	for (i = 0; i < 200000; i++)
		big[i] = (i % 80 == 79) ? '\n' : 'b';
	big[200000] = '\0';
	put_file(mbox, pre, 8000);
	{
		struct mbox_opts o;
		struct src s = src_of(big, 0);
		struct mbox_msg m = msg_of(&s, "alice@example.org");

		opts_fast(&o);
		T_CHECK(mbox_deliver(mbox, &o, &m, &r) == MBOX_TEMP,
		        "full disk: TEMP (%s)", r.reason);
		T_STREQ(r.dsn, "4.3.1", "dsn");
		T_STREQ(r.reason, why("cannot write mailbox", ENOSPC),
		        "reason");
		file_is(mbox, pre, 8000, "previous size, byte-exact");
		T_CHECK(deliver_text("x\n", 0, &r) == MBOX_OK,
		        "space came back: %s", r.reason);
	}
	free(pre);
	free(big);
	T_CHECK(umount2(fsdir, MNT_DETACH) == 0, "umount: %s", strerror(errno));
	rmdir(fsdir);
	snprintf(mbox, sizeof mbox, "%s", saved);
}

/* ---- running as the user (root only: drop to 65534 in a child) ---- */

static int
as_nobody_new(const char *spool)
{
	struct mbox_result r;
	struct stat st;
	struct src s = src_of("x\n", 0);
	struct mbox_msg m = msg_of(&s, "alice@example.org");
	struct mbox_opts o;
	char path[256];

	snprintf(path, sizeof path, "%s/nobody", spool);
	opts_fast(&o);
	if (mbox_deliver(path, &o, &m, &r) != MBOX_OK) {
		fprintf(stderr, "as nobody: %s %s\n", r.dsn, r.reason);
		return 10;
	}
	if (stat(path, &st) < 0 || st.st_uid != 65534 ||
	    (st.st_mode & 07777) != 0600)
		return 11;
	return 0;
}

static int
as_nobody_locked_dir(const char *spool)
{
	struct mbox_result r;
	struct src s = src_of("x\n", 0);
	struct mbox_msg m = msg_of(&s, "alice@example.org");
	struct mbox_opts o;
	char path[256];

	snprintf(path, sizeof path, "%s/nobody", spool);
	opts_fast(&o);
	if (mbox_deliver(path, &o, &m, &r) != MBOX_TEMP ||
	    strcmp(r.reason, why("cannot create mailbox lock file", EACCES)) !=
	        0)
		return 20;
	s.pos = 0;
	o.dotlock = MBOX_DOTLOCK_MAY_FAIL;
	if (mbox_deliver(path, &o, &m, &r) != MBOX_OK) {
		fprintf(stderr, "as nobody, MAY_FAIL: %s %s\n", r.dsn,
		        r.reason);
		return 21;
	}
	return 0;
}

static int
run_as_nobody(int (*fn)(const char *), const char *spool)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		if (getuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(2);
		_exit(fn(spool));
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void
test_as_user(void)
{
	char spool[128], path[256];
	int rc;

	if (getuid() != 0) {
		printf("skip: user-drop tests need root\n");
		return;
	}
	snprintf(spool, sizeof spool, "%s/spool", dir);
	snprintf(path, sizeof path, "%s/nobody", spool);
	/* mkdtemp made dir 0700: let uid 65534 through to the spool. */
	T_CHECK(chmod(dir, 0711) == 0, "chmod dir");
	T_CHECK(mkdir(spool, 0755) == 0 && chmod(spool, 01777) == 0, "spool");
	rc = run_as_nobody(as_nobody_new, spool);
	T_CHECK(rc == 0, "as uid 65534 in a 1777 spool: created 0600 (%d)", rc);
	T_CHECK(chmod(spool, 0755) == 0, "spool 0755");
	rc = run_as_nobody(as_nobody_locked_dir, spool);
	T_CHECK(rc == 0, "no lock file possible: TEMP, or MAY_FAIL (%d)", rc);
	unlink(path);
	rmdir(spool);
	chmod(dir, 0700);
}

/* ---- Delivered-To ---- */

static void
test_delivered_to(void)
{
	static const struct {
		const char *in;
		int want; /* 1 found, 0 not */
	} cases[] = {
	    {"Delivered-To: bob@example.org\n\nbody\n", 1},
	    {"delivered-to:BOB@Example.ORG\n\n", 1},
	    {"DELIVERED-TO:   bob@example.org  \t\n\n", 1},
	    {"Delivered-To : bob@example.org\n\n", 1},
	    {"Delivered-To:\n bob@example.org\n\n", 1},
	    {"Subject: a\n folded\nDelivered-To: bob@example.org", 1},
	    {"Delivered-To: bob@example.org\r\n\r\n", 1},
	    {"Delivered-To: bob@example.org.uk\n\n", 0},
	    {"Delivered-To: xbob@example.org\n\n", 0},
	    {"Delivered-To: bob@example.org, x\n\n", 0},
	    {"X-Delivered-To: bob@example.org\n\n", 0},
	    {"Delivered-To-X: bob@example.org\n\n", 0},
	    {"Subject: x\n\nDelivered-To: bob@example.org\n", 0},
	    {"Subject: x\nnot a header\nDelivered-To: bob@example.org\n", 0},
	    {"Delivered To: bob@example.org\n\n", 0},
	    {"Subject: Delivered-To: bob@example.org\n\n", 0},
	    {"", 0},
	    {"\n", 0},
	};
	size_t i, chunk;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (chunk = 0; chunk < 3; chunk++) {
			struct src s = src_of(cases[i].in, chunk);
			int got = mbox_delivered_to(
			    src_read, &s, "bob@example.org", MBOX_DT_LIMIT);

			T_CHECK(got == cases[i].want,
			        "case %zu chunk %zu: got %d want %d", i, chunk,
			        got, cases[i].want);
		}
	}
}

static void
addr_at_limit(void)
{
	static char rcpt[MBOX_ADDR_MAX + 2], hdr[MBOX_ADDR_MAX + 64];
	struct src s;

	memset(rcpt, 'r', MBOX_ADDR_MAX);
	rcpt[MBOX_ADDR_MAX] = '\0';
	snprintf(hdr, sizeof hdr, "Delivered-To: \t %s \t \n\n", rcpt);
	s = src_of(hdr, 0);
	T_CHECK(mbox_delivered_to(src_read, &s, rcpt, MBOX_DT_LIMIT) == 1,
	        "value of MBOX_ADDR_MAX bytes, padded: found");
	snprintf(hdr, sizeof hdr, "Delivered-To: %sr\n\n", rcpt);
	s = src_of(hdr, 0);
	T_CHECK(mbox_delivered_to(src_read, &s, rcpt, MBOX_DT_LIMIT) == 0,
	        "value of MBOX_ADDR_MAX+1 bytes: no match");
}

static void
test_delivered_to_limits(void)
{
	static const char hdr[] = "Subject: x\nDelivered-To: bob@example.org\n";
	const size_t n = sizeof hdr - 1; /* the match ends at byte n */
	char longv[MBOX_ADDR_MAX + 100];
	struct src s;
	struct mbox_dt dt;

	s = src_of(hdr, 0);
	T_CHECK(mbox_delivered_to(src_read, &s, "bob@example.org", n) == 1,
	        "limit = length: found");
	s = src_of(hdr, 0);
	T_CHECK(mbox_delivered_to(src_read, &s, "bob@example.org", n - 1) == 0,
	        "limit = length-1: not seen");
	s = src_of(hdr, 0);
	s.fail_at = 5;
	T_CHECK(mbox_delivered_to(src_read, &s, "bob@example.org", n) == -1,
	        "read error: -1");
	addr_at_limit(); /* MBOX_ADDR_MAX: value at the limit, limit+1 */
	memcpy(longv, "Delivered-To: ", 14);
	memset(longv + 14, 'b', sizeof longv - 16);
	longv[sizeof longv - 2] = '\n';
	longv[sizeof longv - 1] = '\0';
	s = src_of(longv, 0);
	T_CHECK(mbox_delivered_to(src_read, &s, "bbb", MBOX_DT_LIMIT) == 0,
	        "overlong value: no match, no overflow");
	mbox_dt_init(&dt, "bob@example.org", 1000);
	T_CHECK(mbox_dt_feed(&dt, "Delivered-To: bob@example.org\n", 30) ==
	            MBOX_DT_MORE,
	        "undecided until the next line");
	T_CHECK(mbox_dt_feed(&dt, "X", 1) == MBOX_DT_FOUND, "found");
	T_CHECK(mbox_dt_feed(&dt, "\n\n", 2) == MBOX_DT_FOUND, "stays found");
	T_CHECK(mbox_dt_end(&dt) == MBOX_DT_FOUND, "end keeps it");
}

static void
test_result_set(void)
{
	struct mbox_result r;
	char longs[600];

	mbox_result_set(&r, MBOX_TEMP, "4.2.1", EAGAIN, "cannot lock %s",
	                "mailbox");
	T_STREQ(r.reason, why("cannot lock mailbox", EAGAIN),
	        "errno text appended");
	memset(longs, 'x', sizeof longs - 1);
	longs[sizeof longs - 1] = '\0';
	mbox_result_set(&r, MBOX_PERM, "5.3.0", 0, "%s", longs);
	T_CHECK(strlen(r.reason) == MBOX_REASON_MAX - 1, "truncated");
	mbox_result_errno(&r, EDQUOT, "w");
	T_CHECK(r.status == MBOX_TEMP && strcmp(r.dsn, "4.2.2") == 0,
	        "quota: temporary");
	mbox_result_errno(&r, EFBIG, "w");
	T_CHECK(r.status == MBOX_PERM && strcmp(r.dsn, "5.2.2") == 0,
	        "EFBIG: permanent");
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof dir, "/tmp/t_mbox.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(mbox, sizeof mbox, "%s/bob", dir);
	test_result_set();
	test_new_and_existing();
	test_escaping();
	test_endings();
	test_bad_envelope();
	test_symlink();
	test_hardlink();
	test_not_regular();
	test_owner();
	test_dotlock_held();
	test_dotlock_stale();
	test_fcntl_held();
	test_replaced();
	test_size_limit();
	test_read_error();
	test_group_commit();
	test_full_disk();
	test_as_user();
	test_delivered_to();
	test_delivered_to_limits();
	reset();
	snprintf(mbox, sizeof mbox, "%s/bob.lock", dir);
	unlink(mbox); /* left only when a test failed */
	rmdir(dir);
	return T_DONE();
}
