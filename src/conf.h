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
#include <stdio.h>

#define CONF_FILE_MAX (1024 * 1024) /* main.cf/master.cf larger: error */
#define CONF_VALUE_MAX 4096         /* one expanded value */
#define CONF_PROBLEMS_MAX 200       /* further problems are counted only */
#define CONF_NAME_MAX 64            /* parameter name, with its NUL */
#define CONF_LINE_MAX (CONF_VALUE_MAX + 2 * CONF_NAME_MAX) /* logical line */
#define CONF_PATH_MAX 1024    /* configuration directory */
#define CONF_EXPAND_DEPTH 16  /* nested $name levels */
#define CONF_EXPAND_REFS 1000 /* $name references in one value */
#define CONF_UNKNOWN_MAX 64   /* unknown names kept for $name */

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

#define CONF_F_RESTART 1  /* applies on restart, not reload */
#define CONF_F_SECRET 2   /* never printed in full */
#define CONF_F_DIFFERS 4  /* default differs from Postfix on purpose */
#define CONF_F_COMPUTED 8 /* default computed at run time (conf_default) */
#define CONF_F_EMPTY 16   /* enum: the empty value is also accepted */

struct conf_param {
	const char *name;
	enum conf_type type;
	const char *def;     /* default, in main.cf syntax (may hold $name) */
	const char *values;  /* enum: "a|b|c"; otherwise NULL */
	long long min, max;  /* numeric range (seconds, bytes) */
	char unit;           /* time: default unit letter ('s', 'd'…) */
	unsigned flags;      /* CONF_F_* */
	const char *help;    /* one line */
	const char *postfix; /* CONF_F_DIFFERS: Postfix's default, else NULL */
};

extern const struct conf_param conf_params[];
extern const size_t conf_nparams;
/* The row for name, or NULL for an unknown parameter. */
const struct conf_param *conf_param_find(const char *name);
/* "string", "int", "time", "size", "bool", "list", "map" or "enum". */
const char *conf_type_name(enum conf_type t);

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

/* A problems list in its own pages (mmap): long-running roles get the
 * memory back when it is freed. NULL when out of memory. */
struct conf_problems *conf_problems_new(void);
void conf_problems_free(struct conf_problems *ps);

void conf_problems_add(struct conf_problems *ps, const char *file,
                       unsigned line, const char *parameter,
                       enum conf_severity sev, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* v quoted for a message: "text", escaped with str_escape() and cut at 60
 * bytes with "..." (untrusted text stays on one printable line). */
void conf_quote(char *out, size_t cap, const char *v);
/* Print each problem as "PROG: error: FILE, line N: MESSAGE" on f. */
void conf_problems_print(const struct conf_problems *ps, FILE *f,
                         const char *prog);

struct conf; /* opaque: the values set in main.cf and by overrides */

/* config_dir NULL: conf_config_dir(). NULL when out of memory or the
 * directory name is longer than CONF_PATH_MAX. */
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
/* Cross-field checks (minimal_backoff_time <= maximal_backoff_time,
 * absolute queue_directory, ...) and the defaults that hold $name, against
 * the values set so far. conf_load calls it. 0, or -1 on any error. */
int conf_check(const struct conf *c, struct conf_problems *ps);
/* Check value for row p as main.cf would (type, range, and with c: $name
 * expansion). 0 ok; 1 acceptable with a warning; -1 error. why[cap] gets
 * the reason ("expected yes or no"). */
int conf_check_value(const struct conf *c, const struct conf_param *p,
                     const char *value, char *why, size_t cap);

/* The value as written in main.cf, or NULL when not set there. */
const char *conf_raw(const struct conf *c, const char *name);
/* The value main.cf sets, also when it was refused (as postconf shows
 * it); NULL when not set. */
const char *conf_written(const struct conf *c, const char *name);
/* The default, unexpanded (computed for CONF_F_COMPUTED rows: myhostname
 * from gethostname(), mydomain from $myhostname, mynetworks from
 * mynetworks_style); NULL for an unknown name. Valid until the next
 * conf_* call on c. */
const char *conf_default(const struct conf *c, const char *name);
/* main.cf line of the value, 0 when not set there. */
unsigned conf_line(const struct conf *c, const char *name);
/* The configuration directory and the path of its main.cf. */
const char *conf_dir(const struct conf *c);
const char *conf_main_path(const struct conf *c);
/* The expanded value (main.cf or default); NULL for an unknown name.
 * Valid until the next conf_* call on c. */
const char *conf_get(const struct conf *c, const char *name);
/* Expand text as the value of parameter name (NULL: none) expands:
 * $name, ${name}, $(name), ${name?text}, ${name:text}, $$. 0, or -1 with
 * out holding the reason (a loop, an unterminated ${, too long). */
int conf_expand_text(const struct conf *c, const char *name, const char *text,
                     char *out, size_t cap);
/* Typed getters for validated values (defaults when unset). */
long long conf_int(const struct conf *c, const char *name);
long long conf_time(const struct conf *c, const char *name); /* seconds */
long long conf_size(const struct conf *c, const char *name); /* bytes */
int conf_bool(const struct conf *c, const char *name);
/* Next element of a list value: copies it into out[cap]; 1, or 0 at end.
 * *cursor starts at the value's start. Separators: comma, white space. */
int conf_list_next(const char **cursor, char *out, size_t cap);
/* The effective TLS level with the legacy spellings folded in:
 * smtpd_tls_security_level, else smtpd_enforce_tls=yes "encrypt", else
 * smtpd_use_tls=yes "may", else "none" (smtp_* likewise for the client). */
const char *conf_smtpd_tls_level(const struct conf *c);
const char *conf_smtp_tls_level(const struct conf *c);

/* postconf -e: copy main.cf text with each names[i] set to values[i]
 * (every existing "name = ..." logical line replaced in place, its
 * continuation lines dropped, comments and order kept; others appended).
 * *out is malloc'd. 0, or -1 with errno (ENOMEM, EFBIG). */
int conf_edit_text(const char *in, size_t len, const char *const *names,
                   const char *const *values, size_t n, char **out,
                   size_t *outlen);

/* Write s as a JSON string (quotes, escapes; invalid UTF-8 as U+FFFD). */
void conf_json_string(FILE *f, const char *s);

/* The configuration directory: `tinymta -c DIR` (exported as
 * TINYMTA_CONFIG_DIR by main), TINYMTA_CONFIG_DIR, MAIL_CONFIG, else
 * /etc/tinymta. */
const char *conf_config_dir(void);

#endif
