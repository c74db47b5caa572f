/*
 * conf.c - main.cf: the line parser, storage of the values set, the
 * getters and the problem list (see conf.h). Linked into every role and
 * applet and runs with the caller's privileges. Untrusted input: main.cf
 * text (a web UI writes it) and -o overrides; every length is checked
 * against CONF_LINE_MAX / CONF_VALUE_MAX before anything is copied or
 * allocated, and a bad line is reported and skipped, never fatal.
 */
#include "conf_impl.h"
#include "util/io.h"
#include "util/mem.h"
#include "util/str.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define ISWS(ch)                                                               \
	((ch) == ' ' || (ch) == '\t' || (ch) == '\r' || (ch) == '\v' ||        \
	 (ch) == '\f')

const char *
conf_config_dir(void)
{
	static const char *const vars[] = {"TINYMTA_CONFIG_DIR", "MAIL_CONFIG"};

	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return v;
	}
	return "/etc/tinymta";
}

static void
problems_vadd(struct conf_problems *ps, const char *file, unsigned line,
              const char *parameter, enum conf_severity sev, const char *fmt,
              va_list ap)
{
	struct conf_problem *p;

	if (!ps)
		return;
	if (sev == CONF_SEV_ERROR)
		ps->errors++;
	if (ps->n >= CONF_PROBLEMS_MAX) {
		ps->dropped++;
		return;
	}
	p = &ps->v[ps->n++];
	/* Truncation of a long file or parameter name is acceptable here. */
	(void)str_copy(p->file, sizeof p->file, file ? file : "");
	(void)str_copy(p->parameter, sizeof p->parameter,
	               parameter ? parameter : "");
	p->line = line;
	p->severity = sev;
	if (vsnprintf(p->message, sizeof p->message, fmt, ap) < 0)
		(void)str_copy(p->message, sizeof p->message,
		               "(unformattable message)");
}

void
conf_problems_add(struct conf_problems *ps, const char *file, unsigned line,
                  const char *parameter, enum conf_severity sev,
                  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	problems_vadd(ps, file, line, parameter, sev, fmt, ap);
	va_end(ap);
}

void
conf_problems_print(const struct conf_problems *ps, FILE *f, const char *prog)
{
	for (size_t i = 0; i < ps->n; i++) {
		const struct conf_problem *p = &ps->v[i];
		const char *sev =
		    p->severity == CONF_SEV_ERROR ? "error" : "warning";

		fprintf(f, "%s: %s: ", prog, sev);
		if (p->file[0] && p->line)
			fprintf(f, "%s, line %u: ", p->file, p->line);
		else if (p->file[0])
			fprintf(f, "%s: ", p->file);
		fprintf(f, "%s\n", p->message);
	}
	if (ps->dropped)
		fprintf(f, "%s: warning: %zu more problems not shown\n", prog,
		        ps->dropped);
}

