/*
 * smtp_client.c - where the smtp agent sends its items (see
 * smtp_client.h): the next hop's addresses in order, then each
 * smtp_fallback_relay while items remain undelivered because no server
 * could be reached; what is left at the end is deferred with the last
 * reason. A next hop whose domain does not exist or takes no mail (null
 * MX) bounces its items at once. Runs as mail_owner.
 */
#include "smtp_client.h"
#include "util/log.h"
#include "util/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
smtpc_item_set(struct smtpc_item *it, int status, const char *dsn,
               const char *fmt, ...)
{
	va_list ap;

	it->status = status;
	str_copy(it->dsn, sizeof it->dsn, dsn);
	va_start(ap, fmt);
	vsnprintf(it->text, sizeof it->text, fmt, ap);
	va_end(ap);
}

void
smtpc_fmt(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, cap, fmt, ap);
	va_end(ap);
}

int
smtpc_txn_pending(const struct smtpc *s, size_t t)
{
	for (size_t i = 0; i < s->nitems; i++)
		if ((size_t)s->items[i].txn == t &&
		    s->items[i].status == SMTPC_PENDING)
			return 1;
	return 0;
}

static int
any_pending(const struct smtpc *s)
{
	for (size_t t = 0; t < s->ntxn; t++)
		if (smtpc_txn_pending(s, t))
			return 1;
	return 0;
}

static void
settle_all(struct smtpc *s, int status, const char *dsn, const char *why)
{
	for (size_t i = 0; i < s->nitems; i++)
		if (s->items[i].status == SMTPC_PENDING)
			smtpc_item_set(&s->items[i], status, dsn, "%s", why);
}

/* Try one next hop. 1 when it settled everything (bounce by DNS). */
static int
try_hop(struct smtpc *s, const char *hop, int primary)
{
	static struct smtpc_dest dests[SMTPC_ADDRS_MAX];
	char dsn[16], why[SMTPC_TEXT_LINE];
	size_t n = 0;
	enum smtpc_lookup lk;

	s->hop = hop; /* AUTH looks its credentials up by it */
	lk = smtpc_lookup(s->role.conf, hop, dests, SMTPC_ADDRS_MAX, &n, dsn,
	                  sizeof dsn, why, sizeof why);
	if (lk == SMTPC_LK_BOUNCE && primary) {
		log_info("%s", why);
		settle_all(s, SMTPC_BOUNCED, dsn, why);
		s->dns_final = 1;
		return 1;
	}
	if (lk != SMTPC_LK_OK) {
		log_info("%s", why);
		str_copy(s->why, sizeof s->why, why);
		/* a fallback relay that does not exist is a local
		 * configuration problem: defer */
		str_copy(s->why_dsn, sizeof s->why_dsn,
		         lk == SMTPC_LK_BOUNCE ? "4.4.3" : dsn);
		return 0;
	}
	for (size_t i = 0; i < n && any_pending(s); i++)
		(void)smtpc_session(s, &dests[i]);
	return 0;
}

void
smtpc_deliver(struct smtpc *s)
{
	char list[CONF_VALUE_MAX], hop[SMTPC_HOST_MAX + 16];
	const char *cur = list;

	str_copy(s->why, sizeof s->why, "no server to try");
	str_copy(s->why_dsn, sizeof s->why_dsn, "4.4.1");
	if (!any_pending(s))
		return;
	/* the connection kept from the last batch first */
	if (smtpc_session_again(s) == 0 && !any_pending(s))
		return;
	if (try_hop(s, s->nexthop, 1))
		return;
	str_copy(list, sizeof list,
	         conf_get(s->role.conf, "smtp_fallback_relay"));
	while (any_pending(s) && conf_list_next(&cur, hop, sizeof hop))
		if (strcmp(hop, s->nexthop) != 0)
			(void)try_hop(s, hop, 0);
	settle_all(s, SMTPC_DEFERRED, s->why_dsn, s->why);
}
