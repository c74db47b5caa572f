/*
 * fuzz_mail.c - the mail applet's PURE parts under libFuzzer: the input is
 * an mbox, indexed whole and in pieces (the two indexes must agree, every
 * offset inside the input and in order); each message's From_ line and
 * header go through the summary parser, the summary line and the reply
 * header builder, and its content through mboxrd unescaping (never more
 * output than input) and escaping (never less). Invariants violated trap.
 */
#include "cmd_mail.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static void
count_put(void *ctx, const char *p, size_t n)
{
	(void)p;
	*(size_t *)ctx += n;
}

static void
one(const char *in, const struct mail_msg *m, size_t size)
{
	struct mail_summary s;
	struct mail_unesc u;
	char line[512], out[4096], to[256], subj[256];
	size_t got = 0, hn;
	int n;

	CHECK(m->start < m->hdr || m->hdr == size);
	CHECK(m->hdr <= m->cend && m->cend <= m->end && m->end <= size);
	hn = (size_t)(m->cend - m->hdr);
	mail_summary_parse(in + m->start, (size_t)(m->hdr - m->start),
	                   in + m->hdr, hn, &s);
	for (const char *p = s.from; *p; p++)
		CHECK(*p >= ' ' && *p < 0x7f);
	for (const char *p = s.subject; *p; p++)
		CHECK(*p >= ' ' && *p < 0x7f);
	mail_summary_line(line, sizeof line, 1, 'N', 1, &s, m->lines,
	                  m->end - m->start, MAIL_COLS);
	CHECK(strlen(line) < MAIL_COLS);
	n = mail_reply_header(in + m->start, (size_t)(m->hdr - m->start),
	                      in + m->hdr, hn, out, sizeof out, to, sizeof to,
	                      subj, sizeof subj);
	CHECK(n < 0 || (size_t)n < sizeof out);
	mail_unesc_init(&u);
	mail_unesc_feed(&u, in + m->hdr, hn, count_put, &got);
	mail_unesc_end(&u, count_put, &got);
	CHECK(got <= hn);
	got = 0;
	mail_esc_init(&u);
	mail_unesc_feed(&u, in + m->hdr, hn, count_put, &got);
	mail_unesc_end(&u, count_put, &got);
	CHECK(got >= hn);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct mail_index a, b;
	struct mail_scan s;
	enum mail_scan_err ea, eb;

	mail_index_init(&a, 64);
	mail_scan_init(&s, &a);
	mail_scan_feed(&s, in, size);
	ea = mail_scan_end(&s);
	mail_index_init(&b, 64);
	mail_scan_init(&s, &b);
	for (size_t i = 0; i < size; i += 3)
		mail_scan_feed(&s, in + i, size - i < 3 ? size - i : 3);
	eb = mail_scan_end(&s);
	CHECK(ea == eb && a.n == b.n && a.end == b.end && a.over == b.over);
	CHECK(a.end <= size);
	for (size_t i = 0; ea == MAIL_SCAN_OK && i < a.n; i++) {
		CHECK(memcmp(&a.v[i], &b.v[i], sizeof a.v[i]) == 0);
		CHECK(i == 0 || a.v[i].start == a.v[i - 1].end);
		one(in, &a.v[i], size);
	}
	mail_index_free(&a);
	mail_index_free(&b);
	return 0;
}
