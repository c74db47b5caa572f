/*
 * pop3d_box.c - the mailbox of a POP3 session (see pop3d_box.h). Runs as
 * the mailbox's owner. UNTRUSTED: the mailbox content (anybody can mail
 * anything into it); it is only scanned (pop3_mbox.c) and copied.
 */
#include "pop3d_box.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK 65536
#define LOCK_WAIT_MS 10000 /* a POP3 client waits for the greeting's +OK */

static int
add(struct pop3d_box *b, const struct pop3_msg *m)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		struct pop3d_msg *v = realloc(b->v, cap * sizeof *v);

		if (!v)
			return -1;
		b->v = v;
		b->cap = cap;
	}
	memset(&b->v[b->n], 0, sizeof b->v[b->n]);
	b->v[b->n].m = *m;
	b->n++;
	return 0;
}

/* ---- mbox ---- */

struct scan_ctx {
	struct pop3d_box *b;
	uint64_t limit; /* start of the first message not indexed */
	int nomem;
};

static int
on_msg(void *arg, const struct pop3_msg *m)
{
	struct scan_ctx *x = arg;

	if (x->b->n >= POP3D_MSGS_MAX || add(x->b, m) < 0) {
		x->nomem = x->b->n < POP3D_MSGS_MAX;
		x->limit = m->start;
		return -1;
	}
	return 0;
}

static int
by_hash(const void *a, const void *b)
{
	const struct pop3d_msg *x = *(const struct pop3d_msg *const *)a;
	const struct pop3d_msg *y = *(const struct pop3d_msg *const *)b;

	if (x->m.hash != y->m.hash)
		return x->m.hash < y->m.hash ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* UIDLs from the hashes; equal records numbered in mailbox order. */
static int
mbox_uidls(struct pop3d_box *b)
{
	struct pop3d_msg **o = malloc((b->n ? b->n : 1) * sizeof *o);
	unsigned dup = 1;

	if (!o)
		return -1;
	for (size_t i = 0; i < b->n; i++)
		o[i] = &b->v[i];
	qsort(o, b->n, sizeof *o, by_hash);
	for (size_t i = 0; i < b->n; i++) {
		dup = i > 0 && o[i]->m.hash == o[i - 1]->m.hash ? dup + 1 : 1;
		if (dup == 1)
			snprintf(o[i]->uidl, sizeof o[i]->uidl, "%016llx",
			         (unsigned long long)o[i]->m.hash);
		else
			snprintf(o[i]->uidl, sizeof o[i]->uidl, "%016llx-%u",
			         (unsigned long long)o[i]->m.hash, dup);
	}
	free(o);
	return 0;
}

static int
mbox_index(struct pop3d_box *b, char *why, size_t cap)
{
	struct scan_ctx x = {b, 0, 0};
	struct pop3_scan s;
	char *buf = malloc(CHUNK);
	uint64_t off = 0;
	int stopped = 0;

	if (!buf) {
		snprintf(why, cap, "out of memory");
		return -1;
	}
	pop3_scan_init(&s, on_msg, &x);
	while (off < b->file_size && !stopped) {
		ssize_t n = pread(b->fd, buf, CHUNK, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why, cap, "read: %s",
			         n < 0 ? strerror(errno) : "file shrank");
			free(buf);
			return -1;
		}
		stopped = pop3_scan_feed(&s, buf, (size_t)n) < 0;
		off += (uint64_t)n;
	}
	free(buf);
	if (!stopped)
		stopped = pop3_scan_end(&s) < 0;
	if (x.nomem) {
		snprintf(why, cap, "out of memory for the index");
		return -1;
	}
	b->limit = stopped ? x.limit : b->file_size;
	if (stopped)
		log_warn("%s: more than %d messages; only the first are "
		         "offered",
		         b->path, POP3D_MSGS_MAX);
	return mbox_uidls(b) < 0 ? (snprintf(why, cap, "out of memory"), -1)
	                         : 0;
}

static void
tmp_path(const struct pop3d_box *b, char *out, size_t cap)
{
	const char *slash = strrchr(b->path, '/');
	size_t dl = slash ? (size_t)(slash - b->path) + 1 : 0;

	snprintf(out, cap, "%.*s.%s.pop3.tmp", (int)dl, b->path, b->path + dl);
}

