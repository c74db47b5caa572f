/*
 * cmd_mail_index.c - the mail applet's PURE parts (see cmd_mail.h): the
 * bounded index of an mbox built from its bytes, From_ line detection,
 * mboxrd unescaping, and the 80-column summary line. No I/O, no globals,
 * no logging; the only allocation is the index, capped by ix->max.
 * The mailbox content is untrusted: every field is bounded and cleaned
 * before it reaches a terminal.
 */
#include "cmd_mail.h"
#include "header.h"
#include "util/str.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
mail_index_init(struct mail_index *ix, size_t max)
{
	memset(ix, 0, sizeof *ix);
	ix->max = max;
}

void
mail_index_free(struct mail_index *ix)
{
	free(ix->v);
	ix->v = NULL;
	ix->n = ix->cap = 0;
}

int
mail_is_from_line(const char *p, size_t n)
{
	return n >= 5 && memcmp(p, "From ", 5) == 0;
}

void
mail_scan_init(struct mail_scan *s, struct mail_index *ix)
{
	memset(s, 0, sizeof *s);
	s->ix = ix;
	s->bol = 1;
	ix->n = 0;
	ix->over = 0;
	ix->end = 0;
}

/* The previous message ends where the From_ line at s->line_start begins;
 * the empty line before it is the separator, not content. */
static void
close_last(struct mail_scan *s, uint64_t at, int sep)
{
	struct mail_msg *m;

	if (s->ix->n == 0)
		return;
	m = &s->ix->v[s->ix->n - 1];
	m->end = at;
	m->cend = at;
	/* the empty line just before at, when it is inside this message */
	if (sep && s->empty_at >= m->hdr && s->empty_at > m->start) {
		m->cend = s->empty_at;
		if (m->lines > 0)
			m->lines--;
	}
}

static void
new_message(struct mail_scan *s)
{
	struct mail_index *ix = s->ix;

	close_last(s, s->line_start, s->prev_empty);
	if (ix->n >= ix->max) {
		ix->over = 1;
		ix->end = s->line_start;
		s->done = 1;
		return;
	}
	if (ix->n == ix->cap) {
		size_t cap = ix->cap ? 2 * ix->cap : 64;
		struct mail_msg *v;

		if (cap > ix->max)
			cap = ix->max;
		v = realloc(ix->v, cap * sizeof *v);
		if (!v) {
			s->nomem = 1;
			s->done = 1;
			return;
		}
		ix->v = v;
		ix->cap = cap;
	}
	memset(&ix->v[ix->n], 0, sizeof ix->v[ix->n]);
	ix->v[ix->n].start = s->line_start;
	ix->v[ix->n].hdr = s->line_start; /* until the From_ line ends */
	ix->n++;
	s->want_hdr = 1;
	s->in_hdr = 0;
}

/* Classify the current line from its first bytes (s->head[0..hn)); eol:
 * the line ended within them. */
static void
decide(struct mail_scan *s, int eol)
{
	s->decided = 1;
	s->cur_empty = eol && s->hn == 0;
	if (mail_is_from_line(s->head, s->hn) &&
	    (s->line_start == 0 || s->prev_empty)) {
		new_message(s);
		return;
	}
	if (s->line_start == 0) {
		s->bad = 1;
		s->done = 1;
		return;
	}
	if (s->in_hdr && s->hn == MAIL_SCAN_HEAD &&
	    strncasecmp(s->head, "Status:", MAIL_SCAN_HEAD) == 0)
		s->status = 1;
}

/* A LF was consumed: the line is over. */
static void
line_end(struct mail_scan *s)
{
	struct mail_index *ix = s->ix;

	if (s->done)
		return;
	if (ix->n > 0)
		ix->v[ix->n - 1].lines++;
	if (s->want_hdr) {
		ix->v[ix->n - 1].hdr = s->off;
		s->want_hdr = 0;
		s->in_hdr = 1;
	} else if (s->cur_empty) {
		s->in_hdr = 0;
		s->empty_at = s->line_start;
	}
	s->prev_empty = s->cur_empty;
	s->bol = 1;
}

void
mail_scan_feed(struct mail_scan *s, const char *p, size_t n)
{
	size_t i = 0;

	/* loop invariant: s->off is the offset of p[i] */
	while (i < n && !s->done) {
		if (s->bol) {
			s->bol = 0;
			s->line_start = s->off;
			s->hn = 0;
			s->decided = s->status = s->cur_empty = 0;
		}
		if (!s->decided) {
			char c = p[i++];

			s->off++;
			if (c == '\n') {
				decide(s, 1);
				line_end(s);
				continue;
			}
			s->head[s->hn++] = c;
			if (s->hn == MAIL_SCAN_HEAD)
				decide(s, 0);
			continue;
		}
		const char *lf = memchr(p + i, '\n', n - i);
		size_t k = lf ? (size_t)(lf - (p + i)) + 1 : n - i;

		if (s->status && memchr(p + i, 'R', lf ? k - 1 : k))
			s->ix->v[s->ix->n - 1].flags |= MAIL_F_SEEN;
		i += k;
		s->off += k;
		if (lf)
			line_end(s);
	}
	if (i < n)
		s->off += n - i;
}

