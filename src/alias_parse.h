/*
 * alias_parse.h - PURE parser of /etc/aliases syntax (sendmail's, as
 * Postfix's aliases(5) documents it): used by postalias/newaliases to build
 * the alias CDB and by local delivery to split a stored value into
 * targets. No I/O, no globals, no logging.
 *
 * Logical lines, comments and continuation lines: map_parse.h. An entry:
 *   name: target, target, ...
 * The name is a word up to ':' or a double-quoted string ("a b": ...).
 * Targets are separated by commas or white space:
 *   user, user@domain, \user        an address (ALIAS_T_ADDR), verbatim:
 *                                   "John Doe"@x keeps its quotes
 *   |command args                   a pipe (ALIAS_T_PIPE): an unquoted
 *                                   command runs to the next comma
 *   /path/file                      a file (ALIAS_T_FILE)
 *   :include:/path                  a list of targets (ALIAS_T_INCLUDE);
 *                                   the path must be absolute
 *   "|cmd, args" "/a file"          a whole quoted target (backslash
 *   ":include:/a b"                 escapes) is a pipe, file or include
 *                                   by its first bytes, else an address
 * The value stored in the CDB is the canonical list "t1, t2, ..." that
 * alias_value_next() reads back: addresses verbatim, pipes/files/includes
 * quoted when they hold white space, ',' or '"'.
 */
#ifndef TINYMTA_ALIAS_PARSE_H
#define TINYMTA_ALIAS_PARSE_H

#include <stddef.h>

#define ALIAS_NAME_MAX 256    /* a local part (DESIGN.md: up to 256) */
#define ALIAS_TARGET_MAX 1024 /* one target: address, command or path */

enum alias_type {
	ALIAS_T_ADDR,    /* text: the address as written */
	ALIAS_T_PIPE,    /* text: the command, without '|' */
	ALIAS_T_FILE,    /* text: the absolute path */
	ALIAS_T_INCLUDE, /* text: the absolute path, without ":include:" */
};

enum alias_err {
	ALIAS_OK = 0,
	ALIAS_ERR_NO_COLON,        /* missing ':' after alias name */
	ALIAS_ERR_EMPTY_NAME,      /* ": x" or "\"\": x" */
	ALIAS_ERR_NAME_TOO_LONG,   /* over ALIAS_NAME_MAX */
	ALIAS_ERR_NAME_CONTROL,    /* control character in the name */
	ALIAS_ERR_EMPTY_VALUE,     /* no target after ':' */
	ALIAS_ERR_QUOTE,           /* unterminated '"' */
	ALIAS_ERR_TARGET_TOO_LONG, /* over ALIAS_TARGET_MAX */
	ALIAS_ERR_CONTROL,         /* control character in a target */
	ALIAS_ERR_EMPTY_COMMAND,   /* "|" alone */
	ALIAS_ERR_INCLUDE_PATH,    /* :include: without an absolute path */
	ALIAS_ERR_VALUE_TOO_LONG,  /* canonical value over the caller's cap */
};

struct alias_target {
	enum alias_type type;
	size_t len;
	char text[ALIAS_TARGET_MAX + 1]; /* NUL-terminated */
};

/* One logical line (map_lines_next) "name: targets": copies the name,
 * unquoted, as written (not case-folded) into name[ncap] (at most
 * ALIAS_NAME_MAX bytes) and the canonical value into value[vcap]
 * (*vlen bytes, NUL-terminated). *ntargets (may be NULL) gets the count. */
enum alias_err alias_parse_entry(const char *line, size_t len, char *name,
                                 size_t ncap, char *value, size_t vcap,
                                 size_t *vlen, unsigned *ntargets);

/* The next target of a value (as stored or as written after ':') from
 * *cur up to end; advances *cur. Returns 1 with *t set, 0 at the end, -1
 * with *err. */
int alias_value_next(const char **cur, const char *end, struct alias_target *t,
                     enum alias_err *err);

/* Append t in canonical form to out[cap] (holding *len bytes), after
 * ", " when not empty. 0, or -1 when it does not fit. */
int alias_target_format(const struct alias_target *t, char *out, size_t cap,
                        size_t *len);

/* A short English reason, e.g. "missing ':' after alias name". */
const char *alias_strerror(enum alias_err err);

#endif
