/*
 * smtp_client_reply.c - server replies and EHLO keywords for the smtp
 * client (see smtp_client_reply.h). PURE. Input: the remote server's
 * bytes, untrusted.
 */
#include "smtp_client_reply.h"
#include "util/str.h"

#include <string.h>

void
smtpc_reply_init(struct smtpc_reply *r)
{
	r->code = 0;
	r->lines = 0;
	r->truncated = 0;
	r->textlen = 0;
	r->text[0] = '\0';
	r->err = NULL;
	r->linelen = 0;
	r->st = 0;
}

static int
digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A whole line in r->line[0..linelen): 0 more lines, 1 last, -1 error. */
static int
end_line(struct smtpc_reply *r)
{
	const char *l = r->line;
	size_t n = r->linelen;
	int code, last;

	if (n < 3 || !digit(l[0]) || !digit(l[1]) || !digit(l[2]) ||
	    l[0] < '2' || l[0] > '5' || (n > 3 && l[3] != ' ' && l[3] != '-')) {
		r->err = "malformed reply (no 3-digit code)";
		return -1;
	}
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (r->lines > 0 && code != r->code) {
		r->err = "multi-line reply with changing codes";
		return -1;
	}
	r->code = code;
	last = n == 3 || l[3] == ' ';
	/* keep the text: loop invariant textlen <= SMTPC_TEXT_MAX */
	if (r->textlen + (r->lines ? 1 : 0) + n <= SMTPC_TEXT_MAX &&
	    !r->truncated) {
		if (r->lines)
			r->text[r->textlen++] = '\n';
		memcpy(r->text + r->textlen, l, n);
		r->textlen += n;
		r->text[r->textlen] = '\0';
	} else {
		r->truncated = 1;
	}
	r->lines++;
	if (!last && r->lines >= SMTPC_LINES_MAX) {
		r->err = "reply with too many lines";
		return -1;
	}
	return last;
}

enum smtpc_rstat
smtpc_reply_feed(struct smtpc_reply *r, const char *p, size_t n, size_t *used)
{
	size_t i;

	if (r->err) {
		*used = 0;
		return SMTPC_R_ERR;
	}
	/* loop invariant: linelen <= SMTPC_LINE_MAX; st 1 = a CR is pending */
	for (i = 0; i < n; i++) {
		char c = p[i];
		int e;

		if (c == '\n') {
			r->st = 0;
			e = end_line(r);
			r->linelen = 0;
			if (e != 0) {
				*used = i + 1;
				return e < 0 ? SMTPC_R_ERR : SMTPC_R_DONE;
			}
			continue;
		}
		if (r->st == 1) { /* the CR was not before LF: keep it */
			if (r->linelen >= SMTPC_LINE_MAX)
				goto toolong;
			r->line[r->linelen++] = '\r';
			r->st = 0;
		}
		if (c == '\0') {
			r->err = "NUL byte in reply";
			*used = i + 1;
			return SMTPC_R_ERR;
		}
		if (c == '\r') {
			r->st = 1;
			continue;
		}
		if (r->linelen >= SMTPC_LINE_MAX)
			goto toolong;
		r->line[r->linelen++] = c;
	}
	*used = n;
	return SMTPC_R_MORE;
toolong:
	r->err = "reply line too long";
	*used = i + 1;
	return SMTPC_R_ERR;
}

void
smtpc_reply_dsn(const struct smtpc_reply *r, char *dsn, size_t cap)
{
	const char *t = r->text + 4;
	size_t i = 0;
	int parts = 0, digits = 0;

	if (r->textlen > 4 && t[0] == r->text[0] && t[1] == '.') {
		/* class "." subject "." detail, 1-3 digits each */
		for (i = 0; t[i] && t[i] != ' '; i++) {
			if (digit(t[i])) {
				if (++digits > 3)
					break;
			} else if (t[i] == '.' && digits > 0 && parts < 2) {
				parts++;
				digits = 0;
			} else {
				break;
			}
		}
		if ((t[i] == ' ' || t[i] == '\0' || t[i] == '\n') &&
		    parts == 2 && digits > 0 && i < cap) {
			str_copy_n(dsn, cap, t, i);
			return;
		}
	}
	str_copy(dsn, cap,
	         r->code >= 500   ? "5.0.0"
	         : r->code >= 400 ? "4.0.0"
	                          : "2.0.0");
}

void
smtpc_reply_line(const struct smtpc_reply *r, char *out, size_t cap)
{
	size_t o = 0;

	if (cap == 0)
		return;
	for (size_t i = 0; i < r->textlen && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)r->text[i];

		if (c == '\n')
			c = ' ';
		else if (c < 0x20 || c >= 0x7f)
			c = '?';
		out[o++] = (char)c;
	}
	out[o] = '\0';
}

/* The keyword of one EHLO line (after "250-" / "250 "). */
static void
ehlo_line(const char *l, size_t n, struct smtpc_ext *ext)
{
	static const struct {
		const char *kw;
		unsigned flag;
	} kws[] = {
	    {"PIPELINING", SMTPC_EXT_PIPELINING},
	    {"SIZE", SMTPC_EXT_SIZE},
	    {"8BITMIME", SMTPC_EXT_8BITMIME},
	    {"STARTTLS", SMTPC_EXT_STARTTLS},
	    {"SMTPUTF8", SMTPC_EXT_SMTPUTF8},
	    {"DSN", SMTPC_EXT_DSN},
	    {"AUTH", SMTPC_EXT_AUTH},
	};
	char kw[16];
	size_t k = 0;

	while (k < n && l[k] != ' ' && l[k] != '=' && k + 1 < sizeof kw) {
		kw[k] = l[k];
		k++;
	}
	kw[k] = '\0';
	if (k < n && l[k] != ' ' && l[k] != '=')
		return; /* a longer keyword than any we know */
	for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++) {
		if (!str_eq_nocase(kw, kws[i].kw))
			continue;
		ext->flags |= kws[i].flag;
		if (kws[i].flag == SMTPC_EXT_SIZE) {
			uint64_t v = 0;
			size_t j = k + 1;

			/* "SIZE" alone or "SIZE 0": no limit announced */
			for (; j < n && digit(l[j]); j++)
				v = v > UINT64_MAX / 10 - 1
				        ? UINT64_MAX
				        : v * 10 + (uint64_t)(l[j] - '0');
			ext->size = v;
		} else if (kws[i].flag == SMTPC_EXT_AUTH && k < n) {
			str_copy_n(ext->auth, sizeof ext->auth, l + k + 1,
			           n - k - 1);
		}
	}
}

void
smtpc_ehlo_parse(const struct smtpc_reply *r, struct smtpc_ext *ext)
{
	const char *p = r->text, *end = r->text + r->textlen;
	int first = 1;

	memset(ext, 0, sizeof *ext);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (!first && n > 4)
			ehlo_line(p + 4, n - 4, ext);
		first = 0;
		p += n + (nl ? 1 : 0);
	}
}
