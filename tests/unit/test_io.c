/*
 * test_io.c - io_writev_all: every byte of every vector, in order, past
 * empty vectors, and through a pipe that takes less than the whole.
 */
#include "t.h"
#include "util/io.h"

#include <stdlib.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void
test_file(void)
{
	char path[] = "/tmp/tinymta-test-io-XXXXXX", got[16];
	int fd = mkstemp(path);
	struct iovec v[5] = {{"", 0}, {"ab", 2}, {"", 0}, {"cde", 3}, {"", 0}};
	struct iovec none[2] = {{"", 0}, {"", 0}};

	T_CHECK(fd >= 0, "mkstemp");
	if (fd < 0)
		return;
	unlink(path);
	T_CHECK(io_writev_all(fd, v, 5) == 0, "writev");
	T_CHECK(io_writev_all(fd, none, 2) == 0, "only empty vectors");
	T_CHECK(io_writev_all(fd, none, 0) == 0, "no vectors");
	T_CHECK(pread(fd, got, sizeof got, 0) == 5 &&
	            memcmp(got, "abcde", 5) == 0,
	        "content abcde");
	close(fd);
}

/* 1 MiB over three vectors into a pipe (64 KiB at a time on Linux) that a
 * child reads and checks. */
static void
test_pipe(void)
{
	size_t sizes[3] = {100000, 1, (1u << 20) - 100001};
	unsigned char *buf = malloc(1u << 20);
	struct iovec v[3];
	int p[2], st = 0;
	size_t off = 0;
	pid_t pid;

	T_CHECK(buf && pipe(p) == 0, "pipe");
	if (!buf)
		return;
	for (size_t i = 0; i < (1u << 20); i++)
		buf[i] = (unsigned char)(i * 7 + i / 251);
	pid = fork();
	if (pid == 0) {
		unsigned char c[4096];
		size_t n = 0;
		ssize_t r;

		close(p[1]);
		while ((r = read(p[0], c, sizeof c)) > 0)
			for (ssize_t i = 0; i < r; i++, n++)
				if (c[i] != (unsigned char)(n * 7 + n / 251))
					_exit(2);
		_exit(n == (1u << 20) ? 0 : 3);
	}
	close(p[0]);
	for (int i = 0; i < 3; i++) {
		v[i].iov_base = buf + off;
		v[i].iov_len = sizes[i];
		off += sizes[i];
	}
	T_CHECK(io_writev_all(p[1], v, 3) == 0, "writev to a pipe");
	close(p[1]);
	T_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	            WEXITSTATUS(st) == 0,
	        "the reader got every byte in order (status %d)", st);
	free(buf);
}

int
main(void)
{
	test_file();
	test_pipe();
	return T_DONE();
}
