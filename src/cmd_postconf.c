/*
 * cmd_postconf.c - the postconf applet, with Postfix's semantics: print
 * parameters (all, -n those set in main.cf, -d the defaults, NAME..., -h
 * values only, -x expanded), describe them (--json, DESIGN.md's schema)
 * and edit main.cf (-e NAME=VALUE..., conf_edit.c). Runs as the invoking
 * user: an administrator or the web UI. Untrusted input: argv and
 * main.cf; an edit is validated against the parameter table before
 * anything is written, and written atomically.
 */
#include "applets.h"
#include "conf.h"
#include "util/io.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define PC_NONDEF 1 /* -n */
#define PC_DEFS 2   /* -d */
#define PC_NONAME 4 /* -h */
#define PC_EXPAND 8 /* -x */
#define PC_EDIT 16  /* -e */
#define PC_JSON 32  /* --json */
#define PC_NOTE 64  /* -v: with -d, say where Postfix differs */

struct pc_opts {
	unsigned mode;
	const char *dir;
	int first; /* first operand */
};

static int postconf_edit(const char *dir, char **args, int n);

static int
usage(void)
{
	fputs("usage: postconf [-c DIR] [-d [-v] | -n] [-h] [-x] [NAME ...]\n"
	      "       postconf [-c DIR] -e NAME=VALUE ...\n"
	      "       postconf [-c DIR] --json\n",
	      stderr);
	return 64;
}

static int
flag(struct pc_opts *o, char f)
{
	static const struct {
		char f;
		unsigned mode;
	} flags[] = {{'n', PC_NONDEF}, {'d', PC_DEFS}, {'h', PC_NONAME},
	             {'x', PC_EXPAND}, {'e', PC_EDIT}, {'v', PC_NOTE}};

	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (flags[i].f == f) {
			o->mode |= flags[i].mode;
			return 0;
		}
	return -1;
}

/* Options first, then operands (Postfix's getopt stops at the first). */
static int
parse_opts(int argc, char **argv, struct pc_opts *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--json") == 0) {
			o->mode |= PC_JSON;
			continue;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		for (size_t k = 1; a[k]; k++) {
			if (a[k] == 'c') {
				if (!a[k + 1] && i + 1 >= argc)
					return -1;
				o->dir = a[k + 1] ? a + k + 1 : argv[++i];
				break;
			}
			if (flag(o, a[k]) < 0)
				return -1;
		}
	}
	o->first = i;
	if ((o->mode & PC_NONDEF) && (o->mode & PC_DEFS))
		return -1;
	if ((o->mode & (PC_EDIT | PC_JSON)) && (o->mode & ~(PC_EDIT | PC_JSON)))
		return -1;
	if ((o->mode & PC_EDIT) && ((o->mode & PC_JSON) || i >= argc))
		return -1;
	return (o->mode & PC_JSON) && i < argc ? -1 : 0;
}

/* The text postconf shows for p, or NULL to skip it. */
static const char *
shown(const struct conf *c, const struct conf_param *p, unsigned mode,
      char *buf, size_t cap)
{
	const char *v = (mode & PC_DEFS) ? NULL : conf_written(c, p->name);

	if (!v && (mode & PC_NONDEF))
		return NULL;
	if (!v)
		v = conf_default(c, p->name);
	if ((p->flags & CONF_F_SECRET) && *v && !(mode & PC_DEFS))
		return "********";
	if (!(mode & PC_EXPAND))
		return v;
	if (conf_expand_text(c, p->name, v, buf, cap) < 0)
		fprintf(stderr, "postconf: warning: %s: %s\n", p->name, buf);
	return buf;
}

/* "name = value" (Postfix's format; "name =" when empty), or the value
 * alone with -h. With -d -v a default that differs from Postfix's says
 * so in a comment after it. */
static void
print_value(const struct conf_param *p, const char *name, const char *v,
            unsigned mode)
{
	if (mode & PC_NONAME)
		printf("%s\n", v);
	else
		printf("%s =%s%s", name, *v ? " " : "", v);
	if (!(mode & PC_NONAME) && (mode & PC_NOTE) && (mode & PC_DEFS) && p &&
	    (p->flags & CONF_F_DIFFERS))
		printf("    # differs from Postfix: %s%s", p->postfix,
		       *p->postfix ? "" : "(empty)");
	if (!(mode & PC_NONAME))
		putchar('\n');
}

