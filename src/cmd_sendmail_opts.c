/*
 * cmd_sendmail_opts.c - sendmail's command line: getopt semantics (bundled
 * flags "-ti", attached values "-FCronDaemon", separate values "-f a@b",
 * "--", no GNU permutation) driven by one table of flags.
 * Runs as the invoking user; argv is untrusted but only compared and
 * stored (pointers into argv), never copied into fixed buffers here.
 */
#include "cmd_sendmail.h"
#include "util/log.h"
#include "util/str.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { ARG_NONE, ARG_REQ, ARG_ATTACHED };

struct flag {
	char c;
	int arg;
	int (*set)(struct sm_opts *o, const char *val);
};

static int
bad(const char *what, const char *val)
{
	char esc[200];

	str_escape(esc, sizeof esc, val, strlen(val));
	log_error("%s: \"%s\"", what, esc);
	sm_usage();
	return SM_EX_USAGE;
}

static int
set_t(struct sm_opts *o, const char *val)
{
	(void)val;
	o->extract = 1;
	return 0;
}

static int
set_i(struct sm_opts *o, const char *val)
{
	(void)val;
	o->ignore_dots = 1;
	return 0;
}

static int
set_v(struct sm_opts *o, const char *val)
{
	(void)val;
	o->verbose++;
	return 0;
}

static int
set_f(struct sm_opts *o, const char *val)
{
	o->sender = val;
	return 0;
}

static int
set_F(struct sm_opts *o, const char *val)
{
	o->fullname = val;
	return 0;
}

static int
set_C(struct sm_opts *o, const char *val)
{
	o->config_dir = val;
	return 0;
}

static int
set_q(struct sm_opts *o, const char *val)
{
	(void)val; /* -qINTERVAL, -qRsite: flush everything */
	o->mode = SM_MODE_FLUSH;
	return 0;
}

/* -b MODE: m deliver, s SMTP, p print queue, i aliases. */
static int
set_b(struct sm_opts *o, const char *val)
{
	static const struct {
		const char *name;
		enum sm_mode mode;
	} modes[] = {
	    {"m", SM_MODE_DELIVER},
	    {"s", SM_MODE_SMTP},
	    {"p", SM_MODE_PRINT},
	    {"i", SM_MODE_ALIASES},
	};

	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (strcmp(val, modes[i].name) == 0) {
			o->mode = modes[i].mode;
			return 0;
		}
	return bad("unsupported mode -b", val);
}

/* -B 7BIT|8BITMIME (RFC 6152), any case. */
static int
set_B(struct sm_opts *o, const char *val)
{
	if (str_eq_nocase(val, "7BIT"))
		o->body = "7BIT";
	else if (str_eq_nocase(val, "8BITMIME"))
		o->body = "8BITMIME";
	else
		return bad("-B: expected 7BIT or 8BITMIME", val);
	return 0;
}

/* -R full|hdrs (RFC 3461 4.3). */
static int
set_R(struct sm_opts *o, const char *val)
{
	if (str_eq_nocase(val, "full"))
		o->ret = "FULL";
	else if (str_eq_nocase(val, "hdrs"))
		o->ret = "HDRS";
	else
		return bad("-R: expected full or hdrs", val);
	return 0;
}

/* One word of -N; 0 when unknown. */
static unsigned
notify_bit(const char *w, size_t n)
{
	static const struct {
		const char *name;
		unsigned bit;
	} words[] = {
	    {"never", QFILE_NOTIFY_NEVER},
	    {"success", QFILE_NOTIFY_SUCCESS},
	    {"failure", QFILE_NOTIFY_FAILURE},
	    {"delay", QFILE_NOTIFY_DELAY},
	};

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i].name) == n &&
		    strncasecmp(w, words[i].name, n) == 0)
			return words[i].bit;
	return 0;
}

/* -N never | a comma list of success, failure, delay (RFC 3461 4.1). */
static int
set_N(struct sm_opts *o, const char *val)
{
	unsigned bits = 0, b;
	const char *p = val;

	/* loop invariant: p is the start of the next comma-separated word */
	for (;;) {
		size_t n = strcspn(p, ",");

		b = notify_bit(p, n);
		if (b == 0 || (bits & b))
			return bad("-N: expected never or a list of "
			           "success,failure,delay",
			           val);
		bits |= b;
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	if ((bits & QFILE_NOTIFY_NEVER) && bits != QFILE_NOTIFY_NEVER)
		return bad("-N: never cannot be combined", val);
	o->notify = bits;
	return 0;
}

/* -V ENVID: 1..100 printable ASCII characters (RFC 3461 4.4). */
static int
set_V(struct sm_opts *o, const char *val)
{
	size_t n = strlen(val);

	if (n == 0 || n > SM_ENVID_MAX)
		return bad("-V: envelope ID of 1 to 100 characters", val);
	for (size_t i = 0; i < n; i++)
		if (val[i] < 33 || val[i] > 126)
			return bad("-V: envelope ID of printable ASCII", val);
	o->envid = val;
	return 0;
}

/* -oX…: legacy sendmail options; only -oi means something (= -i). */
static int
set_o(struct sm_opts *o, const char *val)
{
	if (strcmp(val, "i") == 0)
		o->ignore_dots = 1;
	return 0;
}

static const struct flag flags[] = {
    {'t', ARG_NONE, set_t}, {'i', ARG_NONE, set_i},     {'v', ARG_NONE, set_v},
    {'f', ARG_REQ, set_f},  {'r', ARG_REQ, set_f},      {'F', ARG_REQ, set_F},
    {'b', ARG_REQ, set_b},  {'B', ARG_REQ, set_B},      {'N', ARG_REQ, set_N},
    {'R', ARG_REQ, set_R},  {'V', ARG_REQ, set_V},      {'C', ARG_REQ, set_C},
    {'o', ARG_REQ, set_o},  {'q', ARG_ATTACHED, set_q},
};

void
sm_usage(void)
{
	fputs("usage: sendmail [-t] [-i] [-v] [-f SENDER] [-F FULLNAME] "
	      "[-B 7BIT|8BITMIME]\n"
	      "                [-N never|success,failure,delay] "
	      "[-R full|hdrs] [-V ENVID]\n"
	      "                [-C CONFIG_DIR] [--] [RECIPIENT…]\n"
	      "       sendmail -bp (mailq)   sendmail -q (flush)\n",
	      stderr);
}

static const struct flag *
find(char c)
{
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (flags[i].c == c)
			return &flags[i];
	return NULL;
}

/* The flags of argv[*i] from position 1; may consume argv[*i + 1]. */
static int
one_arg(int argc, char **argv, int *i, struct sm_opts *o)
{
	const char *a = argv[*i];

	for (size_t j = 1; a[j]; j++) {
		const struct flag *f = find(a[j]);
		const char *val = a + j + 1;
		char opt[3] = {'-', a[j], '\0'};

		if (!f)
			return bad("unknown option", opt);
		if (f->arg == ARG_NONE) {
			if (f->set(o, NULL) != 0)
				return SM_EX_USAGE;
			continue;
		}
		if (*val == '\0' && f->arg == ARG_REQ) {
			if (*i + 1 >= argc)
				return bad("option requires an argument", opt);
			val = argv[++*i];
		}
		return f->set(o, val);
	}
	return 0;
}

int
sm_parse_opts(int argc, char **argv, struct sm_opts *o)
{
	int i, rc;

	memset(o, 0, sizeof *o);
	o->mode = SM_MODE_DELIVER;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if ((rc = one_arg(argc, argv, &i, o)) != 0)
			return rc;
	}
	o->first_rcpt = i;
	return 0;
}
