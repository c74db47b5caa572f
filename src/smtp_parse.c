/*
 * smtp_parse.c - SMTP command line parser (see smtp_parse.h). PURE: runs
 * inside smtpd (mail_owner) and the fuzzer; every byte of the line is
 * UNTRUSTED (it comes from the network). Bounded: reads only line[0..len).
 */
#include "smtp_parse.h"
#include "util/str.h"

#include <string.h>

static const struct verb {
	const char *name;
	enum smtp_verb verb;
	int args; /* 0 none allowed, 1 required, 2 optional, 3 path */
} verbs[] = {
    {"HELO", SMTP_CMD_HELO, 1},         {"EHLO", SMTP_CMD_EHLO, 1},
    {"MAIL", SMTP_CMD_MAIL, 3},         {"RCPT", SMTP_CMD_RCPT, 3},
    {"DATA", SMTP_CMD_DATA, 0},         {"RSET", SMTP_CMD_RSET, 0},
    {"NOOP", SMTP_CMD_NOOP, 2},         {"QUIT", SMTP_CMD_QUIT, 0},
    {"VRFY", SMTP_CMD_VRFY, 1},         {"HELP", SMTP_CMD_HELP, 2},
    {"STARTTLS", SMTP_CMD_STARTTLS, 0}, {"AUTH", SMTP_CMD_AUTH, 1},
    {"BDAT", SMTP_CMD_BDAT, 1},
};

const char *
smtp_verb_name(enum smtp_verb v)
{
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (verbs[i].verb == v)
			return verbs[i].name;
	return "UNKNOWN";
}

static int
match_nocase(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	if (len < n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char a = s[i];

		if (a >= 'a' && a <= 'z')
			a = (char)(a - 'a' + 'A');
		if (a != word[i])
			return 0;
	}
	return 1;
}

/* One "KEY[=VALUE]" parameter p[0..n). */
static enum smtp_perr
param(const char *p, size_t n, int mail, unsigned flags, struct smtp_cmd *c)
{
	const char *eq = memchr(p, '=', n);
	size_t klen = eq ? (size_t)(eq - p) : n;
	const char *v = eq ? eq + 1 : NULL;
	size_t vlen = eq ? n - klen - 1 : 0;
	char num[24];

	if (!mail)
		return SMTP_P_PARAM; /* no RCPT parameters are advertised */
	if (klen == 4 && match_nocase(p, klen, "SIZE")) {
		if (!v || vlen == 0 || vlen >= sizeof num ||
		    str_copy_n(num, sizeof num, v, vlen) < 0 ||
		    scan_u64(num, &c->size) < 0)
			return SMTP_P_PARAMVAL;
		c->has_size = 1;
		return SMTP_P_OK;
	}
	if (klen == 4 && match_nocase(p, klen, "BODY")) {
		if (v && vlen == 4 && match_nocase(v, vlen, "7BIT"))
			c->body = SMTP_BODY_7BIT;
		else if (v && vlen == 8 && match_nocase(v, vlen, "8BITMIME"))
			c->body = SMTP_BODY_8BITMIME;
		else
			return SMTP_P_PARAMVAL;
		return SMTP_P_OK;
	}
	if (klen == 4 && match_nocase(p, klen, "AUTH")) {
		/* RFC 4954 5: AUTH=xtext|<>; accepted and not used (we never
		 * relay it onwards as an authenticated identity) */
		if (!v || vlen == 0 || vlen > 500)
			return SMTP_P_PARAMVAL;
		for (size_t i = 0; i < vlen; i++)
			if (v[i] < '!' || v[i] > '~')
				return SMTP_P_PARAMVAL;
		return SMTP_P_OK;
	}
	if (klen == 8 && match_nocase(p, klen, "SMTPUTF8") && !v &&
	    (flags & SMTP_PF_UTF8)) {
		c->smtputf8 = 1;
		return SMTP_P_OK;
	}
	return SMTP_P_PARAM;
}