static int
by_name(const void *a, const void *b)
{
	const struct conf_param *const *pa = a, *const *pb = b;

	return strcmp((*pa)->name, (*pb)->name);
}

/* The table in name order, as Postfix prints it; NULL without memory. */
static const struct conf_param **
sorted_params(void)
{
	const struct conf_param **v = malloc(conf_nparams * sizeof *v);

	if (!v)
		return NULL;
	for (size_t i = 0; i < conf_nparams; i++)
		v[i] = &conf_params[i];
	qsort(v, conf_nparams, sizeof *v, by_name);
	return v;
}

static int
show_all(const struct conf *c, unsigned mode)
{
	const struct conf_param **v = sorted_params();
	char *buf = malloc(CONF_VALUE_MAX);

	if (!v || !buf) {
		free(v);
		free(buf);
		fputs("postconf: fatal: out of memory\n", stderr);
		return 70;
	}
	for (size_t i = 0; i < conf_nparams; i++) {
		const char *s = shown(c, v[i], mode, buf, CONF_VALUE_MAX);

		if (s)
			print_value(v[i], v[i]->name, s, mode);
	}
	free(v);
	free(buf);
	return 0;
}

static int
show_named(const struct conf *c, unsigned mode, char **names, int n)
{
	char *buf = malloc(CONF_VALUE_MAX);

	if (!buf) {
		fputs("postconf: fatal: out of memory\n", stderr);
		return 70;
	}
	for (int i = 0; i < n; i++) {
		const struct conf_param *p = conf_param_find(names[i]);
		const char *s;

		if (p) {
			if ((s = shown(c, p, mode, buf, CONF_VALUE_MAX)))
				print_value(p, p->name, s, mode);
		} else if ((s = conf_written(c, names[i])) &&
		           !(mode & PC_DEFS)) {
			print_value(NULL, names[i], s, mode); /* user-defined */
		} else {
			fprintf(stderr,
			        "postconf: warning: %s: unknown parameter\n",
			        names[i]);
		}
	}
	free(buf);
	return 0;
}

static void
json_param(const struct conf *c, const struct conf_param *p)
{
	printf("{\"name\": ");
	conf_json_string(stdout, p->name);
	printf(", \"type\": \"%s\", \"default\": ", conf_type_name(p->type));
	conf_json_string(stdout, conf_default(c, p->name));
	if (p->type == CONF_T_ENUM) {
		const char *v = p->values;

		printf(", \"values\": [");
		for (int first = 1; *v; first = 0) {
			size_t n = strcspn(v, "|");

			printf("%s\"%.*s\"", first ? "" : ", ", (int)n, v);
			v += n + (v[n] == '|');
		}
		printf("]");
	}
	if (p->type == CONF_T_INT || p->type == CONF_T_TIME ||
	    p->type == CONF_T_SIZE)
		printf(", \"min\": %lld, \"max\": %lld", p->min, p->max);
	printf(", \"help\": ");
	conf_json_string(stdout, p->help);
	printf(", \"apply\": \"%s\", \"secret\": %s}",
	       (p->flags & CONF_F_RESTART) ? "restart" : "reload",
	       (p->flags & CONF_F_SECRET) ? "true" : "false");
}

static int
show_json(const struct conf *c)
{
	const struct conf_param **v = sorted_params();

	if (!v) {
		fputs("postconf: fatal: out of memory\n", stderr);
		return 70;
	}
	printf("{\"parameters\": [\n");
	for (size_t i = 0; i < conf_nparams; i++) {
		json_param(c, v[i]);
		printf("%s\n", i + 1 < conf_nparams ? "," : "");
	}
	printf("]}\n");
	free(v);
	return 0;
}

int
applet_postconf_main(int argc, char **argv)
{
	struct pc_opts o = {0, NULL, 1};
	struct conf_problems *ps;
	struct conf *c;
	int rc;

	if (parse_opts(argc, argv, &o) < 0)
		return usage();
	if (o.mode & PC_EDIT)
		return postconf_edit(o.dir, argv + o.first, argc - o.first);
	ps = conf_problems_new();
	c = conf_new(o.dir);
	if (!ps || !c) {
		fputs("postconf: fatal: out of memory or directory name too "
		      "long\n",
		      stderr);
		conf_problems_free(ps);
		conf_free(c);
		return 70;
	}
	(void)conf_load(c, ps); /* shown as warnings; postconf still lists */
	conf_problems_print(ps, stderr, "postconf");
	if (o.mode & PC_JSON)
		rc = show_json(c);
	else if (o.first < argc)
		rc = show_named(c, o.mode, argv + o.first, argc - o.first);
	else
		rc = show_all(c, o.mode);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("postconf: write");
		rc = 74;
	}
	conf_problems_free(ps);
	conf_free(c);
	return rc;
}

