/*
 * test_maildir.c - Maildir delivery on real directories: layout, content,
 * names, limits, failures that must leave nothing behind, and uniqueness
 * across 4 forked processes x 100 deliveries.
 */
#include "maildir.h"
#include "util/io.h"
#include "t.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HDR "Return-Path: <alice@example.org>\nDelivered-To: bob@example.org\n"

static char dir[64];
static char md_path[128];

struct src {
	const char *p;
	size_t len, pos;
	int fail; /* fail with EIO after the first chunk */
};

static ssize_t
src_read(void *ctx, void *buf, size_t cap)
{
	struct src *s = ctx;
	size_t n = s->len - s->pos;

	if (s->fail && s->pos > 0) {
		errno = EIO;
		return -1;
	}
	if (n > cap)
		n = cap;
	if (s->fail && n > 3)
		n = 3;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

static struct src
src_of(const char *text)
{
	struct src s = {text, strlen(text), 0, 0};

	return s;
}

static struct mbox_msg
msg_of(struct src *s)
{
	struct mbox_msg m = {"alice@example.org", "bob@example.org", 0,
	                     src_read, s};

	return m;
}

/* Entries of md_path/sub (not . and ..); the first name into first. */
static int
count(const char *sub, char *first, size_t cap)
{
	char p[256];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(p, sizeof p, "%s/%s", md_path, sub);
	d = opendir(p);
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n++ == 0 && first)
			snprintf(first, cap, "%s", e->d_name);
	}
	closedir(d);
	return n;
}

static int
content_is(const char *sub, const char *name, const char *want)
{
	char p[512], *got = NULL;
	size_t len;
	int ok;

	snprintf(p, sizeof p, "%s/%s/%s", md_path, sub, name);
	if (io_slurp(p, 1 << 20, &got, &len) < 0)
		return 0;
	ok = len == strlen(want) && memcmp(got, want, len) == 0;
	if (!ok)
		fprintf(stderr, "--- %s\n%s---\n", p, got);
	free(got);
	return ok;
}

/* "WHAT: strerror(err)" as this libc spells it (glibc and musl differ). */
static const char *
why(const char *what, int err)
{
	static char buf[256];

	snprintf(buf, sizeof buf, "%s: %s", what, strerror(err));
	return buf;
}

static void
rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[512];

	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", path, e->d_name);
		rm_tree(p);
	}
	closedir(d);
	rmdir(path);
}

/* "SEC.M<usec>P<pid>Q<n>.HOST" with the expected pid and host. */
static int
name_ok(const char *name, long pid, const char *host)
{
	char tail[300];
	unsigned long long sec;
	unsigned long usec, q;
	long p;
	int used = 0;

	if (sscanf(name, "%llu.M%luP%ldQ%lu.%n", &sec, &usec, &p, &q, &used) !=
	        4 ||
	    used == 0)
		return 0;
	snprintf(tail, sizeof tail, "%s", name + used);
	return usec < 1000000 && p == pid && strcmp(tail, host) == 0;
}

static void
test_first_delivery(void)
{
	struct maildir md;
	struct mbox_result r;
	struct src s = src_of("Subject: hi\n\nFrom me\n>From you\n");
	struct mbox_msg m = msg_of(&s);
	char name[MAILDIR_NAME_MAX + 8], first[300], sub[256];
	struct stat st;
	static const char *const subs[] = {"", "/tmp", "/new", "/cur"};
	size_t i;

	rm_tree(md_path);
	T_CHECK(maildir_init(&md, md_path, "mx.example.org", 0, &r) == 0,
	        "init");
	T_CHECK(maildir_deliver(&md, &m, &r, name, sizeof name) == MBOX_OK,
	        "deliver: %s", r.reason);
	T_STREQ(r.dsn, "2.0.0", "dsn");
	T_STREQ(r.reason, "delivered to maildir", "reason");
	for (i = 0; i < 4; i++) {
		snprintf(sub, sizeof sub, "%s%s", md_path, subs[i]);
		T_CHECK(stat(sub, &st) == 0 && S_ISDIR(st.st_mode) &&
		            (st.st_mode & 07777) == 0700,
		        "%s created 0700", sub);
	}
	T_CHECK(count("new", first, sizeof first) == 1, "one file in new/");
	T_CHECK(count("tmp", NULL, 0) == 0, "tmp/ empty");
	T_CHECK(count("cur", NULL, 0) == 0, "cur/ empty");
	T_CHECK(strncmp(name, "new/", 4) == 0 && strcmp(name + 4, first) == 0,
	        "reported name %s", name);
	T_CHECK(name_ok(first, (long)getpid(), "mx.example.org"),
	        "name format: %s", first);
	T_CHECK(
	    content_is("new", first, HDR "Subject: hi\n\nFrom me\n>From you\n"),
	    "content: headers, no From_, no escaping");
}

