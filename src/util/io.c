/*
 * io.c - EINTR-safe system-call wrappers (see io.h).
 */
#include "util/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static unsigned long fsyncs;

int
io_open(const char *path, int flags, mode_t mode)
{
	int fd;

	do
		fd = open(path, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	return fd;
}

int
io_close(int fd)
{
	/* Linux closes the descriptor even when close() reports EINTR. */
	if (close(fd) < 0 && errno != EINTR)
		return -1;
	return 0;
}

int
io_write_all(int fd, const void *buf, size_t len)
{
	struct iovec v;

	memcpy(&v.iov_base, &buf, sizeof buf); /* writev does not write it */
	v.iov_len = len;
	return io_writev_all(fd, &v, 1);
}

int
io_writev_all(int fd, struct iovec *v, int n)
{
	for (;;) {
		ssize_t w;

		while (n > 0 && v->iov_len == 0) {
			v++;
			n--;
		}
		if (n == 0)
			return 0;
		w = writev(fd, v, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		/* drop what was written: whole vectors, then part of one */
		while (n > 0 && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
}

ssize_t
io_read(int fd, void *buf, size_t len)
{
	ssize_t r;

	do
		r = read(fd, buf, len);
	while (r < 0 && errno == EINTR);
	return r;
}

ssize_t
io_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = io_read(fd, (char *)buf + got, len - got);

		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int
io_fsync(int fd)
{
	int r;

	fsyncs++;
	do
		r = fsync(fd);
	while (r < 0 && errno == EINTR);
	return r;
}

int
io_fsync_dir(const char *dir)
{
	int fd = io_open(dir, O_RDONLY | O_DIRECTORY, 0), r, saved;

	if (fd < 0)
		return -1;
	r = io_fsync(fd);
	saved = errno;
	io_close(fd);
	errno = saved;
	return r;
}

int
io_slurp(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd = io_open(path, O_RDONLY, 0), saved;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((size_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto fail;
	n = io_read_full(fd, buf, (size_t)st.st_size);
	if (n < 0) {
		saved = errno;
		free(buf);
		errno = saved;
		goto fail;
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	io_close(fd);
	return 0;
fail:
	saved = errno;
	io_close(fd);
	errno = saved;
	return -1;
}

unsigned long
io_fsync_count(void)
{
	return fsyncs;
}
