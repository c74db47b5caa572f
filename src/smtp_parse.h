/*
 * smtp_parse.h - one SMTP command line into a struct (PURE: no I/O, no
 * globals, no logging). Used by smtpd and by the fuzzer. The verb is
 * matched case-insensitively; "MAIL FROM:" and "RCPT TO:" are matched as
 * whole prefixes (white space after the colon is tolerated, as Postfix
 * does); the path goes through addr_parse_path; ESMTP parameters are
 * split into at most SMTP_PARAMS_MAX KEY[=VALUE] pairs.
 */
#ifndef TINYMTA_SMTP_PARSE_H
#define TINYMTA_SMTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* RFC 5321 4.5.3.1.4: 512 octets with the CRLF. */
#define SMTP_CMD_MAX 512
/* MAIL/RCPT may grow by what the advertised extensions allow (RFC 5321
 * 4.5.3.1.4, RFC 1870 adds 26, RFC 6152 14, AUTH= up to 500); DESIGN.md
 * caps it at 2048 with the CRLF. */
#define SMTP_CMD_EXT_MAX 2048
#define SMTP_PARAMS_MAX 10 /* ESMTP parameters on one MAIL/RCPT */

enum smtp_verb {
	SMTP_CMD_NONE = 0, /* unknown verb */
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_QUIT,
	SMTP_CMD_VRFY,
	SMTP_CMD_HELP,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,
	SMTP_CMD_BDAT, /* RFC 3030: "BDAT size [LAST]" (size, last) */
	SMTP_CMD_N
};

enum smtp_perr {
	SMTP_P_OK = 0,
	SMTP_P_UNKNOWN, /* 502 5.5.2: verb not recognized */
	SMTP_P_SYNTAX,  /* 501 5.5.4: arguments where none belong, missing */
	SMTP_P_ADDR,    /* 501 5.1.7/5.1.3: bad path (cmd.aerr says why) */
	SMTP_P_8BIT,    /* 553 5.6.7: UTF-8 address without SMTPUTF8 */
	SMTP_P_PARAM,   /* 555 5.5.4: unsupported parameter */
	SMTP_P_PARAMVAL /* 501 5.5.4: bad SIZE= or BODY= value */
};

#define SMTP_BODY_NONE 0
#define SMTP_BODY_7BIT 1
#define SMTP_BODY_8BITMIME 2

/* Flags for smtp_parse_cmd. */
#define SMTP_PF_UTF8 1 /* smtputf8_enable: SMTPUTF8 and UTF-8 paths */

struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg;    /* the text after the verb and one space (HELO, */
	size_t arglen;      /* VRFY, HELP, AUTH); points into the line */
	struct addr path;   /* MAIL/RCPT */
	enum addr_err aerr; /* SMTP_P_ADDR: why */
	uint64_t size;      /* SIZE= (has_size) */
	int has_size;
	int body;     /* SMTP_BODY_* */
	int smtputf8; /* SMTPUTF8 given */
	int last;     /* BDAT ... LAST */
};

/* The name of a verb ("MAIL"), for logs. */
const char *smtp_verb_name(enum smtp_verb v);
/* Parse line[0..len) without its line end. *c is filled as far as
 * parsing went (verb always). */
enum smtp_perr smtp_parse_cmd(const char *line, size_t len, unsigned flags,
                              struct smtp_cmd *c);

#endif
