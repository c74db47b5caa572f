/*
 * cmd_sendmail_hdr.c - sendmail's header work: buffer the header section
 * (bounded by SM_HEADER_MAX), extract recipients for -t with header.c and
 * addr.c, drop Bcc/Resent-Bcc, add a missing Date, Message-ID and From.
 * Runs as the invoking user; the message is untrusted input: every field
 * goes through header.c's bounded parsers, every address through addr.c.
 */
#include "cmd_sendmail.h"
#include "header.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static void
hdr_add(struct sm *s, const char *p, size_t n)
{
	if (n > SM_HEADER_MAX - s->hlen)
		sm_fail(s, SM_EX_DATAERR,
		        "message header section exceeds %d bytes",
		        SM_HEADER_MAX);
	memcpy(s->hdr + s->hlen, p, n);
	s->hlen += n;
}

/* At the start of a line in the header section: 1 when it belongs to the
 * section, 0 when the section ended (s->sep or s->pend set). */
static int
header_line(struct sm *s, const char *p, size_t n)
{
	if (n == 1 && p[0] == '\n') {
		s->sep = 1;
		return 0;
	}
	if (header_is_field(p, n) ||
	    (s->hlen > 0 && (p[0] == ' ' || p[0] == '\t')))
		return 1;
	s->pend = 1;
	s->pend_p = p;
	s->pend_n = n;
	return 0;
}

/* Length of the field name at hdr[off] (printable by construction), at
 * most 64 for messages. */
static int
name_len(const struct sm *s, size_t off)
{
	size_t n = 0;

	while (off + n < s->hlen && n < 64 && s->hdr[off + n] != ':' &&
	       s->hdr[off + n] > ' ' && s->hdr[off + n] < 127)
		n++;
	return (int)n;
}

/* see cmd_sendmail.h */
void
sm_scan_header(struct sm *s)
{
	static const struct {
		const char *name;
		unsigned bit;
	} known[] = {
	    {"From", SM_H_FROM},         {"Date", SM_H_DATE},
	    {"Message-ID", SM_H_MSGID},  {"Resent-From", SM_H_RFROM},
	    {"Resent-Date", SM_H_RDATE}, {"Resent-Message-ID", SM_H_RMSGID},
	};
	struct header_field f;
	size_t pos = 0, epos;
	enum header_err e;

	while ((e = header_next(s->hdr, s->hlen, &pos, &f, &epos)) ==
	       HEADER_OK) {
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			if (header_name_is(s->hdr, &f, known[i].name))
				s->seen |= known[i].bit;
		if (f.name_len > 7 &&
		    str_prefix_nocase(s->hdr + f.start, "Resent-"))
			s->seen |= SM_H_RESENT;
	}
	if (e != HEADER_END)
		sm_fail(s, SM_EX_DATAERR, "%.*s: header: %s", name_len(s, epos),
		        s->hdr + epos, header_strerror(e));
}

void
sm_read_header(struct sm *s)
{
	const char *p;
	size_t n;
	int eol, r, bol = 1, first = 1, skip = 0;

	/* loop invariant: bol says whether p starts a line */
	while ((r = sm_in_next(&s->in, &p, &n, &eol)) == SM_IN_PIECE) {
		if (bol) {
			/* a UNIX "From " envelope line, as Postfix skips */
			skip = first && n >= 5 && memcmp(p, "From ", 5) == 0;
			first = 0;
			if (!skip && !header_line(s, p, n))
				break;
		}
		bol = eol;
		if (!skip)
			hdr_add(s, p, n);
	}
	if (r != SM_IN_PIECE && r != SM_IN_END)
		sm_in_fail(s, r);
	sm_scan_header(s);
}

static void
add_rcpt(struct sm *s, const char *a)
{
	char *copy;

	if (s->rcpts.n >= SM_RCPT_MAX)
		sm_fail(s, SM_EX_DATAERR, "more than %d recipients",
		        SM_RCPT_MAX);
	if (s->rcpts.n == s->rcpts.cap) {
		size_t cap = s->rcpts.cap ? 2 * s->rcpts.cap : 16;
		char **v;

		v = realloc(s->rcpts.v, cap * sizeof *v);
		if (!v)
			sm_fail(s, SM_EX_TEMPFAIL, "out of memory");
		s->rcpts.v = v;
		s->rcpts.cap = cap;
	}
	copy = strdup(a);
	if (!copy)
		sm_fail(s, SM_EX_TEMPFAIL, "out of memory");
	s->rcpts.v[s->rcpts.n++] = copy;
}

