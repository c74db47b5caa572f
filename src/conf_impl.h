/*
 * conf_impl.h - what the conf_*.c files share and nobody else may use:
 * struct conf itself, the $name expander and the value scanners.
 */
#ifndef TINYMTA_CONF_IMPL_H
#define TINYMTA_CONF_IMPL_H

#include "conf.h"

#include <stdint.h>

#define CONF_HOST_MAX 256

/* Buffers behind the "valid until the next call" results; behind a
 * pointer so that the const getters may write them. */
struct conf_scratch {
	char get[CONF_VALUE_MAX];   /* conf_get */
	char host[CONF_HOST_MAX];   /* computed myhostname */
	char domain[CONF_HOST_MAX]; /* computed mydomain */
	char nets[CONF_VALUE_MAX];  /* computed mynetworks */
};

struct conf_unknown {
	char name[CONF_NAME_MAX];
	char *value;
	unsigned line;
};

struct conf {
	char dir[CONF_PATH_MAX];
	char main_path[CONF_PATH_MAX + 16];
	char **raw;             /* [conf_nparams]: as set, or NULL */
	unsigned *line;         /* [conf_nparams]: main.cf line, 0 */
	unsigned char *pending; /* [conf_nparams]: $name check due */
	char **bad;             /* [conf_nparams]: a refused value, or NULL */
	unsigned *bad_line;     /* [conf_nparams]: its line */
	struct conf_unknown unk[CONF_UNKNOWN_MAX];
	size_t nunk;
	struct conf_scratch *s;
};

/* Index of row p in conf_params. */
size_t conf_index(const struct conf_param *p);
/* The text a parameter expands from: as set, else the default. */
const char *conf_text(const struct conf *c, size_t idx);
/* A value set for a name that is not in the table, or NULL. */
const char *conf_unknown_value(const struct conf *c, const char *name);

/* What went wrong in an expansion, in words, and the first undefined
 * $name met (a warning only). */
struct conf_xinfo {
	char why[200];
	char undef[CONF_NAME_MAX];
};
/* Expand text (the value of parameter self, NULL for none) into out[cap].
 * 0, or -1 with xi->why set (loop, depth, unterminated ${, too long). */
int conf_expand(const struct conf *c, const char *self, const char *text,
                char *out, size_t cap, struct conf_xinfo *xi);

/* Strict scanners of the typed forms: 0 or -1. */
int conf_scan_number(const char *s, long long *out);
int conf_scan_time(const char *s, char unit, long long *out);

/* Fill c->s->host / c->s->domain / c->s->nets; return it. */
const char *conf_computed(const struct conf *c, size_t idx);

#endif
