/*
 * queue.c - the queue directory: layout, owners and modes (queue_init),
 * paths, iteration over IDs, moves and quarantine (see queue.h and
 * docs/queue-format.md). Runs as root (provisioning, postsuper -s: fixes
 * owners with descriptors opened O_NOFOLLOW, never through a symlink), as
 * mail_owner (daemon roles, postsuper) or as a user in development mode.
 * Untrusted input: directory entry names (maildrop/ is writable by all),
 * which are checked with qfile_id_valid before any path is built.
 */
#include "queue.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const queue_names[QUEUE_N] = {
    [QUEUE_MAILDROP] = "maildrop", [QUEUE_INCOMING] = "incoming",
    [QUEUE_ACTIVE] = "active",     [QUEUE_DEFERRED] = "deferred",
    [QUEUE_HOLD] = "hold",         [QUEUE_CORRUPT] = "corrupt",
};

static const struct dirspec {
	const char *name;
	mode_t mode;
	int root_owned;
} dirspecs[] = {
    {"maildrop", 01733, 0}, {"incoming", 0700, 0}, {"active", 0700, 0},
    {"deferred", 0700, 0},  {"hold", 0700, 0},     {"corrupt", 0700, 0},
    {"public", 0711, 0},    {"pid", 0755, 1},
};

int
queue_index(const char *name)
{
	for (int i = 0; i < QUEUE_N; i++)
		if (strcmp(queue_names[i], name) == 0)
			return i;
	return -1;
}

int
queue_path(char *out, size_t cap, const char *qdir, const char *queue,
           const char *id)
{
	int n;

	if (!queue[0] || strchr(queue, '/') || strcmp(queue, "..") == 0 ||
	    (id && !qfile_id_valid(id))) {
		errno = EINVAL;
		return -1;
	}
	if (id)
		n = snprintf(out, cap, "%s/%s/%s", qdir, queue, id);
	else
		n = snprintf(out, cap, "%s/%s", qdir, queue);
	if (n < 0 || (size_t)n >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* As root: owner and mode through a descriptor (no symlink race). */
static int
fix_as_root(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;
	int fd = io_open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0), saved;

	if (fd < 0 || fstat(fd, &st) < 0)
		goto fail;
	if ((st.st_uid != uid || st.st_gid != gid)) {
		if (fchown(fd, uid, gid) < 0)
			goto fail;
		log_info("%s: owner set to %ld:%ld", path, (long)uid,
		         (long)gid);
	}
	if ((st.st_mode & 07777) != mode) {
		if (fchmod(fd, mode) < 0)
			goto fail;
		log_info("%s: mode set to %04o", path, (unsigned)mode);
	}
	return io_close(fd);
fail:
	saved = errno;
	if (fd >= 0)
		io_close(fd);
	errno = saved;
	return -1;
}

/* Development mode: only the modes of our own directories. */
static int
fix_as_user(const char *path, mode_t mode, const struct stat *st)
{
	if (st->st_uid != geteuid() || (st->st_mode & 07777) == mode)
		return 0;
	if (chmod(path, mode) < 0)
		return -1;
	log_info("%s: mode set to %04o", path, (unsigned)mode);
	return 0;
}

static int
init_dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	if (mkdir(path, mode & 0777) == 0)
		log_info("created %s", path);
	else if (errno != EEXIST)
		return -1;
	if (lstat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR; /* also for a symbolic link */
		return -1;
	}
	if (geteuid() == 0)
		return fix_as_root(path, mode, uid, gid);
	return fix_as_user(path, mode, &st);
}

static int
init_top(const char *qdir)
{
	struct stat st;

	if (mkdir(qdir, 0755) == 0) {
		log_info("created %s", qdir);
		if (chmod(qdir, 0755) < 0)
			return -1;
	} else if (errno != EEXIST) {
		return -1;
	}
	if (stat(qdir, &st) < 0) /* may be a link into the spool partition */
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int
queue_init(const char *qdir, uid_t uid, gid_t gid)
{
	char path[QUEUE_PATH_MAX];
	int root = geteuid() == 0;

	if (init_top(qdir) < 0) {
		log_error("queue directory %s: %s", qdir, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof dirspecs / sizeof dirspecs[0]; i++) {
		const struct dirspec *d = &dirspecs[i];
		uid_t u = root && d->root_owned ? 0 : uid;
		gid_t g = root && d->root_owned ? 0 : gid;

		if (queue_path(path, sizeof path, qdir, d->name, NULL) < 0 ||
		    init_dir(path, d->mode, u, g) < 0) {
			log_error("queue directory %s/%s: %s", qdir, d->name,
			          strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
queue_iter_open(struct queue_iter *it, const char *qdir, const char *queue)
{
	char path[QUEUE_PATH_MAX];

	it->d = NULL;
	it->queue = queue;
	if (queue_path(path, sizeof path, qdir, queue, NULL) < 0)
		return -1;
	it->d = opendir(path);
	return it->d ? 0 : -1;
}

static void
warn_name(const char *queue, const char *name)
{
	char esc[200];

	str_escape(esc, sizeof esc, name, strlen(name));
	log_warn("%s: ignoring a file that is not named like a queue ID: "
	         "\"%s\"",
	         queue, esc);
}

int
queue_iter_next(struct queue_iter *it, char id[QFILE_ID_MAX])
{
	struct dirent *e;

	for (;;) {
		errno = 0;
		e = readdir(it->d);
		if (!e)
			return errno ? -1 : 0;
		if (e->d_name[0] == '.')
			continue; /* ".", ".." and temporary files */
		if (qfile_id_valid(e->d_name))
			break;
		warn_name(it->queue, e->d_name);
	}
	str_copy(id, QFILE_ID_MAX, e->d_name);
	return 1;
}

void
queue_iter_close(struct queue_iter *it)
{
	if (it->d)
		closedir(it->d);
	it->d = NULL;
}

int
queue_move(const char *qdir, const char *from, const char *to, const char *id)
{
	char a[QUEUE_PATH_MAX], b[QUEUE_PATH_MAX];

	if (queue_path(a, sizeof a, qdir, from, id) < 0 ||
	    queue_path(b, sizeof b, qdir, to, id) < 0)
		return -1;
	return qfile_rename_noclobber(a, b);
}

int
queue_quarantine(const char *qdir, const char *from, const char *id,
                 const char *why)
{
	char esc[400];

	str_escape(esc, sizeof esc, why, strlen(why));
	if (queue_move(qdir, from, queue_names[QUEUE_CORRUPT], id) < 0) {
		log_error("%s: cannot move from %s to corrupt/: %s (the file "
		          "is damaged: %s)",
		          id, from, strerror(errno), esc);
		return -1;
	}
	log_warn("%s: moved from %s to corrupt/: %s", id, from, esc);
	return 0;
}

int
queue_sync(const char *qdir, const char *queue)
{
	char path[QUEUE_PATH_MAX];

	if (queue_path(path, sizeof path, qdir, queue, NULL) < 0)
		return -1;
	return io_fsync_dir(path);
}

int
queue_find(const char *qdir, const char *id, const int *queues, size_t n)
{
	char path[QUEUE_PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < n; i++) {
		if (queues[i] < 0 || queues[i] >= QUEUE_N) {
			errno = EINVAL;
			return -1;
		}
		if (queue_path(path, sizeof path, qdir, queue_names[queues[i]],
		               id) < 0)
			return -1;
		if (lstat(path, &st) == 0)
			return queues[i];
		if (errno != ENOENT)
			return -1;
	}
	errno = ENOENT;
	return -1;
}