static void
test_content_variants(void)
{
	struct maildir md;
	struct mbox_result r;
	struct src s = src_of("no newline");
	struct mbox_msg m = msg_of(&s);
	char first[300];

	rm_tree(md_path);
	T_CHECK(maildir_init(&md, md_path, "h", 0, &r) == 0, "init");
	T_CHECK(maildir_deliver(&md, &m, &r, NULL, 0) == MBOX_OK, "deliver");
	count("new", first, sizeof first);
	T_CHECK(content_is("new", first, HDR "no newline\n"),
	        "final newline added");
	rm_tree(md_path);
	s = src_of("");
	m.sender = "";
	T_CHECK(maildir_deliver(&md, &m, &r, NULL, 0) == MBOX_OK,
	        "deliver again after Maildir removal");
	count("new", first, sizeof first);
	T_CHECK(content_is("new", first,
	                   "Return-Path: <>\nDelivered-To: bob@example.org\n"),
	        "null sender, empty content");
}

static void
test_hostname(void)
{
	struct maildir md;
	struct mbox_result r;
	struct src s = src_of("x\n");
	struct mbox_msg m = msg_of(&s);
	char first[300], big[400];

	rm_tree(md_path);
	T_CHECK(maildir_init(&md, md_path, "a/b:c", 0, &r) == 0, "init");
	T_CHECK(maildir_deliver(&md, &m, &r, NULL, 0) == MBOX_OK, "deliver");
	count("new", first, sizeof first);
	T_CHECK(name_ok(first, (long)getpid(), "a\\057b\\072c"),
	        "'/' and ':' escaped: %s", first);
	T_CHECK(maildir_init(&md, md_path, NULL, 0, &r) == 0, "uname host");
	T_CHECK(maildir_init(&md, md_path, "", 0, &r) < 0 &&
	            r.status == MBOX_PERM,
	        "empty host refused");
	memset(big, 'h', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	T_CHECK(maildir_init(&md, md_path, big, 0, &r) < 0 &&
	            r.status == MBOX_PERM,
	        "host too long refused");
}

static void
test_size_limit(void)
{
	static const char body[] = "x\n";
	const uint64_t size = sizeof HDR - 1 + sizeof body - 1;
	struct maildir md;
	struct mbox_result r;
	struct src s = src_of(body);
	struct mbox_msg m = msg_of(&s);

	rm_tree(md_path);
	T_CHECK(maildir_init(&md, md_path, "h", size - 1, &r) == 0, "init");
	T_CHECK(maildir_deliver(&md, &m, &r, NULL, 0) == MBOX_PERM,
	        "limit-1: PERM");
	T_STREQ(r.dsn, "5.2.2", "dsn");
	T_CHECK(count("new", NULL, 0) == 0 && count("tmp", NULL, 0) == 0,
	        "nothing left");
	md.size_limit = size;
	s.pos = 0;
	T_CHECK(maildir_deliver(&md, &m, &r, NULL, 0) == MBOX_OK, "limit: OK");
	md.size_limit = size + 1;
	s.pos = 0;
	T_CHECK(maildir_deliver(&md, &m, &r, NULL, 0) == MBOX_OK,
	        "limit+1: OK (per file, not per Maildir)");
	T_CHECK(count("new", NULL, 0) == 2, "two files");
}

static void
test_failures(void)
{
	struct maildir md;
	struct mbox_result r;
	struct src s = src_of("Subject: x\n\nbody\n");
	struct mbox_msg m = msg_of(&s);
	char p[256];

	rm_tree(md_path);
	T_CHECK(maildir_init(&md, md_path, "h", 0, &r) == 0, "init");
	s.fail = 1;
	T_CHECK(maildir_deliver(&md, &m, &r, NULL, 0) == MBOX_TEMP,
	        "read error: TEMP");
	T_STREQ(r.reason, why("cannot read message content", EIO), "reason");
	T_CHECK(count("new", NULL, 0) == 0 && count("tmp", NULL, 0) == 0,
	        "nothing left");
	s.fail = 0;
	s.pos = 0;
	m.recipient = "bob\n";
	T_CHECK(maildir_deliver(&md, &m, &r, NULL, 0) == MBOX_PERM,
	        "control character in recipient");
	T_STREQ(r.dsn, "5.3.0", "dsn");

	/* Something that is not a directory where one must be. */
	rm_tree(md_path);
	m.recipient = "bob@example.org";
	T_CHECK(mkdir(md_path, 0700) == 0, "mkdir");
	snprintf(p, sizeof p, "%s/new", md_path);
	T_CHECK(close(open(p, O_CREAT | O_WRONLY, 0600)) == 0, "file new");
	T_CHECK(maildir_init(&md, md_path, "h", 0, &r) == 0, "init");
	T_CHECK(maildir_deliver(&md, &m, &r, NULL, 0) == MBOX_PERM,
	        "new/ is a file: PERM");
	T_STREQ(r.reason, why("cannot create maildir", ENOTDIR), "reason");
	rm_tree(md_path);
	snprintf(p, sizeof p, "%s/missing/Maildir", dir);
	T_CHECK(maildir_init(&md, p, "h", 0, &r) == 0, "init");
	T_CHECK(maildir_deliver(&md, &m, &r, NULL, 0) == MBOX_TEMP,
	        "missing home: TEMP");
	T_STREQ(r.reason, why("cannot create maildir", ENOENT), "reason");
}

/* Each child delivers n messages with its own struct maildir. */
static int
child_deliver(int n, int id)
{
	struct maildir md;
	struct mbox_result r;
	char body[64];
	int i;

	if (maildir_init(&md, md_path, "race.example", 0, &r) < 0)
		return 1;
	for (i = 0; i < n; i++) {
		struct src s;
		struct mbox_msg m;

		snprintf(body, sizeof body, "child %d message %d\n", id, i);
		s = src_of(body);
		m = msg_of(&s);
		if (maildir_deliver(&md, &m, &r, NULL, 0) != MBOX_OK) {
			fprintf(stderr, "child %d: %s\n", id, r.reason);
			return 1;
		}
	}
	return 0;
}

/* Read each file once: it must be exactly HDR "child C message I\n" and
 * every (C, I) must appear exactly once. */
static int
one_body(const char *name, char seen[][100], int nchild, int n)
{
	char p[512], want[128], *got = NULL;
	size_t len;
	int c, i, ok;

	snprintf(p, sizeof p, "%s/new/%s", md_path, name);
	if (io_slurp(p, 4096, &got, &len) < 0)
		return 0;
	ok = len > sizeof HDR - 1 &&
	     sscanf(got + sizeof HDR - 1, "child %d message %d", &c, &i) == 2 &&
	     c >= 0 && c < nchild && i >= 0 && i < n && !seen[c][i];
	if (ok) {
		snprintf(want, sizeof want, HDR "child %d message %d\n", c, i);
		ok = strcmp(got, want) == 0;
		seen[c][i] = 1;
	}
	free(got);
	return ok;
}

static int
all_bodies_present(int nchild, int n)
{
	static char seen[4][100];
	char p[256];
	DIR *d;
	struct dirent *e;
	int total = 0;

	memset(seen, 0, sizeof seen);
	snprintf(p, sizeof p, "%s/new", md_path);
	d = opendir(p);
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			total += one_body(e->d_name, seen, nchild, n);
	closedir(d);
	return total == nchild * n;
}

static void
test_race(void)
{
	enum { NCHILD = 4, N = 100 };
	pid_t pids[NCHILD];
	int c, st, ok = 1;
	struct maildir md;
	struct mbox_result r;

	rm_tree(md_path);
	/* Let the children race on the directory creation too. */
	for (c = 0; c < NCHILD; c++) {
		pids[c] = fork();
		if (pids[c] == 0)
			_exit(child_deliver(N, c));
	}
	for (c = 0; c < NCHILD; c++)
		if (pids[c] < 0 || waitpid(pids[c], &st, 0) < 0 ||
		    !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			ok = 0;
	T_CHECK(ok, "4 children x 100 deliveries all OK");
	T_CHECK(count("new", NULL, 0) == NCHILD * N, "400 files in new/: %d",
	        count("new", NULL, 0));
	T_CHECK(count("tmp", NULL, 0) == 0, "tmp/ empty");
	T_CHECK(all_bodies_present(NCHILD, N), "every message exactly once");
	T_CHECK(maildir_init(&md, md_path, "h", 0, &r) == 0, "init");
}

/* Root only: ENOSPC on a tiny tmpfs leaves nothing in tmp/ or new/. */
static void
test_full_disk(void)
{
	char fsdir[100], saved[128];
	struct maildir md;
	struct mbox_result r;
	struct src s;
	struct mbox_msg m;
	char *big;
	size_t i;

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
	snprintf(saved, sizeof saved, "%s", md_path);
	snprintf(md_path, sizeof md_path, "%s/Maildir", fsdir);
	big = malloc(200001);
	for (i = 0; i < 200000; i++)
		big[i] = (i % 80 == 79) ? '\n' : 'b';
	big[200000] = '\0';
	s = src_of(big);
	m = msg_of(&s);
	T_CHECK(maildir_init(&md, md_path, "h", 0, &r) == 0, "init");
	T_CHECK(maildir_deliver(&md, &m, &r, NULL, 0) == MBOX_TEMP,
	        "full: TEMP (%s)", r.reason);
	T_STREQ(r.dsn, "4.3.1", "dsn");
	T_CHECK(count("new", NULL, 0) == 0 && count("tmp", NULL, 0) == 0,
	        "nothing left behind");
	free(big);
	T_CHECK(umount2(fsdir, MNT_DETACH) == 0, "umount");
	rmdir(fsdir);
	snprintf(md_path, sizeof md_path, "%s", saved);
}

int
main(void)
{
	snprintf(dir, sizeof dir, "/tmp/t_maildir.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(md_path, sizeof md_path, "%s/Maildir/", dir);
	test_first_delivery();
	test_content_variants();
	test_hostname();
	test_size_limit();
	test_failures();
	test_race();
	test_full_disk();
	rm_tree(dir);
	return T_DONE();
}
