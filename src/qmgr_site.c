/*
 * qmgr_site.c - which deferred mail `postqueue -s SITE` flushes: a
 * message with a recipient still to deliver whose domain is SITE (as
 * Postfix's fast flush, which is keyed by the recipient domain), or whose
 * next hop is SITE (relayhost, transport_maps,
 * sender_dependent_relayhost_maps: the scheduler's destination name, as
 * `tinymta status` shows it). Runs in qmgr as mail_owner; the file was
 * validated by qfile_open, the site by postqueue and the master.
 */
#include "qmgr.h"
#include "qmgr_route.h"
#include "resolve.h"
#include "util/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when rcpt (a recipient as queued, before alias expansion) goes to
 * site by its domain or its next hop. */
static int
rcpt_match(const struct qmgr *q, const char *sender, const char *rcpt,
           const char *site)
{
	const char *at = strrchr(rcpt, '@');
	char hop[QDEST_NAME_MAX], why[QDEST_ERROR_MAX];

	if (!at || !at[1])
		return 0; /* a bare name stays local */
	if (str_eq_nocase(at + 1, site))
		return 1;
	/* A local domain never goes to a next hop (the resolver's rule:
	 * localhost is always local). */
	if (str_eq_nocase(at + 1, "localhost") ||
	    resolve_is_local_domain(q->role.conf, at + 1))
		return 0;
	return qmgr_route(q->role.conf, sender, rcpt, hop, sizeof hop, why,
	                  sizeof why) == QR_SMTP &&
	       str_eq_nocase(hop, site);
}

int
qmgr_site_match(const struct qmgr *q, struct qfile_reader *r, const char *site)
{
	struct qfile_rcpt *rc = malloc(sizeof *rc); /* 2 KB: off the stack */
	int hit = 0;

	if (!rc)
		return 0;
	for (size_t i = 0; !hit && i < r->info.nrcpt; i++) {
		if (qfile_rcpt(r, i, rc) < 0)
			break;
		if (rc->status == QFILE_RCPT_DELIVERED ||
		    rc->status == QFILE_RCPT_BOUNCED)
			continue;
		hit = rcpt_match(q, r->info.sender, rc->addr, site);
	}
	free(rc);
	return hit;
}

int
qmgr_site_hop(const struct qmgr *q, const char *site, char *hop, size_t cap)
{
	char rcpt[QDEST_NAME_MAX + 16], why[QDEST_ERROR_MAX];

	if (site[0] == '[' || strchr(site, '@') ||
	    snprintf(rcpt, sizeof rcpt, "postmaster@%s", site) >=
	        (int)sizeof rcpt)
		return -1; /* an address literal is its own next hop */
	return qmgr_route(q->role.conf, "", rcpt, hop, cap, why, sizeof why) ==
	               QR_SMTP
	           ? 0
	           : -1;
}
