/*
 * cmd_mail_send.c - the mail applet's sending: `mail -s SUBJECT -c CC -b
 * BCC -r FROM TO…` and the `r` command's replies. The header section
 * (To, Cc, Bcc, Subject; In-Reply-To and References for a reply) is
 * built here; everything else is sendmail's submission path
 * (sm_submit_header in cmd_sendmail.c): recipients taken from To/Cc/Bcc
 * as with -t, Bcc removed, Date, Message-ID and From added, the queue
 * file in maildrop/, sendmail's exit codes. Runs as the invoking user.
 * Untrusted: argv, the body on standard input (streamed by sendmail's
 * reader), and for replies the header of the message replied to (parsed
 * by header.c, cleaned before use).
 */
#include "cmd_mail.h"
#include "cmd_sendmail.h"
#include "header.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#define FOLD_AT 78 /* RFC 5322 2.1.1: lines SHOULD be at most 78 */

/* A header section under construction in a caller's buffer. */
struct hb {
	char *p;
	size_t cap, len;
	size_t col; /* length of the current line */
	int err;    /* did not fit */
	int items;  /* items of the current list field */
};

static void
hb_add(struct hb *b, const char *s, size_t n)
{
	if (b->err || n > b->cap - b->len) {
		b->err = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->col = memchr(s, '\n', n) ? 0 : b->col + n;
}

static void
hb_str(struct hb *b, const char *s)
{
	hb_add(b, s, strlen(s));
}

static void
hb_list_begin(struct hb *b, const char *name)
{
	hb_str(b, name);
	hb_str(b, ":");
	b->items = 0;
}

/* One item of an address list, folded before it when the line would
 * grow past FOLD_AT. */
static void
hb_list_item(struct hb *b, const char *s, size_t n)
{
	if (b->items++ > 0)
		hb_str(b, ",");
	hb_str(b, b->col + 1 + n > FOLD_AT && b->items > 1 ? "\n " : " ");
	hb_add(b, s, n);
}

static void
hb_list_end(struct hb *b)
{
	hb_str(b, "\n");
}

/* 1 when s has a control byte (header injection, broken terminals). */
static int
has_ctrl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static void
add_list(struct hb *b, const char *name, const char *const *v, size_t n)
{
	if (n == 0)
		return;
	hb_list_begin(b, name);
	for (size_t i = 0; i < n; i++) {
		if (has_ctrl(v[i]))
			log_fatal(SM_EX_USAGE,
			          "%s: control character in "
			          "address",
			          name);
		hb_list_item(b, v[i], strlen(v[i]));
	}
	hb_list_end(b);
}

/* "Subject: " and the text, control bytes turned into spaces (8-bit
 * text is kept: sendmail stores it as is). */
static void
add_subject(struct hb *b, const char *subj)
{
	char clean[MAIL_SUBJ_MAX + 1];
	size_t n = strlen(subj);

	if (n > MAIL_SUBJ_MAX - 10)
		log_fatal(SM_EX_USAGE, "subject longer than %d characters",
		          MAIL_SUBJ_MAX - 10);
	for (size_t i = 0; i <= n; i++)
		clean[i] = (i < n &&
		            ((unsigned char)subj[i] < 0x20 || subj[i] == 0x7f))
		               ? ' '
		               : subj[i];
	hb_str(b, "Subject: ");
	hb_str(b, str_trim(clean));
	hb_str(b, "\n");
}

/* On a terminal without -s: ask, as mailx does. */
static void
ask_subject(char *out, size_t cap)
{
	ssize_t n;

	fputs("Subject: ", stdout);
	fflush(stdout);
	do
		n = read(0, out, cap - 1);
	while (n < 0 && errno == EINTR);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

int
mail_send_main(const struct mail_send *m, int nto, char **to)
{
	char hdr[3 * MAIL_LIST_MAX + MAIL_SUBJ_MAX + 64];
	struct hb b = {hdr, sizeof hdr, 0, 0, 0, 0};
	struct sm_opts o;
	char asked[MAIL_SUBJ_MAX + 1] = "";
	int tty = isatty(0), rc;

	add_list(&b, "To", (const char *const *)to, (size_t)nto);
	add_list(&b, "Cc", m->cc, m->ncc);
	add_list(&b, "Bcc", m->bcc, m->nbcc);
	if (!m->subject && tty)
		ask_subject(asked, sizeof asked);
	if (m->subject || asked[0])
		add_subject(&b, m->subject ? m->subject : asked);
	if (b.err)
		log_fatal(SM_EX_USAGE, "too many or too long addresses");
	memset(&o, 0, sizeof o);
	o.mode = SM_MODE_DELIVER;
	o.extract = 1;
	o.sender = m->from;
	/* on a terminal a line holding only "." ends the body, as in mailx;
	 * from a pipe or a file the whole input is the body */
	rc = sm_submit_header(&o, hdr, b.len, 0, tty);
	if (rc == 0 && tty)
		puts("EOT");
	return rc;
}

/* ---- replies ---- */

/* The addr-specs of an address-list value, as one list item each. */
static int
add_addrs(struct hb *b, const char *v, size_t n)
{
	struct header_addr_iter it = {0};
	struct header_addr a;
	size_t epos;
	int count = 0;

	while (header_addr_next(v, n, &it, &a, &epos) == HEADER_OK)
		if (a.addr_len > 0 && !has_ctrl(a.addr)) {
			hb_list_item(b, a.addr, a.addr_len);
			count++;
		}
	return count;
}

/* A Message-ID worth quoting: "<…>" of printable ASCII, no space. */
static int
msgid_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 3 || s[0] != '<' || s[n - 1] != '>')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return 0;
	return 1;
}

