/*
 * master.h - the master process (root): reads the configuration, owns the
 * pid file and the control socket, starts pickup and qmgr as mail_owner
 * (fork + re-exec of this binary), restarts them when they die
 * (rate-limited), and spawns delivery agents as the users qmgr names.
 * It binds the network listeners and forks one smtpd or pop3d per connection
 * (master_listen.h). It never reads a message: it only passes descriptors
 * along.
 */
#ifndef TINYMTA_MASTER_H
#define TINYMTA_MASTER_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "conf.h"
#include "master_anvil.h"

#define MASTER_AGENTS_MAX 256

enum master_kid_role { KID_PICKUP, KID_QMGR, KID_COUNT };

struct master_kid {
	const char *role; /* "pickup", "qmgr" */
	pid_t pid;        /* 0 when not running */
	int link;         /* our end of its SOCK_SEQPACKET pair, or -1 */
	time_t started;
	time_t next_start; /* restart not before (rate limit) */
	unsigned quick_deaths;
	int reload_pending; /* a reload its full link did not take yet */
};

struct master {
	struct conf *conf;
	char cfgdir[512];
	char qdir[512];
	char exe[512];
	uid_t uid; /* mail_owner */
	gid_t gid;
	int ctl;        /* listening control socket, public/control */
	int pidfd;      /* locked pid file */
	int sigpipe[2]; /* self-pipe: signal numbers */
	struct master_kid kids[KID_COUNT];
	pid_t agents[MASTER_AGENTS_MAX];
	size_t nagents;
	time_t started;
	int verbose;
	int foreground;
	int stopping;
	struct master_listen *listen; /* master_listen.c */
	/* failed SMTP AUTH per client and minute (smtpd reports them over
	 * the control socket: smtpd_client_auth_rate_limit) */
	struct anvil_rate authfail[ANVIL_RATE_CLIENTS];
};

/* master.c */
int master_run(int foreground, int verbose, int ready_fd);
/* In a child after fork (signals blocked): default handlers for the
 * master's signals, then the signal mask *old. */
void master_child_signals(const sigset_t *old);
/* master_kids.c */
/* In a child: become uid/gid and exec this binary with argv. */
_Noreturn void master_exec_role(const struct master *m, uid_t uid, gid_t gid,
                                char *const argv[]);
void master_kids_start(struct master *m);
void master_kids_reap(struct master *m);
void master_kids_stop(struct master *m);
void master_kid_input(struct master *m, enum master_kid_role k);
/* Send kid k a frame without waiting: -1 with EAGAIN when it has not read
 * the earlier ones (a wakeup then counts as sent). */
int master_kid_send(struct master *m, enum master_kid_role k, unsigned type,
                    const char *const *fields, size_t nfields);
/* Tell kid k to reload; when its link is full (it is not reading), the
 * reload waits and goes as soon as there is room (the loop polls for it). */
void master_kid_reload(struct master *m, enum master_kid_role k);
/* Wait up to ms for an IPC_REPLY from kid k (other frames are handled). */
int master_kid_reply(struct master *m, enum master_kid_role k, char *out,
                     size_t cap, int ms);
time_t master_kids_next_event(const struct master *m);
/* master_ctl.c */
int master_ctl_open(struct master *m);
void master_ctl_accept(struct master *m);
/* Reload main.cf and master.cf: 0, or the exit code (78 configuration,
 * 71 sockets) with why[cap] saying what; the old configuration stays. */
int master_reload(struct master *m, char *why, size_t cap);

#endif