enum mail_scan_err
mail_scan_end(struct mail_scan *s)
{
	struct mail_index *ix = s->ix;

	if (!s->done && !s->bol && !s->decided)
		decide(s, 0); /* a short last line without LF */
	if (s->bad)
		return MAIL_SCAN_NOT_MBOX;
	if (s->nomem)
		return MAIL_SCAN_NOMEM;
	if (s->done) /* over max: ix->end was set there */
		return MAIL_SCAN_OK;
	if (!s->bol && ix->n > 0) {
		ix->v[ix->n - 1].lines++; /* the last line had no LF */
		if (s->want_hdr)
			ix->v[ix->n - 1].hdr = s->off;
	}
	close_last(s, s->off, s->bol && s->prev_empty);
	ix->end = s->off;
	return MAIL_SCAN_OK;
}

/* ---- mboxrd unescaping ---- */

void
mail_unesc_init(struct mail_unesc *u)
{
	u->escape = 0;
	u->bol = 1;
	u->gt = 0;
	u->from = 0;
}

static void
put_gts(size_t n, mail_put_fn put, void *ctx)
{
	static const char gts[] = ">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>";

	while (n > 0) {
		size_t k = n < sizeof gts - 1 ? n : sizeof gts - 1;

		put(ctx, gts, k);
		n -= k;
	}
}

/* The held '>'s and the part of "From " matched are not an escape. */
static void
release(struct mail_unesc *u, mail_put_fn put, void *ctx)
{
	put_gts(u->gt, put, ctx);
	if (u->from)
		put(ctx, "From ", u->from);
	u->gt = 0;
	u->from = 0;
}

void
mail_esc_init(struct mail_unesc *u)
{
	mail_unesc_init(u);
	u->escape = 1;
}

void
mail_unesc_feed(struct mail_unesc *u, const char *p, size_t n, mail_put_fn put,
                void *ctx)
{
	size_t i = 0;

	/* loop invariant: u->gt > 0 or u->from > 0 only while a line start
	 * may still be an escaped From_ line (u->bol stays 1 meanwhile) */
	while (i < n) {
		if (u->bol) {
			char c = p[i];

			if (u->from == 0 && c == '>') {
				u->gt++;
				i++;
				continue;
			}
			if ((u->gt > 0 || u->escape) && c == "From "[u->from]) {
				i++;
				if (++u->from < 5)
					continue;
				put_gts(u->escape ? u->gt + 1 : u->gt - 1, put,
				        ctx);
				put(ctx, "From ", 5);
				u->gt = 0;
				u->from = 0;
				u->bol = 0;
				continue;
			}
			release(u, put, ctx);
			u->bol = 0;
		}
		const char *lf = memchr(p + i, '\n', n - i);
		size_t k = lf ? (size_t)(lf - (p + i)) + 1 : n - i;

		put(ctx, p + i, k);
		i += k;
		u->bol = lf != NULL;
	}
}

void
mail_unesc_end(struct mail_unesc *u, mail_put_fn put, void *ctx)
{
	release(u, put, ctx);
	u->bol = 1;
}

/* ---- summary lines ---- */

/* mail_clean and mail_unfold: 8-bit bytes kept or made '?'. */
static void
clean(char *dst, size_t cap, const char *src, size_t n, int keep8)
{
	size_t o = 0;
	int space = 1; /* drop leading space */

	if (cap == 0)
		return;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (!space)
				dst[o++] = ' ';
			space = 1;
			continue;
		}
		dst[o++] = (c < 0x20 || c == 0x7f || (c > 0x7f && !keep8))
		               ? '?'
		               : (char)c;
		space = 0;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

void
mail_clean(char *dst, size_t cap, const char *src, size_t n)
{
	clean(dst, cap, src, n, 0);
}

