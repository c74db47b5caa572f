/*
 * cmd_postmap.c - the applets postmap, postalias and newaliases (Postfix's
 * commands of the same names): build SOURCE.cdb from a lookup table or
 * aliases source (map_build.c), query (-q) and dump (-s) tables.
 * Runs as the invoking user (root on the device, or the web UI's user).
 * Untrusted input: the source files and .cdb files (handled by the
 * parsers and the reader), keys on the command line or standard input.
 */
#include "applets.h"
#include "conf.h"
#include "map.h"
#include "map_build.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#define MAPS_MAX 32 /* tables one command searches */

struct opts {
	const char *prog;
	enum map_syntax syntax;
	unsigned flags;    /* MAP_F_* */
	const char *query; /* -q KEY, "-" for keys from standard input */
	int dump;          /* -s */
};

/* Everything one query or dump needs, allocated once. */
struct lookup {
	const struct opts *o;
	struct map maps[MAPS_MAX];
	size_t n;
	char key[MAP_KEY_MAX + 2]; /* room to see a line that is too long */
	char val[MAP_VALUE_MAX + 1];
};

/* "PROG: fatal: text" on standard error; the caller returns the code. */
__attribute__((format(printf, 2, 3))) static void
fatal(const struct opts *o, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: fatal: ", o->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
usage(FILE *f, const char *prog)
{
	fprintf(f,
	        "usage: %s [-fv] [-c DIR] [cdb:|hash:]FILE...\n"
	        "       %s [-fv] [-c DIR] -q KEY|- [cdb:|hash:]FILE...\n"
	        "       %s [-fv] [-c DIR] -s [cdb:|hash:]FILE...\n",
	        prog, prog, prog);
}

static void
help(const char *prog)
{
	int alias = strcmp(prog, "postalias") == 0;

	usage(stdout, prog);
	printf("Builds FILE.cdb from each FILE of %s lines, atomically.\n"
	       "  -q KEY  print KEY's value from the first table that has "
	       "it;\n"
	       "          -q - reads keys from standard input\n"
	       "  -s      print every entry\n"
	       "  -f      keys are case-sensitive (default: folded to lower "
	       "case)\n"
	       "  -c DIR  configuration directory\n"
	       "  -v      verbose\n"
	       "Exit: 0 done or found, 1 -q key not found, 64 usage, 65 "
	       "syntax error in\n"
	       "FILE (the old FILE.cdb is kept) or a corrupt FILE.cdb, 66 "
	       "FILE or FILE.cdb\ncannot be read, 73 FILE.cdb cannot be "
	       "created, 74 I/O error,\n78 unsupported map type or "
	       "configuration error.\n",
	       alias ? "aliases (`name: a, b`)" : "`key value`");
	if (alias)
		printf("Without FILE, -q and -s use alias_maps.\n");
}

static int
set_config_dir(const char *dir)
{
	if (setenv("TINYMTA_CONFIG_DIR", dir, 1) < 0) {
		log_error("setenv: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Parse the options; 0, or an exit code (-1: --help, done). */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		help(o->prog);
		return -1;
	}
	optind = 1;
	while ((c = getopt(argc, argv, "+c:fhq:sv")) != -1) {
		switch (c) {
		case 'c':
			if (set_config_dir(optarg) < 0)
				return EX_OSERR;
			break;
		case 'f':
			o->flags |= MAP_F_NOFOLD;
			break;
		case 'h':
			help(o->prog);
			return -1;
		case 'q':
			o->query = optarg;
			break;
		case 's':
			o->dump = 1;
			break;
		case 'v':
			log_set_verbose(1);
			break;
		default:
			usage(stderr, o->prog);
			return EX_USAGE;
		}
	}
	if (o->query && o->dump) {
		usage(stderr, o->prog);
		return EX_USAGE;
	}
	return 0;
}

static void
report_problems(const struct conf_problems *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		const struct conf_problem *p = &ps->v[i];
		char where[300];

		if (p->line)
			snprintf(where, sizeof where, "%s, line %u", p->file,
			         p->line);
		else
			str_copy(where, sizeof where, p->file);
		if (p->severity == CONF_SEV_ERROR)
			log_error("%s: %s", where, p->message);
		else
			log_warn("%s: %s", where, p->message);
	}
}

/* The value of main.cf parameter name into out[cap]; 0 or an exit code. */
static int
conf_value(const char *name, char *out, size_t cap)
{
	struct conf_problems *ps = conf_problems_new();
	struct conf *c = conf_new(conf_config_dir());
	const char *v;
	int rc = 0;

	if (!ps || !c) {
		log_error("out of memory");
		rc = EX_OSERR;
	} else if (conf_load(c, ps) < 0) {
		report_problems(ps);
		rc = EX_CONFIG;
	} else {
		report_problems(ps);
		v = conf_get(c, name);
		if (str_copy(out, cap, v ? v : "") < 0) {
			log_error("%s: value too long", name);
			rc = EX_CONFIG;
		}
	}
	if (c)
		conf_free(c);
	conf_problems_free(ps);
	return rc;
}

/* Build every table named in specs (argv-style, n of them). */
static int
build_all(const struct opts *o, char **specs, int n)
{
	char err[MAP_ERR_MAX];
	struct map_build_stats st;

	for (int i = 0; i < n; i++) {
		int rc = map_build(specs[i], o->syntax, o->flags, &st, err,
		                   sizeof err);

		if (rc != 0) {
			fatal(o, "%s", err);
			return rc;
		}
		log_debug("%s: %u entries, %u duplicates ignored", specs[i],
		          st.entries, st.duplicates);
	}
	return 0;
}

/* An exit code for a failed map_open or map lookup (errno). */
static int
map_exit(int err)
{
	if (err == EPROTO || err == ERANGE)
		return EX_DATAERR;
	if (err == EIO)
		return EX_IOERR;
	if (err == ENAMETOOLONG)
		return EX_USAGE; /* a key over MAP_KEY_MAX */
	return EX_NOINPUT;
}

static int
open_maps(struct lookup *l, char **specs, int n)
{
	char src[MAP_PATH_MAX];

	if (n > MAPS_MAX) {
		fatal(l->o, "more than %d tables", MAPS_MAX);
		return EX_USAGE;
	}
	for (int i = 0; i < n; i++) {
		if (map_spec_source(specs[i], src, sizeof src) < 0 &&
		    errno == EINVAL) {
			fatal(l->o, "%s: unsupported map type (use cdb:FILE)",
			      specs[i]);
			return EX_CONFIG;
		}
		if (map_open(&l->maps[l->n], specs[i], l->o->flags) < 0) {
			int e = errno;

			fatal(l->o, "open database %s.cdb: %s", src,
			      strerror(e));
			return map_exit(e);
		}
		l->n++;
	}
	return 0;
}

/* Search the open maps for l->key: 1 found (l->val), 0, or -exitcode. */
static int
search(struct lookup *l)
{
	for (size_t i = 0; i < l->n; i++) {
		int r = map_lookup(&l->maps[i], l->key, l->val, sizeof l->val,
		                   NULL);

		if (r < 0) {
			int e = errno;

			fatal(l->o, "%s: lookup of \"%s\": %s", l->maps[i].path,
			      l->key, strerror(e));
			return -map_exit(e);
		}
		if (r == 1)
			return 1;
	}
	return 0;
}

static int
query_one(struct lookup *l)
{
	int r;

	if (str_copy(l->key, sizeof l->key, l->o->query) < 0 ||
	    strlen(l->key) > MAP_KEY_MAX) {
		fatal(l->o, "key longer than %d bytes", MAP_KEY_MAX);
		return EX_USAGE;
	}
	r = search(l);
	if (r < 0)
		return -r;
	if (r == 0)
		return 1;
	printf("%s\n", l->val);
	return 0;
}

/* -q -: one key per line on standard input; "key<TAB>value" per hit. */
static int
query_stdin(struct lookup *l)
{
	int found = 0, r;

	while (fgets(l->key, sizeof l->key, stdin)) {
		size_t n = strcspn(l->key, "\n");

		if (l->key[n] != '\n' && !feof(stdin)) {
			log_warn("key longer than %d bytes: skipped",
			         MAP_KEY_MAX);
			for (int c = 0; c != '\n' && c != EOF;)
				c = getchar();
			continue;
		}
		l->key[n] = '\0';
		if (n > 0 && l->key[n - 1] == '\r')
			l->key[n - 1] = '\0';
		r = search(l);
		if (r < 0)
			return -r;
		if (r == 1) {
			printf("%s\t%s\n", l->key, l->val);
			found = 1;
		}
	}
	return found ? 0 : 1;
}

static int
dump(struct lookup *l)
{
	const char *sep = l->o->syntax == MAP_SYNTAX_ALIAS ? ": " : "\t";

	for (size_t i = 0; i < l->n; i++) {
		uint64_t cur = 0;
		int r;

		while ((r = map_next(&l->maps[i], &cur, l->key, sizeof l->key,
		                     l->val, sizeof l->val)) == 1)
			printf("%s%s%s\n", l->key, sep, l->val);
		if (r < 0) {
			int e = errno;

			fatal(l->o, "%s: %s", l->maps[i].path, strerror(e));
			return map_exit(e);
		}
	}
	return 0;
}

/* -q or -s over specs (or, for postalias without FILE, alias_maps). */
static int
lookup_all(const struct opts *o, char **specs, int n)
{
	struct lookup *l = calloc(1, sizeof *l);
	int rc;

	if (!l) {
		log_error("out of memory");
		return EX_OSERR;
	}
	l->o = o;
	rc = open_maps(l, specs, n);
	if (rc == 0 && o->dump)
		rc = dump(l);
	else if (rc == 0)
		rc = strcmp(o->query, "-") == 0 ? query_stdin(l) : query_one(l);
	for (size_t i = 0; i < l->n; i++)
		map_close(&l->maps[i]);
	free(l);
	if (fflush(stdout) == EOF && rc == 0) {
		fatal(o, "write: %s", strerror(errno));
		rc = EX_IOERR;
	}
	return rc;
}

/* Split a list parameter's value into specs[]; the count, or -1. */
static int
split_list(const char *value, char *store, size_t cap, char **specs)
{
	const char *cur = value;
	char one[MAP_PATH_MAX];
	size_t used = 0;
	int n = 0;

	while (conf_list_next(&cur, one, sizeof one)) {
		size_t len = strlen(one) + 1;

		if (n >= MAPS_MAX || len > cap - used)
			return -1;
		memcpy(store + used, one, len);
		specs[n++] = store + used;
		used += len;
	}
	return n;
}

/* Run with the tables named by a main.cf parameter. */
static int
with_param(const struct opts *o, const char *param)
{
	static const size_t cap = CONF_VALUE_MAX + 1;
	char *value = malloc(cap), *store = malloc(cap);
	char *specs[MAPS_MAX];
	int rc = EX_OSERR, n;

	if (!value || !store)
		log_error("out of memory");
	else if ((rc = conf_value(param, value, cap)) == 0) {
		n = split_list(value, store, cap, specs);
		if (n < 0) {
			fatal(o, "%s: more than %d tables", param, MAPS_MAX);
			rc = EX_CONFIG;
		} else if (o->query || o->dump) {
			rc = lookup_all(o, specs, n);
		} else {
			rc = build_all(o, specs, n);
		}
	}
	free(value);
	free(store);
	return rc;
}

static int
run(int argc, char **argv, enum map_syntax syntax)
{
	struct opts o = {argv[0] ? argv[0] : "postmap", syntax, 0, NULL, 0};
	const char *base = strrchr(o.prog, '/');
	int rc;

	o.prog = base ? base + 1 : o.prog;
	log_init(o.prog, LOG_TO_STDERR);
	rc = parse_opts(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? 0 : rc;
	argc -= optind;
	argv += optind;
	if (argc == 0 && syntax == MAP_SYNTAX_ALIAS && (o.query || o.dump))
		return with_param(&o, "alias_maps");
	if (argc == 0) {
		usage(stderr, o.prog);
		return EX_USAGE;
	}
	if (o.query || o.dump)
		return lookup_all(&o, argv, argc);
	return build_all(&o, argv, argc);
}

int
applet_postmap_main(int argc, char **argv)
{
	return run(argc, argv, MAP_SYNTAX_POSTMAP);
}

int
applet_postalias_main(int argc, char **argv)
{
	return run(argc, argv, MAP_SYNTAX_ALIAS);
}

/* newaliases (sendmail -bi): build every table of alias_database. */
int
applet_newaliases_main(int argc, char **argv)
{
	struct opts o = {"newaliases", MAP_SYNTAX_ALIAS, 0, NULL, 0};
	int c;

	log_init(o.prog, LOG_TO_STDERR);
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		printf("usage: newaliases [-v] [-c DIR]\n"
		       "Builds every alias_database table (the same as "
		       "sendmail -bi);\nexit codes: postalias --help.\n");
		return 0;
	}
	optind = 1;
	while ((c = getopt(argc, argv, "+c:vo:")) != -1) {
		if (c == 'c' && set_config_dir(optarg) < 0)
			return EX_OSERR;
		if (c == 'v')
			log_set_verbose(1);
		if (c == '?') {
			fprintf(stderr, "usage: newaliases [-v] [-c DIR]\n"
			                "Builds every alias_database table "
			                "(exit codes: postalias --help).\n");
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "usage: newaliases [-v] [-c DIR]\n");
		return EX_USAGE;
	}
	return with_param(&o, "alias_database");
}
