/*
 * qmgr_route.c - a remote recipient's next hop (see qmgr_route.h). The
 * values come from the administrator's maps; they are still checked
 * (length, no space or control byte) before they become an agent's
 * argument.
 */
#include "map.h"
#include "qfile.h"
#include "qmgr_route.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTE_VALUE_MAX 1024

/* Look key up in each map of param, first hit wins: 1 (val set), 0, -1
 * (why set). A map not built yet has no entries. */
static int
lookup(const struct conf *c, const char *param, const char *key, char *val,
       size_t cap, char *why, size_t whycap)
{
	const char *cur = conf_get(c, param);
	struct map *m = malloc(sizeof *m);
	char spec[1024];
	int r = 0;

	if (!m) {
		snprintf(why, whycap, "%s: out of memory", param);
		return -1;
	}
	while (r == 0 && cur && conf_list_next(&cur, spec, sizeof spec)) {
		if (map_open(m, spec, 0) < 0) {
			if (errno == ENOENT)
				continue;
			snprintf(why, whycap, "%s: %s: %s", param, spec,
			         strerror(errno));
			r = -1;
			break;
		}
		r = map_lookup(m, key, val, cap, NULL);
		if (r < 0)
			snprintf(why, whycap, "%s: %s: lookup of %s: %s", param,
			         spec, key, strerror(errno));
		map_close(m);
	}
	free(m);
	return r;
}

/* A next hop fit to be an argument: printable, no space, bounded. */
static int
hop_ok(const char *s, size_t cap)
{
	size_t n = strlen(s);

	if (n == 0 || n >= cap)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

/* transport_maps: 1 found (val holds "transport:nexthop"), 0, -1. */
static int
transport(const struct conf *c, const char *rcpt, const char *domain, char *val,
          size_t cap, char *why, size_t whycap)
{
	int r = lookup(c, "transport_maps", rcpt, val, cap, why, whycap);

	if (r != 0)
		return r;
	r = lookup(c, "transport_maps", domain, val, cap, why, whycap);
	for (const char *d = domain; r == 0 && (d = strchr(d, '.')) != NULL;
	     d++)
		r = lookup(c, "transport_maps", d, val, cap, why, whycap);
	if (r == 0)
		r = lookup(c, "transport_maps", "*", val, cap, why, whycap);
	return r;
}

static enum qroute
set_hop(const char *hop, char *nexthop, size_t cap, char *why, size_t whycap,
        const char *from)
{
	if (!hop_ok(hop, cap)) {
		snprintf(why, whycap, "%s: unusable next hop \"%.100s\"", from,
		         hop);
		return QR_DEFER;
	}
	str_copy(nexthop, cap, hop);
	return QR_SMTP;
}

enum qroute
qmgr_route(const struct conf *c, const char *sender, const char *rcpt,
           char *nexthop, size_t cap, char *why, size_t whycap)
{
	char val[ROUTE_VALUE_MAX], domain[300], key[QFILE_ADDR_MAX + 2];
	const char *at = strrchr(rcpt, '@'), *sat;
	int r;

	why[0] = '\0';
	if (!at || !at[1] || str_copy(domain, sizeof domain, at + 1) < 0) {
		snprintf(why, whycap, "no domain in <%.200s>", rcpt);
		return QR_BOUNCE;
	}
	map_fold(domain, strlen(domain));
	r = transport(c, rcpt, domain, val, sizeof val, why, whycap);
	if (r < 0)
		return QR_DEFER;
	if (r == 1) {
		char *colon = strchr(val, ':');
		const char *hop = colon ? colon + 1 : "";

		if (colon)
			*colon = '\0';
		if (strcmp(val, "error") == 0) {
			snprintf(why, whycap, "%s",
			         hop[0] ? hop
			                : "mail for "
			                  "this domain "
			                  "is refused");
			return QR_BOUNCE;
		}
		if (strcmp(val, "retry") == 0) {
			snprintf(why, whycap, "%s",
			         hop[0] ? hop
			                : "try again "
			                  "later");
			return QR_DEFER;
		}
		if (strcmp(val, "smtp") != 0 && strcmp(val, "relay") != 0 &&
		    val[0]) {
			snprintf(why, whycap,
			         "transport_maps: transport \"%.60s\" is not "
			         "supported",
			         val);
			return QR_DEFER;
		}
		if (hop[0])
			return set_hop(hop, nexthop, cap, why, whycap,
			               "transport_maps");
	}
	/* sender_dependent_relayhost_maps: the sender, then @domain. */
	sat = strrchr(sender, '@');
	r = lookup(c, "sender_dependent_relayhost_maps",
	           sender[0] ? sender : "<>", val, sizeof val, why, whycap);
	if (r == 0 && sat && snprintf(key, sizeof key, "%s", sat) > 0)
		r = lookup(c, "sender_dependent_relayhost_maps", key, val,
		           sizeof val, why, whycap);
	if (r < 0)
		return QR_DEFER;
	if (r == 1)
		return set_hop(val, nexthop, cap, why, whycap,
		               "sender_dependent_relayhost_maps");
	if (conf_get(c, "relayhost")[0])
		return set_hop(conf_get(c, "relayhost"), nexthop, cap, why,
		               whycap, "relayhost");
	return set_hop(domain, nexthop, cap, why, whycap, "recipient domain");
}
