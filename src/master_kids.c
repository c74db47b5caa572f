/*
 * master_kids.c - the master's children: pickup and qmgr (long-running, as
 * mail_owner, restarted when they die, at most once a second and slower
 * when they keep dying) and delivery agents (one per delivery, as the user
 * qmgr names, never root). Frames from the children are parsed by ipc.c;
 * a malformed frame closes that link. smtpd sessions (master_accept.c)
 * are reaped and stopped here with the rest.
 */
#include "ipc.h"
#include "master.h"
#include "master_listen.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"
#include "util/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define KID_QUICK_DEATH 10 /* seconds: dying sooner counts as a crash */
#define STOP_GRACE_MS 10000

_Noreturn void
master_exec_role(const struct master *m, uid_t uid, gid_t gid,
                 char *const argv[])
{
	signal(SIGPIPE, SIG_DFL);
	if (sys_drop_privs(uid, gid) < 0) {
		log_error("%s: cannot drop privileges to uid %ld: %s", argv[1],
		          (long)uid, strerror(errno));
		_exit(71);
	}
	execv(m->exe, argv);
	log_error("exec %s: %s", m->exe, strerror(errno));
	_exit(71);
}

static void
spawn_kid(struct master *m, enum master_kid_role k)
{
	struct master_kid *kid = &m->kids[k];
	sigset_t all, old;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair for %s: %s", kid->role, strerror(errno));
		kid->next_start = time(NULL) + 5;
		return;
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0)
		master_child_signals(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		log_error("fork for %s: %s", kid->role, strerror(errno));
		io_close(sv[0]);
		io_close(sv[1]);
		kid->next_start = time(NULL) + 5;
		return;
	}
	if (pid == 0) {
		char *argv[] = {"tinymta", (char *)kid->role, NULL};

		if (dup2(sv[1], 3) < 0)
			_exit(71);
		master_exec_role(m, m->uid, m->gid, argv);
	}
	io_close(sv[1]);
	kid->link = sv[0];
	kid->reload_pending = 0; /* it reads the configuration as it starts */
	kid->pid = pid;
	kid->started = time(NULL);
	log_debug("started %s, pid %ld", kid->role, (long)pid);
}

void
master_kids_start(struct master *m)
{
	time_t now = time(NULL);

	if (m->stopping)
		return;
	for (int k = 0; k < KID_COUNT; k++)
		if (m->kids[k].pid == 0 && m->kids[k].next_start <= now)
			spawn_kid(m, (enum master_kid_role)k);
}

time_t
master_kids_next_event(const struct master *m)
{
	time_t next = 0;

	for (int k = 0; k < KID_COUNT; k++)
		if (m->kids[k].pid == 0 &&
		    (next == 0 || m->kids[k].next_start < next))
			next = m->kids[k].next_start;
	return next;
}

static void
kid_died(struct master *m, struct master_kid *kid, int status)
{
	time_t now = time(NULL);

	if (!m->stopping) {
		if (WIFSIGNALED(status))
			log_warn("process %s pid %ld killed by signal %d",
			         kid->role, (long)kid->pid, WTERMSIG(status));
		else
			log_warn("process %s pid %ld exit status %d", kid->role,
			         (long)kid->pid, WEXITSTATUS(status));
	}
	if (kid->link >= 0)
		io_close(kid->link);
	kid->link = -1;
	kid->pid = 0;
	if (m->stopping)
		return;
	if (now - kid->started < KID_QUICK_DEATH) {
		unsigned d = kid->quick_deaths < 6 ? ++kid->quick_deaths : 6;

		kid->next_start = now + (1 << d); /* 2, 4 … 64 s */
		log_warn("%s died soon after start; next start in %d s",
		         kid->role, 1 << d);
	} else {
		kid->quick_deaths = 0;
		kid->next_start = now + 1;
	}
}

static void
agent_done(struct master *m, pid_t pid)
{
	for (size_t i = 0; i < m->nagents; i++)
		if (m->agents[i] == pid) {
			m->agents[i] = m->agents[--m->nagents];
			return;
		}
}

void
master_kids_reap(struct master *m)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int found = 0;

		for (int k = 0; k < KID_COUNT; k++)
			if (m->kids[k].pid == pid) {
				kid_died(m, &m->kids[k], status);
				found = 1;
			}
		if (!found && !master_listen_reaped(m, pid, status))
			agent_done(m, pid);
	}
}

/* In the agent child: result pipe to stdout, queue files to 3, 4, …,
 * /dev/null as stdin. Descriptors are first moved above the targets so
 * that no dup2 overwrites one still to be placed. */
static int
place_fds(const struct ipc_msg *msg)
{
	int high[IPC_FDS_MAX], null = io_open("/dev/null", O_RDONLY, 0);

	if (null < 0 || dup2(null, 0) < 0)
		return -1;
	for (size_t i = 0; i < msg->nfds; i++) {
		high[i] = fcntl(msg->fds[i], F_DUPFD_CLOEXEC, 64);
		if (high[i] < 0)
			return -1;
	}
	if (dup2(high[0], 1) < 0)
		return -1;
	for (size_t i = 1; i < msg->nfds; i++)
		if (dup2(high[i], 2 + (int)i) < 0)
			return -1;
	return 0;
}

/* IPC_DELIVER: fields = user, then the agent's arguments; fds = the
 * result pipe (agent's stdout), then queue files (3, 4, …). */