/* The parameters in s[0..len): runs of spaces between KEY[=VALUE]. */
static enum smtp_perr
params(const char *s, size_t len, int mail, unsigned flags, struct smtp_cmd *c)
{
	size_t i = 0, count = 0;

	/* loop invariant: i <= len; s[i..len) is unparsed */
	while (i < len) {
		size_t start;
		enum smtp_perr e;

		while (i < len && s[i] == ' ')
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && s[i] != ' ')
			i++;
		if (++count > SMTP_PARAMS_MAX)
			return SMTP_P_PARAM;
		e = param(s + start, i - start, mail, flags, c);
		if (e != SMTP_P_OK)
			return e;
	}
	return SMTP_P_OK;
}

/* "FROM:" / "TO:", an optional run of spaces, the path, parameters. */
static enum smtp_perr
path_cmd(const char *s, size_t len, unsigned flags, struct smtp_cmd *c)
{
	int mail = c->verb == SMTP_CMD_MAIL;
	const char *kw = mail ? "FROM:" : "TO:";
	size_t k = strlen(kw), end = 0;
	unsigned af = mail ? ADDR_F_NULL : ADDR_F_POSTMASTER;

	if (!match_nocase(s, len, kw))
		return SMTP_P_SYNTAX;
	s += k;
	len -= k;
	while (len > 0 && *s == ' ') {
		s++;
		len--;
	}
	if (flags & SMTP_PF_UTF8)
		af |= ADDR_F_UTF8;
	c->aerr = addr_parse_path(s, len, af, &c->path, &end, NULL);
	if (c->aerr == ADDR_ERR_8BIT)
		return SMTP_P_8BIT;
	if (c->aerr != ADDR_OK)
		return SMTP_P_ADDR;
	if (end < len && s[end] != ' ') {
		c->aerr = ADDR_ERR_TRAILING;
		return SMTP_P_ADDR;
	}
	return params(s + end, len - end, mail, flags, c);
}

/* "size" or "size LAST" (RFC 3030): 1 to 19 digits, one space. */
static enum smtp_perr
bdat_args(struct smtp_cmd *c)
{
	const char *a = c->arg;
	size_t i = 0, n = c->arglen;

	while (i < n && a[i] >= '0' && a[i] <= '9') {
		if (i == 19)
			return SMTP_P_SYNTAX;
		c->size = c->size * 10 + (uint64_t)(a[i] - '0');
		i++;
	}
	if (i == 0)
		return SMTP_P_SYNTAX;
	c->has_size = 1;
	if (i == n)
		return SMTP_P_OK;
	if (n - i == 5 && a[i] == ' ' && match_nocase(a + i + 1, 4, "LAST")) {
		c->last = 1;
		return SMTP_P_OK;
	}
	return SMTP_P_SYNTAX;
}

enum smtp_perr
smtp_parse_cmd(const char *line, size_t len, unsigned flags, struct smtp_cmd *c)
{
	const struct verb *v = NULL;
	size_t n = 0;

	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0] && !v; i++) {
		n = strlen(verbs[i].name);
		if (match_nocase(line, len, verbs[i].name) &&
		    (len == n || line[n] == ' '))
			v = &verbs[i];
	}
	if (!v)
		return SMTP_P_UNKNOWN;
	c->verb = v->verb;
	if (len > n) { /* skip the one space after the verb */
		c->arg = line + n + 1;
		c->arglen = len - n - 1;
	}
	if (v->args == 3)
		return c->arg ? path_cmd(c->arg, c->arglen, flags, c)
		              : SMTP_P_SYNTAX;
	if (v->args == 0 && c->arglen > 0)
		return SMTP_P_SYNTAX;
	if (v->args == 1 && c->arglen == 0)
		return SMTP_P_SYNTAX;
	if (v->verb == SMTP_CMD_BDAT)
		return bdat_args(c);
	return SMTP_P_OK;
}
