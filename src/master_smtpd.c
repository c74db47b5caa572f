/*
 * master_smtpd.c - smtpd processes that serve more than one connection
 * (Postfix's max_use). The master gives each smtpd one end of a
 * SOCK_SEQPACKET socketpair as its descriptor 3 (master_accept.c). When a
 * session ends, smtpd sends IPC_SMTPD_IDLE there and waits; the master
 * hands the next accepted connection of the same service to an idle
 * smtpd with IPC_SMTPD_CONN (fields: client address, client port, server
 * address, server port; one descriptor, the connection) instead of
 * forking a new one. Only the master ends an idle smtpd (by closing the
 * link: after max_idle, or after a reload, whose new configuration the
 * process does not have), so a connection is never handed to a process
 * that is on its way out. smtpd itself ends after max_use sessions,
 * without announcing itself idle. UNTRUSTED: the frames (a process that
 * served a client); anything but an empty IPC_SMTPD_IDLE closes the link.
 */
#include "ipc.h"
#include "master_listen_impl.h"
#include "util/clock.h"
#include "util/io.h"
#include "util/log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* The link of session si is closed: the process sees EOF and exits. */
static void
end_link(struct master_listen *l, size_t si)
{
	if (l->sess[si].link >= 0)
		io_close(l->sess[si].link);
	l->sess[si].link = -1;
	l->sess[si].idle = 0;
}

void
master_smtpd_input(struct master *m, size_t si)
{
	struct master_listen *l = m->listen;
	struct lsession *s = &l->sess[si];
	struct pollfd p = {s->link, POLLIN, 0};
	unsigned char buf[IPC_FRAME_MAX];
	struct ipc_msg msg;
	int r;

	if (poll(&p, 1, 0) <= 0)
		return;
	r = ipc_recv(s->link, buf, &msg);
	if (r == 1 && msg.type == IPC_SMTPD_IDLE && msg.nfields == 0 &&
	    msg.nfds == 0 && !s->idle && !s->retire && s->svc >= 0) {
		s->idle = 1;
		s->idle_since = clock_mono();
		/* an idle process counts for no client's connection limit */
		memset(&s->addr, 0, sizeof s->addr);
		s->port = 0;
		return;
	}
	if (r == 1) {
		for (size_t i = 0; i < msg.nfds; i++)
			io_close(msg.fds[i]);
		if (!(msg.type == IPC_SMTPD_IDLE && (s->retire || s->svc < 0)))
			log_warn("smtpd pid %ld: unexpected message type %u; "
			         "closing its link",
			         (long)s->pid, (unsigned)msg.type);
	} else if (r < 0) {
		log_warn("smtpd pid %ld: bad message: %s; closing its link",
		         (long)s->pid, strerror(errno));
	}
	end_link(l, si);
}

int
master_smtpd_has_idle(const struct master_listen *l, int svc)
{
	for (size_t i = 0; i < l->nsess; i++)
		if (l->sess[i].idle && l->sess[i].svc == svc)
			return 1;
	return 0;
}

/* The text of the local end of connection fd: address and port. */
static void
server_end(int fd, char *addr, size_t cap, char *port, size_t pcap)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct anvil_addr a;
	unsigned pt = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		master_addr_of(&ss, &a, &pt, addr, cap);
	else
		snprintf(addr, cap, "unknown");
	snprintf(port, pcap, "%u", pt);
}

int
master_smtpd_hand(struct master *m, int svc, int fd,
                  const struct anvil_addr *peer, const char *ip, unsigned port)
{
	struct master_listen *l = m->listen;
	char cport[16], saddr[INET6_ADDRSTRLEN], sport[16];
	const char *f[4] = {ip, cport, saddr, sport};

	if (!master_smtpd_has_idle(l, svc))
		return 0;
	snprintf(cport, sizeof cport, "%u", port);
	server_end(fd, saddr, sizeof saddr, sport, sizeof sport);
	/* the one idle longest first: the others may reach max_idle */
	for (;;) {
		size_t best = l->nsess;

		for (size_t i = 0; i < l->nsess; i++)
			if (l->sess[i].idle && l->sess[i].svc == svc &&
			    (best == l->nsess ||
			     l->sess[i].idle_since < l->sess[best].idle_since))
				best = i;
		if (best == l->nsess)
			return 0;
		if (ipc_send(l->sess[best].link, IPC_SMTPD_CONN, f, 4, &fd,
		             1) == 0) {
			struct lsession *s = &l->sess[best];

			s->idle = 0;
			s->addr = *peer;
			s->port = port;
			log_debug("connect from [%s]:%u to %s port %s, "
			          "reusing pid %ld",
			          ip, port, saddr, sport, (long)s->pid);
			return 1;
		}
		log_debug("smtpd pid %ld: handing over a connection: %s",
		          (long)l->sess[best].pid, strerror(errno));
		end_link(l, best);
	}
}

void
master_smtpd_retire(struct master_listen *l)
{
	for (size_t i = 0; l && i < l->nsess; i++) {
		if (!l->sess[i].reuse || l->sess[i].link < 0)
			continue;
		l->sess[i].retire = 1;
		if (l->sess[i].idle)
			end_link(l, i);
	}
}

int64_t
master_smtpd_expire(struct master *m)
{
	struct master_listen *l = m->listen;
	int64_t now, next = 0, max_idle;

	if (!l)
		return 0;
	for (size_t i = 0;; i++) {
		if (i == l->nsess)
			return 0;
		if (l->sess[i].idle)
			break;
	}
	now = clock_mono();
	max_idle = (int64_t)conf_time(m->conf, "max_idle");
	for (size_t i = 0; i < l->nsess; i++) {
		if (!l->sess[i].idle)
			continue;
		if (l->sess[i].idle_since + max_idle <= now) {
			end_link(l, i);
			continue;
		}
		if (!next || l->sess[i].idle_since + max_idle < next)
			next = l->sess[i].idle_since + max_idle;
	}
	return next;
}
