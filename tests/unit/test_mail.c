/*
 * test_mail.c - the mail applet's PURE parts: the mbox index (From_ line
 * detection, separators, Status, the cap, fed whole and byte by byte),
 * mboxrd unescaping and escaping (split at every byte), the summary fields and
 * the 80-column line, and the reply header.
 */
#include "cmd_mail.h"
#include "t.h"
#include "util/str.h"

#include <stdlib.h>

/* Index in as one piece or in pieces of step bytes; the dump is
 * "start,hdr,cend,end,lines,flags|" per message, then "end=N" and
 * "+over" when over the cap. */
static enum mail_scan_err
index_dump(const char *in, size_t step, size_t max, char *out, size_t cap)
{
	struct mail_index ix;
	struct mail_scan s;
	size_t n = strlen(in), o = 0;
	enum mail_scan_err e;

	mail_index_init(&ix, max);
	mail_scan_init(&s, &ix);
	for (size_t i = 0; i < n; i += step)
		mail_scan_feed(&s, in + i, n - i < step ? n - i : step);
	e = mail_scan_end(&s);
	out[0] = '\0';
	for (size_t i = 0; e == MAIL_SCAN_OK && i < ix.n; i++) {
		const struct mail_msg *m = &ix.v[i];

		o += (size_t)snprintf(
		    out + o, cap - o, "%llu,%llu,%llu,%llu,%u,%u|",
		    (unsigned long long)m->start, (unsigned long long)m->hdr,
		    (unsigned long long)m->cend, (unsigned long long)m->end,
		    m->lines, m->flags);
	}
	snprintf(out + o, cap - o, "end=%llu%s", (unsigned long long)ix.end,
	         ix.over ? "+over" : "");
	mail_index_free(&ix);
	return e;
}

static const struct {
	const char *in;
	size_t max;
	enum mail_scan_err want;
	const char *dump;
} idx[] = {
    {"", 10, MAIL_SCAN_OK, "end=0"},
    /* one message with its separator line: cend drops it */
    {"From a x\nS: 1\n\nbody\n\n", 10, MAIL_SCAN_OK, "0,9,20,21,4,0|end=21"},
    /* no final blank line, no final LF */
    {"From a x\nS: 1\n\nbody", 10, MAIL_SCAN_OK, "0,9,19,19,4,0|end=19"},
    {"From a x\nS: 1\n\nbody\n", 10, MAIL_SCAN_OK, "0,9,20,20,4,0|end=20"},
    {"From a x", 10, MAIL_SCAN_OK, "0,8,8,8,1,0|end=8"},
    {"From ", 10, MAIL_SCAN_OK, "0,5,5,5,1,0|end=5"},
    /* two messages */
    {"From a\nA: 1\n\nx\n\nFrom b\nB: 2\n\ny\n\n", 10, MAIL_SCAN_OK,
     "0,7,15,16,4,0|16,23,31,32,4,0|end=32"},
    /* "From " without the blank line before it is body text */
    {"From a\n\nx\nFrom b\n\n", 10, MAIL_SCAN_OK, "0,7,17,18,4,0|end=18"},
    /* escaped lines are never separators */
    {"From a\n\n\n>From b\n\n", 10, MAIL_SCAN_OK, "0,7,17,18,4,0|end=18"},
    /* Status: R in the header section, not in the body */
    {"From a\nStatus: RO\n\nx\n\nFrom b\n\nStatus: R\n\n", 10, MAIL_SCAN_OK,
     "0,7,21,22,4,2|22,29,40,41,3,0|end=41"},
    {"From a\nstatus:   O\n\n", 10, MAIL_SCAN_OK, "0,7,19,20,2,0|end=20"},
    /* the cap: the third message starts the unindexed tail */
    {"From a\n\nFrom b\n\nFrom c\n\nFrom d\n\n", 2, MAIL_SCAN_OK,
     "0,7,7,8,1,0|8,15,15,16,1,0|end=16+over"},
    {"From a\n\nFrom b\n\n", 2, MAIL_SCAN_OK,
     "0,7,7,8,1,0|8,15,15,16,1,0|end=16"},
    /* not an mbox */
    {"hello\nFrom a\n", 10, MAIL_SCAN_NOT_MBOX, "end=0"},
    {"\nFrom a\n", 10, MAIL_SCAN_NOT_MBOX, "end=0"},
    {"From", 10, MAIL_SCAN_NOT_MBOX, "end=0"},
    {">From a\n", 10, MAIL_SCAN_NOT_MBOX, "end=0"},
    {"from a\n", 10, MAIL_SCAN_NOT_MBOX, "end=0"},
};

