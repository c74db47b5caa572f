/*
 * conf_value.c - what a value of each type may look like (int, time,
 * size, bool, enum, list, map), the strict scanners behind the typed
 * getters, and the cheap cross-field checks of `tinymta check` (see
 * conf.h). Every role runs it; the values are untrusted text from main.cf
 * and -o and are only read, never trusted for a length or a count.
 */
#include "conf_impl.h"
#include "util/str.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WHY(...) (void)snprintf(why, cap, __VA_ARGS__)

void
conf_quote(char *out, size_t cap, const char *v)
{
	char esc[100];
	size_t n = strlen(v), show = n > 60 ? 60 : n;

	str_escape(esc, sizeof esc, v, show);
	if (snprintf(out, cap, "\"%s%s\"", esc, show < n ? "..." : "") < 0)
		(void)str_copy(out, cap, "\"?\"");
}

int
conf_scan_number(const char *s, long long *out)
{
	uint64_t v;

	if (scan_u64(s, &v) < 0 || v > (uint64_t)LLONG_MAX)
		return -1;
	*out = (long long)v;
	return 0;
}

int
conf_scan_time(const char *s, char unit, long long *out)
{
	static const struct {
		char unit;
		long long mul;
	} units[] = {
	    {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
	char digits[24];
	size_t n = strspn(s, "0123456789");
	long long v;

	if (n == 0 || n >= sizeof digits || (s[n] && s[n + 1]))
		return -1;
	if (s[n])
		unit = s[n];
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (conf_scan_number(digits, &v) < 0)
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (units[i].unit == unit)
			return __builtin_mul_overflow(v, units[i].mul, out) ? -1
			                                                    : 0;
	return -1;
}

/* Seconds in the largest unit that divides them: 8640000 -> "100d". */
static void
time_text(char *out, size_t cap, long long secs)
{
	static const struct {
		char unit;
		long long mul;
	} units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}};

	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (secs != 0 && secs % units[i].mul == 0) {
			(void)snprintf(out, cap, "%lld%c", secs / units[i].mul,
			               units[i].unit);
			return;
		}
	(void)snprintf(out, cap, "%llds", secs);
}

/* "a|b|c" as "a, b, c". */
static void
choices(char *out, size_t cap, const char *values)
{
	size_t o = 0;

	for (const char *v = values; *v && o + 3 < cap; v++) {
		if (*v == '|') {
			out[o++] = ',';
			out[o++] = ' ';
		} else {
			out[o++] = *v;
		}
	}
	out[o] = '\0';
}

/* 1 when word is one of "a|b|c" (ASCII case does not matter). */
static int
one_of(const char *word, const char *values)
{
	size_t wn = strlen(word);

	for (const char *v = values; *v;) {
		size_t n = strcspn(v, "|");

		if (n == wn && strncasecmp(v, word, n) == 0)
			return 1;
		v += n + (v[n] == '|');
	}
	return 0;
}

static int
check_number(const struct conf_param *p, const char *v, char *why, size_t cap)
{
	long long n;
	char lo[24], hi[24];

	if (p->type == CONF_T_TIME) {
		if (conf_scan_time(v, p->unit, &n) < 0) {
			if (p->unit == 's')
				WHY("expected a time like 300s, 5m, 1h, 1d, "
				    "1w");
			else
				WHY("expected a time like 300s, 5m, 1h, 1d, 1w "
				    "(a number alone counts in %c)",
				    p->unit);
			return -1;
		}
		if (n < p->min || n > p->max) {
			time_text(lo, sizeof lo, p->min);
			time_text(hi, sizeof hi, p->max);
			WHY("expected a time from %s to %s", lo, hi);
			return -1;
		}
		return 0;
	}
	if (conf_scan_number(v, &n) < 0 || n < p->min || n > p->max) {
		if (p->type == CONF_T_SIZE)
			WHY("expected a size in bytes from %lld to %lld",
			    p->min, p->max);
		else
			WHY("expected a whole number from %lld to %lld", p->min,
			    p->max);
		return -1;
	}
	return 0;
}