/* -e: edit main.cf */

struct edit {
	const char *dir, *path;
	char tmp[CONF_PATH_MAX + 32];
	const char **names, **values;
	int n;
	char *text; /* the edited main.cf */
	size_t len;
};

/* Each argument is NAME=VALUE or "NAME = VALUE"; split in place. */
static int
split_edits(struct edit *e, char **args)
{
	for (int i = 0; i < e->n; i++) {
		char *eq = strchr(args[i], '=');

		if (!eq) {
			fprintf(
			    stderr,
			    "postconf: fatal: \"%s\": expected NAME=VALUE\n",
			    args[i]);
			return 65;
		}
		*eq = '\0';
		e->names[i] = str_trim(args[i]);
		e->values[i] = str_trim(eq + 1);
		if (strchr(e->values[i], '\n')) {
			fprintf(stderr,
			        "postconf: fatal: %s: a value is one "
			        "line\n",
			        e->names[i]);
			return 65;
		}
		if (!conf_param_find(e->names[i])) {
			fprintf(stderr,
			        "postconf: fatal: %s: unknown parameter\n",
			        e->names[i]);
			return 65;
		}
	}
	return 0;
}

static int
edited(const struct edit *e, const char *name)
{
	for (int i = 0; i < e->n; i++)
		if (strcmp(e->names[i], name) == 0)
			return 1;
	return 0;
}

static int
same_problem(const struct conf_problem *a, const struct conf_problem *b)
{
	return a->severity == b->severity &&
	       strcmp(a->parameter, b->parameter) == 0 &&
	       strcmp(a->message, b->message) == 0;
}

/* The first error the edit is to blame for: one about an edited
 * parameter, or one the old text did not have. */
static const struct conf_problem *
new_error(const struct edit *e, const struct conf_problems *p0,
          const struct conf_problems *p1)
{
	for (size_t i = 0; i < p1->n; i++)
		if (p1->v[i].severity == CONF_SEV_ERROR &&
		    edited(e, p1->v[i].parameter))
			return &p1->v[i];
	for (size_t i = 0; i < p1->n; i++) {
		int old = 0;

		for (size_t j = 0; j < p0->n && !old; j++)
			old = same_problem(&p1->v[i], &p0->v[j]);
		if (p1->v[i].severity == CONF_SEV_ERROR && !old)
			return &p1->v[i];
	}
	return NULL;
}

static void
check_text(const struct edit *e, const char *text, size_t len,
           struct conf_problems *ps)
{
	struct conf *c = conf_new(e->dir);

	if (!c) {
		conf_problems_add(ps, e->path, 0, "", CONF_SEV_ERROR,
		                  "out of memory");
		return;
	}
	(void)conf_parse_main(c, e->path, text, len, ps);
	(void)conf_check(c, ps);
	conf_free(c);
}

/* Validate the edited text against the old one: 0 or 65. */
static int
validate(const struct edit *e, const char *old, size_t oldlen)
{
	struct conf_problems *p0 = calloc(1, sizeof *p0);
	struct conf_problems *p1 = calloc(1, sizeof *p1);
	const struct conf_problem *bad;
	int rc = 0;

	if (!p0 || !p1) {
		free(p0);
		free(p1);
		fputs("postconf: fatal: out of memory\n", stderr);
		return 70;
	}
	check_text(e, old, oldlen, p0);
	check_text(e, e->text, e->len, p1);
	if ((bad = new_error(e, p0, p1)) != NULL) {
		fprintf(stderr, "postconf: fatal: %s\n", bad->message);
		rc = 65;
	} else if (p1->errors > p0->errors) {
		fputs("postconf: fatal: the edit makes main.cf invalid\n",
		      stderr);
		rc = 65;
	}
	free(p0);
	free(p1);
	return rc;
}

