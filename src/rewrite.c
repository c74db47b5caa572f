/*
 * rewrite.c - envelope address rewriting (see rewrite.h): canonical and
 * generic lookups with Postfix's key order, masquerade_domains and
 * tinymta_sender_address. Runs in pickup and smtpd (queue entry) and the
 * smtp client (relaying out), as mail_owner. The address is untrusted
 * (any local user or SMTP client chose it); the tables are the
 * administrator's. No logging: errors go back to the caller in why.
 */
#include "rewrite.h"
#include "addr.h"
#include "map.h"
#include "resolve.h"
#include "rewrite_impl.h"
#include "util/str.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define RW_VALUE_MAX (ADDR_TEXT_MAX + 64) /* one map result */

static void say(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

int
rewrite_is_local(const struct conf *c, const char *domain)
{
	const char *o = conf_get(c, "myorigin");

	return domain[0] == '\0' || (o && str_eq_nocase(o, domain)) ||
	       resolve_is_local_domain(c, domain);
}

/* key in the tables of parameter param, in order; 1 found (val), 0 not,
 * -1 error. A table not built yet (no .cdb) has no entries, as in
 * resolve.c. */
static int
maps_find(const struct conf *c, const char *param, const char *key, char *val,
          size_t cap, char *why, size_t whylen)
{
	const char *cur = conf_get(c, param);
	char spec[MAP_PATH_MAX];
	struct map m;
	int r, e;

	while (cur && conf_list_next(&cur, spec, sizeof spec)) {
		if (map_open(&m, spec, 0) < 0) {
			if (errno == ENOENT)
				continue;
			say(why, whylen, "%s: cannot open %s: %s", param, spec,
			    strerror(errno));
			return -1;
		}
		r = map_lookup(&m, key, val, cap, NULL);
		e = errno;
		map_close(&m);
		if (r < 0) {
			say(why, whylen, "%s: lookup in %s failed: %s", param,
			    spec, strerror(e));
			return -1;
		}
		if (r == 1)
			return 1;
	}
	return 0;
}

/* Length of the local part before its extension (recipient_delimiter:
 * the first delimiter character after the first byte), else all of it. */
static size_t
base_len(const struct conf *c, const char *local)
{
	const char *d = conf_get(c, "recipient_delimiter");
	size_t n = strlen(local);

	if (d && *d && n > 1)
		n = 1 + strcspn(local + 1, d);
	return n;
}

/* The table result val (one address, white space around it ignored)
 * applied to in into *out: "@other" replaces the domain only; an address
 * replaces the whole, with ext (the extension the key lacked, or "")
 * appended to its local part. 1, or -1 for a result that is not an
 * address (the administrator's error: the mail waits, why says it). */
static int
apply_result(const struct addr *in, const char *val, const char *ext,
             struct addr *out, const char *param, char *why, size_t whylen)
{
	char v[RW_VALUE_MAX], probe[RW_VALUE_MAX + 1];
	struct addr d;
	size_t n = strlen(val);

	while (*val == ' ' || *val == '\t')
		val++, n--;
	while (n && (val[n - 1] == ' ' || val[n - 1] == '\t'))
		n--;
	if (str_copy_n(v, sizeof v, val, n) < 0)
		goto bad;
	if (v[0] == '@') {
		snprintf(probe, sizeof probe, "x%s", v);
		if (addr_parse(probe, strlen(probe), RW_ADDR_FLAGS, &d, NULL) !=
		        ADDR_OK ||
		    !d.domain[0])
			goto bad;
		*out = *in;
		memcpy(out->domain, d.domain, sizeof out->domain);
		return 1;
	}
	if (addr_parse(v, strlen(v), RW_ADDR_FLAGS, out, NULL) != ADDR_OK)
		goto bad;
	if (ext[0]) {
		if (str_append(out->local, sizeof out->local, ext) < 0)
			goto bad;
		out->quoted = !addr_is_dot_string(
		    out->local, strlen(out->local), RW_ADDR_FLAGS);
	}
	return 1;
bad:
	say(why, whylen, "%s: bad result \"%s\" for %s", param, v, in->local);
	*out = *in;
	return -1;
}

/* canonical(5)/generic(5): user+ext@domain, user@domain (the extension
 * then propagates), user+ext and user for local domains only, @domain.
 * A bare address is looked up as user@$myorigin. */
static int
canon(const struct conf *c, const char *param, const struct addr *in,
      struct addr *out, char *why, size_t whylen)
{
	char key[ADDR_TEXT_MAX + 8], val[RW_VALUE_MAX],
	    dom[ADDR_DOMAIN_MAX + 1];
	size_t bl = base_len(c, in->local);
	const char *ext = in->local + bl;
	int local = rewrite_is_local(c, in->domain), r;

	/* conf_get's value lives until the next conf_* call: copied */
	if (str_copy(dom, sizeof dom,
	             in->domain[0] ? in->domain : conf_get(c, "myorigin")) < 0)
		dom[0] = '\0';

	/* k: 0 user+ext@domain, 1 user@domain, 2 user+ext, 3 user,
	 * 4 @domain; the forms without "+ext" only when there is one */
	for (int k = 0; k < 5; k++) {
		int full = k == 0 || k == 2, dom_key = k < 2;

		if ((k == 1 || k == 3) && !ext[0])
			continue;
		if ((k == 2 || k == 3) && !local)
			continue;
		if (k == 4)
			r = snprintf(key, sizeof key, "@%s", dom);
		else
			r = snprintf(key, sizeof key, "%.*s%s%s",
			             (int)(full ? strlen(in->local) : bl),
			             in->local, dom_key ? "@" : "",
			             dom_key ? dom : "");
		if (r < 0 || (size_t)r >= sizeof key || strcmp(key, "@") == 0)
			continue;
		r = maps_find(c, param, key, val, sizeof val, why, whylen);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		return apply_result(in, val, k == 1 || k == 3 ? ext : "", out,
		                    param, why, whylen);
	}
	*out = *in;
	return 0;
}

/* masquerade_domains: the first entry that equals the domain or is a
 * parent of it decides; "!d" keeps d's subdomains as they are. Local
 * parts in masquerade_exceptions are left alone. 1 changed, 0 not. */
static int
masquerade(const struct conf *c, struct addr *a)
{
	const char *cur, *m;
	char item[ADDR_DOMAIN_MAX + 2];
	size_t dl = strlen(a->domain), ml;

	if (!dl || a->domain[0] == '[')
		return 0;
	cur = conf_get(c, "masquerade_exceptions");
	while (cur && conf_list_next(&cur, item, sizeof item))
		if (str_eq_nocase(item, a->local))
			return 0;
	cur = conf_get(c, "masquerade_domains");
	while (cur && conf_list_next(&cur, item, sizeof item)) {
		int excl = item[0] == '!';

		m = item + excl;
		ml = strlen(m);
		if (ml == 0 || ml > dl)
			continue;
		if (ml == dl) {
			if (str_eq_nocase(m, a->domain))
				return 0;
			continue;
		}
		if (a->domain[dl - ml - 1] != '.' ||
		    !str_eq_nocase(m, a->domain + dl - ml))
			continue;
		if (excl)
			return 0;
		memmove(a->domain, a->domain + dl - ml, ml + 1);
		map_fold(a->domain, ml);
		return 1;
	}
	return 0;
}

int
rewrite_one(const struct conf *c, const char *maps, int masq,
            const struct addr *in, struct addr *out, char *why, size_t whylen)
{
	int r = 0;

	*out = *in;
	if (in->null)
		return 0;
	if (maps && (r = canon(c, maps, in, out, why, whylen)) < 0)
		return -1;
	if (masq)
		r |= masquerade(c, out);
	return r;
}

int
rewrite_addr(const struct conf *c, enum rewrite_where where, const char *addr,
             char *out, size_t outlen, char *why, size_t whylen)
{
	static const char *const maps[] = {
	    [RW_ENTRY_SENDER] = "sender_canonical_maps",
	    [RW_ENTRY_RCPT] = "recipient_canonical_maps",
	    [RW_OUT_SENDER] = "smtp_generic_maps",
	    [RW_OUT_RCPT] = "smtp_generic_maps",
	};
	const char *sa;
	struct addr in, o;
	int r;

	if (why && whylen)
		why[0] = '\0';
	if (str_copy(out, outlen, addr) < 0) {
		say(why, whylen, "address too long");
		return -1;
	}
	if (addr[0] == '\0')
		return 0; /* the null sender stays null */
	sa = where == RW_OUT_SENDER ? conf_get(c, "tinymta_sender_address")
	                            : NULL;
	if (sa && *sa) {
		if (str_copy(out, outlen, sa) < 0) {
			str_copy(out, outlen, addr);
			say(why, whylen, "tinymta_sender_address too long");
			return -1;
		}
		return strcmp(out, addr) != 0;
	}
	if (addr_parse(addr, strlen(addr), RW_ADDR_FLAGS, &in, NULL) != ADDR_OK)
		return 0; /* not ours to judge: passed on as it is */
	r = rewrite_one(c, maps[where], where == RW_ENTRY_SENDER, &in, &o, why,
	                whylen);
	if (r <= 0)
		return r;
	if (addr_format(&o, out, outlen) < 0) {
		str_copy(out, outlen, addr);
		say(why, whylen, "%s: result for %s too long", maps[where],
		    addr);
		return -1;
	}
	return strcmp(out, addr) != 0;
}
