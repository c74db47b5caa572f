/*
 * cmd_mail_box.c - the mail applet's mailbox file (see cmd_mail.h): index
 * it under the locks local delivery takes (mailbox_lock.h: dotlock, then
 * fcntl), print and save messages from the indexed offsets, and apply
 * deletions by writing a new file under the same locks (new file, fsync,
 * rename, directory fsync). Local delivery re-checks the inode after it
 * locks (mbox.c still_same), so nothing is appended to a replaced file.
 * Runs as the invoking user. The mailbox content is untrusted: it is only
 * indexed (bounded) and copied, never held whole in memory.
 */
#include "cmd_mail.h"
#include "cmd_sendmail.h"
#include "header.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* pread everything asked for, retried on EINTR; bytes read or -1. */
static ssize_t
pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r =
		    pread(fd, (char *)buf + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* The path names the file open on fd: 1, 0 when not, -1 on error. */
static int
same_file(const char *path, int fd)
{
	struct stat ps, fs;

	if (fstat(fd, &fs) < 0)
		return -1;
	if (lstat(path, &ps) < 0)
		return errno == ENOENT ? 0 : -1;
	return ps.st_dev == fs.st_dev && ps.st_ino == fs.st_ino;
}

/* A dotlock when one can be made: 1 held, 0 not possible here (a
 * directory we cannot write), -1 (errno EAGAIN) held by someone else. */
static int
dotlock(struct mailbox_dotlock *d, const char *path,
        const struct mailbox_lock_opts *lo)
{
	memset(d, 0, sizeof *d);
	if (mailbox_lock_dot_acquire(d, path, lo) == 0)
		return 1;
	if (errno == EAGAIN) {
		log_error("%s: mailbox is locked (%s.lock): try again later",
		          path, path);
		return -1;
	}
	return 0;
}

static void
undot(struct mailbox_dotlock *d)
{
	if (d->held && mailbox_lock_dot_release(d) < 0)
		log_warn("%s: %s", d->path, strerror(errno));
}

static int
open_box(struct mail_box *b)
{
	int fl = O_NOCTTY | O_NONBLOCK | (b->system ? O_NOFOLLOW : 0);
	struct stat st;

	b->fd = io_open(b->path, O_RDWR | fl, 0);
	if (b->fd < 0 && (errno == EACCES || errno == EROFS)) {
		b->rdonly = 1;
		b->fd = io_open(b->path, O_RDONLY | fl, 0);
	}
	if (b->fd < 0) {
		if (errno == ENOENT && b->system)
			return 0; /* no mailbox yet: no mail */
		log_error("%s: cannot open: %s", b->path, strerror(errno));
		return errno == ENOENT || errno == EACCES ? MAIL_EX_NOINPUT
		                                          : MAIL_EX_IOERR;
	}
	if (fstat(b->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_error("%s: not a regular file", b->path);
		return SM_EX_DATAERR;
	}
	if (fcntl(b->fd, F_SETFL, fcntl(b->fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		log_error("%s: fcntl: %s", b->path, strerror(errno));
		return MAIL_EX_IOERR;
	}
	return 0;
}

/* Index the whole file (we hold the locks: it does not change). */
static int
index_box(struct mail_box *b)
{
	struct mail_scan s;
	struct stat st;
	ssize_t r = 0;

	mail_scan_init(&s, &b->ix);
	while (!s.done &&
	       (r = pread_full(b->fd, b->buf, sizeof b->buf, s.off)) > 0)
		mail_scan_feed(&s, b->buf, (size_t)r);
	if (r < 0 || fstat(b->fd, &st) < 0) {
		log_error("%s: read: %s", b->path, strerror(errno));
		return MAIL_EX_IOERR;
	}
	switch (mail_scan_end(&s)) {
	case MAIL_SCAN_OK:
		break;
	case MAIL_SCAN_NOT_MBOX:
		log_error("%s: not an mbox mailbox: it does not start with a "
		          "\"From \" line",
		          b->path);
		return SM_EX_DATAERR;
	case MAIL_SCAN_NOMEM:
		log_error("%s: out of memory indexing the mailbox", b->path);
		return SM_EX_TEMPFAIL;
	}
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	b->size = (uint64_t)st.st_size;
	if (b->ix.over)
		log_warn("%s: more than %zu messages: only the first %zu are "
		         "shown; the others are kept as they are",
		         b->path, b->ix.max, b->ix.max);
	return 0;
}

/* Open and fcntl-lock the file, again while it keeps being replaced. */
static int
open_locked(struct mail_box *b, const struct mailbox_lock_opts *lo)
{
	for (unsigned i = 0; i < MBOX_REOPEN_MAX; i++) {
		int rc = open_box(b), same;

		if (rc != 0 || b->fd < 0)
			return rc;
		if (mailbox_lock_fcntl_acquire(b->fd, F_RDLCK, lo) < 0) {
			log_error("%s: cannot lock: %s", b->path,
			          strerror(errno));
			return SM_EX_TEMPFAIL;
		}
		same = b->system ? same_file(b->path, b->fd) : 1;
		if (same > 0)
			return 0;
		io_close(b->fd);
		b->fd = -1;
		if (same < 0) {
			log_error("%s: %s", b->path, strerror(errno));
			return MAIL_EX_IOERR;
		}
	}
	log_error("%s: mailbox keeps being replaced", b->path);
	return SM_EX_TEMPFAIL;
}

static int
load_maildir(struct mail_box *b)
{
	b->maildir = 1;
	b->fd = io_open(b->path, O_RDONLY | O_DIRECTORY | O_NOCTTY, 0);
	if (b->fd < 0) {
		log_error("%s: cannot open: %s", b->path, strerror(errno));
		return MAIL_EX_NOINPUT;
	}
	return mail_md_load(b);
}

int
mail_box_load(struct mail_box *b, const char *path, int system)
{
	struct mailbox_lock_opts lo;
	struct mailbox_dotlock d;
	char real[PATH_MAX];
	struct stat st;
	int rc;

	b->fd = -1;
	b->rdonly = 0;
	b->system = system;
	mail_index_init(&b->ix, MAIL_MSG_MAX);
	/* -f FILE may be a link: the rewrite must replace its target */
	if (!system && realpath(path, real))
		path = real;
	if (str_copy(b->path, sizeof b->path, path) < 0) {
		log_error("mailbox path too long");
		return SM_EX_USAGE;
	}
	if (stat(b->path, &st) == 0 && S_ISDIR(st.st_mode))
		return load_maildir(b);
	mailbox_lock_defaults(&lo);
	if (dotlock(&d, b->path, &lo) < 0)
		return SM_EX_TEMPFAIL;
	rc = open_locked(b, &lo);
	if (rc == 0 && b->fd >= 0) {
		rc = index_box(b);
		if (mailbox_lock_fcntl_release(b->fd) < 0)
			log_warn("%s: unlock: %s", b->path, strerror(errno));
	}
	undot(&d);
	return rc;
}

void
mail_box_close(struct mail_box *b)
{
	if (b->fd >= 0)
		io_close(b->fd);
	b->fd = -1;
	mail_index_free(&b->ix);
	free(b->names);
	b->names = NULL;
}

/* ---- reading ---- */

struct out {
	FILE *f;
	int filter;
	char last;
};

static void
out_put(void *ctx, const char *p, size_t n)
{
	struct out *o = ctx;

	if (n == 0)
		return;
	o->last = p[n - 1];
	if (!o->filter) {
		fwrite(p, 1, n, o->f);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		putc((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f ? '?'
		                                                       : c,
		     o->f);
	}
}

/* Copy [from, to) of the file fd through put (through u when set). */
static int
copy_range(struct mail_box *b, int fd, uint64_t from, uint64_t to,
           struct mail_unesc *u, mail_put_fn put, void *ctx)
{
	while (from < to) {
		size_t want = to - from < sizeof b->buf ? (size_t)(to - from)
		                                        : sizeof b->buf;
		ssize_t r = pread_full(fd, b->buf, want, from);

		if (r <= 0) {
			log_error("%s: read: %s", b->path,
			          r < 0 ? strerror(errno) : "file truncated");
			return -1;
		}
		if (u)
			mail_unesc_feed(u, b->buf, (size_t)r, put, ctx);
		else
			put(ctx, b->buf, (size_t)r);
		from += (uint64_t)r;
	}
	return 0;
}

int
mail_box_print(struct mail_box *b, size_t i, FILE *f, int filter)
{
	const struct mail_msg *m = &b->ix.v[i];
	struct out o = {f, filter, '\n'};
	struct mail_unesc u;
	int fd, r;

	if (b->maildir) {
		if ((fd = mail_md_open(b, i)) < 0)
			return -1;
		r = copy_range(b, fd, 0, m->end, NULL, out_put, &o);
		io_close(fd);
		if (o.last != '\n')
			putc('\n', f);
		return r;
	}
	if (copy_range(b, b->fd, m->start, m->hdr, NULL, out_put, &o) < 0)
		return -1;
	mail_unesc_init(&u);
	if (copy_range(b, b->fd, m->hdr, m->cend, &u, out_put, &o) < 0)
		return -1;
	mail_unesc_end(&u, out_put, &o);
	if (o.last != '\n')
		putc('\n', f);
	return 0;
}

int
mail_box_head(struct mail_box *b, size_t i, char *fl, size_t flcap, size_t *fln,
              char *h, size_t hcap, size_t *hn)
{
	const struct mail_msg *m = &b->ix.v[i];
	uint64_t n = m->hdr - m->start;
	ssize_t r;
	int fd;

	if (b->maildir) {
		*fln = 0;
		if ((fd = mail_md_open(b, i)) < 0)
			return -1;
		r = pread_full(fd, h, m->end < hcap ? (size_t)m->end : hcap, 0);
		io_close(fd);
		if (r < 0)
			goto fail;
		*hn = (size_t)r;
		return 0;
	}
	r = pread_full(b->fd, fl, n < flcap ? (size_t)n : flcap, m->start);
	if (r < 0)
		goto fail;
	*fln = (size_t)r;
	n = m->cend - m->hdr;
	r = pread_full(b->fd, h, n < hcap ? (size_t)n : hcap, m->hdr);
	if (r < 0)
		goto fail;
	*hn = (size_t)r;
	return 0;
fail:
	log_error("%s: read: %s", b->path, strerror(errno));
	return -1;
}

int
mail_box_summary(struct mail_box *b, size_t i, struct mail_summary *s)
{
	size_t fln, hn;

	if (mail_box_head(b, i, b->fl, sizeof b->fl, &fln, b->hbuf,
	                  sizeof b->hbuf, &hn) < 0)
		return -1;
	mail_summary_parse(b->fl, fln, b->hbuf, hn, s);
	return 0;
}

/* ---- writing ---- */

struct wr {
	int fd;
	int err; /* errno of the first failed write */
};

static void
wr_put(void *ctx, const char *p, size_t n)
{
	struct wr *w = ctx;

	if (!w->err && io_write_all(w->fd, p, n) < 0)
		w->err = errno ? errno : EIO;
}

/* The last byte of the file, or '\n' when it is empty; -1 on error. */
static int
last_byte(int fd, off_t size, off_t back)
{
	char c;

	if (size < back)
		return '\n';
	if (pread_full(fd, &c, 1, (uint64_t)(size - back)) != 1)
		return -1;
	return (unsigned char)c;
}

/* The sender of a Maildir message for its From_ line: Return-Path. */
static void
md_sender(struct mail_box *b, size_t i, char *out, size_t cap)
{
	struct header_field f;
	struct header_addr_iter it = {0};
	struct header_addr a;
	size_t fln, hn, pos = 0, epos;

	str_copy(out, cap, "MAILER-DAEMON");
	if (mail_box_head(b, i, b->fl, sizeof b->fl, &fln, b->hbuf,
	                  sizeof b->hbuf, &hn) < 0)
		return;
	while (header_next(b->hbuf, hn, &pos, &f, &epos) == HEADER_OK)
		if (header_name_is(b->hbuf, &f, "Return-Path")) {
			if (header_addr_next(b->hbuf + f.value,
			                     f.value_end - f.value, &it, &a,
			                     &epos) == HEADER_OK &&
			    a.addr_len > 0 && !strpbrk(a.addr, " \t"))
				mail_clean(out, cap, a.addr, a.addr_len);
			return;
		}
}

/* A Maildir message as an mbox record: a From_ line (the Return-Path
 * and the file's time), the content escaped as mbox.c does, an empty
 * line. */
static void
put_md_record(struct mail_box *b, size_t i, struct wr *w)
{
	char from[MAIL_SUM_FROM + 64], line[MAIL_SUM_FROM + 128];
	struct mail_unesc u;
	struct stat st;
	struct tm tm;
	int fd, n;

	md_sender(b, i, from, sizeof from);
	if ((fd = mail_md_open(b, i)) < 0) {
		w->err = errno ? errno : EIO;
		return;
	}
	if (fstat(fd, &st) < 0 || !localtime_r(&st.st_mtime, &tm) ||
	    (n = snprintf(line, sizeof line, "From %s ", from)) < 0 ||
	    !strftime(line + n, sizeof line - (size_t)n,
	              "%a %b %e %H:%M:%S %Y\n", &tm)) {
		w->err = errno ? errno : EIO;
		io_close(fd);
		return;
	}
	wr_put(w, line, strlen(line));
	mail_esc_init(&u);
	if (copy_range(b, fd, 0, b->ix.v[i].end, &u, wr_put, w) < 0 && !w->err)
		w->err = EIO;
	mail_unesc_end(&u, wr_put, w);
	if (b->ix.v[i].end > 0 &&
	    (pread_full(fd, line, 1, b->ix.v[i].end - 1) != 1 ||
	     line[0] != '\n'))
		wr_put(w, "\n", 1);
	io_close(fd);
	wr_put(w, "\n", 1);
}

/* Message i as one mbox record on w: the file before it ends with an
 * empty line, the record ends with one. */
static void
put_record(struct mail_box *b, size_t i, struct wr *w, off_t size)
{
	const struct mail_msg *m = &b->ix.v[i];
	int c1 = last_byte(w->fd, size, 1), c2 = last_byte(w->fd, size, 2);
	char c;

	if (c1 < 0 || c2 < 0) {
		w->err = errno ? errno : EIO;
		return;
	}
	if (size > 0 && c1 != '\n')
		wr_put(w, "\n\n", 2);
	else if (size > 1 && c2 != '\n')
		wr_put(w, "\n", 1);
	if (b->maildir) {
		put_md_record(b, i, w);
		return;
	}
	if (copy_range(b, b->fd, m->start, m->cend, NULL, wr_put, w) < 0 &&
	    !w->err)
		w->err = EIO;
	if (m->cend > m->start && pread_full(b->fd, &c, 1, m->cend - 1) == 1 &&
	    c != '\n')
		wr_put(w, "\n", 1);
	wr_put(w, "\n", 1);
}

static int
open_save(const char *file, int *created)
{
	int fd = io_open(file, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOCTTY,
	                 0600);

	*created = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd =
		    io_open(file, O_RDWR | O_APPEND | O_NOCTTY | O_NONBLOCK, 0);
	return fd;
}

int
mail_box_save(struct mail_box *b, size_t i, const char *file, int *created)
{
	struct mailbox_lock_opts lo;
	struct mailbox_dotlock d;
	struct wr w = {-1, 0};
	struct stat st;
	int rc = -1;

	mailbox_lock_defaults(&lo);
	if (dotlock(&d, file, &lo) < 0)
		return -1;
	w.fd = open_save(file, created);
	if (w.fd < 0 || fstat(w.fd, &st) < 0) {
		log_error("%s: %s", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		log_error("%s: not a regular file", file);
		goto out;
	}
	if (mailbox_lock_fcntl_acquire(w.fd, F_WRLCK, &lo) < 0 ||
	    fstat(w.fd, &st) < 0) {
		log_error("%s: cannot lock: %s", file, strerror(errno));
		goto out;
	}
	put_record(b, i, &w, st.st_size);
	if (!w.err && io_fsync(w.fd) < 0)
		w.err = errno;
	if (w.err) {
		log_error("%s: write: %s", file, strerror(w.err));
		if (ftruncate(w.fd, st.st_size) < 0)
			log_error("%s: cannot cut off the partial message: %s",
			          file, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (w.fd >= 0)
		io_close(w.fd);
	undot(&d);
	return rc;
}

static size_t
count_deleted(const struct mail_box *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->ix.n; i++)
		n += (b->ix.v[i].flags & MAIL_F_DELETED) != 0;
	return n;
}

/* Under the locks: the file is the one indexed, not shorter, and every
 * indexed message still starts where it did. 0 or -1 (said why). */
static int
unchanged(struct mail_box *b, struct stat *st)
{
	char head[5];

	if (same_file(b->path, b->fd) <= 0 || fstat(b->fd, st) < 0 ||
	    (uint64_t)st->st_size < b->size)
		goto changed;
	for (size_t i = 0; i < b->ix.n; i++)
		if (pread_full(b->fd, head, 5, b->ix.v[i].start) != 5 ||
		    !mail_is_from_line(head, 5))
			goto changed;
	return 0;
changed:
	log_error("%s: the mailbox was changed by another program: "
	          "deletions not applied",
	          b->path);
	return -1;
}

/* Write the kept messages and everything after the indexed part (mail
 * delivered meanwhile) to the new file w. */
static void
write_kept(struct mail_box *b, struct wr *w, uint64_t size)
{
	for (size_t i = 0; i < b->ix.n && !w->err; i++) {
		const struct mail_msg *m = &b->ix.v[i];

		if (!(m->flags & MAIL_F_DELETED) &&
		    copy_range(b, b->fd, m->start, m->end, NULL, wr_put, w) <
		        0 &&
		    !w->err)
			w->err = EIO;
	}
	if (!w->err &&
	    copy_range(b, b->fd, b->ix.end, size, NULL, wr_put, w) < 0 &&
	    !w->err)
		w->err = EIO;
}

/* The directory part of path into dir[cap]. */
static void
dir_of(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		str_copy(dir, cap, ".");
	else if (slash == path)
		str_copy(dir, cap, "/");
	else
		str_copy_n(dir, cap, path, (size_t)(slash - path));
}

/* Write PATH.mail.PID.tmp and rename it over the mailbox. */
static int
replace(struct mail_box *b, const struct stat *st)
{
	char tmp[MBOX_PATH_MAX + 64], dir[MBOX_PATH_MAX];
	struct wr w = {-1, 0};

	if (snprintf(tmp, sizeof tmp, "%s.mail.%ld.tmp", b->path,
	             (long)getpid()) >= (int)sizeof tmp)
		return SM_EX_USAGE;
	unlink(tmp); /* left by a crashed run with our pid */
	w.fd = io_open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	if (w.fd < 0) {
		log_error("%s: cannot create %s: %s: deletions not applied",
		          b->path, tmp, strerror(errno));
		return SM_EX_CANTCREAT;
	}
	if ((st->st_uid != geteuid() || st->st_gid != getegid()) &&
	    fchown(w.fd, st->st_uid, st->st_gid) < 0)
		w.err = errno;
	if (!w.err && fchmod(w.fd, st->st_mode & 07777) < 0)
		w.err = errno;
	if (!w.err)
		write_kept(b, &w, (uint64_t)st->st_size);
	if (!w.err && io_fsync(w.fd) < 0)
		w.err = errno;
	if (io_close(w.fd) < 0 && !w.err)
		w.err = errno;
	if (!w.err && rename(tmp, b->path) < 0)
		w.err = errno;
	if (w.err) {
		log_error("%s: cannot write the new mailbox: %s: deletions not "
		          "applied",
		          b->path, strerror(w.err));
		unlink(tmp);
		return w.err == ENOSPC || w.err == EDQUOT ? SM_EX_TEMPFAIL
		                                          : MAIL_EX_IOERR;
	}
	dir_of(b->path, dir, sizeof dir);
	if (io_fsync_dir(dir) < 0)
		log_warn("%s: fsync: %s", dir, strerror(errno));
	return 0;
}

int
mail_box_commit(struct mail_box *b)
{
	static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};
	struct mailbox_lock_opts lo;
	struct mailbox_dotlock d;
	sigset_t block, old;
	struct stat st;
	int rc;

	if (b->fd < 0 || count_deleted(b) == 0)
		return 0;
	if (b->maildir)
		return mail_md_commit(b);
	if (b->rdonly) {
		log_error("%s: read-only: deletions not applied", b->path);
		return SM_EX_CANTCREAT;
	}
	/* Ctrl-C now would leave the lock file and the new file behind */
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaddset(&block, sigs[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	mailbox_lock_defaults(&lo);
	if (dotlock(&d, b->path, &lo) < 0) {
		rc = SM_EX_TEMPFAIL;
	} else if (mailbox_lock_fcntl_acquire(b->fd, F_WRLCK, &lo) < 0) {
		log_error("%s: cannot lock: %s: deletions not applied", b->path,
		          strerror(errno));
		rc = SM_EX_TEMPFAIL;
	} else {
		rc = unchanged(b, &st) < 0 ? SM_EX_TEMPFAIL : replace(b, &st);
		if (mailbox_lock_fcntl_release(b->fd) < 0)
			log_warn("%s: unlock: %s", b->path, strerror(errno));
	}
	undot(&d);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