static void
spawn_agent(struct master *m, const struct ipc_msg *msg)
{
	char *argv[IPC_FIELDS_MAX + 3];
	struct passwd *pw;
	uid_t uid = m->uid;
	gid_t gid = m->gid;
	pid_t pid;

	if (msg->nfields < 2 || msg->nfds < 2 ||
	    m->nagents >= MASTER_AGENTS_MAX) {
		log_warn("refused a malformed or excess delivery request");
		return;
	}
	if (geteuid() == 0 && msg->field[0][0]) {
		pw = getpwnam(msg->field[0]);
		if (!pw || pw->pw_uid == 0) {
			log_warn("delivery as user %s refused: %s",
			         msg->field[0], pw ? "root" : "no such user");
			return; /* qmgr sees EOF on the pipe: deferred */
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	argv[0] = "tinymta";
	for (size_t i = 1; i < msg->nfields; i++)
		argv[i] = (char *)msg->field[i];
	argv[msg->nfields] = NULL;
	pid = fork();
	if (pid < 0) {
		log_error("fork for delivery: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		if (place_fds(msg) < 0)
			_exit(71);
		master_exec_role(m, uid, gid, argv);
	}
	m->agents[m->nagents++] = pid;
}

static void
handle_frame(struct master *m, enum master_kid_role k,
             const struct ipc_msg *msg)
{
	if (msg->type == IPC_WAKEUP && k == KID_PICKUP)
		master_kid_send(m, KID_QMGR, IPC_WAKEUP, NULL, 0);
	else if (msg->type == IPC_DELIVER && k == KID_QMGR)
		spawn_agent(m, msg);
	else
		log_debug("%s: ignored frame type %u", m->kids[k].role,
		          msg->type);
	for (size_t i = 0; i < msg->nfds; i++)
		io_close(msg->fds[i]);
}

static int
read_frame(struct master *m, enum master_kid_role k, unsigned char *buf,
           struct ipc_msg *msg)
{
	int r = ipc_recv(m->kids[k].link, buf, msg);

	if (r <= 0) {
		if (r < 0)
			log_warn("%s: bad message: %s; closing its link",
			         m->kids[k].role, strerror(errno));
		io_close(m->kids[k].link);
		m->kids[k].link = -1;
	}
	return r;
}

void
master_kid_input(struct master *m, enum master_kid_role k)
{
	unsigned char buf[IPC_FRAME_MAX];
	struct ipc_msg msg;
	struct pollfd p = {m->kids[k].link, POLLIN, 0};

	/* the loop's poll result may be stale: a control request handled
	 * just before (master_kid_reply) can have read this frame, and a
	 * blocking recvmsg would hang the master */
	if (poll(&p, 1, 0) <= 0)
		return;
	if (read_frame(m, k, buf, &msg) > 0)
		handle_frame(m, k, &msg);
}

int
master_kid_send(struct master *m, enum master_kid_role k, unsigned type,
                const char *const *fields, size_t nfields)
{
	if (m->kids[k].link < 0) {
		errno = ENOTCONN;
		return -1;
	}
	/* never wait for a kid that does not read (stopped, or busy with a
	 * slow disk): the master must go on accepting and reaping. A wakeup
	 * that finds no room is not needed: unread ones are queued. */
	if (ipc_send_nowait(m->kids[k].link, type, fields, nfields) == 0)
		return 0;
	if (errno == EAGAIN && type == IPC_WAKEUP)
		return 0;
	return -1;
}

void
master_kid_reload(struct master *m, enum master_kid_role k)
{
	struct master_kid *kid = &m->kids[k];

	if (kid->link < 0)
		return; /* not running: it starts with the new configuration */
	if (master_kid_send(m, k, IPC_RELOAD, NULL, 0) == 0) {
		if (kid->reload_pending)
			log_info("%s took the reload", kid->role);
		kid->reload_pending = 0;
	} else if (errno == EAGAIN) {
		if (!kid->reload_pending)
			log_warn("%s is not reading its link; the reload waits "
			         "for it",
			         kid->role);
		kid->reload_pending = 1;
	}
}

int
master_kid_reply(struct master *m, enum master_kid_role k, char *out,
                 size_t cap, int ms)
{
	unsigned char buf[IPC_FRAME_MAX];
	struct ipc_msg msg;

	while (m->kids[k].link >= 0) {
		struct pollfd p = {m->kids[k].link, POLLIN, 0};
		int r = poll(&p, 1, ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (read_frame(m, k, buf, &msg) <= 0)
			break;
		if (msg.type == IPC_REPLY) {
			str_copy(out, cap, msg.nfields ? msg.field[0] : "");
			return 0;
		}
		handle_frame(m, k, &msg);
	}
	errno = ETIMEDOUT;
	return -1;
}

static int
anyone_left(struct master *m)
{
	master_kids_reap(m);
	for (int k = 0; k < KID_COUNT; k++)
		if (m->kids[k].pid)
			return 1;
	return m->nagents > 0 || master_listen_sessions(m) > 0;
}

void
master_kids_stop(struct master *m)
{
	m->stopping = 1;
	/* Long-running roles stop at once; running deliveries may finish. */
	for (int k = 0; k < KID_COUNT; k++)
		if (m->kids[k].pid)
			kill(m->kids[k].pid, SIGTERM);
	/* smtpd sessions finish the reply in progress and exit. */
	master_listen_kill(m, SIGTERM);
	for (int waited = 0; anyone_left(m); waited += 50) {
		if (waited == STOP_GRACE_MS) {
			log_warn("killing children that did not stop in time");
			for (int k = 0; k < KID_COUNT; k++)
				if (m->kids[k].pid)
					kill(m->kids[k].pid, SIGKILL);
			for (size_t i = 0; i < m->nagents; i++)
				kill(m->agents[i], SIGKILL);
			master_listen_kill(m, SIGKILL);
		}
		if (waited > STOP_GRACE_MS + 5000)
			break;
		poll(NULL, 0, 50);
	}
}