/* Parse and normalise one addr-spec; a bare name gets @domain
 * (Postfix's append_at_myorigin; for recipients a local domain, see
 * resolve_bare_domain). */
static int
normalise(const struct sm *s, const char *text, size_t len, char *out,
          char *why, size_t cap, const char *domain)
{
	struct addr a;
	size_t epos;
	enum addr_err e;
	char esc[ADDR_TEXT_MAX];

	e = addr_parse(text, len, s->addr_flags | ADDR_F_BARE | ADDR_F_OBS, &a,
	               &epos);
	if (e == ADDR_OK && a.domain[0] == '\0' &&
	    str_copy(a.domain, sizeof a.domain, domain) < 0)
		e = ADDR_ERR_DOMAIN_LONG;
	if (e != ADDR_OK || addr_format(&a, out, ADDR_TEXT_MAX) < 0) {
		str_escape(esc, sizeof esc, text, len);
		snprintf(why, cap, "bad address \"%s\": %s", esc,
		         addr_strerror(e));
		return -1;
	}
	return 0;
}

int
sm_add_list(struct sm *s, const char *text, size_t len, char *why, size_t cap)
{
	struct header_addr_iter it = {0};
	struct header_addr a;
	char norm[ADDR_TEXT_MAX];
	size_t epos;
	enum header_err e;

	while ((e = header_addr_next(text, len, &it, &a, &epos)) == HEADER_OK) {
		if (normalise(s, a.addr, a.addr_len, norm, why, cap,
		              s->bare_domain) < 0)
			return -1;
		add_rcpt(s, norm);
	}
	if (e != HEADER_END) {
		snprintf(why, cap, "%s at offset %zu", header_strerror(e),
		         epos);
		return -1;
	}
	return 0;
}

int
sm_one_addr(const struct sm *s, const char *text, char *out, char *why,
            size_t cap)
{
	struct header_addr_iter it = {0};
	struct header_addr a;
	size_t len = strlen(text), epos;
	enum header_err e;

	out[0] = '\0';
	if (strcmp(text, "") == 0 || strcmp(text, "<>") == 0)
		return 0;
	e = header_addr_next(text, len, &it, &a, &epos);
	if (e == HEADER_OK &&
	    header_addr_next(text, len, &it, &a, &epos) != HEADER_END)
		e = HEADER_ERR_SYNTAX;
	if (e != HEADER_OK) {
		snprintf(
		    why, cap, "%s",
		    header_strerror(e == HEADER_END ? HEADER_ERR_EMPTY : e));
		return -1;
	}
	return normalise(s, a.addr, a.addr_len, out, why, cap, s->myorigin);
}

void
sm_extract(struct sm *s)
{
	static const char *const plain[] = {"To", "Cc", "Bcc"};
	static const char *const resent[] = {"Resent-To", "Resent-Cc",
	                                     "Resent-Bcc"};
	const char *const *names = (s->seen & SM_H_RESENT) ? resent : plain;
	struct header_field f;
	size_t pos = 0, epos;
	char why[ADDR_TEXT_MAX + 100];

	while (header_next(s->hdr, s->hlen, &pos, &f, &epos) == HEADER_OK) {
		for (size_t i = 0; i < 3; i++) {
			if (!header_name_is(s->hdr, &f, names[i]))
				continue;
			if (sm_add_list(s, s->hdr + f.value,
			                f.value_end - f.value, why,
			                sizeof why) < 0)
				sm_fail(s, SM_EX_DATAERR, "%s: header: %s",
				        names[i], why);
		}
	}
}

/* The full name as an RFC 5322 phrase: as is when it is atoms and
 * single spaces, else a quoted string. */
