/*
 * master_anvil.c - per-client connection limits for the master's listeners
 * (see master_anvil.h). Runs inside the master (root); its inputs are the
 * configuration (mynetworks, expanded by cidr_list_load: it may resolve
 * names and read files) and the peer address the kernel reports for an
 * accepted connection.
 */
#include "master_anvil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

size_t
master_anvil_nets(struct anvil_policy *p, const char *list)
{
	return cidr_list_load(&p->nets, list);
}

int
master_anvil_exempt(const struct anvil_policy *p, const struct anvil_addr *a)
{
	char text[INET6_ADDRSTRLEN];

	if (p->nets.n == 0 || !inet_ntop(a->family, a->a, text, sizeof text))
		return 0;
	return cidr_list_has(&p->nets, text) == 1;
}

int
master_anvil_same(const struct anvil_addr *a, const struct anvil_addr *b)
{
	return a->family == b->family &&
	       memcmp(a->a, b->a, a->family == AF_INET ? 4 : 16) == 0;
}

/* The slot for (svc, a): its own, else a free or expired one, else the
 * oldest (that client's count starts over: the table stays bounded). */
static struct anvil_rate *
rate_slot(struct anvil_rate *t, size_t n, int svc, const struct anvil_addr *a,
          time_t now)
{
	struct anvil_rate *spare = NULL, *oldest = NULL;

	for (size_t i = 0; i < n; i++) {
		if (t[i].svc == svc && master_anvil_same(&t[i].addr, a))
			return &t[i];
		if (t[i].svc < 0 || now - t[i].start >= ANVIL_RATE_WINDOW) {
			if (!spare)
				spare = &t[i];
		} else if (!oldest || t[i].start < oldest->start) {
			oldest = &t[i];
		}
	}
	if (!spare)
		spare = oldest;
	if (spare) {
		spare->svc = svc;
		spare->addr = *a;
		spare->start = now;
		spare->count = 0;
	}
	return spare;
}

unsigned long
master_anvil_rate(struct anvil_rate *t, size_t n, int svc,
                  const struct anvil_addr *a, time_t now)
{
	struct anvil_rate *r = rate_slot(t, n, svc, a, now);

	if (!r)
		return 1;
	if (now - r->start >= ANVIL_RATE_WINDOW || now < r->start) {
		r->start = now;
		r->count = 0;
	}
	return ++r->count;
}

unsigned long
master_anvil_peek(const struct anvil_rate *t, size_t n, int svc,
                  const struct anvil_addr *a, time_t now)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].svc == svc && master_anvil_same(&t[i].addr, a))
			return now - t[i].start >= ANVIL_RATE_WINDOW ||
			               now < t[i].start
			           ? 0
			           : t[i].count;
	return 0;
}

void
master_anvil_rate_clear(struct anvil_rate *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		t[i].svc = -1;
}
