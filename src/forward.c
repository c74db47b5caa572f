/*
 * forward.c - ~/.forward lookup and safety checks (see forward.h). Runs in
 * qmgr as mail_owner, inside recipient resolution. Untrusted: the file and
 * its contents, which belong to a local user; the file is opened without
 * following symlinks and checked on the descriptor, so nothing can be
 * swapped in between the check and the read.
 */
#include "forward.h"
#include "util/io.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum forward_verdict
forward_check(const struct stat *st, uid_t uid)
{
	if (!S_ISREG(st->st_mode))
		return FORWARD_NOT_REGULAR;
	if (st->st_uid != 0 && st->st_uid != uid)
		return FORWARD_BAD_OWNER;
	if (st->st_mode & S_IWOTH)
		return FORWARD_WORLD_WRITABLE;
	return FORWARD_OK;
}

const char *
forward_strverdict(enum forward_verdict v)
{
	switch (v) {
	case FORWARD_OK:
		return "is usable";
	case FORWARD_NOT_REGULAR:
		return "is not a regular file";
	case FORWARD_BAD_OWNER:
		return "is owned by neither its user nor root";
	case FORWARD_WORLD_WRITABLE:
		return "is world writable";
	}
	return "is unusable";
}

int
forward_path(const char *home, const char *delim_ext, int i, char *out,
             size_t cap)
{
	int n;

	if (i < 0 || i > 1 || (i == 0 && !delim_ext[0]))
		return 0;
	n = snprintf(out, cap, "%s/.forward%s", strcmp(home, "/") ? home : "",
	             i == 0 ? delim_ext : "");
	return n > 0 && (size_t)n < cap;
}

int
forward_slurp_fd(int fd, size_t max, char **text)
{
	char *buf = malloc(max + 1);
	ssize_t n;

	if (!buf)
		return -1;
	n = io_read_full(fd, buf, max + 1);
	if (n < 0 || (size_t)n > max) {
		free(buf);
		if (n >= 0)
			errno = EFBIG;
		return -1;
	}
	buf[n] = '\0';
	*text = buf;
	return 0;
}

enum forward_result
forward_read(const char *path, uid_t uid, char **text, char *why, size_t cap)
{
	struct stat st;
	enum forward_verdict v;
	int fd, e;

	*text = NULL;
	fd = io_open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT || e == ENOTDIR)
			return FORWARD_NONE;
		snprintf(why, cap, "%s",
		         e == ELOOP ? "is not a regular file" : strerror(e));
		if (e == EACCES)
			str_append(why, cap,
			           " (it must be readable by "
			           "mail_owner)");
		return e == ELOOP || e == EACCES ? FORWARD_IGNORED
		                                 : FORWARD_ERROR;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(why, cap, "fstat: %s", strerror(errno));
		io_close(fd);
		return FORWARD_ERROR;
	}
	v = forward_check(&st, uid);
	if (v != FORWARD_OK) {
		snprintf(why, cap, "%s", forward_strverdict(v));
		io_close(fd);
		return FORWARD_IGNORED;
	}
	if (forward_slurp_fd(fd, FORWARD_SIZE_MAX, text) < 0) {
		e = errno;
		snprintf(why, cap, "%s",
		         e == EFBIG ? "is too large" : strerror(e));
		io_close(fd);
		return e == EFBIG ? FORWARD_IGNORED : FORWARD_ERROR;
	}
	io_close(fd);
	return FORWARD_FOUND;
}
