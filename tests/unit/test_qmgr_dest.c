/*
 * test_qmgr_dest.c - the scheduler's destination rules (qmgr_dest.c):
 * slow start from initial_destination_concurrency up to the limit, never
 * past the free agents, one down per failure and never below 1; the
 * failed cohort (dead only after that many failures in a row, a success
 * between resets it; 0: never dead); the dead time, the probe after it
 * (one agent; a failed probe is dead again at once, a good one grows
 * again); batches spread over the agents; the bounded table.
 */
#include "qmgr_dest.h"
#include "t.h"

#include <stdio.h>

static const struct qdest_limits L = {2, 5, 3, 60};

static void
test_slow_start(void)
{
	struct qdest d;

	qdest_init(&d, "[127.0.0.1]:2525", &L);
	T_CHECK(d.window == 2, "window %u", d.window);
	T_CHECK(qdest_may_start(&d, 100, 100) == 2, "start 2");
	T_CHECK(qdest_may_start(&d, 100, 1) == 1, "only the free agents");
	T_CHECK(qdest_may_start(&d, 100, 0) == 0, "no free agent");
	d.busy = 2;
	T_CHECK(qdest_may_start(&d, 100, 100) == 0, "window full");
	for (int i = 0; i < 10; i++) {
		d.busy++;
		T_CHECK(qdest_agent_done(&d, &L, 1, "", 100) == 0, "ok");
	}
	T_CHECK(d.window == 5, "grows up to the limit: %u", d.window);
	T_CHECK(d.busy == 2, "busy counted down: %u", d.busy);
	T_CHECK(qdest_may_start(&d, 100, 100) == 3, "3 more");
	d.busy = 1;
	qdest_agent_done(&d, &L, -1, "", 100);
	T_CHECK(d.window == 5 && d.cohort == 0 && d.busy == 0,
	        "no site line: neither");
	for (int i = 0; i < 2; i++)
		qdest_agent_done(&d, &L, 0, "refused", 100);
	T_CHECK(d.window == 3, "one down per failure: %u", d.window);
	T_STREQ(d.last_error, "refused", "last error");
	struct qdest e;
	struct qdest_limits big = {7, 4, 1, 60};

	qdest_init(&e, "x", &big);
	T_CHECK(e.window == 4, "initial capped by the limit: %u", e.window);
}

static void
test_cohort(void)
{
	struct qdest d;

	qdest_init(&d, "example.org", &L);
	T_CHECK(qdest_agent_done(&d, &L, 0, "a", 100) == 0, "1st failure");
	T_CHECK(qdest_agent_done(&d, &L, 0, "b", 100) == 0, "2nd failure");
	T_CHECK(d.window == 1, "never below 1: %u", d.window);
	T_CHECK(qdest_agent_done(&d, &L, 1, "", 100) == 0, "a success");
	T_CHECK(d.cohort == 0 && d.window == 2, "success resets the cohort");
	qdest_agent_done(&d, &L, 0, "a", 100);
	qdest_agent_done(&d, &L, 0, "b", 100);
	T_CHECK(!qdest_is_dead(&d, 100), "two failures: alive");
	T_CHECK(qdest_agent_done(&d, &L, 0, "c", 100) == 1, "3rd: dead");
	T_CHECK(qdest_is_dead(&d, 100) && d.dead_until == 160, "until %lld",
	        (long long)d.dead_until);
	T_CHECK(qdest_may_start(&d, 159, 100) == 0, "no agent while dead");
	T_CHECK(qdest_agent_done(&d, &L, 0, "late", 120) == 0,
	        "a late failure does not extend it");
	T_CHECK(d.dead_until == 160, "still until 160");
	qdest_revive(&d, 159);
	T_CHECK(qdest_is_dead(&d, 159), "not yet revived");
	qdest_revive(&d, 160);
	T_CHECK(!qdest_is_dead(&d, 160) && d.probe, "probe at expiry");
	T_CHECK(qdest_may_start(&d, 160, 100) == 1, "a probe is one agent");
	d.busy = 1;
	T_CHECK(qdest_may_start(&d, 160, 100) == 0, "one probe at a time");
	T_CHECK(qdest_agent_done(&d, &L, 0, "again", 161) == 1,
	        "a failed probe: dead again at once");
	T_CHECK(d.dead_until == 221, "until %lld", (long long)d.dead_until);
	qdest_revive(&d, 300);
	d.busy = 1;
	qdest_agent_done(&d, &L, 1, "", 300);
	T_CHECK(!d.probe && d.window == 2 && qdest_may_start(&d, 300, 9) == 2,
	        "a good probe grows again: window %u", d.window);

	struct qdest_limits never = {2, 5, 0, 60};

	qdest_init(&d, "n", &never);
	for (int i = 0; i < 50; i++)
		qdest_agent_done(&d, &never, 0, "x", 100);
	T_CHECK(!qdest_is_dead(&d, 100), "cohort limit 0: never dead");

	struct qdest_limits one = {2, 5, 1, 60};

	qdest_init(&d, "o", &one);
	T_CHECK(qdest_agent_done(&d, &one, 0, "x", 100) == 1,
	        "cohort limit 1 (the default): the first failure");
}

static void
test_batch(void)
{
	T_CHECK(qdest_batch(0, 2, 12) == 0, "nothing");
	T_CHECK(qdest_batch(1, 2, 12) == 1, "one");
	T_CHECK(qdest_batch(20, 2, 12) == 10, "spread");
	T_CHECK(qdest_batch(100, 2, 12) == 12, "capped");
	T_CHECK(qdest_batch(5, 0, 12) == 5, "no room: one agent's worth");
}