void
mail_unfold(char *dst, size_t cap, const char *src, size_t n)
{
	clean(dst, cap, src, n, 1);
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The asctime-style date that ends a From_ line ("Sun Nov 29 16:45:08
 * 2026", optionally followed by more text we do not know): "Nov 29
 * 16:45". Tried at every position; 0 when found. */
static int
fromline_date(const char *fl, size_t n, char *out, size_t cap)
{
	static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (size_t i = 5; i + 24 <= n; i++) {
		const char *d = fl + i;

		if (d[3] != ' ' || d[7] != ' ' || d[10] != ' ' ||
		    d[13] != ':' || d[16] != ':' || d[19] != ' ' ||
		    !is_digit(d[9]) || !is_digit(d[11]) || !is_digit(d[12]) ||
		    !is_digit(d[14]) || !is_digit(d[15]))
			continue;
		for (size_t m = 0; m < 12; m++)
			if (memcmp(d + 4, mons + 3 * m, 3) == 0) {
				/* "Mmm dd hh:mm", checked above but d[8] */
				str_copy_n(out, cap, d + 4, 12);
				if (cap > 4 && !is_digit(out[4]))
					out[4] = ' ';
				return 0;
			}
	}
	return -1;
}

/* "[Day,] D Mon YYYY HH:MM[:SS] zone" (RFC 5322 3.3): "Mon D HH:MM". */
static int
field_date(const char *v, size_t n, char *out, size_t cap)
{
	char c[128], day[4] = "", mon[4] = "", hm[6] = "";
	const char *w[5];
	size_t nw = 0;
	char *p;

	mail_clean(c, sizeof c, v, n);
	p = strchr(c, ',');
	p = p ? p + 1 : c;
	while (nw < 5) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		w[nw++] = p;
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = '\0';
	}
	if (nw < 4 || strlen(w[0]) > 2 || strlen(w[1]) != 3 ||
	    strlen(w[3]) < 5 || w[3][2] != ':')
		return -1;
	str_copy(day, sizeof day, w[0]);
	str_copy(mon, sizeof mon, w[1]);
	str_copy_n(hm, sizeof hm, w[3], 5);
	snprintf(out, cap, "%s %2s %s", mon, day, hm);
	return 0;
}

/* The sender word of a From_ line. */
static void
fromline_sender(const char *fl, size_t n, char *out, size_t cap)
{
	size_t i = 5, j;

	while (i < n && fl[i] == ' ')
		i++;
	for (j = i; j < n && fl[j] != ' ' && fl[j] != '\n'; j++)
		;
	mail_clean(out, cap, fl + i, j - i);
}

/* The address (or, without one, the display name) of a From: value. */
static int
field_from(const char *v, size_t n, char *out, size_t cap)
{
	struct header_addr_iter it = {0};
	struct header_addr a;
	size_t epos;

	if (header_addr_next(v, n, &it, &a, &epos) != HEADER_OK)
		return -1;
	mail_clean(out, cap, a.addr, a.addr_len);
	return out[0] ? 0 : -1;
}

void
mail_summary_parse(const char *fl, size_t fln, const char *h, size_t hn,
                   struct mail_summary *s)
{
	struct header_field f;
	size_t pos = 0, epos;
	int have_from = 0, have_date = 0;

	memset(s, 0, sizeof *s);
	if (mail_is_from_line(fl, fln))
		have_date =
		    fromline_date(fl, fln, s->date, sizeof s->date) == 0;
	while (header_next(h, hn, &pos, &f, &epos) == HEADER_OK) {
		const char *v = h + f.value;
		size_t vn = f.value_end - f.value;

		if (!have_from && header_name_is(h, &f, "From"))
			have_from =
			    field_from(v, vn, s->from, sizeof s->from) == 0;
		else if (!have_date && header_name_is(h, &f, "Date"))
			have_date =
			    field_date(v, vn, s->date, sizeof s->date) == 0;
		else if (!s->subject[0] && header_name_is(h, &f, "Subject"))
			mail_clean(s->subject, sizeof s->subject, v, vn);
	}
	if (!have_from && mail_is_from_line(fl, fln))
		fromline_sender(fl, fln, s->from, sizeof s->from);
}

void
mail_summary_line(char *out, size_t cap, int cur, char status, size_t num,
                  const struct mail_summary *s, uint32_t lines, uint64_t size,
                  size_t cols)
{
	char ls[32];
	size_t room = cols > 1 ? cols - 1 : 0;

	snprintf(ls, sizeof ls, "%lu/%llu", (unsigned long)lines,
	         (unsigned long long)size);
	/* 1 + 1 + 4 + 1 + 20 + 1 + 12 + 1 + 9 + 2 = 52 columns before the
	 * subject: 27 are left for it on an 80-column console */
	snprintf(out, cap, "%c%c%4zu %-20.20s %-12.12s %9s  %s",
	         cur ? '>' : ' ', status, num, s->from, s->date, ls,
	         s->subject);
	if (room < cap && strlen(out) > room)
		out[room] = '\0';
}
