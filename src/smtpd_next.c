/*
 * smtpd_next.c - between two sessions of a reusable smtpd (Postfix's
 * max_use; the master's side is master_smtpd.c): close the finished
 * connection, tell the master on the link (descriptor 3) that this
 * process is idle, and wait for the next connection (IPC_SMTPD_CONN:
 * client address, client port, server address, server port; the
 * connection as the one descriptor), which then becomes descriptors 0
 * and 1. The master ends an idle process by closing the link; the wait
 * also ends on a stop request or after a safety timeout, should the
 * master never answer. TRUSTED: the master (root); the frame is checked
 * all the same.
 */
#define _GNU_SOURCE /* ppoll */
#include "smtpd_next.h"
#include "ipc.h"
#include "role.h"
#include "util/log.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
smtpd_next_link(void)
{
	const char *v = getenv("TINYMTA_LINK");

	return v && strcmp(v, "3") == 0 && fcntl(3, F_GETFD) >= 0 ? 3 : -1;
}

/* Descriptors 0 and 1 on /dev/null: the finished connection is closed
 * (the client sees it end) and nothing else takes those numbers. */
static int
drop_connection(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		log_error("open /dev/null: %s", strerror(errno));
		return -1;
	}
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0) {
		log_error("dup2: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return close(fd);
}

static int
port_ok(const char *p)
{
	char *end;
	long v = strtol(p, &end, 10);

	return *p && !*end && v >= 0 && v <= 65535;
}

static int
addr_ok(const char *a)
{
	unsigned char bin[16];

	return strcmp(a, "unknown") == 0 || inet_pton(AF_INET, a, bin) == 1 ||
	       inet_pton(AF_INET6, a, bin) == 1;
}

/* Take the connection of frame m. 1, or 0 (logged; its fds closed). */
static int
take(const struct ipc_msg *m, struct smtpd_next *n)
{
	int type = 0;
	socklen_t len = sizeof type;
	int ok = m->type == IPC_SMTPD_CONN && m->nfields == 4 && m->nfds == 1 &&
	         addr_ok(m->field[0]) && port_ok(m->field[1]) &&
	         addr_ok(m->field[2]) && port_ok(m->field[3]) &&
	         getsockopt(m->fds[0], SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	         type == SOCK_STREAM;

	if (ok) {
		str_copy(n->client_addr, sizeof n->client_addr, m->field[0]);
		str_copy(n->client_port, sizeof n->client_port, m->field[1]);
		str_copy(n->server_addr, sizeof n->server_addr, m->field[2]);
		str_copy(n->server_port, sizeof n->server_port, m->field[3]);
		if (dup2(m->fds[0], 0) < 0 || dup2(m->fds[0], 1) < 0) {
			log_error("dup2: %s", strerror(errno));
			ok = 0;
		}
	} else {
		log_error("unexpected message from the master (type %u, %zu "
		          "fields, %zu descriptors); exiting",
		          (unsigned)m->type, m->nfields, m->nfds);
	}
	for (size_t i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	return ok;
}

/* poll for the link with SIGTERM/SIGINT let in only while waiting, so
 * that a stop request between the check and the wait is not slept
 * through. 0 also when a stop was requested. */
static int
wait_link(struct pollfd *p, int wait_ms)
{
	struct timespec ts = {wait_ms / 1000, (long)(wait_ms % 1000) * 1000000};
	sigset_t stop, old;
	int r = 0;

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	if (sigprocmask(SIG_BLOCK, &stop, &old) < 0)
		return -1;
	if (!role_stopping())
		r = ppoll(p, 1, &ts, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

int
smtpd_next(int link, struct smtpd_next *n, int wait_ms)
{
	unsigned char buf[IPC_FRAME_MAX];
	struct ipc_msg m;
	struct pollfd p = {link, POLLIN, 0};
	int r;

	/* idle first: the client may connect again as soon as it sees the
	 * close, and the master should know of us by then */
	if (ipc_send(link, IPC_SMTPD_IDLE, NULL, 0, NULL, 0) < 0) {
		log_debug("telling the master we are idle: %s",
		          strerror(errno));
		return 0;
	}
	if (drop_connection() < 0)
		return 0;
	do
		r = wait_link(&p, wait_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		log_error("poll on the master link: %s", strerror(errno));
		return 0;
	}
	if (r == 0 || role_stopping())
		return 0; /* the master never came back: end rather than wait */
	r = ipc_recv(link, buf, &m);
	if (r < 0)
		log_error("reading the master link: %s", strerror(errno));
	return r == 1 && take(&m, n);
}