struct conf *
conf_new(const char *config_dir)
{
	struct conf *c = calloc(1, sizeof *c);
	int n;

	if (!c)
		return NULL;
	if (!config_dir)
		config_dir = conf_config_dir();
	n = snprintf(c->main_path, sizeof c->main_path, "%s/main.cf",
	             config_dir);
	if (str_copy(c->dir, sizeof c->dir, config_dir) < 0 || n < 0 ||
	    (size_t)n >= sizeof c->main_path) {
		free(c);
		errno = ENAMETOOLONG;
		return NULL;
	}
	c->raw = calloc(conf_nparams, sizeof *c->raw);
	c->line = calloc(conf_nparams, sizeof *c->line);
	c->pending = calloc(conf_nparams, 1);
	c->bad = calloc(conf_nparams, sizeof *c->bad);
	c->bad_line = calloc(conf_nparams, sizeof *c->bad_line);
	c->s = malloc(sizeof *c->s);
	if (!c->raw || !c->line || !c->pending || !c->bad || !c->bad_line ||
	    !c->s) {
		conf_free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void
conf_free(struct conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->raw && i < conf_nparams; i++)
		free(c->raw[i]);
	for (size_t i = 0; c->bad && i < conf_nparams; i++)
		free(c->bad[i]);
	for (size_t i = 0; i < c->nunk; i++)
		free(c->unk[i].value);
	free(c->raw);
	free(c->line);
	free(c->pending);
	free(c->bad);
	free(c->bad_line);
	free(c->s);
	free(c);
}

size_t
conf_index(const struct conf_param *p)
{
	return (size_t)(p - conf_params);
}

/* Replace *slot with a copy of value; the caller has capped its length. */
static int
store(char **slot, const char *value)
{
	size_t n = strlen(value) + 1;
	char *copy = malloc(n);

	if (!copy)
		return -1;
	memcpy(copy, value, n);
	free(*slot);
	*slot = copy;
	return 0;
}

/* Kept so that $name finds it; beyond CONF_UNKNOWN_MAX only warned. */
static int
store_unknown(struct conf *c, const char *name, const char *value,
              unsigned line)
{
	struct conf_unknown *u = NULL;

	for (size_t i = 0; i < c->nunk && !u; i++)
		if (strcmp(c->unk[i].name, name) == 0)
			u = &c->unk[i];
	if (!u && c->nunk < CONF_UNKNOWN_MAX) {
		u = &c->unk[c->nunk];
		if (str_copy(u->name, sizeof u->name, name) < 0)
			return 0;
		u->value = NULL;
		c->nunk++;
	}
	if (!u)
		return 0;
	u->line = line;
	return store(&u->value, value);
}

const char *
conf_unknown_value(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nunk; i++)
		if (strcmp(c->unk[i].name, name) == 0)
			return c->unk[i].value;
	return NULL;
}

static int
valid_name(const char *s, size_t n)
{
	if (n == 0 || n >= CONF_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			return 0;
	}
	return 1;
}

/* Check and keep one value. expand: check $name expansion now (-o,
 * conf_set); otherwise it is left for the end of the file. */
static int
set_value(struct conf *c, const char *file, unsigned line, const char *name,
          const char *value, struct conf_problems *ps, int expand)
{
	const struct conf_param *p = conf_param_find(name);
	char why[200], q[120];
	size_t idx;
	int r;

	if (strlen(value) >= CONF_VALUE_MAX) {
		conf_problems_add(ps, file, line, name, CONF_SEV_ERROR,
		                  "%s: value longer than %d bytes", name,
		                  CONF_VALUE_MAX - 1);
		return -1;
	}
	if (!p) {
		conf_problems_add(ps, file, line, name, CONF_SEV_WARNING,
		                  "%s: unknown parameter", name);
		return store_unknown(c, name, value, line) < 0 ? -1 : 0;
	}
	r = conf_check_value(expand ? c : NULL, p, value, why, sizeof why);
	if (r != 0) {
		conf_quote(q, sizeof q, value);
		conf_problems_add(ps, file, line, name,
		                  r < 0 ? CONF_SEV_ERROR : CONF_SEV_WARNING,
		                  "%s = %s: %s", name, q, why);
	}
	idx = conf_index(p);
	if (r < 0) {
		if (store(&c->bad[idx], value) == 0)
			c->bad_line[idx] = line;
		return -1;
	}
	if (store(&c->raw[idx], value) < 0) {
		conf_problems_add(ps, file, line, name, CONF_SEV_ERROR,
		                  "%s: out of memory", name);
		return -1;
	}
	c->line[idx] = line;
	c->pending[idx] = !expand && strchr(value, '$') != NULL;
	return 0;
}

/* The logical line being assembled from a line and its continuations. */
struct lparse {
	struct conf *c;
	const char *file;
	struct conf_problems *ps;
	size_t errors;
	unsigned line;     /* its first physical line */
	unsigned nul_line; /* a NUL byte was there; 0: none */
	int active, toolong;
	size_t len;
	char buf[CONF_LINE_MAX];
};

