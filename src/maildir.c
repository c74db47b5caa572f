/*
 * maildir.c - deliver one message into a Maildir (see maildir.h).
 * Runs in the local delivery agent as the mailbox owner, never root.
 * Untrusted: the message content, copied verbatim and never parsed, and
 * the state of the Maildir (a non-directory where tmp/ should be is
 * refused; an existing file name is never overwritten).
 */
#include "maildir.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define DSN_BADARG "5.3.0"

/* Host part of a name: '/' would be a path separator and ':' starts the
 * info part, so both are escaped as octal, as Courier and Dovecot do. */
static int
escape_host(char *dst, size_t cap, const char *src)
{
	size_t o = 0;

	/* loop invariant: o < cap, dst[0..o) is the escaped prefix */
	for (; *src; src++) {
		unsigned char c = (unsigned char)*src;
		int n;

		if (c == '/' || c == ':' || c < 0x20 || c == 0x7f)
			n = snprintf(dst + o, cap - o, "\\%03o", c);
		else
			n = snprintf(dst + o, cap - o, "%c", c);
		if (n < 0 || (size_t)n >= cap - o)
			return -1;
		o += (size_t)n;
	}
	dst[o] = '\0';
	return o > 0 ? 0 : -1;
}

int
maildir_init(struct maildir *md, const char *dir, const char *hostname,
             uint64_t size_limit, struct mbox_result *res)
{
	struct utsname u;
	size_t n;

	md->seq = 0;
	md->ready = 0;
	md->size_limit = size_limit;
	if (!hostname) {
		if (uname(&u) < 0) {
			mbox_result_errno(res, errno, "uname");
			return -1;
		}
		hostname = u.nodename;
	}
	if (str_copy(md->dir, sizeof md->dir, dir) < 0 ||
	    escape_host(md->host, sizeof md->host, hostname) < 0) {
		mbox_result_set(res, MBOX_PERM, DSN_BADARG, 0,
		                "maildir path or host name too long or empty");
		return -1;
	}
	n = strlen(md->dir);
	while (n > 1 && md->dir[n - 1] == '/')
		md->dir[--n] = '\0';
	return 0;
}

