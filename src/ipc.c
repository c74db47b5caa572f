/*
 * ipc.c - framed messages between tinymta processes (see ipc.h). The
 * parser is pure and bounded; frames from another process are untrusted
 * in the sense that a bad one ends the link, never the process.
 */
#include "ipc.h"
#include "util/io.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void
put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

int
ipc_build(unsigned char *buf, size_t cap, uint32_t type,
          const char *const *fields, size_t nfields)
{
	size_t off = 8;

	if (cap < 8 || nfields > IPC_FIELDS_MAX)
		return -1;
	put_u32(buf, type);
	put_u32(buf + 4, (uint32_t)nfields);
	for (size_t i = 0; i < nfields; i++) {
		size_t n = strlen(fields[i]) + 1;

		if (n > cap - off)
			return -1;
		memcpy(buf + off, fields[i], n);
		off += n;
	}
	return (int)off;
}

int
ipc_parse(const unsigned char *buf, size_t len, struct ipc_msg *m)
{
	size_t off = 8;
	uint32_t n;

	if (len < 8 || len > IPC_FRAME_MAX)
		return -1;
	m->type = get_u32(buf);
	n = get_u32(buf + 4);
	if (n > IPC_FIELDS_MAX)
		return -1;
	m->nfields = 0;
	/* loop invariant: off <= len; fields 0..i-1 are terminated in buf */
	for (uint32_t i = 0; i < n; i++) {
		const unsigned char *nul = memchr(buf + off, 0, len - off);

		if (!nul)
			return -1;
		m->field[m->nfields++] = (const char *)buf + off;
		off = (size_t)(nul - buf) + 1;
	}
	return off == len ? 0 : -1;
}

static int
send_frame(int sock, int flags, uint32_t type, const char *const *fields,
           size_t nfields, const int *fds, size_t nfds)
{
	unsigned char buf[IPC_FRAME_MAX];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)];
	} ctl;
	struct iovec iov;
	struct msghdr mh;
	int n = ipc_build(buf, sizeof buf, type, fields, nfields);
	ssize_t w;

	if (n < 0 || nfds > IPC_FDS_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	memset(&mh, 0, sizeof mh);
	iov.iov_base = buf;
	iov.iov_len = (size_t)n;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&ctl, 0, sizeof ctl);
		mh.msg_control = ctl.space;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		w = sendmsg(sock, &mh, MSG_NOSIGNAL | flags);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -1 : 0;
}

int
ipc_send(int sock, uint32_t type, const char *const *fields, size_t nfields,
         const int *fds, size_t nfds)
{
	return send_frame(sock, 0, type, fields, nfields, fds, nfds);
}

int
ipc_send_nowait(int sock, uint32_t type, const char *const *fields,
                size_t nfields)
{
	return send_frame(sock, MSG_DONTWAIT, type, fields, nfields, NULL, 0);
}

static void
take_fds(struct msghdr *mh, struct ipc_msg *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			if (m->nfds < IPC_FDS_MAX)
				m->fds[m->nfds++] = fd;
			else
				io_close(fd);
		}
	}
}

int
ipc_recv(int sock, unsigned char *buf, struct ipc_msg *m)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)];
	} ctl;
	struct iovec iov = {buf, IPC_FRAME_MAX};
	struct msghdr mh;
	ssize_t r;

	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.space;
	mh.msg_controllen = sizeof ctl.space;
	m->nfds = 0;
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return (int)r;
	take_fds(&mh, m);
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    ipc_parse(buf, (size_t)r, m) < 0) {
		for (size_t i = 0; i < m->nfds; i++)
			io_close(m->fds[i]);
		m->nfds = 0;
		errno = EBADMSG;
		return -1;
	}
	return 1;
}
