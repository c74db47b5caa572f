/*
 * pop3_cmd.h - one POP3 command line into a struct (PURE: no I/O, no
 * globals, no logging). Used by pop3d (login and mailbox phases) and by
 * the fuzzer. RFC 1939 section 3: a case-insensitive keyword of three or
 * four characters, arguments separated by single spaces, each at most 40
 * characters; RFC 2449 section 4: the whole line at most 255 octets with
 * its CRLF. PASS takes the rest of the line as one argument (it may hold
 * spaces, RFC 1939 section 7); AUTH's initial response (RFC 5034) is a
 * second argument and is bounded by the line alone.
 */
#ifndef TINYMTA_POP3_CMD_H
#define TINYMTA_POP3_CMD_H

#include <stddef.h>
#include <stdint.h>

#define POP3_LINE_MAX 255 /* RFC 2449 section 4, with the CRLF */
#define POP3_ARG_MAX 40   /* RFC 1939 section 3 */

enum pop3_verb {
	POP3_NONE = 0,
	POP3_USER,
	POP3_PASS,
	POP3_STAT,
	POP3_LIST,
	POP3_RETR,
	POP3_DELE,
	POP3_RSET,
	POP3_NOOP,
	POP3_QUIT,
	POP3_TOP,
	POP3_UIDL,
	POP3_CAPA,
	POP3_AUTH,
	POP3_STLS,
	POP3_VERB_N
};

enum pop3_err {
	POP3_OK = 0,
	POP3_ERR_TOO_LONG, /* over POP3_LINE_MAX */
	POP3_ERR_CHARS,    /* NUL or another control byte in the line */
	POP3_ERR_UNKNOWN,  /* not a command we know */
	POP3_ERR_SYNTAX    /* wrong number of arguments, or one too long */
};

struct pop3_cmd {
	enum pop3_verb verb;
	unsigned nargs;
	const char *arg[2]; /* point into the line; not NUL-terminated */
	size_t arglen[2];
};

/* Parse line[0..len), which may end in CRLF or LF (removed). len counts
 * the line end, as the client sent it. */
enum pop3_err pop3_cmd_parse(const char *line, size_t len, struct pop3_cmd *c);

/* A message number or line count: 1 to 9 decimal digits, no sign. 0, or
 * -1 when not a number. */
int pop3_cmd_num(const char *s, size_t len, uint32_t *out);

/* The keyword of v in upper case ("" for POP3_NONE). */
const char *pop3_cmd_name(enum pop3_verb v);

/* A short text for e (for -ERR replies). */
const char *pop3_cmd_strerror(enum pop3_err e);

#endif
