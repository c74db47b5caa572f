/*
 * pop3_cmd.c - the POP3 command parser (see pop3_cmd.h). PURE.
 */
#include "pop3_cmd.h"

#include <string.h>

/* The rows: keyword, arguments min and max, rest-of-line. */
static const struct {
	const char *name;
	unsigned char min, max, rest;
} verbs[POP3_VERB_N] = {
    [POP3_NONE] = {"", 0, 0, 0},     [POP3_USER] = {"USER", 1, 1, 0},
    [POP3_PASS] = {"PASS", 1, 1, 1}, [POP3_STAT] = {"STAT", 0, 0, 0},
    [POP3_LIST] = {"LIST", 0, 1, 0}, [POP3_RETR] = {"RETR", 1, 1, 0},
    [POP3_DELE] = {"DELE", 1, 1, 0}, [POP3_RSET] = {"RSET", 0, 0, 0},
    [POP3_NOOP] = {"NOOP", 0, 0, 0}, [POP3_QUIT] = {"QUIT", 0, 0, 0},
    [POP3_TOP] = {"TOP", 2, 2, 0},   [POP3_UIDL] = {"UIDL", 0, 1, 0},
    [POP3_CAPA] = {"CAPA", 0, 0, 0}, [POP3_AUTH] = {"AUTH", 0, 2, 0},
    [POP3_STLS] = {"STLS", 0, 0, 0},
};

static char
upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static enum pop3_verb
lookup(const char *p, size_t n)
{
	for (int v = 1; v < POP3_VERB_N; v++) {
		const char *k = verbs[v].name;
		size_t i = 0;

		if (strlen(k) != n)
			continue;
		while (i < n && upper(p[i]) == k[i])
			i++;
		if (i == n)
			return (enum pop3_verb)v;
	}
	return POP3_NONE;
}

enum pop3_err
pop3_cmd_parse(const char *line, size_t len, struct pop3_cmd *c)
{
	size_t i = 0, kw;

	memset(c, 0, sizeof *c);
	if (len > POP3_LINE_MAX)
		return POP3_ERR_TOO_LONG;
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	/* Invariant: line[0..len) is the command without its line end. */
	for (size_t j = 0; j < len; j++)
		if ((unsigned char)line[j] < 0x20 || line[j] == 0x7f)
			return POP3_ERR_CHARS;
	while (i < len && line[i] != ' ')
		i++;
	kw = i;
	if (kw < 3 || kw > 4)
		return POP3_ERR_UNKNOWN;
	c->verb = lookup(line, kw);
	if (c->verb == POP3_NONE)
		return POP3_ERR_UNKNOWN;
	/* Arguments: each after exactly one space. */
	while (i < len) {
		size_t start = ++i;

		if (c->nargs == verbs[c->verb].max)
			return POP3_ERR_SYNTAX;
		if (verbs[c->verb].rest)
			i = len;
		else
			while (i < len && line[i] != ' ')
				i++;
		if (i == start)
			return POP3_ERR_SYNTAX; /* empty: two spaces, or
			                           trailing */
		/* AUTH's initial response (RFC 5034) and PASS are bounded
		 * only by the line. */
		if (i - start > POP3_ARG_MAX && !verbs[c->verb].rest &&
		    !(c->verb == POP3_AUTH && c->nargs == 1))
			return POP3_ERR_SYNTAX;
		c->arg[c->nargs] = line + start;
		c->arglen[c->nargs] = i - start;
		c->nargs++;
	}
	if (c->nargs < verbs[c->verb].min)
		return POP3_ERR_SYNTAX;
	return POP3_OK;
}

int
pop3_cmd_num(const char *s, size_t len, uint32_t *out)
{
	uint32_t n = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (uint32_t)(s[i] - '0');
	}
	*out = n;
	return 0;
}

const char *
pop3_cmd_name(enum pop3_verb v)
{
	return (unsigned)v < POP3_VERB_N ? verbs[v].name : "";
}

const char *
pop3_cmd_strerror(enum pop3_err e)
{
	switch (e) {
	case POP3_OK:
		return "ok";
	case POP3_ERR_TOO_LONG:
		return "command line too long";
	case POP3_ERR_CHARS:
		return "control characters in command";
	case POP3_ERR_UNKNOWN:
		return "unknown command";
	case POP3_ERR_SYNTAX:
		return "syntax error in arguments";
	}
	return "error";
}