static void
test_index(void)
{
	char got[512], ctx[64];

	for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++)
		for (size_t step = 1; step <= 8; step += 7) {
			enum mail_scan_err e = index_dump(
			    idx[i].in, step, idx[i].max, got, sizeof got);

			snprintf(ctx, sizeof ctx, "index case %zu step %zu", i,
			         step);
			T_CHECK(e == idx[i].want, "%s: error %d, want %d", ctx,
			        e, idx[i].want);
			if (e == MAIL_SCAN_OK)
				T_STREQ(got, idx[i].dump, ctx);
		}
	T_CHECK(mail_is_from_line("From x", 6), "From_");
	T_CHECK(mail_is_from_line("From ", 5), "From_ at 5");
	T_CHECK(!mail_is_from_line("From", 4), "4 bytes");
	T_CHECK(!mail_is_from_line("From:", 5), "From: field");
	T_CHECK(!mail_is_from_line(">From ", 6), "escaped");
}

struct sink {
	char buf[256];
	size_t len;
};

static void
sink_put(void *ctx, const char *p, size_t n)
{
	struct sink *s = ctx;

	if (n > sizeof s->buf - 1 - s->len)
		n = sizeof s->buf - 1 - s->len;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
}

static const struct {
	const char *in, *want;
} unesc[] = {
    {">From a\n", "From a\n"},
    {">>From a\n", ">From a\n"},
    {">>>From a\n", ">>From a\n"},
    {"From a\n", "From a\n"},
    {">Fro\n", ">Fro\n"},
    {">From", ">From"},
    {">>\n", ">>\n"},
    {"> From a\n", "> From a\n"},
    {"x >From a\n", "x >From a\n"},
    {"a\n>From b\nc >From d\n>From e", "a\nFrom b\nc >From d\nFrom e"},
    {">from a\n", ">from a\n"},
    {">FromX\n", ">FromX\n"},
    {"\n>From \n", "\nFrom \n"},
    {"", ""},
};

static const struct {
	const char *in, *want;
} esc[] = {
    {"From a\n", ">From a\n"},
    {">From a\n", ">>From a\n"},
    {"x From a\nFrom\n>Fro\n", "x From a\nFrom\n>Fro\n"},
    {"From ", ">From "},
    {"a\n\nFrom b", "a\n\n>From b"},
};

static void
test_escape(void)
{
	char ctx[64];

	for (size_t i = 0; i < sizeof esc / sizeof esc[0]; i++) {
		size_t n = strlen(esc[i].in);

		for (size_t cut = 0; cut <= n; cut++) {
			struct mail_unesc u;
			struct sink s = {{0}, 0}, back = {{0}, 0};

			mail_esc_init(&u);
			mail_unesc_feed(&u, esc[i].in, cut, sink_put, &s);
			mail_unesc_feed(&u, esc[i].in + cut, n - cut, sink_put,
			                &s);
			mail_unesc_end(&u, sink_put, &s);
			snprintf(ctx, sizeof ctx, "escape case %zu cut %zu", i,
			         cut);
			T_STREQ(s.buf, esc[i].want, ctx);
			/* and back: mboxrd is reversible */
			mail_unesc_init(&u);
			mail_unesc_feed(&u, s.buf, s.len, sink_put, &back);
			mail_unesc_end(&u, sink_put, &back);
			T_STREQ(back.buf, esc[i].in, ctx);
		}
	}
}

static void
test_unescape(void)
{
	char ctx[64];

	for (size_t i = 0; i < sizeof unesc / sizeof unesc[0]; i++) {
		size_t n = strlen(unesc[i].in);

		/* whole, and split in two at every position */
		for (size_t cut = 0; cut <= n; cut++) {
			struct mail_unesc u;
			struct sink s = {{0}, 0};

			mail_unesc_init(&u);
			mail_unesc_feed(&u, unesc[i].in, cut, sink_put, &s);
			mail_unesc_feed(&u, unesc[i].in + cut, n - cut,
			                sink_put, &s);
			mail_unesc_end(&u, sink_put, &s);
			snprintf(ctx, sizeof ctx, "unescape case %zu cut %zu",
			         i, cut);
			T_STREQ(s.buf, unesc[i].want, ctx);
		}
	}
}

static const struct {
	const char *fl, *hdr;
	const char *from, *date, *subject;
} sums[] = {
    {"From a@x Sun Nov 29 16:45:08 2026\n",
     "From: Alice <alice@x>\nSubject: hi\n", "alice@x", "Nov 29 16:45", "hi"},
    {"From a@x Sun Nov  1 06:05:08 2026", "Subject: folded\n\tsubject  here\n",
     "a@x", "Nov  1 06:05", "folded subject here"},
    /* no usable From_ date: the Date field */
    {"From a@x today\n", "Date: Mon, 2 Dec 2024 09:15:00 +0100\nFrom: b@y\n",
     "b@y", "Dec  2 09:15", ""},
    {"From a@x today\n", "Date: 12 Jan 2025 23:59 -0000\n", "a@x",
     "Jan 12 23:59", ""},
    {"From a@x today\n", "Date: garbage\n", "a@x", "", ""},
    /* control and 8-bit bytes are made harmless for a terminal */
    {"From a@x Sun Nov 29 16:45:08 2026\n", "Subject: \x1b[2Jbad \xc3\xa4\n",
     "a@x", "Nov 29 16:45", "?[2Jbad ??"},
    /* a From: without an address falls back to the From_ sender */
    {"From env@x Sun Nov 29 16:45:08 2026\n", "From: \"only a name\n", "env@x",
     "Nov 29 16:45", ""},
    /* the first Subject counts; a body is not a header */
    {"From a@x Sun Nov 29 16:45:08 2026\n",
     "Subject: one\nSubject: two\n\nSubject: body\n", "a@x", "Nov 29 16:45",
     "one"},
};

