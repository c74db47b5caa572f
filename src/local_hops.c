/*
 * local_hops.c - count Received: header fields for hopcount_limit (see
 * local.h), PURE: no I/O, no globals, no logging. Used by the local agent
 * (as the mailbox owner) on untrusted message content: the scan is a
 * byte-at-a-time state machine bounded by the caller's limit.
 */
#include "local.h"
#include "util/str.h"

#include <string.h>

enum { H_BOL, H_NAME, H_REST, H_DONE };

void
local_hops_init(struct local_hops *h, size_t limit)
{
	memset(h, 0, sizeof *h);
	h->limit = limit;
	h->st = H_BOL;
}

/* The field name ended at ':' (white space before it is allowed). */
static void
name_done(struct local_hops *h)
{
	while (h->nlen > 0 &&
	       (h->name[h->nlen - 1] == ' ' || h->name[h->nlen - 1] == '\t'))
		h->nlen--;
	h->name[h->nlen < sizeof h->name ? h->nlen : 0] = '\0';
	if (h->nlen < sizeof h->name && str_eq_nocase(h->name, "received"))
		h->count++;
}

static void
step(struct local_hops *h, char c)
{
	if (h->st == H_REST) {
		if (c == '\n')
			h->st = H_BOL;
		return;
	}
	if (h->st == H_BOL) {
		if (c == '\n' || c == ' ' || c == '\t') {
			/* the empty line ends the header; else a folded line */
			h->st = c == '\n' ? H_DONE : H_REST;
			return;
		}
		h->st = H_NAME;
		h->nlen = 0;
	}
	if (c == ':') {
		name_done(h);
		h->st = H_REST;
	} else if (c == '\n') {
		h->st = H_DONE; /* not a header line: the body began */
	} else if (h->nlen < sizeof h->name) {
		h->name[h->nlen++] = c;
	}
}

int
local_hops_feed(struct local_hops *h, const char *p, size_t n)
{
	for (size_t i = 0; i < n && h->st != H_DONE; i++) {
		if (++h->seen > h->limit) {
			h->st = H_DONE;
			break;
		}
		step(h, p[i]);
	}
	return h->st == H_DONE;
}
