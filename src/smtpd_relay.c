/*
 * smtpd_relay.c - relay control (see smtpd_relay.h). Runs in smtpd as
 * mail_owner. The recipient address is UNTRUSTED (parsed by addr.c
 * before it gets here); the lists and maps are trusted configuration.
 */
#include "smtpd_relay.h"
#include "map.h"
#include "resolve.h"
#include "util/str.h"

#include <errno.h>
#include <string.h>

/* domain equals entry, or is a subdomain of it (".entry" means only
 * subdomains). */
static int
domain_match(const char *domain, const char *entry)
{
	size_t dl = strlen(domain), el;
	int sub_only = entry[0] == '.';

	if (sub_only)
		entry++;
	el = strlen(entry);
	if (el == 0)
		return 0;
	if (!sub_only && str_eq_nocase(domain, entry))
		return 1;
	return dl > el && domain[dl - el - 1] == '.' &&
	       str_eq_nocase(domain + dl - el, entry);
}

/* Look domain up as a key of the map spec: 1, 0, -1. */
static int
map_has(const char *spec, const char *domain)
{
	struct map m;
	char val[64];
	int r;

	if (map_open(&m, spec, 0) < 0)
		return errno == ENOENT ? 0 : -1;
	r = map_lookup(&m, domain, val, sizeof val, NULL);
	if (r < 0 && errno == ERANGE)
		r = 1; /* a long value: the key exists */
	map_close(&m);
	return r;
}

int
smtpd_relay_domain_in(const struct conf *c, const char *param,
                      const char *domain)
{
	char list[CONF_VALUE_MAX], entry[512];
	const char *cur = list;
	int err = 0;

	if (str_copy(list, sizeof list, conf_get(c, param)) < 0)
		return -1;
	while (conf_list_next(&cur, entry, sizeof entry)) {
		int r;

		if (!strchr(entry, ':') && entry[0] != '/')
			r = domain_match(domain, entry);
		else
			r = map_has(entry, domain);
		if (r > 0)
			return 1;
		if (r < 0)
			err = 1;
	}
	return err ? -1 : 0;
}

/* Sender-specified routing in the local part. */
static int
routed(const struct addr *a)
{
	return strpbrk(a->local, "@%!") != NULL;
}

enum relay_dest
smtpd_relay_dest(const struct conf *c, const struct addr *a, int *err)
{
	static const char *const lists[2] = {"virtual_alias_domains",
	                                     "relay_domains"};
	static const enum relay_dest kinds[2] = {RELAY_DEST_VIRTUAL,
	                                         RELAY_DEST_RELAY};

	*err = 0;
	if (a->domain[0] == '\0') /* "<Postmaster>": RFC 5321 4.1.1.3 */
		return RELAY_DEST_LOCAL;
	if (routed(a) || a->domain[0] == '[')
		return RELAY_DEST_OTHER;
	if (resolve_is_local_domain(c, a->domain))
		return RELAY_DEST_LOCAL;
	for (int i = 0; i < 2; i++) {
		int r = smtpd_relay_domain_in(c, lists[i], a->domain);

		if (r > 0)
			return kinds[i];
		if (r < 0)
			*err = 1;
	}
	return RELAY_DEST_OTHER;
}

struct restriction {
	const char *name;
	/* RELAY_PERMIT/REJECT/DEFER to decide, -1 to go on */
	int (*fn)(const struct relay_client *cl, int auth_dest);
};

static int
r_mynetworks(const struct relay_client *cl, int auth_dest)
{
	(void)auth_dest;
	return cl->mynetworks ? RELAY_PERMIT : -1;
}

static int
r_sasl(const struct relay_client *cl, int auth_dest)
{
	(void)auth_dest;
	return cl->sasl ? RELAY_PERMIT : -1;
}

static int
r_unauth(const struct relay_client *cl, int auth_dest)
{
	(void)cl;
	return auth_dest ? -1 : RELAY_REJECT;
}

static int
r_defer_unauth(const struct relay_client *cl, int auth_dest)
{
	(void)cl;
	return auth_dest ? -1 : RELAY_DEFER;
}

static int
r_permit(const struct relay_client *cl, int auth_dest)
{
	(void)cl;
	(void)auth_dest;
	return RELAY_PERMIT;
}

static int
r_reject(const struct relay_client *cl, int auth_dest)
{
	(void)cl;
	(void)auth_dest;
	return RELAY_REJECT;
}

static const struct restriction restrictions_table[] = {
    {"permit_mynetworks", r_mynetworks},
    {"permit_sasl_authenticated", r_sasl},
    {"reject_unauth_destination", r_unauth},
    {"defer_unauth_destination", r_defer_unauth},
    {"permit", r_permit},
    {"reject", r_reject},
};

static const struct restriction *
find(const char *name)
{
	for (size_t i = 0;
	     i < sizeof restrictions_table / sizeof restrictions_table[0]; i++)
		if (strcmp(restrictions_table[i].name, name) == 0)
			return &restrictions_table[i];
	return NULL;
}

enum relay_verdict
smtpd_relay_check(const char *restrictions, const struct relay_client *cl,
                  int auth_dest, char *bad, size_t cap)
{
	const char *cur = restrictions;
	char name[64];

	while (conf_list_next(&cur, name, sizeof name)) {
		const struct restriction *r = find(name);
		int v;

		if (!r) {
			str_copy(bad, cap, name);
			return RELAY_CONFIG;
		}
		v = r->fn(cl, auth_dest);
		if (v >= 0)
			return (enum relay_verdict)v;
	}
	return RELAY_PERMIT;
}
