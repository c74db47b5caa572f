/*
 * conf_get.c - reading values back: as written, as defaulted, expanded
 * and typed (see conf.h). Every role calls these after conf_load(); the
 * values have passed their checks by then, so a getter never fails, and
 * falls back to the default if anything should still not scan.
 */
#include "conf_impl.h"
#include "util/str.h"

#include <string.h>

#define ISWS(ch)                                                               \
	((ch) == ' ' || (ch) == '\t' || (ch) == '\r' || (ch) == '\v' ||        \
	 (ch) == '\f')

static const struct conf_param *
row(const struct conf *c, const char *name, size_t *idx)
{
	const struct conf_param *p = conf_param_find(name);

	(void)c;
	if (p)
		*idx = conf_index(p);
	return p;
}

const char *
conf_raw(const struct conf *c, const char *name)
{
	size_t idx;

	if (!row(c, name, &idx))
		return conf_unknown_value(c, name);
	return c->raw[idx];
}

const char *
conf_written(const struct conf *c, const char *name)
{
	size_t idx;

	if (!row(c, name, &idx))
		return conf_unknown_value(c, name);
	if (c->bad[idx] && (!c->raw[idx] || c->bad_line[idx] > c->line[idx]))
		return c->bad[idx];
	return c->raw[idx];
}

unsigned
conf_line(const struct conf *c, const char *name)
{
	size_t idx;

	if (row(c, name, &idx))
		return c->line[idx];
	for (size_t i = 0; i < c->nunk; i++)
		if (strcmp(c->unk[i].name, name) == 0)
			return c->unk[i].line;
	return 0;
}

const char *
conf_text(const struct conf *c, size_t idx)
{
	if (c->raw[idx])
		return c->raw[idx];
	if (conf_params[idx].flags & CONF_F_COMPUTED)
		return conf_computed(c, idx);
	return conf_params[idx].def;
}

const char *
conf_default(const struct conf *c, const char *name)
{
	size_t idx;

	if (!row(c, name, &idx))
		return NULL;
	if (conf_params[idx].flags & CONF_F_COMPUTED)
		return conf_computed(c, idx);
	return conf_params[idx].def;
}

const char *
conf_get(const struct conf *c, const char *name)
{
	struct conf_xinfo xi;
	size_t idx;

	if (!row(c, name, &idx))
		return NULL;
	if (conf_expand(c, name, conf_text(c, idx), c->s->get, sizeof c->s->get,
	                &xi) < 0)
		c->s->get[0] = '\0'; /* only an unchecked conf gets here */
	return c->s->get;
}

/* The value as a number, or the default's when it does not scan. */
static long long
number(const struct conf *c, const char *name, int time)
{
	const struct conf_param *p = conf_param_find(name);
	const char *v = conf_get(c, name);
	long long n;

	if (!p || !v)
		return 0;
	if (time ? conf_scan_time(v, p->unit, &n) : conf_scan_number(v, &n))
		if (time ? conf_scan_time(p->def, p->unit, &n)
		         : conf_scan_number(p->def, &n))
			return 0;
	return n;
}

long long
conf_int(const struct conf *c, const char *name)
{
	return number(c, name, 0);
}

long long
conf_size(const struct conf *c, const char *name)
{
	return number(c, name, 0);
}

long long
conf_time(const struct conf *c, const char *name)
{
	return number(c, name, 1);
}

int
conf_bool(const struct conf *c, const char *name)
{
	const char *v = conf_get(c, name);

	return v && str_eq_nocase(v, "yes");
}

int
conf_list_next(const char **cursor, char *out, size_t cap)
{
	const char *s = *cursor;
	size_t n;

	while (*s && (*s == ',' || ISWS(*s) || *s == '\n'))
		s++;
	*cursor = s;
	if (!*s)
		return 0;
	n = strcspn(s, ", \t\r\n\v\f");
	(void)str_copy_n(out, cap, s, n); /* a longer element is cut */
	*cursor = s + n;
	return 1;
}

static const char *
tls_level(const struct conf *c, const char *level, const char *enforce,
          const char *use)
{
	static const char *const levels[] = {"none",        "may",    "encrypt",
	                                     "fingerprint", "verify", "secure"};
	const char *v = conf_get(c, level);

	for (size_t i = 0; v && *v && i < sizeof levels / sizeof levels[0]; i++)
		if (str_eq_nocase(v, levels[i]))
			return levels[i];
	if (enforce && conf_bool(c, enforce))
		return "encrypt";
	return conf_bool(c, use) ? "may" : "none";
}

const char *
conf_smtpd_tls_level(const struct conf *c)
{
	return tls_level(c, "smtpd_tls_security_level", "smtpd_enforce_tls",
	                 "smtpd_use_tls");
}

const char *
conf_smtp_tls_level(const struct conf *c)
{
	return tls_level(c, "smtp_tls_security_level", NULL, "smtp_use_tls");
}

const char *
conf_dir(const struct conf *c)
{
	return c->dir;
}

const char *
conf_main_path(const struct conf *c)
{
	return c->main_path;
}