static void
test_table(void)
{
	struct qdest_table t = {0};
	struct qdest *d[5];
	char name[20];

	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "d%d", i);
		d[i] = qdest_get(&t, name, &L, 1);
		T_CHECK(d[i] != NULL, "created %s", name);
	}
	T_CHECK(qdest_get(&t, "d3", &L, 0) == d[3], "found");
	T_CHECK(qdest_get(&t, "nope", &L, 0) == NULL, "not created");
	T_CHECK(t.n == 5, "5 entries");
	d[0]->busy = 1;
	d[1]->ntodo = 1;
	d[2]->dead_until = 500;
	d[3]->dead_until = 400;
	d[4]->dead_until = 450;
	qdest_gc(&t, 2, 100);
	T_CHECK(t.n == 4, "the dead one reviving first dropped: %zu", t.n);
	T_CHECK(qdest_get(&t, "d3", &L, 0) == NULL, "d3 dropped");
	T_CHECK(qdest_get(&t, "d2", &L, 0) && qdest_get(&t, "d4", &L, 0),
	        "the others kept");
	d[0]->busy = 0;
	d[1]->ntodo = 0;
	qdest_gc(&t, 2, 1000);
	T_CHECK(t.n == 0, "idle and expired entries freed: %zu", t.n);
	for (int i = 0; i < QDEST_TABLE_MAX + 5; i++) {
		snprintf(name, sizeof name, "e%d", i);
		struct qdest *e = qdest_get(&t, name, &L, 1);

		if (i >= QDEST_TABLE_MAX)
			T_CHECK(e == NULL, "table bounded at %d", i);
		else if (e)
			e->busy = 1;
	}
	T_CHECK(t.n == QDEST_TABLE_MAX, "n %zu", t.n);
	for (struct qdest *e = t.head; e; e = e->next)
		e->busy = 0;
	qdest_gc(&t, 2, 0);
	T_CHECK(t.n == 0 && t.head == NULL, "all freed");
}

/* next_retry: counts per time, the earliest kept, times that came
 * dropped; a dead entry's is never before dead_until. */
static void
test_retry(void)
{
	struct qdest d;

	qdest_init(&d, "[127.0.0.1]:25", &L);
	T_CHECK(qdest_next_retry(&d, 100) == 0, "nothing deferred: none");
	qdest_retry_add(&d, 200);
	qdest_retry_add(&d, 150);
	qdest_retry_add(&d, 200);
	T_CHECK(qdest_next_retry(&d, 100) == 150, "the earliest");
	qdest_retry_take(&d, 150);
	T_CHECK(qdest_next_retry(&d, 100) == 200, "150 taken: 200");
	qdest_retry_take(&d, 200);
	T_CHECK(qdest_next_retry(&d, 100) == 200, "one of two at 200 left");
	qdest_retry_take(&d, 999); /* not counted: no change */
	qdest_retry_take(&d, 200);
	T_CHECK(qdest_next_retry(&d, 100) == 0 && d.nretry == 0,
	        "all taken: none");
	for (int i = 0; i < 10; i++)
		qdest_retry_add(&d, 300 - i * 10); /* 300, 290 ... 210 */
	T_CHECK(d.nretry == QDEST_RETRY_MAX, "bounded: %u", d.nretry);
	T_CHECK(d.retry[0].t == 210 && d.retry[QDEST_RETRY_MAX - 1].t == 240,
	        "the earliest kept: %lld..%lld", (long long)d.retry[0].t,
	        (long long)d.retry[QDEST_RETRY_MAX - 1].t);
	qdest_retry_add(&d, 500);
	T_CHECK(d.retry[QDEST_RETRY_MAX - 1].t == 240, "a later one forgotten");
	T_CHECK(qdest_next_retry(&d, 225) == 230, "times that came dropped");
	d.dead_until = 400;
	T_CHECK(qdest_next_retry(&d, 225) == 400,
	        "dead: not before dead_until");
	qdest_retry_add(&d, 450);
	d.nretry = 1;
	d.retry[0].t = 450;
	T_CHECK(qdest_next_retry(&d, 225) == 450, "dead: the later of the two");
	d.nretry = 0;
	T_CHECK(qdest_next_retry(&d, 225) == 400, "dead, no mail: dead_until");
	T_CHECK(qdest_next_retry(&d, 400) == 0, "expired: none");
}

/* An entry kept for its times alone gives way in a full table, and goes
 * once its times have come. */
static void
test_table_retry(void)
{
	struct qdest_table t = {NULL, 0};
	char name[32];
	struct qdest *k = qdest_get(&t, "kept", &L, 1);

	T_CHECK(k != NULL, "created");
	qdest_retry_add(k, 2000);
	qdest_gc(&t, 2, 1000);
	T_CHECK(t.n == 1, "kept while mail waits for a time to come");
	k->refs = 1;
	qdest_gc(&t, 2, 3000);
	T_CHECK(t.n == 1, "kept while an active message refers to it");
	k->refs = 0;
	for (int i = 1; i < QDEST_TABLE_MAX; i++) {
		snprintf(name, sizeof name, "b%d", i);
		struct qdest *e = qdest_get(&t, name, &L, 1);

		if (e)
			e->busy = 1;
	}
	T_CHECK(t.n == QDEST_TABLE_MAX, "full: %zu", t.n);
	T_CHECK(qdest_get(&t, "new", &L, 1) != NULL,
	        "the idle entry made room for a new one");
	T_CHECK(qdest_get(&t, "kept", &L, 0) == NULL, "it was dropped");
	for (struct qdest *e = t.head; e; e = e->next)
		e->busy = 0;
	qdest_gc(&t, 2, 0);
	T_CHECK(t.n == 0, "all freed: %zu", t.n);
}

int
main(void)
{
	test_retry();
	test_table_retry();
	test_slow_start();
	test_cohort();
	test_batch();
	test_table();
	return T_DONE();
}