struct reply_src {
	const char *h;
	struct header_field rto, from, subj, msgid;
	int have_rto, have_from, have_subj, have_msgid;
};

static void
find_fields(struct reply_src *r, const char *h, size_t hn)
{
	static const char *const names[] = {"Reply-To", "From", "Subject",
	                                    "Message-ID"};
	struct header_field f;
	size_t pos = 0, epos;

	memset(r, 0, sizeof *r);
	r->h = h;
	while (header_next(h, hn, &pos, &f, &epos) == HEADER_OK) {
		struct header_field *dst[] = {&r->rto, &r->from, &r->subj,
		                              &r->msgid};
		int *have[] = {&r->have_rto, &r->have_from, &r->have_subj,
		               &r->have_msgid};

		for (size_t i = 0; i < 4; i++)
			if (!*have[i] && header_name_is(h, &f, names[i])) {
				*dst[i] = f;
				*have[i] = 1;
			}
	}
}

/* The To line of the reply; the number of addresses. */
static int
reply_to(struct hb *b, const struct reply_src *r, const char *fl, size_t fln)
{
	const struct header_field *f = r->have_rto ? &r->rto : &r->from;
	int n = 0;
	size_t i = 5, j;

	hb_list_begin(b, "To");
	if (r->have_rto || r->have_from)
		n = add_addrs(b, r->h + f->value, f->value_end - f->value);
	if (n == 0 && r->have_rto && r->have_from)
		n = add_addrs(b, r->h + r->from.value,
		              r->from.value_end - r->from.value);
	if (n == 0 && mail_is_from_line(fl, fln)) {
		/* no usable From: the envelope sender of the From_ line */
		for (j = i; j < fln && fl[j] > ' ' && fl[j] < 0x7f; j++)
			;
		if (j > i && !(j - i == 13 &&
		               memcmp(fl + i, "MAILER-DAEMON", 13) == 0)) {
			hb_list_item(b, fl + i, j - i);
			n = 1;
		}
	}
	hb_list_end(b);
	return n;
}

int
mail_reply_header(const char *fl, size_t fln, const char *h, size_t hn,
                  char *out, size_t cap, char *to, size_t tocap, char *subj,
                  size_t scap)
{
	struct hb b = {out, cap > 0 ? cap - 1 : 0, 0, 0, 0, 0};
	struct reply_src r;
	char s[MAIL_SUM_SUBJ], id[MAIL_SUM_SUBJ];
	size_t to_end;

	find_fields(&r, h, hn);
	if (reply_to(&b, &r, fl, fln) == 0)
		return -1;
	to_end = b.len;
	s[0] = '\0';
	if (r.have_subj)
		mail_unfold(s, sizeof s, h + r.subj.value,
		            r.subj.value_end - r.subj.value);
	hb_str(&b, "Subject: ");
	if (!str_prefix_nocase(s, "Re:"))
		hb_str(&b, "Re: ");
	hb_str(&b, s);
	hb_str(&b, "\n");
	id[0] = '\0';
	if (r.have_msgid)
		mail_clean(id, sizeof id, h + r.msgid.value,
		           r.msgid.value_end - r.msgid.value);
	if (msgid_ok(id)) {
		hb_str(&b, "In-Reply-To: ");
		hb_str(&b, id);
		hb_str(&b, "\nReferences: ");
		hb_str(&b, id);
		hb_str(&b, "\n");
	}
	if (b.err)
		return -1;
	out[b.len] = '\0';
	/* "To: a,\n b\n" for display: one line */
	mail_clean(to, tocap, out + 3, to_end - 3);
	snprintf(subj, scap, "%s%s",
	         str_prefix_nocase(s, "Re:") ? "" : "Re: ", s);
	return (int)b.len;
}

int
mail_submit_child(const char *hdr, size_t hlen, int fd)
{
	struct sm_opts o;
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return SM_EX_TEMPFAIL;
	}
	if (pid == 0) {
		if (lseek(fd, 0, SEEK_SET) < 0)
			log_fatal(SM_EX_SOFTWARE, "lseek: %s", strerror(errno));
		memset(&o, 0, sizeof o);
		o.mode = SM_MODE_DELIVER;
		o.extract = 1;
		exit(sm_submit_header(&o, hdr, hlen, fd, 0));
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			log_error("waitpid: %s", strerror(errno));
			return SM_EX_SOFTWARE;
		}
	return WIFEXITED(st) ? WEXITSTATUS(st) : SM_EX_SOFTWARE;
}
