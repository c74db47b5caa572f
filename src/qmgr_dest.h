/*
 * qmgr_dest.h - the scheduler's per-destination state, keyed by NEXTHOP
 * (src/qmgr_route.c): the concurrency window (slow start), Postfix's
 * failed-cohort rule and the dead-destination cache. The rules are pure
 * functions of the entry, the limits and the time (tested alone in
 * tests/unit/test_qmgr_dest.c); the table is bounded: idle live entries
 * are freed (one that knows of deferred mail once that mail's times have
 * come, or when the table is full), dead ones are kept up to
 * tinymta_dead_destination_limit (the one that would revive first is
 * dropped to make room). Each entry also keeps a few next-attempt times
 * of its deferred mail (status's next_retry).
 */
#ifndef TINYMTA_QMGR_DEST_H
#define TINYMTA_QMGR_DEST_H

#include <stddef.h>
#include <time.h>

#define QDEST_NAME_MAX 300  /* a NEXTHOP, with brackets and port */
#define QDEST_ERROR_MAX 200 /* the last failure, for deferrals and status */
#define QDEST_RETRY_MAX 4   /* next-attempt times remembered per entry */

struct qwork;

struct qdest_limits {
	unsigned initial;      /* initial_destination_concurrency */
	unsigned limit;        /* default_destination_concurrency_limit */
	unsigned cohort_limit; /* ..._failed_cohort_limit; 0: never dead */
	long long dead_time;   /* tinymta_dead_destination_time, seconds */
};

struct qdest {
	char name[QDEST_NAME_MAX];
	unsigned window;   /* agents allowed at once */
	unsigned busy;     /* agents running now */
	unsigned cohort;   /* failed agents in a row, no success between */
	int probe;         /* revived: one agent until a success */
	time_t dead_until; /* 0: alive */
	char last_error[QDEST_ERROR_MAX];
	struct qwork *todo, **tail; /* items waiting for an agent */
	size_t ntodo;
	/* The earliest distinct next-attempt times of mail deferred for this
	 * destination, with how many messages wait for each (ascending;
	 * times that have come are dropped): what status shows as
	 * next_retry. Not read back from the queue. */
	struct {
		time_t t;
		unsigned n;
	} retry[QDEST_RETRY_MAX];
	unsigned nretry;
	unsigned refs; /* active messages that will report here (qmsg) */
	struct qdest *next;
};

/* A new entry's state (window = initial, capped by limit). */
void qdest_init(struct qdest *d, const char *name,
                const struct qdest_limits *l);
/* A dead entry whose time has come becomes a probe (window 1). */
void qdest_revive(struct qdest *d, time_t now);
/* 1 while dead (call qdest_revive first). */
int qdest_is_dead(const struct qdest *d, time_t now);
/* How many more agents may start now, given the free agents of
 * default_process_limit. 0 while dead. */
unsigned qdest_may_start(const struct qdest *d, time_t now,
                         unsigned free_agents);
/* An agent ended. site: 1 "site ok" (window +1 up to the limit, cohort
 * and probe cleared), 0 "site failed" (window -1, never below 1, the
 * cohort grows; at cohort_limit, or when a probe fails, the destination
 * is dead until now + dead_time), -1 no site line (neither). text: the
 * site line's text (kept as last_error on failure). Returns 1 when this
 * result made the destination dead. */
int qdest_agent_done(struct qdest *d, const struct qdest_limits *l, int site,
                     const char *text, time_t now);
/* The same for one batch of an agent that stays (its connection kept
 * open): the window and cohort as above, the agent still busy. */
int qdest_batch_done(struct qdest *d, const struct qdest_limits *l, int site,
                     const char *text, time_t now);
/* The agents to start for n waiting items with room for `avail` agents:
 * the items per agent, spread evenly, at most per_agent_max. */
size_t qdest_batch(size_t n, unsigned avail, size_t per_agent_max);

/* Remember that a message for d is deferred until t (the earliest
 * QDEST_RETRY_MAX distinct times are kept; a later one is forgotten). */
void qdest_retry_add(struct qdest *d, time_t t);
/* A message deferred until t is being tried again (flushed, or its time
 * came): one less waits for t. */
void qdest_retry_take(struct qdest *d, time_t t);
/* Drop the times that have come (that mail is being tried again). */
void qdest_retry_prune(struct qdest *d, time_t now);
/* status's next_retry: the earliest remembered time still to come; for a
 * dead entry the later of that and dead_until, or dead_until when none is
 * remembered. 0: none (null). */
time_t qdest_next_retry(struct qdest *d, time_t now);

/* The table (a list; at most QDEST_TABLE_MAX live entries plus the dead
 * ones, at most dead_max of those). */
struct qdest_table {
	struct qdest *head;
	size_t n;
};
#define QDEST_TABLE_MAX 1000

/* The entry for name, created when create is set (NULL: no memory or the
 * table is full of busy entries). When the table is full, an idle entry
 * kept only for its next-attempt times is dropped to make room. */
struct qdest *qdest_get(struct qdest_table *t, const char *name,
                        const struct qdest_limits *l, int create);
/* Free entries with nothing to remember (alive, idle, nothing waiting,
 * no failure pending, no next-attempt time to come, no active message
 * reporting to it), and the dead entries over dead_max (those that
 * revive first). */
void qdest_gc(struct qdest_table *t, size_t dead_max, time_t now);

#endif
