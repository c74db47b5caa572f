/*
 * ctl_client.c - talk to the master's control socket (see ctl_client.h).
 * Runs as the invoking user; the reply comes from the master (trusted).
 */
#include "ctl_client.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_TIMEOUT_MS 10000

static int
read_reply(int fd, char *reply, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t r;

		if (poll(&p, 1, CTL_TIMEOUT_MS) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = io_read(fd, reply + n, cap - 1 - n);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	reply[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* Connect to the control socket and send one request line; the socket,
 * or -1 with errno. */
static int
connect_send(const char *qdir, const char *request)
{
	struct sockaddr_un sa;
	char line[600];
	int fd, saved;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (snprintf(sa.sun_path, sizeof sa.sun_path, "%s/public/control",
	             qdir) >= (int)sizeof sa.sun_path ||
	    snprintf(line, sizeof line, "%s\n", request) >= (int)sizeof line) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    io_write_all(fd, line, strlen(line)) < 0) {
		saved = errno;
		io_close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
ctl_request(const char *qdir, const char *request, char *reply, size_t cap)
{
	int fd = connect_send(qdir, request), r, saved;

	if (fd < 0)
		return -1;
	r = read_reply(fd, reply, cap);
	saved = errno;
	io_close(fd);
	errno = saved;
	return r;
}

int
ctl_master_running(const char *qdir, long *pid)
{
	char path[600], buf[32];
	ssize_t n;
	int fd, r;

	if (snprintf(path, sizeof path, "%s/pid/master.pid", qdir) >=
	    (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = io_open(path, O_RDONLY, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	r = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	if (pid) {
		unsigned long v = 0;

		for (char *p = buf; *p >= '0' && *p <= '9'; p++)
			v = v * 10 + (unsigned long)(*p - '0');
		*pid = (long)v;
	}
	io_close(fd);
	return r;
}

unsigned long
ctl_auth_failures(const char *qdir, const char *what, const char *addr)
{
	char req[128], reply[64];
	unsigned long n = 0;

	snprintf(req, sizeof req, "%s %s", what, addr);
	if (ctl_request(qdir, req, reply, sizeof reply) < 0) {
		log_warn("cannot count login failures of %s: %s", addr,
		         strerror(errno));
		return 0;
	}
	if (sscanf(reply, "OK %lu", &n) != 1)
		return 0;
	return n;
}