static enum pop3d_box_err
mbox_open(struct pop3d_box *b, char *why, size_t cap)
{
	struct mailbox_lock_opts o;
	struct stat st;
	char tmp[POP3D_BOX_PATH_MAX + 16];

	mailbox_lock_defaults(&o);
	o.timeout_ms = LOCK_WAIT_MS;
	if (mailbox_lock_dot_acquire(&b->dot, b->path, &o) == 0) {
		b->dotlocked = 1;
	} else if (errno == EAGAIN) {
		snprintf(why, cap, "mailbox is locked (%s.lock)", b->path);
		return POP3D_BOX_LOCKED;
	} else if (errno != EACCES) {
		snprintf(why, cap, "lock file: %s", strerror(errno));
		return POP3D_BOX_TEMP;
	}
	/* else: the directory is not ours to write: fcntl lock only, as
	 * local delivery does (MBOX_DOTLOCK_MAY_FAIL) */
	b->fd = io_open(b->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
	if (b->fd < 0) {
		if (errno == ENOENT)
			return POP3D_BOX_OK; /* no mail yet */
		snprintf(why, cap, "open: %s", strerror(errno));
		return errno == ELOOP ? POP3D_BOX_PERM : POP3D_BOX_TEMP;
	}
	if (fstat(b->fd, &st) < 0) {
		snprintf(why, cap, "fstat: %s", strerror(errno));
		return POP3D_BOX_TEMP;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != getuid()) {
		snprintf(why, cap,
		         "unsafe mailbox: not a regular file with "
		         "one link owned by the user");
		return POP3D_BOX_PERM;
	}
	if (mailbox_lock_fcntl_acquire(b->fd, F_WRLCK, &o) < 0) {
		snprintf(why, cap, "fcntl lock: %s", strerror(errno));
		return errno == EAGAIN ? POP3D_BOX_LOCKED : POP3D_BOX_TEMP;
	}
	if (fstat(b->fd, &st) < 0) {
		snprintf(why, cap, "fstat: %s", strerror(errno));
		return POP3D_BOX_TEMP;
	}
	b->file_size = (uint64_t)st.st_size;
	b->mode = st.st_mode & 07777;
	if (b->dotlocked) {
		tmp_path(b, tmp, sizeof tmp);
		if (unlink(tmp) == 0)
			log_warn("%s: removed a temporary file left by an "
			         "interrupted session",
			         b->path);
	}
	return mbox_index(b, why, cap) < 0 ? POP3D_BOX_TEMP : POP3D_BOX_OK;
}

/* Copy [from, to) of the mailbox to fd. 0 or -1. */
static int
copy_range(struct pop3d_box *b, int fd, char *buf, uint64_t from, uint64_t to)
{
	while (from < to) {
		size_t want = to - from < CHUNK ? (size_t)(to - from) : CHUNK;
		ssize_t n = pread(b->fd, buf, want, (off_t)from);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		if (io_write_all(fd, buf, (size_t)n) < 0)
			return -1;
		from += (uint64_t)n;
	}
	return 0;
}

static int
mbox_rewrite(struct pop3d_box *b, char *why, size_t cap)
{
	char tmp[POP3D_BOX_PATH_MAX + 16], dir[POP3D_BOX_PATH_MAX];
	char *buf = malloc(CHUNK), *slash;
	uint64_t at = 0;
	int fd = -1;

	tmp_path(b, tmp, sizeof tmp);
	if (!buf) {
		snprintf(why, cap, "out of memory");
		return -1;
	}
	if (unlink(tmp) < 0 && errno != ENOENT) {
		snprintf(why, cap, "unlink %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = io_open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	             0600);
	if (fd < 0 || fchmod(fd, b->mode) < 0) {
		snprintf(why, cap, "create %s: %s", tmp, strerror(errno));
		goto fail;
	}
	/* Invariant: [0, at) is copied or deliberately skipped. */
	for (size_t i = 0; i < b->n; i++) {
		uint64_t next = i + 1 < b->n ? b->v[i + 1].m.start : b->limit;

		if (!b->v[i].deleted)
			continue;
		if (copy_range(b, fd, buf, at, b->v[i].m.start) < 0)
			goto ioerr;
		at = next;
	}
	if (copy_range(b, fd, buf, at, b->file_size) < 0 || io_fsync(fd) < 0)
		goto ioerr;
	if (io_close(fd) < 0) {
		fd = -1;
		goto ioerr;
	}
	fd = -1;
	if (rename(tmp, b->path) < 0) {
		snprintf(why, cap, "rename: %s", strerror(errno));
		goto fail;
	}
	str_copy(dir, sizeof dir, b->path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (io_fsync_dir(slash ? dir : ".") < 0)
		log_warn("fsync of %s: %s", dir, strerror(errno));
	free(buf);
	return 0;
ioerr:
	snprintf(why, cap, "write %s: %s", tmp, strerror(errno));
fail:
	if (fd >= 0)
		io_close(fd);
	unlink(tmp);
	free(buf);
	return -1;
}

/* ---- Maildir ---- */

static int
by_name(const void *a, const void *b)
{
	const struct pop3d_msg *x = a, *y = b;

	return strcmp(strchr(x->name, '/'), strchr(y->name, '/'));
}

static void
maildir_uidl(struct pop3d_msg *m)
{
	const char *base = strchr(m->name, '/') + 1;
	size_t n = strcspn(base, ":");
	uint64_t h = POP3_FNV_OFFSET;
	int ok = n > 0 && n < POP3D_UIDL_MAX;

	for (size_t i = 0; i < n; i++)
		ok &= base[i] > 0x20 && base[i] < 0x7f;
	if (ok) {
		str_copy_n(m->uidl, sizeof m->uidl, base, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)base[i]) * POP3_FNV_PRIME;
	snprintf(m->uidl, sizeof m->uidl, "%016llx", (unsigned long long)h);
}

/* The wire size of one message file. 0, or -1 (skipped). */
static int
maildir_size(struct pop3d_box *b, struct pop3d_msg *m, char *buf)
{
	char path[POP3D_BOX_PATH_MAX + 400];
	struct stat st;
	int fd, last_lf = 1;
	ssize_t n;

	snprintf(path, sizeof path, "%s/%s", b->path, m->name);
	fd = io_open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		io_close(fd);
		return -1;
	}
	m->m.end = (uint64_t)st.st_size;
	while ((n = io_read(fd, buf, CHUNK)) > 0)
		m->m.size += pop3_wire_size(buf, (size_t)n, &last_lf);
	io_close(fd);
	if (n < 0)
		return -1;
	if (!last_lf)
		m->m.size += 2;
	return 0;
}

static int
maildir_list(struct pop3d_box *b, const char *sub, char *why, size_t cap)
{
	char path[POP3D_BOX_PATH_MAX + 8];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof path, "%s/%s", b->path, sub);
	d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, cap, "opendir %s: %s", sub, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL && b->n < POP3D_MSGS_MAX) {
		struct pop3_msg zero = {0, 0, 0, 0, 0};
		size_t len = strlen(e->d_name);
		char *name;

		if (e->d_name[0] == '.' || len > 350)
			continue;
		name = malloc(len + 5);
		if (!name || add(b, &zero) < 0) {
			free(name);
			closedir(d);
			snprintf(why, cap, "out of memory");
			return -1;
		}
		snprintf(name, len + 5, "%s/%s", sub, e->d_name);
		b->v[b->n - 1].name = name;
	}
	closedir(d);
	return 0;
}

static enum pop3d_box_err
maildir_open(struct pop3d_box *b, char *why, size_t cap)
{
	char *buf;
	size_t k = 0;

	if (maildir_list(b, "new", why, cap) < 0 ||
	    maildir_list(b, "cur", why, cap) < 0)
		return POP3D_BOX_TEMP;
	qsort(b->v, b->n, sizeof *b->v, by_name);
	buf = malloc(CHUNK);
	if (!buf) {
		snprintf(why, cap, "out of memory");
		return POP3D_BOX_TEMP;
	}
	/* Files that vanished or are not regular are left out. */
	for (size_t i = 0; i < b->n; i++) {
		if (maildir_size(b, &b->v[i], buf) < 0) {
			free(b->v[i].name);
			continue;
		}
		maildir_uidl(&b->v[i]);
		b->v[k++] = b->v[i];
	}
	b->n = k;
	free(buf);
	return POP3D_BOX_OK;
}

/* ---- the interface ---- */

enum pop3d_box_err
pop3d_box_open(struct pop3d_box *b, const char *path, int maildir, char *why,
               size_t cap)
{
	enum pop3d_box_err e;

	memset(b, 0, sizeof *b);
	b->fd = -1;
	b->maildir = maildir;
	if (str_copy(b->path, sizeof b->path, path) < 0) {
		snprintf(why, cap, "mailbox path too long");
		return POP3D_BOX_PERM;
	}
	/* A trailing '/' (home_mailbox = Maildir/) is not wanted in paths. */
	while (maildir && strlen(b->path) > 1 &&
	       b->path[strlen(b->path) - 1] == '/')
		b->path[strlen(b->path) - 1] = '\0';
	e = maildir ? maildir_open(b, why, cap) : mbox_open(b, why, cap);
	if (e != POP3D_BOX_OK)
		pop3d_box_close(b);
	return e;
}

int
pop3d_box_touch(struct pop3d_box *b)
{
	if (!b->dotlocked)
		return 0;
	if (mailbox_lock_dot_touch(&b->dot) < 0) {
		log_error("%s: lost the lock file: %s", b->path,
		          strerror(errno));
		return -1;
	}
	return 0;
}

int
pop3d_box_send(struct pop3d_box *b, size_t i, int64_t lines, struct pop3_io *io)
{
	const struct pop3d_msg *m = &b->v[i];
	struct pop3_render r;
	char *in = malloc(CHUNK), *out = malloc(2 * CHUNK);
	uint64_t off = m->m.body;
	int fd = b->fd, rc = -1;
	size_t olen;

	if (!in || !out)
		goto done;
	if (b->maildir) {
		char path[POP3D_BOX_PATH_MAX + 400];

		snprintf(path, sizeof path, "%s/%s", b->path, m->name);
		fd = io_open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
		if (fd < 0) {
			log_error("%s: %s", path, strerror(errno));
			goto done;
		}
	}
	pop3_render_init(&r, !b->maildir, lines);
	while (off < m->m.end && !r.done) {
		size_t want =
		    m->m.end - off < CHUNK ? (size_t)(m->m.end - off) : CHUNK;
		ssize_t n = pread(fd, in, want, (off_t)off);
		size_t used = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("%s: read: %s", b->path,
			          n < 0 ? strerror(errno) : "file shrank");
			goto done;
		}
		while (used < (size_t)n && !r.done) {
			used +=
			    pop3_render_feed(&r, in + used, (size_t)n - used,
			                     out, 2 * CHUNK, &olen);
			if (pop3_io_put(io, out, olen) < 0)
				goto done;
		}
		off += (uint64_t)n;
	}
	olen = pop3_render_end(&r, out, 2 * CHUNK);
	if (pop3_io_put(io, out, olen) < 0 || pop3_io_put(io, ".\r\n", 3) < 0)
		goto done;
	rc = 0;
done:
	if (b->maildir && fd >= 0)
		io_close(fd);
	free(in);
	free(out);
	return rc;
}

