/*
 * map_parse.h - PURE parsers of lookup table sources, shared by postmap,
 * postalias, the tests and the fuzzers: no I/O, no globals, no logging.
 *
 * Logical lines (Postfix's readlline): a line whose first non-blank byte
 * is '#' is a comment, a line of white space only is empty; both are
 * skipped wherever they appear. A line starting with white space
 * continues the logical line before it; the pieces are joined with one
 * space. A logical line is reported with the number of its first
 * physical line. A NUL byte, a line over MAP_LINE_MAX bytes, or a
 * continuation line with no entry before it are errors.
 *
 * postmap entries: `key value`: the key is the first white-space
 * delimited word, or a double-quoted string with backslash escapes
 * (Postfix 3.2 and later: `"key with space" value`); the value is the
 * rest of the line, white space around it stripped. It must not be empty.
 */
#ifndef TINYMTA_MAP_PARSE_H
#define TINYMTA_MAP_PARSE_H

#include <stddef.h>

#define MAP_LINE_MAX 65536 /* one logical line, continuations joined */

enum map_parse_err {
	MAP_PARSE_OK = 0,
	MAP_PARSE_NUL,          /* a NUL byte in the source */
	MAP_PARSE_TOO_LONG,     /* line longer than MAP_LINE_MAX (or buffer) */
	MAP_PARSE_ORPHAN,       /* continuation line before any entry */
	MAP_PARSE_NO_VALUE,     /* key without white space and value */
	MAP_PARSE_KEY_TOO_LONG, /* key over MAP_KEY_MAX */
	MAP_PARSE_EMPTY_KEY,    /* "" as a key */
	MAP_PARSE_QUOTE,        /* unterminated or misplaced '"' */
	MAP_PARSE_CONTROL,      /* a control character in a key */
};

/* A reader of logical lines over text in memory. */
struct map_lines {
	const char *p, *end; /* input not yet consumed */
	unsigned line;       /* number of the physical line at p */
};

void map_lines_init(struct map_lines *r, const char *in, size_t len);

/* Join the next logical line into buf[cap] (NUL-terminated, *len bytes,
 * no newline); *lineno gets its first physical line. Returns 1, 0 at the
 * end of the input, -1 with *err set and *lineno the offending line. A
 * line longer than cap-1 is MAP_PARSE_TOO_LONG. */
int map_lines_next(struct map_lines *r, char *buf, size_t cap, size_t *len,
                   unsigned *lineno, enum map_parse_err *err);

/* Split one logical line (as map_lines_next returns it) into a key, copied
 * unquoted and NUL-terminated into key[kcap] (at most MAP_KEY_MAX bytes),
 * and a value: *val points into line, *vlen bytes (not terminated). */
enum map_parse_err map_parse_entry(const char *line, size_t len, char *key,
                                   size_t kcap, size_t *klen, const char **val,
                                   size_t *vlen);

/* A quoted string starting at s[0] == '"' within s[0..len): copies the
 * unescaped contents into out[cap] (NUL-terminated) and returns the number
 * of input bytes used including both quotes, or 0 when unterminated and -1
 * when it does not fit. cap 0 (out NULL) only measures. */
long map_parse_quoted(const char *s, size_t len, char *out, size_t cap,
                      size_t *outlen);

/* A short English reason, e.g. "missing value (expected format: key
 * whitespace value)". */
const char *map_parse_strerror(enum map_parse_err err);

#endif