static void report(struct lparse *lp, unsigned line, const char *parameter,
                   enum conf_severity sev, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
report(struct lparse *lp, unsigned line, const char *parameter,
       enum conf_severity sev, const char *fmt, ...)
{
	va_list ap;

	if (sev == CONF_SEV_ERROR)
		lp->errors++;
	va_start(ap, fmt);
	problems_vadd(lp->ps, lp->file, line, parameter, sev, fmt, ap);
	va_end(ap);
}

static void
append(struct lparse *lp, const char *s, size_t n)
{
	size_t room = sizeof lp->buf - 1 - lp->len;

	if (lp->toolong)
		return;
	if (n > room) {
		lp->toolong = 1; /* the start stays, to name the parameter */
		n = room;
	}
	memcpy(lp->buf + lp->len, s, n);
	lp->len += n;
}

/* The parameter name at the start of the logical line, for messages. */
static void
line_name(const struct lparse *lp, char *name, size_t cap)
{
	size_t n = 0;

	while (n < lp->len && valid_name(lp->buf, n + 1))
		n++;
	(void)str_copy_n(name, cap, lp->buf, n);
}

static void
parse_nameval(struct lparse *lp)
{
	char name[CONF_NAME_MAX], q[120];
	size_t i = 0, n;
	const char *v;

	lp->buf[lp->len] = '\0';
	while (i < lp->len && !ISWS(lp->buf[i]) && lp->buf[i] != '=')
		i++;
	n = i;
	while (i < lp->len && ISWS(lp->buf[i]))
		i++;
	if (n == 0 || i == lp->len || lp->buf[i] != '=' ||
	    !valid_name(lp->buf, n)) {
		conf_quote(q, sizeof q, lp->buf);
		line_name(lp, name, sizeof name);
		report(lp, lp->line, name, CONF_SEV_ERROR,
		       "%s: expected \"name = value\" (a name has letters, "
		       "digits and _)",
		       q);
		return;
	}
	(void)str_copy_n(name, sizeof name, lp->buf, n);
	for (v = lp->buf + i + 1; ISWS(*v); v++)
		;
	if (set_value(lp->c, lp->file, lp->line, name, v, lp->ps, 0) < 0)
		lp->errors++;
}

static void
flush(struct lparse *lp)
{
	char name[CONF_NAME_MAX];

	if (!lp->active)
		return;
	lp->active = 0;
	if (lp->nul_line) {
		report(lp, lp->nul_line, "", CONF_SEV_ERROR,
		       "NUL byte in the line (main.cf must be text)");
	} else if (lp->toolong) {
		line_name(lp, name, sizeof name);
		report(lp, lp->line, name, CONF_SEV_ERROR,
		       "%s%sline longer than %d bytes", name, *name ? ": " : "",
		       CONF_LINE_MAX - 1);
	} else {
		parse_nameval(lp);
	}
}

/* One physical line s[n] (without its newline). Postfix's rules: blank
 * and comment lines are skipped, also between continuation lines; a line
 * that starts with white space continues the logical line before it. */
static void
physical(struct lparse *lp, const char *s, size_t n, unsigned lineno)
{
	int nul = memchr(s, '\0', n) != NULL;
	size_t i = 0;

	while (i < n && ISWS(s[i]))
		i++;
	while (n > i && ISWS(s[n - 1]))
		n--;
	if (i == n || s[i] == '#') {
		if (nul)
			report(lp, lineno, "", CONF_SEV_ERROR,
			       "NUL byte in the line (main.cf must be text)");
		return;
	}
	if (i > 0 && !lp->active) {
		report(lp, lineno, "", nul ? CONF_SEV_ERROR : CONF_SEV_WARNING,
		       "%s",
		       nul ? "NUL byte in the line (main.cf must be text)"
		           : "continuation line without a parameter "
		             "before it; ignored");
		return;
	}
	if (i > 0) {
		append(lp, " ", 1);
	} else {
		flush(lp);
		lp->active = 1;
		lp->line = lineno;
		lp->len = 0;
		lp->toolong = 0;
		lp->nul_line = 0;
	}
	if (nul && !lp->nul_line)
		lp->nul_line = lineno;
	append(lp, s + i, n - i);
}

/* Values holding $name are checked once the whole file is known, since
 * a $name may be set further down. A value that fails is dropped, which
 * changes what others expand to: check again until nothing fails. */
static int
drop_failing(struct lparse *lp)
{
	struct conf *c = lp->c;
	char why[200], q[120];
	int dropped = 0;

	for (size_t i = 0; i < conf_nparams; i++) {
		if (!c->pending[i] ||
		    conf_check_value(c, &conf_params[i], c->raw[i], why,
		                     sizeof why) >= 0)
			continue;
		conf_quote(q, sizeof q, c->raw[i]);
		report(lp, c->line[i], conf_params[i].name, CONF_SEV_ERROR,
		       "%s = %s: %s", conf_params[i].name, q, why);
		c->pending[i] = 2;
		dropped++;
	}
	for (size_t i = 0; i < conf_nparams; i++) {
		if (c->pending[i] != 2)
			continue;
		free(c->bad[i]);
		c->bad[i] = c->raw[i];
		c->bad_line[i] = c->line[i];
		c->raw[i] = NULL;
		c->line[i] = 0;
		c->pending[i] = 0;
	}
	return dropped;
}

static void
check_pending(struct lparse *lp)
{
	struct conf *c = lp->c;
	char why[200], q[120];

	/* each round drops one value or more: at most conf_nparams rounds */
	while (drop_failing(lp) > 0)
		;
	for (size_t i = 0; i < conf_nparams; i++) {
		if (!c->pending[i])
			continue;
		c->pending[i] = 0;
		if (conf_check_value(c, &conf_params[i], c->raw[i], why,
		                     sizeof why) <= 0)
			continue;
		conf_quote(q, sizeof q, c->raw[i]);
		report(lp, c->line[i], conf_params[i].name, CONF_SEV_WARNING,
		       "%s = %s: %s", conf_params[i].name, q, why);
	}
}

int
conf_parse_main(struct conf *c, const char *file, const char *text, size_t len,
                struct conf_problems *ps)
{
	struct lparse *lp;
	const char *p = text, *end = text + len;
	unsigned lineno = 0;
	int r;

	if (len > CONF_FILE_MAX) {
		conf_problems_add(ps, file, 0, "", CONF_SEV_ERROR,
		                  "file larger than %d bytes", CONF_FILE_MAX);
		return -1;
	}
	lp = calloc(1, sizeof *lp);
	if (!lp) {
		conf_problems_add(ps, file, 0, "", CONF_SEV_ERROR,
		                  "out of memory");
		return -1;
	}
	lp->c = c;
	lp->file = file;
	lp->ps = ps;
	/* loop invariant: p <= end; lineno counts the lines before p */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		physical(lp, p, n, ++lineno);
		p += n + (nl != NULL);
	}
	flush(lp);
	check_pending(lp);
	r = lp->errors ? -1 : 0;
	free(lp);
	return r;
}