static void
phrase(const char *name, char *out, size_t cap)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";
	size_t n = strlen(name), o = 0;
	int plain = n > 0 && name[0] != ' ' && name[n - 1] != ' ';

	for (size_t i = 0; plain && i < n; i++)
		plain = (unsigned char)name[i] >= 0x80 ||
		        (name[i] >= 'a' && name[i] <= 'z') ||
		        (name[i] >= 'A' && name[i] <= 'Z') ||
		        (name[i] >= '0' && name[i] <= '9') ||
		        strchr(atext, name[i]) ||
		        (name[i] == ' ' && name[i + 1] != ' ');
	if (plain) {
		str_copy(out, cap, name);
		return;
	}
	/* cap >= 2 * SM_FULLNAME_MAX + 3: every byte escaped fits */
	out[o++] = '"';
	for (size_t i = 0; i < n && o + 3 < cap; i++) {
		if (name[i] == '"' || name[i] == '\\')
			out[o++] = '\\';
		out[o++] = name[i];
	}
	out[o++] = '"';
	out[o] = '\0';
}

static void
add_from(struct sm *s, const char *pfx)
{
	char line[3 * SM_FULLNAME_MAX + ADDR_TEXT_MAX + 64];
	char name[2 * SM_FULLNAME_MAX + 4];
	int n;

	if (s->sender[0] == '\0')
		n = snprintf(line, sizeof line, "%sFrom: MAILER-DAEMON@%s\n",
		             pfx, s->myorigin);
	else if (s->fullname[0]) {
		phrase(s->fullname, name, sizeof name);
		n = snprintf(line, sizeof line, "%sFrom: %s <%s>\n", pfx, name,
		             s->sender);
	} else
		n = snprintf(line, sizeof line, "%sFrom: %s\n", pfx, s->sender);
	if (n > 0 && (size_t)n < sizeof line)
		sm_put(s, line, (size_t)n);
}

static void
add_date(struct sm *s, const char *pfx, const struct tm *tm)
{
	char date[64], line[128];
	int n;

	if (strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", tm) == 0)
		return;
	n = snprintf(line, sizeof line, "%sDate: %s\n", pfx, date);
	if (n > 0 && (size_t)n < sizeof line)
		sm_put(s, line, (size_t)n);
}

/* <YYYYMMDDhhmmss.RANDOM@myhostname>, as Postfix's shape. */
static void
add_msgid(struct sm *s, const char *pfx, const struct tm *tm)
{
	char stamp[32], line[SM_NAME_MAX + 128];
	unsigned long long r = 0;
	int n;

	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		r = ((unsigned long long)ts.tv_nsec << 20) ^
		    (unsigned long long)getpid();
	}
	if (strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", tm) == 0)
		return;
	n = snprintf(line, sizeof line, "%sMessage-ID: <%s.%016llX@%s>\n", pfx,
	             stamp, r, s->myhostname);
	if (n > 0 && (size_t)n < sizeof line)
		sm_put(s, line, (size_t)n);
}

void
sm_write_header(struct sm *s)
{
	int resent = (s->seen & SM_H_RESENT) != 0;
	const char *pfx = resent ? "Resent-" : "";
	struct header_field f;
	size_t pos = 0, epos;
	time_t now = time(NULL);
	struct tm tm;

	while (header_next(s->hdr, s->hlen, &pos, &f, &epos) == HEADER_OK)
		if (!header_name_is(s->hdr, &f, "Bcc") &&
		    !header_name_is(s->hdr, &f, "Resent-Bcc"))
			sm_put(s, s->hdr + f.start, f.end - f.start);
	if (!localtime_r(&now, &tm))
		memset(&tm, 0, sizeof tm);
	if (!(s->seen & (resent ? SM_H_RMSGID : SM_H_MSGID)))
		add_msgid(s, pfx, &tm);
	if (!(s->seen & (resent ? SM_H_RDATE : SM_H_DATE)))
		add_date(s, pfx, &tm);
	if (!(s->seen & (resent ? SM_H_RFROM : SM_H_FROM)))
		add_from(s, pfx);
	if (s->sep || s->pend)
		sm_put(s, "\n", 1);
}