int
pop3d_box_update(struct pop3d_box *b, char *why, size_t cap)
{
	size_t ndel = 0, failed = 0;

	for (size_t i = 0; i < b->n; i++)
		ndel += b->v[i].deleted;
	if (ndel == 0)
		return 0;
	if (!b->maildir)
		return mbox_rewrite(b, why, cap);
	for (size_t i = 0; i < b->n; i++) {
		char path[POP3D_BOX_PATH_MAX + 400];

		if (!b->v[i].deleted)
			continue;
		snprintf(path, sizeof path, "%s/%s", b->path, b->v[i].name);
		if (unlink(path) < 0 && errno != ENOENT) {
			log_error("unlink %s: %s", path, strerror(errno));
			failed++;
		}
	}
	for (int k = 0; k < 2; k++) {
		char path[POP3D_BOX_PATH_MAX + 8];

		snprintf(path, sizeof path, "%s/%s", b->path,
		         k ? "cur" : "new");
		if (io_fsync_dir(path) < 0 && errno != ENOENT)
			log_warn("fsync of %s: %s", path, strerror(errno));
	}
	if (failed) {
		snprintf(why, cap, "%zu of %zu messages could not be removed",
		         failed, ndel);
		return -1;
	}
	return 0;
}

void
pop3d_box_close(struct pop3d_box *b)
{
	/* The dotlock goes first: the fcntl lock (on a replaced inode after
	 * a rewrite) is dropped with the descriptor. */
	if (b->dotlocked && mailbox_lock_dot_release(&b->dot) < 0)
		log_warn("%s: lock file: %s", b->path, strerror(errno));
	b->dotlocked = 0;
	if (b->fd >= 0)
		io_close(b->fd);
	b->fd = -1;
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].name);
	free(b->v);
	b->v = NULL;
	b->n = b->cap = 0;
}