/* type:name, with cdb and (as Postfix users write it) hash both meaning
 * CDB; unix:passwd.byname for the passwd file; a proxy: prefix is
 * accepted and means nothing here. */
static int
valid_map(const char *m)
{
	const char *colon;

	if (strncmp(m, "proxy:", 6) == 0)
		m += 6;
	colon = strchr(m, ':');
	if (!colon || colon[1] == '\0')
		return 0;
	if (strcmp(m, "unix:passwd.byname") == 0)
		return 1;
	return (colon - m == 3 && strncmp(m, "cdb", 3) == 0) ||
	       (colon - m == 4 && strncmp(m, "hash", 4) == 0);
}

static int
check_elements(const struct conf_param *p, const char *v, char *why, size_t cap)
{
	char elem[CONF_VALUE_MAX], list[300], q[100];
	const char *cur = v;

	while (conf_list_next(&cur, elem, sizeof elem)) {
		conf_quote(q, sizeof q, elem);
		if (p->type == CONF_T_MAP && !valid_map(elem)) {
			WHY("%s is not a lookup table: expected type:name "
			    "with type cdb or hash, like "
			    "cdb:/etc/tinymta/virtual",
			    q);
			return -1;
		}
		if (p->type == CONF_T_LIST && p->values &&
		    !one_of(elem, p->values)) {
			choices(list, sizeof list, p->values);
			WHY("%s is not one of: %s", q, list);
			return -1;
		}
	}
	return 0;
}

static int
check_typed(const struct conf_param *p, const char *v, char *why, size_t cap)
{
	char list[300];

	switch (p->type) {
	case CONF_T_INT:
	case CONF_T_TIME:
	case CONF_T_SIZE:
		return check_number(p, v, why, cap);
	case CONF_T_BOOL:
		if (str_eq_nocase(v, "yes") || str_eq_nocase(v, "no"))
			return 0;
		WHY("expected yes or no");
		return -1;
	case CONF_T_ENUM:
		if ((*v == '\0' && (p->flags & CONF_F_EMPTY)) ||
		    one_of(v, p->values))
			return 0;
		choices(list, sizeof list, p->values);
		WHY("expected one of: %s%s", list,
		    p->flags & CONF_F_EMPTY ? " (or nothing)" : "");
		return -1;
	case CONF_T_LIST:
	case CONF_T_MAP:
		return check_elements(p, v, why, cap);
	case CONF_T_STRING:
		break;
	}
	return 0;
}

static int
has_control(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 && *v != '\t')
			return 1;
	return 0;
}

int
conf_check_value(const struct conf *c, const struct conf_param *p,
                 const char *value, char *why, size_t cap)
{
	struct conf_xinfo xi;
	/* on the stack: a malloc'd 4 KiB buffer here cost every process
	 * start one mmap/munmap pair per default value holding a "$" */
	char buf[CONF_VALUE_MAX], q[100];
	int r;

	why[0] = '\0';
	if (has_control(value)) {
		WHY("control character in the value");
		return -1;
	}
	if (!strchr(value, '$'))
		return check_typed(p, value, why, cap);
	if (!c)
		return 0; /* checked once every $name is known */
	if (conf_expand(c, p->name, value, buf, sizeof buf, &xi) < 0) {
		WHY("%s", xi.why);
		return -1;
	}
	r = check_typed(p, buf, why, cap);
	if (r < 0) {
		size_t n = strlen(why);

		conf_quote(q, sizeof q, buf);
		if (n < cap)
			(void)snprintf(why + n, cap - n, " (it expands to %s)",
			               q);
	} else if (xi.undef[0]) {
		WHY("$%s is not set anywhere and expands to nothing", xi.undef);
		r = 1;
	}
	return r;
}
