/*
 * qmgr_dest.c - per-destination scheduling state (see qmgr_dest.h): slow
 * start, the failed cohort, the dead-destination cache, and the bounded
 * table of entries. No I/O; qmgr_job.c acts on what these decide.
 */
#include "qmgr_dest.h"
#include "util/str.h"

#include <stdlib.h>
#include <string.h>

void
qdest_init(struct qdest *d, const char *name, const struct qdest_limits *l)
{
	memset(d, 0, sizeof *d);
	str_copy(d->name, sizeof d->name, name);
	d->window = l->initial < 1 ? 1 : l->initial;
	if (l->limit >= 1 && d->window > l->limit)
		d->window = l->limit;
	d->tail = &d->todo;
}

void
qdest_revive(struct qdest *d, time_t now)
{
	if (d->dead_until != 0 && now >= d->dead_until) {
		d->dead_until = 0;
		d->probe = 1;
		d->window = 1;
	}
}

int
qdest_is_dead(const struct qdest *d, time_t now)
{
	return d->dead_until != 0 && now < d->dead_until;
}

unsigned
qdest_may_start(const struct qdest *d, time_t now, unsigned free_agents)
{
	unsigned w = d->probe ? 1 : d->window, room;

	if (qdest_is_dead(d, now) || d->busy >= w)
		return 0;
	room = w - d->busy;
	return room < free_agents ? room : free_agents;
}

int
qdest_agent_done(struct qdest *d, const struct qdest_limits *l, int site,
                 const char *text, time_t now)
{
	if (d->busy > 0)
		d->busy--;
	return qdest_batch_done(d, l, site, text, now);
}

int
qdest_batch_done(struct qdest *d, const struct qdest_limits *l, int site,
                 const char *text, time_t now)
{
	if (site > 0) {
		d->cohort = 0;
		d->probe = 0;
		if (d->window < l->limit)
			d->window++;
		return 0;
	}
	if (site < 0)
		return 0;
	str_copy(d->last_error, sizeof d->last_error, text);
	if (d->window > 1)
		d->window--;
	d->cohort++;
	if (d->dead_until != 0)
		return 0; /* already dead (an agent started before) */
	if (d->probe || (l->cohort_limit > 0 && d->cohort >= l->cohort_limit)) {
		d->dead_until = now + (l->dead_time > 0 ? l->dead_time : 1);
		d->probe = 0;
		d->cohort = 0;
		return 1;
	}
	return 0;
}

size_t
qdest_batch(size_t n, unsigned avail, size_t per_agent_max)
{
	size_t k;

	if (n == 0 || per_agent_max == 0)
		return 0;
	if (avail == 0)
		avail = 1;
	k = (n + avail - 1) / avail;
	return k > per_agent_max ? per_agent_max : k;
}

void
qdest_retry_add(struct qdest *d, time_t t)
{
	unsigned i = 0;

	while (i < d->nretry && d->retry[i].t < t)
		i++;
	if (i < d->nretry && d->retry[i].t == t) {
		d->retry[i].n++;
		return;
	}
	if (i == QDEST_RETRY_MAX)
		return; /* later than every kept time */
	if (d->nretry == QDEST_RETRY_MAX)
		d->nretry--; /* the latest makes room */
	memmove(&d->retry[i + 1], &d->retry[i],
	        (d->nretry - i) * sizeof d->retry[0]);
	d->retry[i].t = t;
	d->retry[i].n = 1;
	d->nretry++;
}

static void
retry_drop(struct qdest *d, unsigned i, unsigned n)
{
	memmove(&d->retry[i], &d->retry[i + n],
	        (d->nretry - i - n) * sizeof d->retry[0]);
	d->nretry -= n;
}

void
qdest_retry_take(struct qdest *d, time_t t)
{
	for (unsigned i = 0; i < d->nretry; i++)
		if (d->retry[i].t == t) {
			if (--d->retry[i].n == 0)
				retry_drop(d, i, 1);
			return;
		}
}

void
qdest_retry_prune(struct qdest *d, time_t now)
{
	unsigned n = 0;

	while (n < d->nretry && d->retry[n].t <= now)
		n++;
	if (n)
		retry_drop(d, 0, n);
}

time_t
qdest_next_retry(struct qdest *d, time_t now)
{
	time_t t;

	qdest_retry_prune(d, now);
	t = d->nretry ? d->retry[0].t : 0;
	if (qdest_is_dead(d, now) && t < d->dead_until)
		t = d->dead_until;
	return t;
}

/* Idle and alive: nothing but its remembered times (or nothing). */
static int
idle(const struct qdest *d, time_t now)
{
	return d->busy == 0 && d->ntodo == 0 && d->refs == 0 &&
	       !qdest_is_dead(d, now) && d->cohort == 0 && !d->probe;
}

/* A full table: drop an idle entry kept only for its times. */
static void
make_room(struct qdest_table *t, time_t now)
{
	for (struct qdest **p = &t->head; *p; p = &(*p)->next)
		if (idle(*p, now)) {
			struct qdest *d = *p;

			*p = d->next;
			t->n--;
			free(d);
			return;
		}
}

struct qdest *
qdest_get(struct qdest_table *t, const char *name, const struct qdest_limits *l,
          int create)
{
	struct qdest *d;

	for (d = t->head; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	if (!create)
		return NULL;
	if (t->n >= QDEST_TABLE_MAX)
		make_room(t, time(NULL));
	if (t->n >= QDEST_TABLE_MAX)
		return NULL;
	d = malloc(sizeof *d);
	if (!d)
		return NULL;
	qdest_init(d, name, l);
	d->next = t->head;
	t->head = d;
	t->n++;
	return d;
}

static int
forgettable(struct qdest *d, time_t now)
{
	qdest_retry_prune(d, now);
	return idle(d, now) && d->nretry == 0;
}

void
qdest_gc(struct qdest_table *t, size_t dead_max, time_t now)
{
	size_t ndead = 0;

	for (struct qdest **p = &t->head; *p;) {
		struct qdest *d = *p;

		if (forgettable(d, now)) {
			*p = d->next;
			t->n--;
			free(d);
			continue;
		}
		if (qdest_is_dead(d, now))
			ndead++;
		p = &d->next;
	}
	/* Over the limit: drop the dead entry that would revive first (its
	 * mail is simply tried again, as after the entry's expiry). */
	while (ndead > dead_max) {
		struct qdest **first = NULL;

		for (struct qdest **p = &t->head; *p; p = &(*p)->next)
			if (qdest_is_dead(*p, now) && (*p)->busy == 0 &&
			    (*p)->ntodo == 0 && (*p)->refs == 0 &&
			    (!first || (*p)->dead_until < (*first)->dead_until))
				first = p;
		if (!first)
			break;
		struct qdest *d = *first;

		*first = d->next;
		t->n--;
		free(d);
		ndead--;
	}
}
