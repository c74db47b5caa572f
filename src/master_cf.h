/*
 * master_cf.h - master.cf, Postfix's service table, reduced to what
 * tinymta listens on: `inet` lines whose command is smtpd or pop3d, each
 * with its -o overrides. Postfix's internal unix/fifo/pass lines are
 * accepted and ignored. The parser is PURE apart from reading the
 * configuration it checks -o values against (fuzzed).
 */
#ifndef TINYMTA_MASTER_CF_H
#define TINYMTA_MASTER_CF_H

#include "conf.h"

#define MASTER_CF_SERVICES_MAX 32 /* inet services; more: error */
#define MASTER_CF_OPTS_MAX 16     /* -o overrides per service */
#define MASTER_CF_POOL 16384      /* bytes for all -o names and values */
#define MASTER_CF_FIELDS_MAX 64   /* fields on one logical line */
#define MASTER_CF_HOST_MAX 256    /* RFC 1035 2.3.4: 255 octets */

enum master_cmd { MASTER_CMD_SMTPD, MASTER_CMD_POP3D };

/* Offsets into master_cf.pool: the struct may be copied as a whole. */
struct master_opt {
	unsigned name, value;
};

struct master_service {
	char name[MASTER_CF_HOST_MAX + 16]; /* as written: "127.0.0.1:2525" */
	char host[MASTER_CF_HOST_MAX];      /* "": every inet_interfaces */
	unsigned port;
	enum master_cmd cmd;
	int private_, unpriv, chroot; /* 1 y, 0 n, -1 "-" (default) */
	int wakeup;                   /* seconds; 0: none */
	int maxproc;                  /* -1: $default_process_limit */
	unsigned line;
	size_t nopts;
	struct master_opt opts[MASTER_CF_OPTS_MAX];
};

struct master_cf {
	size_t n;       /* inet services kept in v */
	size_t ignored; /* unix, fifo, pass lines */
	int missing;    /* master_cf_load: no file */
	size_t pool_len;
	struct master_service v[MASTER_CF_SERVICES_MAX];
	char pool[MASTER_CF_POOL];
};

/* Parse master.cf text into *m (reset first). file names the source in
 * problems. c, when not NULL, checks -o values with $name expansion
 * against it; without it, -o values holding $name are not checked.
 * Returns 0, or -1 when an error-severity problem was found (the line
 * with it is not kept). */
int master_cf_parse(struct master_cf *m, const char *file, const char *text,
                    size_t len, const struct conf *c, struct conf_problems *ps);
/* Read and parse path; a missing file sets m->missing and returns 0. */
int master_cf_load(struct master_cf *m, const char *path, const struct conf *c,
                   struct conf_problems *ps);
/* The text at a pool offset (a master_opt name or value). */
const char *master_cf_str(const struct master_cf *m, unsigned off);
/* Apply the -o overrides of s to c (conf_set each). 0, or -1. */
int master_cf_apply(const struct master_cf *m, const struct master_service *s,
                    struct conf *c, struct conf_problems *ps);
/* The port of a service name (smtp 25, submission 587, smtps and
 * submissions 465, pop3 110, pop3s 995) or a decimal 1-65535; 0 if none. */
unsigned master_cf_port(const char *name);

#endif