static void
test_summary(void)
{
	struct mail_summary s;
	char line[512], ctx[64];

	for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++) {
		mail_summary_parse(sums[i].fl, strlen(sums[i].fl), sums[i].hdr,
		                   strlen(sums[i].hdr), &s);
		snprintf(ctx, sizeof ctx, "summary case %zu", i);
		T_STREQ(s.from, sums[i].from, ctx);
		T_STREQ(s.date, sums[i].date, ctx);
		T_STREQ(s.subject, sums[i].subject, ctx);
	}
	memset(&s, 0, sizeof s);
	str_copy(s.from, sizeof s.from, "alice@example.com");
	str_copy(s.date, sizeof s.date, "Nov 29 16:45");
	str_copy(s.subject, sizeof s.subject, "hello");
	mail_summary_line(line, sizeof line, 1, 'N', 3, &s, 12, 345, 80);
	T_STREQ(line,
	        ">N   3 alice@example.com    Nov 29 16:45    12/345  hello",
	        "summary line");
	memset(s.subject, 'x', sizeof s.subject - 1);
	str_copy(s.from, sizeof s.from,
	         "a-very-long-sender-address@example.com");
	mail_summary_line(line, sizeof line, 0, ' ', 12345, &s, 1, 1, 80);
	T_CHECK(strlen(line) == 79, "cut at 79: %zu", strlen(line));
	T_CHECK(strncmp(line, "  12345 a-very-long-sender-a ", 29) == 0,
	        "from cut at 20: %s", line);
	mail_summary_line(line, sizeof line, 0, 'D', 1, &s, 1, 1, 40);
	T_CHECK(strlen(line) == 39, "cols 40: %zu", strlen(line));
	mail_clean(line, sizeof line, "  a\r\n\tb  \x01 ", 11);
	T_STREQ(line, "a b ?", "clean");
	mail_unfold(line, sizeof line, "x\n \xc3\xa4", 5);
	T_STREQ(line, "x \xc3\xa4", "unfold keeps 8-bit");
}

static void
test_reply(void)
{
	static const char fl[] = "From env@x Sun Nov 29 16:45:08 2026\n";
	char out[2048], to[256], subj[256];
	int n;

	n = mail_reply_header(fl, sizeof fl - 1,
	                      "From: A <a@x>\nSubject: hi\nMessage-ID: <1@x>\n",
	                      44, out, sizeof out, to, sizeof to, subj,
	                      sizeof subj);
	T_CHECK(n > 0, "reply");
	T_STREQ(out,
	        "To: a@x\nSubject: Re: hi\nIn-Reply-To: <1@x>\n"
	        "References: <1@x>\n",
	        "reply header");
	T_STREQ(to, "a@x", "reply to");
	T_STREQ(subj, "Re: hi", "reply subject");
	n = mail_reply_header(fl, sizeof fl - 1,
	                      "From: a@x\nReply-To: l@x, m@y\nSubject: RE: x\n"
	                      "Message-ID: bad id\n",
	                      63, out, sizeof out, to, sizeof to, subj,
	                      sizeof subj);
	T_STREQ(out, "To: l@x, m@y\nSubject: RE: x\n",
	        "Reply-To wins, no second Re:, bad id dropped");
	n = mail_reply_header(fl, sizeof fl - 1, "Subject: x\n", 11, out,
	                      sizeof out, to, sizeof to, subj, sizeof subj);
	T_STREQ(out, "To: env@x\nSubject: Re: x\n", "the From_ sender");
	n = mail_reply_header("From MAILER-DAEMON Sun Nov 29 16:45:08 2026", 42,
	                      "Subject: x\n", 11, out, sizeof out, to,
	                      sizeof to, subj, sizeof subj);
	T_CHECK(n < 0, "nobody to reply to: %d", n);
	n = mail_reply_header(fl, sizeof fl - 1, "Subject: x\ny\n", 11, out, 8,
	                      to, sizeof to, subj, sizeof subj);
	T_CHECK(n < 0, "does not fit: %d", n);
}

int
main(void)
{
	test_index();
	test_unescape();
	test_escape();
	test_summary();
	test_reply();
	return T_DONE();
}
