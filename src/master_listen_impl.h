/*
 * master_listen_impl.h - the listeners' state, shared by master_listen.c
 * (sockets, reload) and master_accept.c (connections, sessions, limits).
 * Not for other modules: they use master_listen.h.
 */
#ifndef TINYMTA_MASTER_LISTEN_IMPL_H
#define TINYMTA_MASTER_LISTEN_IMPL_H

#include <arpa/inet.h>
#include <stdint.h>

#include "master.h"
#include "master_anvil.h"
#include "master_cf.h"
#include "master_listen.h"

struct lsock {
	int fd;  /* -1: closed */
	int svc; /* index into cf->v */
	struct anvil_addr addr;
	unsigned port;
	int reused, taken; /* during a reload */
	char text[INET6_ADDRSTRLEN];
};

struct lsvc {
	int active; /* an smtpd service we listen for */
	long maxproc;
	size_t nkids;
	struct anvil_policy pol;
};

struct lsession {
	pid_t pid;
	int svc; /* -1: its service went away in a reload */
	struct anvil_addr addr;
	unsigned port; /* the client's */
	int link;      /* pop3d login process or reusable smtpd: our end of
	                  its fd 3, or -1 */
	/* a reusable smtpd (master_smtpd.c) */
	int reuse;          /* link is an smtpd's (not a pop3d's) */
	int idle;           /* waits for a connection from us */
	int retire;         /* configuration reloaded: no more connections */
	int64_t idle_since; /* clock_mono() when it became idle */
};

struct master_listen {
	struct master_cf *cf;
	struct lsvc svc[MASTER_CF_SERVICES_MAX];
	struct lsock sock[LISTEN_FDS_MAX];
	size_t nsock;
	struct lsession *sess;
	size_t nsess, capsess;
	struct anvil_rate rate[ANVIL_RATE_CLIENTS];
};

/* master_accept.c: the limits of service svc from c and its -o options. */
void master_accept_policy(struct master_listen *l, int svc,
                          const struct conf *c);
/* In a session child: TINYMTA_* environment, fd on 0 and 1, exec
 * `tinymta APPLET [-o name=value]… [ARG]` as uid/gid. */
_Noreturn void master_accept_exec(struct master *m, const struct master_cf *cf,
                                  const struct master_service *s, int fd,
                                  const struct lsession *peer,
                                  const char *applet, const char *arg,
                                  uid_t uid, gid_t gid);
/* The address, port and text of ss (text "unknown" for what is not
 * IPv4 or IPv6, e.g. a pop3d TLS relay's socketpair). */
void master_addr_of(const struct sockaddr_storage *ss, struct anvil_addr *a,
                    unsigned *port, char *text, size_t cap);
/* Room for one more session in l->sess. 0, or -1 (no memory). */
int master_accept_room(struct master_listen *l);
/* master_smtpd.c: reusable smtpd processes. A frame on an smtpd's link. */
void master_smtpd_input(struct master *m, size_t sess);
/* Hand connection fd of service svc (client peer, ip its text) to an
 * idle smtpd: 1 when done (fd
 * may then be closed by the caller), 0 when none took it. */
int master_smtpd_hand(struct master *m, int svc, int fd,
                      const struct anvil_addr *peer, const char *ip,
                      unsigned port);
/* 1 when service svc has an idle smtpd. */
int master_smtpd_has_idle(const struct master_listen *l, int svc);
/* After a reload: idle smtpds end, busy ones end after their session. */
void master_smtpd_retire(struct master_listen *l);

/* master_pop3.c: a frame on a pop3d login process's link. */
void master_pop3_input(struct master *m, size_t sess);

/* Take over old's sessions and rate counters (services matched by name). */
void master_accept_adopt(struct master_listen *nw, struct master_listen *old);

#endif