/* dst = md->dir "/" sub ["/" name]. */
static int
path_of(const struct maildir *md, char *dst, size_t cap, const char *sub,
        const char *name)
{
	int n;

	if (name)
		n = snprintf(dst, cap, "%s/%s/%s", md->dir, sub, name);
	else if (sub)
		n = snprintf(dst, cap, "%s/%s", md->dir, sub);
	else
		n = snprintf(dst, cap, "%s", md->dir);
	if (n < 0 || (size_t)n >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* mkdir 0700 unless it exists as a directory (a symlink to one is fine:
 * an administrator may put Maildirs on another disk). 1 created, 0 was
 * there, -1 with errno (ENOTDIR: something else is there). */
static int
make_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 1;
	if (errno != EEXIST)
		return -1;
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* fsync the directory that holds path (its entry for a new directory). */
static int
sync_parent(const char *path)
{
	char dir[MAILDIR_PATH_MAX + 8];
	char *slash;

	if (str_copy(dir, sizeof dir, path) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	slash = strrchr(dir, '/');
	if (!slash)
		return io_fsync_dir(".");
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return io_fsync_dir(dir);
}

static int
ensure_one(const struct maildir *md, const char *sub)
{
	char p[MAILDIR_PATH_MAX + 8];
	int r;

	if (path_of(md, p, sizeof p, sub, NULL) < 0)
		return -1;
	r = make_dir(p);
	if (r < 0)
		return -1;
	return r > 0 ? sync_parent(p) : 0;
}

static int
ensure_dirs(struct maildir *md, struct mbox_result *res)
{
	static const char *const subs[] = {NULL, "tmp", "new", "cur"};
	size_t i;

	for (i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		if (ensure_one(md, subs[i]) < 0) {
			int err = errno;

			if (err == ENOTDIR) /* a file where a directory goes */
				mbox_result_set(res, MBOX_PERM, "5.2.0", err,
				                "cannot create maildir");
			else
				mbox_result_errno(res, err,
				                  "cannot create maildir");
			return -1;
		}
	}
	md->ready = 1;
	return 0;
}

static int
make_name(struct maildir *md, char *name, size_t cap)
{
	struct timespec ts;
	int n;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -1;
	n = snprintf(name, cap, "%lld.M%ldP%ldQ%lu.%s", (long long)ts.tv_sec,
	             ts.tv_nsec / 1000, (long)getpid(), md->seq++, md->host);
	if (n < 0 || (size_t)n >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Create tmp/NAME exclusively, trying fresh names on a collision. */
static int
create_tmp(struct maildir *md, char *name, char *tmp, size_t cap)
{
	int i, fd;

	for (i = 0; i < MAILDIR_TRIES; i++) {
		if (make_name(md, name, MAILDIR_NAME_MAX) < 0 ||
		    path_of(md, tmp, cap, "tmp", name) < 0)
			return -1;
		fd = io_open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
		             0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

struct wstate {
	struct maildir *md;
	int fd;
	uint64_t size;
	int over;
};

static int
put(struct wstate *w, const void *p, size_t n)
{
	uint64_t lim = w->md->size_limit;

	if (lim != 0 && (w->size > lim || n > lim - w->size)) {
		w->over = 1;
		errno = EFBIG;
		return -1;
	}
	w->size += n;
	return io_write_all(w->fd, p, n);
}

static int
put_str(struct wstate *w, const char *s)
{
	return put(w, s, strlen(s));
}

/* 0, -1 write error, -2 read error (errno set either way). */
static int
write_message(struct wstate *w, const struct mbox_msg *msg)
{
	char last = '\n';
	ssize_t n;

	if (put_str(w, "Return-Path: <") < 0 || put_str(w, msg->sender) < 0 ||
	    put_str(w, ">\nDelivered-To: ") < 0 ||
	    put_str(w, msg->recipient) < 0 || put_str(w, "\n") < 0)
		return -1;
	for (;;) {
		n = msg->read(msg->ctx, w->md->buf, sizeof w->md->buf);
		if (n == 0)
			break;
		if (n < 0 || (size_t)n > sizeof w->md->buf) {
			if (n > 0)
				errno = EINVAL;
			return -2;
		}
		if (put(w, w->md->buf, (size_t)n) < 0)
			return -1;
		last = w->md->buf[n - 1];
	}
	if (last != '\n' && put_str(w, "\n") < 0)
		return -1;
	return 0;
}

static void
write_failed(const struct wstate *w, int r, struct mbox_result *res)
{
	if (r == -2)
		mbox_result_set(res, MBOX_TEMP, "4.3.0", errno,
		                "cannot read message content");
	else if (w->over)
		mbox_result_set(res, MBOX_PERM, "5.2.2", 0,
		                "message file would exceed "
		                "mailbox_size_limit (%llu bytes)",
		                (unsigned long long)w->md->size_limit);
	else
		mbox_result_errno(res, errno, "cannot write maildir file");
}

/* Write, fsync and close the open tmp file; 0 or -1 with *res set. */
static int
fill_tmp(struct maildir *md, int fd, const struct mbox_msg *msg,
         struct mbox_result *res)
{
	struct wstate w = {md, fd, 0, 0};
	int r = write_message(&w, msg);

	if (r == 0 && io_fsync(fd) < 0)
		r = -1;
	if (r < 0) {
		int err = errno;

		io_close(fd);
		errno = err;
		write_failed(&w, r, res);
		return -1;
	}
	if (io_close(fd) < 0) {
		mbox_result_errno(res, errno, "cannot close maildir file");
		return -1;
	}
	return 0;
}

/* Without hard links (vfat), rename; the name is unique, and lstat keeps
 * a collision from replacing another message (a narrow race remains). */
static int
rename_in(const char *tmp, const char *dst)
{
	struct stat st;

	if (lstat(dst, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	if (errno != ENOENT)
		return -1;
	return rename(tmp, dst);
}

/* tmp/NAME to new/NAME (or a fresh name on a collision); 1 linked (tmp
 * still to remove), 0 renamed, -1 error. */
static int
publish(struct maildir *md, const char *tmp, char *name, char *dst, size_t cap)
{
	int i;

	for (i = 0; i < MAILDIR_TRIES; i++) {
		if ((i > 0 && make_name(md, name, MAILDIR_NAME_MAX) < 0) ||
		    path_of(md, dst, cap, "new", name) < 0)
			return -1;
		if (link(tmp, dst) == 0)
			return 1;
		if (errno == EPERM || errno == ENOSYS || errno == EOPNOTSUPP) {
			if (rename_in(tmp, dst) == 0)
				return 0;
		}
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

/* Move into new/ and make it durable; on failure nothing stays. */
static int
commit(struct maildir *md, const char *tmp, char *name, struct mbox_result *res)
{
	char dst[MAILDIR_PATH_MAX + MAILDIR_NAME_MAX + 8];
	char newdir[MAILDIR_PATH_MAX + 8];
	int r = publish(md, tmp, name, dst, sizeof dst);

	if (r < 0) {
		mbox_result_errno(res, errno, "cannot move maildir file");
		return -1;
	}
	if (r > 0 && unlink(tmp) < 0)
		log_warn("cannot remove maildir tmp file %s: %s", name,
		         strerror(errno));
	if (path_of(md, newdir, sizeof newdir, "new", NULL) < 0 ||
	    io_fsync_dir(newdir) < 0) {
		mbox_result_errno(res, errno, "cannot fsync maildir new/");
		if (unlink(dst) < 0)
			log_error("cannot remove maildir file %s: %s", name,
			          strerror(errno));
		return -1;
	}
	return 0;
}

enum mbox_status
maildir_deliver(struct maildir *md, const struct mbox_msg *msg,
                struct mbox_result *res, char *name, size_t cap)
{
	char fname[MAILDIR_NAME_MAX];
	char tmp[MAILDIR_PATH_MAX + MAILDIR_NAME_MAX + 8];
	int fd;

	if (mbox_msg_check(msg, res) < 0)
		return res->status;
	if (!md->ready && ensure_dirs(md, res) < 0)
		return res->status;
	fd = create_tmp(md, fname, tmp, sizeof tmp);
	if (fd < 0 && errno == ENOENT) { /* removed since we checked */
		md->ready = 0;
		if (ensure_dirs(md, res) < 0)
			return res->status;
		fd = create_tmp(md, fname, tmp, sizeof tmp);
	}
	if (fd < 0) {
		mbox_result_errno(res, errno, "cannot create maildir file");
		return res->status;
	}
	if (fill_tmp(md, fd, msg, res) < 0 || commit(md, tmp, fname, res) < 0) {
		if (unlink(tmp) < 0 && errno != ENOENT)
			log_error("cannot remove maildir tmp file %s: %s",
			          fname, strerror(errno));
		return res->status;
	}
	if (name && (str_copy(name, cap, "new/") < 0 ||
	             str_append(name, cap, fname) < 0))
		log_warn("maildir file name truncated: %s", fname);
	mbox_result_set(res, MBOX_OK, "2.0.0", 0, "delivered to maildir");
	return MBOX_OK;
}
