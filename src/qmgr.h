/*
 * qmgr.h - the queue manager (runs as mail_owner): moves messages from
 * incoming/ (new mail first) and, when there is room, from deferred/ (when
 * their time has come) into active/, resolves their recipients, asks the
 * master for delivery agents, records each recipient's result in place,
 * and finishes each message: removed when every recipient is done (after
 * any bounce was queued), or deferred with doubling backoff.
 * The active queue is the only one held in memory, bounded by
 * qmgr_message_active_limit.
 */
#ifndef TINYMTA_QMGR_H
#define TINYMTA_QMGR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "qfile.h"
#include "qmgr_dest.h"
#include "queue.h"
#include "resolve.h"
#include "role.h"

#define QMGR_BATCH 32      /* items per local agent (LOCAL_ITEMS) */
#define QMGR_SMTP_BATCH 12 /* items per smtp agent (SMTP_ITEMS) */
#define QMGR_ITEMS_MAX 32  /* the larger of the two */
#define QMGR_JOBS_MAX 64
#define QMGR_STEP_MS 50    /* bulk work between looks at new mail */
#define QMGR_MSG_DESTS 8   /* destinations a message's deferral is noted at */
#define QMGR_FLUSH_SITES 8 /* postqueue -s requests in one round */

/* Per-recipient state while the message is active. */
struct qrcpt {
	uint16_t pending; /* deliveries in flight or waiting */
	uint8_t worst;    /* QFILE_RCPT_* worst so far this round */
	uint8_t done;     /* already delivered or bounced before this round */
};

struct qmsg {
	char id[QFILE_ID_MAX];
	struct qfile_reader r; /* opened read-write, for in-place updates */
	struct qrcpt *rc;
	size_t nrcpt;
	unsigned pending; /* sum of rc[].pending */
	int bounced_now;  /* a recipient bounced this round: DSN due */
	int deferred_now;
	/* The destinations that deferred a recipient this round (their
	 * refs hold them): defer() tells them the next attempt. */
	struct qdest *dests[QMGR_MSG_DESTS];
	unsigned ndests;
	/* At activation: the destinations told that this message, deferred
	 * until info.next_attempt, is tried again (once each). */
	struct qdest *taken[QMGR_MSG_DESTS];
	unsigned ntaken;
	struct qmsg *next; /* active list */
};

/* One delivery waiting for, or given to, an agent. */
struct qwork {
	struct qmsg *m;
	unsigned idx; /* recipient index */
	enum resolve_kind kind;
	char *user, *target, *addr; /* malloc'd copies */
	char *sender; /* envelope sender override (resolve.h), "" = none */
	struct qdest *dest; /* remote: its destination (target = NEXTHOP) */
	struct qwork *next;
};

struct qjob {
	int pipe;       /* read end of the result pipe; -1 when free */
	int more;       /* smtp: our end of the agent's work socket, or -1 */
	int idle;       /* smtp: the agent said "idle": it takes a batch */
	char buf[1024]; /* partial result lines (each under 400 bytes) */
	size_t blen;
	struct qwork *work[QMGR_ITEMS_MAX];
	struct qmsg *slot[QMGR_ITEMS_MAX]; /* message of descriptor 3 + slot */
	size_t nwork, nslot;
	char target[1024];  /* the mailbox this job writes, or NEXTHOP */
	struct qdest *dest; /* an smtp agent's destination, else NULL */
	int site;           /* its "site" line: 1 ok, 0 failed, -1 none */
	char site_text[QDEST_ERROR_MAX];
};

/* A postqueue -s SITE being served: deferred mail for SITE that was not
 * requeued since the request is taken in the current round. */
struct qflush_site {
	char name[QDEST_NAME_MAX];
	struct timespec since;
};

struct qmgr {
	struct role role;
	char qdir[QUEUE_DIR_MAX];
	int wake; /* public/qmgr: smtpd's wake-ups (wake.h), or -1 */
	struct qmsg *active;
	size_t nactive;
	struct qwork *todo, **todo_tail;  /* local deliveries */
	struct qdest_table dests;         /* remote ones, per NEXTHOP */
	struct qjob *jobs[QMGR_JOBS_MAX]; /* NULL: free slot */
	time_t next_deferred_scan;
	int flush; /* retry deferred mail regardless of its time */
	struct timespec flush_since;                /* when that flush began */
	struct qflush_site sites[QMGR_FLUSH_SITES]; /* postqueue -s */
	size_t nsites;
	struct queue_iter dit;      /* a deferred/ round in parts */
	time_t round_next;          /* its earliest future attempt */
	char (*pend)[QFILE_ID_MAX]; /* deferred IDs due, being activated */
	size_t npend, ipend;
	int scan_incoming; /* a wake-up came */
};

/* qmgr_job.c: close an smtp agent's work socket (it QUITs and exits);
 * all idle ones (their process slots are wanted, or qmgr stops). */
void qmgr_retire(struct qjob *j);
void qmgr_retire_idle(struct qmgr *q);

/* qmgr_msg.c */
int qmgr_activate(struct qmgr *q, const char *from, const char *id);
void qmgr_msg_result(struct qmgr *q, struct qmsg *m, unsigned idx, int status,
                     const char *dsn, const char *text);
void qmgr_msg_maybe_done(struct qmgr *q, struct qmsg *m);
/* The result of one destination (member, with the sender override owner,
 * "" = none) of recipient idx: as qmgr_msg_result, except that a
 * permanent failure under an owner is reported to the owner
 * (bounce_owner) and counts as delivered for the recipient (the list);
 * when that report cannot be queued, the recipient is deferred. */
int qmgr_msg_dest_result(struct qmgr *q, struct qmsg *m, unsigned idx,
                         const char *owner, const char *member, int status,
                         const char *dsn, const char *text);
/* A recipient of m was deferred for d (the status returned above): d
 * learns m's next attempt when m is deferred (next_retry). */
void qmgr_msg_note_dest(struct qmsg *m, struct qdest *d);
/* qmgr_site.c: 1 when the deferred message open in r has a recipient
 * still to deliver whose domain, or whose next hop (a remote domain's:
 * qmgr_route.c), is site (case-insensitive); postqueue -s. */
int qmgr_site_match(const struct qmgr *q, struct qfile_reader *r,
                    const char *site);
/* The next hop of mail for domain site from the null sender (the dead
 * entry postqueue -s revives besides site itself); 0, or -1. */
int qmgr_site_hop(const struct qmgr *q, const char *site, char *hop,
                  size_t cap);
/* qmgr_job.c */
void qmgr_limits(const struct qmgr *q, struct qdest_limits *l);
/* The destination of a remote delivery (NULL: the table is full). */
struct qdest *qmgr_dest(struct qmgr *q, const char *nexthop);
/* Forget a destination's dead state now (flush): its next attempt is a
 * probe. site NULL: every destination; else the one named site and the
 * next hop of mail for domain site (qmgr_site_hop). */
void qmgr_revive(struct qmgr *q, const char *site);
void qmgr_dispatch(struct qmgr *q);
/* 1 while a dead destination still has items to defer (work to do). */
int qmgr_dests_waiting(const struct qmgr *q);
void qmgr_job_input(struct qmgr *q, size_t slot);
size_t qmgr_jobs_busy(const struct qmgr *q);
/* bounce.c */
int bounce_create(struct qmgr *q, struct qmsg *m);

#endif
