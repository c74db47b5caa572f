/*
 * master_pop3.c - the hand-over from a pop3d login process to the mailbox
 * phase. The master gave each pop3d login process (mail_owner) one end of
 * a socketpair as its descriptor 3 (master_accept.c); after a good login
 * it sends one IPC_POP3_LOGIN frame there: field 0 the user name, one
 * descriptor, the client connection (under TLS, a socketpair end the
 * login process relays to: pop3d_tls.c). The master checks the request (only
 * on that link, at most once per process, a system user that is not
 * root, a stream socket), forks, becomes the user and execs
 * `tinymta pop3d-mailbox [-o name=value]… USER` with the connection on
 * descriptors 0 and 1, then answers IPC_REPLY "ok" (or the reason) and
 * closes the link. The mailbox process counts as a session of the same
 * service (maxproc, connection limits, stop). The public control socket
 * cannot start a mailbox phase. UNTRUSTED: the frame (ipc_parse checks
 * its form; the user name is checked here).
 */
#include "ipc.h"
#include "master_listen_impl.h"
#include "sasl_decode.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void
reply(int link, const char *text)
{
	const char *f[] = {text};

	if (ipc_send(link, IPC_REPLY, f, 1, NULL, 0) < 0)
		log_debug("pop3d link reply: %s", strerror(errno));
}

/* Start the mailbox phase for session index si. NULL, or why not. */
static const char *
start_mailbox(struct master *m, size_t si, const char *user, int conn)
{
	struct master_listen *l = m->listen;
	struct lsession me = l->sess[si];
	struct passwd *pw;
	uid_t uid = m->uid;
	gid_t gid = m->gid;
	int type = 0;
	socklen_t len = sizeof type;
	sigset_t all, old;
	pid_t pid;

	if (me.svc < 0)
		return "service gone";
	if (sasl_user_check(user, strlen(user)) != SASL_OK || user[0] == '-')
		return "bad user name";
	if (getsockopt(conn, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_STREAM)
		return "descriptor is not a stream socket";
	pw = getpwnam(user);
	if (!pw)
		return "no such user";
	if (geteuid() == 0) {
		if (pw->pw_uid == 0)
			return "user is root";
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (master_accept_room(l) < 0)
		return "out of memory";
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		master_child_signals(&old);
		master_accept_exec(m, l->cf, &l->cf->v[me.svc], conn, &me,
		                   "pop3d-mailbox", user, uid, gid);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return "fork failed";
	me.pid = pid;
	me.link = -1;
	l->sess[l->nsess++] = me;
	l->svc[me.svc].nkids++;
	log_debug("pop3d: mailbox phase for %s, pid %ld", user, (long)pid);
	return NULL;
}

void
master_pop3_input(struct master *m, size_t si)
{
	struct master_listen *l = m->listen;
	int link = l->sess[si].link;
	struct pollfd p = {link, POLLIN, 0};
	unsigned char buf[IPC_FRAME_MAX];
	struct ipc_msg msg;
	const char *why = "malformed request";
	int r;

	if (poll(&p, 1, 0) <= 0)
		return; /* nothing there (the fd was reused meanwhile) */
	r = ipc_recv(link, buf, &msg);
	if (r <= 0) {
		if (r < 0)
			log_warn("pop3d pid %ld: bad message: %s; closing its "
			         "link",
			         (long)l->sess[si].pid, strerror(errno));
		io_close(link);
		l->sess[si].link = -1;
		return;
	}
	if (msg.type == IPC_POP3_LOGIN && msg.nfields == 1 && msg.nfds == 1)
		why = start_mailbox(m, si, msg.field[0], msg.fds[0]);
	if (why) {
		char esc[128];

		str_escape(esc, sizeof esc, msg.nfields ? msg.field[0] : "",
		           msg.nfields ? strlen(msg.field[0]) : 0);
		log_warn("pop3d pid %ld: mailbox phase for \"%s\" refused: %s",
		         (long)l->sess[si].pid, esc, why);
	}
	/* start_mailbox may have moved l->sess: index again by si. */
	link = m->listen->sess[si].link;
	reply(link, why ? why : "ok");
	for (size_t i = 0; i < msg.nfds; i++)
		io_close(msg.fds[i]);
	io_close(link);
	m->listen->sess[si].link = -1; /* one request per login process */
}
