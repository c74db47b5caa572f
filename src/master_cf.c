/*
 * master_cf.c - the master.cf parser (see master_cf.h). Read by the
 * master (root, before it binds the listeners), by `tinymta check` and by
 * tests and the fuzzer. master.cf is untrusted text (a web UI writes it):
 * every field is length-checked, services and -o values live in fixed
 * arrays, and a bad line is reported with its number and skipped.
 */
#include "master_cf.h"
#include "util/io.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define ISWS(ch)                                                               \
	((ch) == ' ' || (ch) == '\t' || (ch) == '\r' || (ch) == '\v' ||        \
	 (ch) == '\f')
#define LINE_MAX_ (2 * CONF_LINE_MAX)

struct mparse {
	struct master_cf *m;
	const char *file;
	const struct conf *c;
	struct conf_problems *ps;
	size_t errors;
	unsigned line, nul_line;
	int active, toolong;
	size_t len;
	char buf[LINE_MAX_];
	char *tok[MASTER_CF_FIELDS_MAX];
	size_t ntok;
};

static void report(struct mparse *mp, const char *param, enum conf_severity sev,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
report(struct mparse *mp, const char *param, enum conf_severity sev,
       const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
		(void)str_copy(msg, sizeof msg, "(unformattable message)");
	va_end(ap);
	if (sev == CONF_SEV_ERROR)
		mp->errors++;
	conf_problems_add(mp->ps, mp->file, mp->line, param, sev, "%s", msg);
}

static const struct {
	const char *name;
	unsigned port;
} services[] = {
    {"smtp", 25},         {"submission", 587}, {"smtps", 465},
    {"submissions", 465}, {"pop3", 110},       {"pop3s", 995},
};

unsigned
master_cf_port(const char *name)
{
	uint32_t v;

	for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
		if (strcmp(services[i].name, name) == 0)
			return services[i].port;
	if (scan_u32(name, &v) < 0 || v == 0 || v > 65535)
		return 0;
	return v;
}

/* LDH labels of 1-63 octets (RFC 1035 2.3.1), or an IPv4 literal. */
static int
valid_host(const char *h)
{
	size_t label = 0, n = strlen(h);
	unsigned char a4[4];

	if (n == 0 || n >= MASTER_CF_HOST_MAX)
		return 0;
	if (strspn(h, "0123456789.") == n)
		return inet_pton(AF_INET, h, a4) == 1;
	for (; *h; h++) {
		if (*h == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((*h >= 'a' && *h <= 'z') ||
		           (*h >= 'A' && *h <= 'Z') ||
		           (*h >= '0' && *h <= '9') || *h == '-') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return 1;
}

/* "smtp", "2525", "127.0.0.1:2525", "[::1]:2525", "host:smtp". */
static int
parse_listen(struct master_service *s)
{
	const char *name = s->name, *port = name, *end;
	unsigned char a6[16];

	s->host[0] = '\0';
	if (name[0] == '[') {
		end = strchr(name, ']');
		if (!end || end[1] != ':' ||
		    str_copy_n(s->host, sizeof s->host, name + 1,
		               (size_t)(end - name - 1)) < 0 ||
		    inet_pton(AF_INET6, s->host, a6) != 1)
			return -1;
		port = end + 2;
	} else if ((end = strrchr(name, ':')) != NULL) {
		if (str_copy_n(s->host, sizeof s->host, name,
		               (size_t)(end - name)) < 0 ||
		    !valid_host(s->host))
			return -1;
		port = end + 1;
	}
	s->port = master_cf_port(port);
	return s->port ? 0 : -1;
}

static int
yes_no(struct mparse *mp, const char *field, const char *v, int *out)
{
	if (strcmp(v, "y") == 0 || strcmp(v, "n") == 0 || strcmp(v, "-") == 0) {
		*out = *v == 'y' ? 1 : *v == 'n' ? 0 : -1;
		return 0;
	}
	report(mp, "", CONF_SEV_ERROR, "%s field \"%.40s\": expected y, n or -",
	       field, v);
	return -1;
}

/* "-", or a number (wakeup may end in '?', Postfix's "only if used"). */
static int
number_field(struct mparse *mp, const char *field, const char *v, int *out)
{
	char digits[12];
	uint32_t n;
	size_t len = strlen(v);

	if (strcmp(v, "-") == 0) {
		*out = -1;
		return 0;
	}
	if (strcmp(field, "wakeup") == 0 && len > 1 && v[len - 1] == '?')
		len--;
	if (str_copy_n(digits, sizeof digits, v, len) >= 0 &&
	    scan_u32(digits, &n) == 0 && n <= 1000000) {
		*out = (int)n;
		return 0;
	}
	report(mp, "", CONF_SEV_ERROR,
	       "%s field \"%.40s\": expected a number from 0 to 1000000 or -",
	       field, v);
	return -1;
}

static long
pool_add(struct master_cf *m, const char *s)
{
	size_t n = strlen(s) + 1, at = m->pool_len;

	if (n > sizeof m->pool - m->pool_len)
		return -1;
	memcpy(m->pool + at, s, n);
	m->pool_len += n;
	return (long)at;
}

static char *
trim(char *s)
{
	size_t n;

	while (ISWS(*s))
		s++;
	n = strlen(s);
	while (n > 0 && ISWS(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* "name=value" (or "{ name = value }" contents) after -o. */
static int
add_override(struct mparse *mp, struct master_service *s, char *text)
{
	char *eq = strchr(text, '='), *name, *value, why[200], q[100];
	const struct conf_param *p;
	long no, vo;
	int r = 0;

	if (!eq) {
		conf_quote(q, sizeof q, text);
		report(mp, "", CONF_SEV_ERROR, "-o %s: expected -o name=value",
		       q);
		return -1;
	}
	*eq = '\0';
	name = trim(text);
	value = trim(eq + 1);
	if (!*name || strlen(name) >= CONF_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789_") != strlen(name)) {
		conf_quote(q, sizeof q, name);
		report(mp, "", CONF_SEV_ERROR, "-o %s: not a parameter name",
		       q);
		return -1;
	}
	if (!(p = conf_param_find(name)))
		report(mp, name, CONF_SEV_WARNING, "-o %s: unknown parameter",
		       name);
	else if ((r = conf_check_value(mp->c, p, value, why, sizeof why)))
		report(mp, name, r < 0 ? CONF_SEV_ERROR : CONF_SEV_WARNING,
		       "-o %s=%s: %s", name,
		       (conf_quote(q, sizeof q, value), q), why);
	if (r < 0)
		return -1;
	if (s->nopts >= MASTER_CF_OPTS_MAX) {
		report(mp, name, CONF_SEV_ERROR, "more than %d -o options",
		       MASTER_CF_OPTS_MAX);
		return -1;
	}
	no = pool_add(mp->m, name);
	vo = no < 0 ? -1 : pool_add(mp->m, value);
	if (vo < 0) {
		report(mp, name, CONF_SEV_ERROR,
		       "-o values longer than %d bytes in all", MASTER_CF_POOL);
		return -1;
	}
	s->opts[s->nopts].name = (unsigned)no;
	s->opts[s->nopts++].value = (unsigned)vo;
	return 0;
}

/* The command's arguments: -o overrides; -v and -D, Postfix's daemon
 * debugging flags, are accepted and do nothing. */
static int
parse_args(struct mparse *mp, struct master_service *s, size_t from)
{
	for (size_t i = from; i < mp->ntok; i++) {
		char *t = mp->tok[i];

		if (strcmp(t, "-o") == 0) {
			if (++i >= mp->ntok) {
				report(mp, "", CONF_SEV_ERROR,
				       "-o at the end of the line: expected -o "
				       "name=value");
				return -1;
			}
			if (add_override(mp, s, mp->tok[i]) < 0)
				return -1;
		} else if (strncmp(t, "-o", 2) == 0) {
			if (add_override(mp, s, t + 2) < 0)
				return -1;
		} else if (strcmp(t, "-v") != 0 && strcmp(t, "-D") != 0) {
			report(mp, "", CONF_SEV_WARNING,
			       "argument \"%.40s\" ignored", t);
		}
	}
	return 0;
}

static int
parse_fields(struct mparse *mp, struct master_service *s)
{
	char q[100];
	const char *cmd = mp->tok[7];

	if (str_copy(s->name, sizeof s->name, mp->tok[0]) < 0 ||
	    parse_listen(s) < 0) {
		conf_quote(q, sizeof q, mp->tok[0]);
		report(mp, "", CONF_SEV_ERROR,
		       "service %s: expected a port, smtp, submission, smtps, "
		       "pop3, pop3s, host:port or [ipv6]:port",
		       q);
		return -1;
	}
	if (yes_no(mp, "private", mp->tok[2], &s->private_) < 0 ||
	    yes_no(mp, "unpriv", mp->tok[3], &s->unpriv) < 0 ||
	    yes_no(mp, "chroot", mp->tok[4], &s->chroot) < 0 ||
	    number_field(mp, "wakeup", mp->tok[5], &s->wakeup) < 0 ||
	    number_field(mp, "maxproc", mp->tok[6], &s->maxproc) < 0)
		return -1;
	if (s->wakeup < 0)
		s->wakeup = 0;
	if (strcmp(cmd, "smtpd") == 0 || strcmp(cmd, "pop3d") == 0) {
		s->cmd = cmd[0] == 's' ? MASTER_CMD_SMTPD : MASTER_CMD_POP3D;
		return parse_args(mp, s, 8);
	}
	conf_quote(q, sizeof q, cmd);
	report(mp, "", CONF_SEV_ERROR,
	       "command %s is not supported for inet services (expected smtpd "
	       "or pop3d)",
	       q);
	return -1;
}

static void
parse_service(struct mparse *mp)
{
	static const char *const ignored[] = {"unix", "unix-dgram", "fifo",
	                                      "pass"};
	struct master_cf *m = mp->m;
	struct master_service *s;
	size_t pool_len = m->pool_len;
	char q[100];

	if (mp->ntok < 8) {
		report(
		    mp, "", CONF_SEV_ERROR,
		    "expected at least 8 fields: service type private unpriv "
		    "chroot wakeup maxproc command");
		return;
	}
	for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
		if (strcmp(mp->tok[1], ignored[i]) == 0) {
			m->ignored++;
			return;
		}
	if (strcmp(mp->tok[1], "inet") != 0) {
		conf_quote(q, sizeof q, mp->tok[1]);
		report(mp, "", CONF_SEV_ERROR,
		       "service type %s: expected inet, unix, fifo or pass", q);
		return;
	}
	if (m->n >= MASTER_CF_SERVICES_MAX) {
		report(mp, "", CONF_SEV_ERROR, "more than %d inet services",
		       MASTER_CF_SERVICES_MAX);
		return;
	}
	s = &m->v[m->n];
	memset(s, 0, sizeof *s);
	s->line = mp->line;
	if (parse_fields(mp, s) < 0) {
		m->pool_len = pool_len;
		return;
	}
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].port == s->port &&
		    str_eq_nocase(m->v[i].host, s->host)) {
			report(mp, "", CONF_SEV_ERROR,
			       "service \"%s\" listens where the service of "
			       "line %u does",
			       s->name, m->v[i].line);
			m->pool_len = pool_len;
			return;
		}
	m->n++;
}

/* Fields split at white space; "{ a b }" is one field (Postfix 3.0). */
static int
tokenize(struct mparse *mp)
{
	char *p = mp->buf, *end = mp->buf + mp->len;

	*end = '\0';
	mp->ntok = 0;
	/* loop invariant: buf[0..p) has been split into tok[0..ntok) */
	while (p < end) {
		char *t;

		while (p < end && ISWS(*p))
			p++;
		if (p >= end)
			break;
		if (mp->ntok >= MASTER_CF_FIELDS_MAX) {
			report(mp, "", CONF_SEV_ERROR, "more than %d fields",
			       MASTER_CF_FIELDS_MAX);
			return -1;
		}
		if (*p == '{') {
			char *close = strchr(p, '}');

			if (!close) {
				report(mp, "", CONF_SEV_ERROR,
				       "unterminated \"{\" (no \"}\")");
				return -1;
			}
			*close = '\0';
			t = trim(p + 1);
			p = close + 1;
		} else {
			t = p;
			while (p < end && !ISWS(*p))
				p++;
			*p++ = '\0';
		}
		mp->tok[mp->ntok++] = t;
	}
	return 0;
}

static void
flush(struct mparse *mp)
{
	if (!mp->active)
		return;
	mp->active = 0;
	if (mp->nul_line) {
		mp->line = mp->nul_line;
		report(mp, "", CONF_SEV_ERROR,
		       "NUL byte in the line (master.cf must be text)");
	} else if (mp->toolong) {
		report(mp, "", CONF_SEV_ERROR, "line longer than %d bytes",
		       LINE_MAX_ - 2);
	} else if (tokenize(mp) == 0) {
		parse_service(mp);
	}
}

static void
append(struct mparse *mp, const char *s, size_t n)
{
	if (mp->toolong)
		return;
	if (n >= sizeof mp->buf - 1 - mp->len) {
		mp->toolong = 1;
		return;
	}
	memcpy(mp->buf + mp->len, s, n);
	mp->len += n;
}

/* The same line rules as main.cf: blank and # lines skipped anywhere,
 * white space at the start continues the line before. */
static void
physical(struct mparse *mp, const char *s, size_t n, unsigned lineno)
{
	int nul = memchr(s, '\0', n) != NULL;
	size_t i = 0;

	while (i < n && ISWS(s[i]))
		i++;
	if (i == n || s[i] == '#') {
		if (nul) {
			mp->line = lineno;
			report(mp, "", CONF_SEV_ERROR,
			       "NUL byte in the line (master.cf must be text)");
		}
		return;
	}
	if (i > 0 && !mp->active) {
		mp->line = lineno;
		report(mp, "", CONF_SEV_WARNING,
		       "continuation line without a service before it; "
		       "ignored");
		return;
	}
	if (i == 0) {
		flush(mp);
		mp->active = 1;
		mp->line = lineno;
		mp->len = 0;
		mp->toolong = 0;
		mp->nul_line = 0;
	} else {
		append(mp, " ", 1);
	}
	if (nul && !mp->nul_line)
		mp->nul_line = lineno;
	append(mp, s + i, n - i);
}

int
master_cf_parse(struct master_cf *m, const char *file, const char *text,
                size_t len, const struct conf *c, struct conf_problems *ps)
{
	const char *p = text, *end = text + len;
	struct mparse *mp;
	unsigned lineno = 0;
	int r;

	m->n = m->ignored = m->pool_len = 0;
	m->missing = 0;
	if (len > CONF_FILE_MAX) {
		conf_problems_add(ps, file, 0, "", CONF_SEV_ERROR,
		                  "file larger than %d bytes", CONF_FILE_MAX);
		return -1;
	}
	if (!(mp = calloc(1, sizeof *mp))) {
		conf_problems_add(ps, file, 0, "", CONF_SEV_ERROR,
		                  "out of memory");
		return -1;
	}
	mp->m = m;
	mp->file = file;
	mp->c = c;
	mp->ps = ps;
	/* loop invariant: p <= end; lineno counts the lines before p */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		physical(mp, p, n, ++lineno);
		p += n + (nl != NULL);
	}
	flush(mp);
	r = mp->errors ? -1 : 0;
	free(mp);
	return r;
}

int
master_cf_load(struct master_cf *m, const char *path, const struct conf *c,
               struct conf_problems *ps)
{
	char *text;
	size_t len;
	int r;

	if (io_slurp(path, CONF_FILE_MAX, &text, &len) < 0) {
		int e = errno;

		m->n = m->ignored = m->pool_len = 0;
		m->missing = e == ENOENT;
		if (e == ENOENT)
			return 0;
		if (e == EFBIG)
			conf_problems_add(ps, path, 0, "", CONF_SEV_ERROR,
			                  "file larger than %d bytes",
			                  CONF_FILE_MAX);
		else
			conf_problems_add(ps, path, 0, "", CONF_SEV_ERROR,
			                  "cannot read: %s", strerror(e));
		return -1;
	}
	r = master_cf_parse(m, path, text, len, c, ps);
	free(text);
	return r;
}

const char *
master_cf_str(const struct master_cf *m, unsigned off)
{
	return off < m->pool_len ? m->pool + off : "";
}

int
master_cf_apply(const struct master_cf *m, const struct master_service *s,
                struct conf *c, struct conf_problems *ps)
{
	int r = 0;

	for (size_t i = 0; i < s->nopts; i++)
		if (conf_set(c, master_cf_str(m, s->opts[i].name),
		             master_cf_str(m, s->opts[i].value), ps) < 0)
			r = -1;
	return r;
}
