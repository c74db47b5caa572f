/*
 * master_listen.h - the master's network listeners: master.cf `inet`
 * services (smtpd, pop3d), bound by the master as root (IPv4 and
 * IPv6 per inet_interfaces and inet_protocols), one `tinymta smtpd` (or
 * `pop3d`) process per accepted connection as mail_owner, bounded per service
 * by maxproc; per-client connection count and rate limits (Postfix's anvil)
 * answered by the master itself with 421.
 */
#ifndef TINYMTA_MASTER_LISTEN_H
#define TINYMTA_MASTER_LISTEN_H

#include <poll.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "conf.h"

/* listen(2) backlog. Postfix uses max(maxproc, default_process_limit),
 * about 100; Linux also bounds its half-open queue by it, and beyond that
 * answers with SYN cookies whose ACKs are dropped while the accept queue
 * is full: the client then waits for a banner that never comes. 1024
 * (capped by net.core.somaxconn) holds a burst of 1000 connections until
 * sessions free up, at the cost of kernel memory for waiting sockets. */
#define LISTEN_BACKLOG 1024
#define LISTEN_FDS_MAX 64      /* listening sockets over all services */
#define LISTEN_ACCEPT_BURST 16 /* accepts per listener per poll round */
/* Links the master polls: pop3d login processes (more wait for a later
 * round; the login process waits for the reply) and reusable smtpd
 * processes (beyond this, new smtpds serve one connection each). */
#define LISTEN_LINKS_MAX 256

struct master;
struct master_listen; /* opaque: services, sockets, sessions, anvil */

struct master_listen *master_listen_new(void);
void master_listen_free(struct master_listen *l);
/* Read CFGDIR/master.cf against c and make the listeners match it: keep
 * the sockets still configured, open new ones, close the others. On any
 * error nothing changes; why[cap] gets the reason and -1 is returned for
 * a configuration error, -2 for a socket error (bind: address in use). */
int master_listen_configure(struct master *m, const struct conf *c, char *why,
                            size_t cap);
/* Add the listeners that may accept now (below maxproc) to p[cap]. */
size_t master_listen_pollfds(struct master *m, struct pollfd *p, size_t cap);
/* Accept on the listeners of p[n] that are ready. */
void master_listen_ready(struct master *m, const struct pollfd *p, size_t n);
/* A child exited: 1 when it was a session (and is forgotten), else 0. */
int master_listen_reaped(struct master *m, pid_t pid, int status);
/* Close every listening socket (stop). */
void master_listen_close(struct master *m);
/* Send sig to every session process. */
void master_listen_kill(struct master *m, int sig);
size_t master_listen_sessions(const struct master *m);
/* End smtpd processes idle for max_idle (master_smtpd.c); the
 * clock_mono() second of the next such end, or 0 when none is idle. */
int64_t master_smtpd_expire(struct master *m);
/* The links of pop3d login and smtpd processes (to poll), at most cap. */
size_t master_listen_linkfds(struct master *m, struct pollfd *p, size_t cap);
/* Read the frames on the links of p[n] that are ready. */
void master_listen_links_ready(struct master *m, const struct pollfd *p,
                               size_t n);
size_t master_listen_sockets(const struct master *m);

#endif