/* Read main.cf, make and validate e->text: 0, or an exit code. */
static int
prepare(struct edit *e)
{
	char *old;
	size_t oldlen;
	int rc;

	free(e->text);
	e->text = NULL;
	if (io_slurp(e->path, CONF_FILE_MAX, &old, &oldlen) < 0) {
		if (errno != ENOENT) {
			fprintf(stderr, "postconf: fatal: read %s: %s\n",
			        e->path, strerror(errno));
			return 78;
		}
		if (!(old = calloc(1, 1)))
			return 70;
		oldlen = 0;
	}
	if (conf_edit_text(old, oldlen, e->names, e->values, (size_t)e->n,
	                   &e->text, &e->len) < 0) {
		fprintf(stderr, "postconf: fatal: edit %s: %s\n", e->path,
		        strerror(errno));
		free(old);
		return errno == EFBIG ? 65 : 70;
	}
	rc = validate(e, old, oldlen);
	free(old);
	return rc;
}

/* Lock the temporary file; another postconf may have renamed the one we
 * opened into main.cf meanwhile, then try again. */
static int
lock_tmp(const char *tmp)
{
	for (int tries = 0; tries < 20; tries++) {
		struct stat a, b;
		int fd = io_open(tmp, O_WRONLY | O_CREAT, 0600), r, saved;

		if (fd < 0)
			return -1;
		do
			r = flock(fd, LOCK_EX);
		while (r < 0 && errno == EINTR);
		if (r == 0 && fstat(fd, &a) == 0 && stat(tmp, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return fd;
		saved = errno;
		(void)io_close(fd); /* renamed away, or flock failed */
		if (r < 0) {
			errno = saved;
			return -1;
		}
	}
	errno = EAGAIN;
	return -1;
}

/* Keep main.cf's mode and owner (a new main.cf: 0644, ours). */
static int
keep_attrs(int fd, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOENT ? fchmod(fd, 0644) : -1;
	if (fchmod(fd, st.st_mode & 07777) < 0)
		return -1;
	if ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid) < 0) {
		if (errno != EPERM)
			return -1;
		fprintf(stderr,
		        "postconf: warning: cannot keep the owner "
		        "of %s\n",
		        path);
	}
	return 0;
}

/* Write, fsync, rename over main.cf, fsync the directory; the lock is
 * held until the rename is durable. 0 or 73. */
static int
commit(struct edit *e, int fd)
{
	const char *what = e->tmp;
	int renamed = 0;

	if (ftruncate(fd, 0) < 0 || io_write_all(fd, e->text, e->len) < 0 ||
	    keep_attrs(fd, e->path) < 0 || io_fsync(fd) < 0)
		goto fail;
	what = e->path;
	if (rename(e->tmp, e->path) < 0)
		goto fail;
	renamed = 1;
	what = e->dir;
	if (io_fsync_dir(e->dir) < 0)
		goto fail;
	return io_close(fd) < 0 ? 73 : 0;
fail:
	fprintf(stderr, "postconf: fatal: write %s: %s\n", what,
	        strerror(errno));
	if (!renamed)
		(void)unlink(e->tmp);
	(void)io_close(fd);
	return 73;
}

static int
postconf_edit(const char *dir, char **args, int n)
{
	struct conf *c = conf_new(dir);
	struct edit e;
	int rc, fd;

	memset(&e, 0, sizeof e);
	e.n = n;
	e.names = calloc((size_t)n, sizeof *e.names);
	e.values = calloc((size_t)n, sizeof *e.values);
	if (!c || !e.names || !e.values) {
		rc = 70;
		goto out;
	}
	e.dir = conf_dir(c);
	e.path = conf_main_path(c);
	(void)snprintf(e.tmp, sizeof e.tmp, "%s.tmp", e.path);
	/* Validate before touching anything; again once locked. */
	if ((rc = split_edits(&e, args)) != 0 || (rc = prepare(&e)) != 0)
		goto out;
	if ((fd = lock_tmp(e.tmp)) < 0) {
		fprintf(stderr, "postconf: fatal: lock %s: %s\n", e.tmp,
		        strerror(errno));
		rc = 73;
	} else if ((rc = prepare(&e)) != 0) {
		(void)unlink(e.tmp);
		(void)io_close(fd); /* nothing was written */
	} else {
		rc = commit(&e, fd);
	}
out:
	if (rc == 70)
		fputs("postconf: fatal: out of memory\n", stderr);
	free(e.text);
	free(e.names);
	free(e.values);
	conf_free(c);
	return rc;
}