int
conf_load(struct conf *c, struct conf_problems *ps)
{
	char *text;
	size_t len;
	int r;

	if (io_slurp(c->main_path, CONF_FILE_MAX, &text, &len) < 0) {
		if (errno == ENOENT)
			return conf_check(c, ps);
		if (errno == EFBIG)
			conf_problems_add(
			    ps, c->main_path, 0, "", CONF_SEV_ERROR,
			    "file larger than %d bytes", CONF_FILE_MAX);
		else
			conf_problems_add(ps, c->main_path, 0, "",
			                  CONF_SEV_ERROR, "cannot read: %s",
			                  strerror(errno));
		return -1;
	}
	r = conf_parse_main(c, c->main_path, text, len, ps);
	free(text);
	if (conf_check(c, ps) < 0)
		r = -1;
	return r;
}

int
conf_set(struct conf *c, const char *name, const char *value,
         struct conf_problems *ps)
{
	if (!valid_name(name, strlen(name))) {
		conf_problems_add(ps, "", 0, "", CONF_SEV_ERROR,
		                  "\"%.64s\": not a parameter name", name);
		return -1;
	}
	return set_value(c, "", 0, name, value, ps, 1);
}

struct conf_problems *
conf_problems_new(void)
{
	return mem_big_alloc(sizeof(struct conf_problems));
}

void
conf_problems_free(struct conf_problems *ps)
{
	mem_big_free(ps, sizeof *ps);
}
