/*
 * conf.h - main.cf: one table of every parameter (conf_params.c) drives the
 * parser, the typed getters, `postconf -d`, `postconf --json` and
 * `tinymta check`. Syntax and semantics are Postfix's: "name = value",
 * continuation lines starting with white space, '#' comments, $name and
 * ${name} expansion (loop-checked), Postfix's defaults except where
 * DESIGN.md says otherwise.
 */
#ifndef TINYMTA_CONF_H
#define TINYMTA_CONF_H

#include <stddef.h>

#define CONF_FILE_MAX (1024 * 1024) /* main.cf/master.cf larger: error */
#define CONF_VALUE_MAX 4096         /* one expanded value */
#define CONF_PROBLEMS_MAX 200       /* further problems are counted only */

enum conf_type {
	CONF_T_STRING,
	CONF_T_INT,
	CONF_T_TIME, /* seconds; suffix s m h d w, default unit per row */
	CONF_T_SIZE, /* bytes */
	CONF_T_BOOL, /* yes/no */
	CONF_T_LIST, /* comma and/or white space separated */
	CONF_T_MAP,  /* list of type:name lookup tables */
	CONF_T_ENUM, /* one of values */
};

#define CONF_F_RESTART 1 /* applies on restart, not reload */
#define CONF_F_SECRET 2  /* never printed in full */
#define CONF_F_DIFFERS 4 /* default differs from Postfix on purpose */

struct conf_param {
	const char *name;
	enum conf_type type;
	const char *def;    /* default, in main.cf syntax (may hold $name) */
	const char *values; /* enum: "a|b|c"; otherwise NULL */
	long long min, max; /* numeric range (seconds, bytes) */
	char unit;          /* time: default unit letter ('s', 'd'…) */
	unsigned flags;     /* CONF_F_* */
	const char *help;   /* one line */
};

extern const struct conf_param conf_params[];
extern const size_t conf_nparams;
/* The row for name, or NULL for an unknown parameter. */
const struct conf_param *conf_param_find(const char *name);

enum conf_severity { CONF_SEV_WARNING, CONF_SEV_ERROR };

struct conf_problem {
	char file[256];
	unsigned line; /* 0 when not tied to a line */
	char parameter[64];
	enum conf_severity severity;
	char message[300];
};

struct conf_problems {
	struct conf_problem v[CONF_PROBLEMS_MAX];
	size_t n;       /* stored */
	size_t dropped; /* beyond CONF_PROBLEMS_MAX */
	size_t errors;  /* error-severity problems, stored or not */
};

void conf_problems_add(struct conf_problems *ps, const char *file,
		       unsigned line, const char *parameter,
		       enum conf_severity sev, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

struct conf; /* opaque: the values set in main.cf and by overrides */

struct conf *conf_new(const char *config_dir);
void conf_free(struct conf *c);
/* Parse main.cf text (PURE apart from allocation; fuzzed). file names the
 * source in problems. Returns 0, or -1 when an error-severity problem was
 * found (values with errors are not stored). */
int conf_parse_main(struct conf *c, const char *file, const char *text,
		    size_t len, struct conf_problems *ps);
/* Read CONFIG_DIR/main.cf (a missing file means all defaults) and check
 * every value, including expanded ones. 0, or -1 on any error. */
int conf_load(struct conf *c, struct conf_problems *ps);
/* Set one value as `-o name=value` would; checked like main.cf. */
int conf_set(struct conf *c, const char *name, const char *value,
	     struct conf_problems *ps);

/* The value as written in main.cf, or NULL when not set there. */
const char *conf_raw(const struct conf *c, const char *name);
/* The expanded value (main.cf or default); NULL for an unknown name.
 * Valid until the next conf_* call on c. */
const char *conf_get(const struct conf *c, const char *name);
/* Typed getters for validated values (defaults when unset). */
long long conf_int(const struct conf *c, const char *name);
long long conf_time(const struct conf *c, const char *name); /* seconds */
long long conf_size(const struct conf *c, const char *name); /* bytes */
int conf_bool(const struct conf *c, const char *name);
/* Next element of a list value: copies it into out[cap]; 1, or 0 at end.
 * *cursor starts at the value's start. Separators: comma, white space. */
int conf_list_next(const char **cursor, char *out, size_t cap);

/* The configuration directory: `tinymta -c DIR` (exported as
 * TINYMTA_CONFIG_DIR by main), TINYMTA_CONFIG_DIR, MAIL_CONFIG, else
 * /etc/tinymta. */
const char *conf_config_dir(void);

#endif
