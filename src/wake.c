/*
 * wake.c - wake-up datagrams (see wake.h).
 */
#include "wake.h"
#include "util/io.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int
wake_addr(struct sockaddr_un *sa, const char *qdir, const char *name)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (snprintf(sa->sun_path, sizeof sa->sun_path, "%s/public/%s", qdir,
	             name) >= (int)sizeof sa->sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
wake_bind(const char *qdir, const char *name, mode_t mode)
{
	struct sockaddr_un sa;
	int fd;

	if (wake_addr(&sa, qdir, name) < 0)
		return -1;
	if (unlink(sa.sun_path) < 0 && errno != ENOENT)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    chmod(sa.sun_path, mode) < 0) {
		int saved = errno;

		io_close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

void
wake_drain(int fd)
{
	char buf[64];

	while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0)
		;
}

int
wake_send(int *fd, const char *qdir, const char *name)
{
	struct sockaddr_un sa;
	ssize_t r;

	if (wake_addr(&sa, qdir, name) < 0)
		return -1;
	if (*fd < 0) {
		*fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		             0);
		if (*fd < 0)
			return -1;
	}
	do
		r = sendto(*fd, "W", 1, MSG_DONTWAIT | MSG_NOSIGNAL,
		           (const struct sockaddr *)&sa, sizeof sa);
	while (r < 0 && errno == EINTR);
	return r < 0 && errno != EAGAIN ? -1 : 0;
}

void
wake_pickup(const char *qdir)
{
	int fd = -1;

	if (wake_send(&fd, qdir, "pickup") < 0)
		log_debug("pickup not woken: %s", strerror(errno));
	if (fd >= 0)
		io_close(fd);
}
