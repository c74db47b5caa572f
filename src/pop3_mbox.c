/*
 * pop3_mbox.c - the mbox index scanner and the RETR/TOP renderer (see
 * pop3_mbox.h). PURE. Both work a byte at a time so that lines of any
 * length cost no memory; what they must hold to decide a line's fate (the
 * start of a possible "From " or ">From ") is at most five bytes.
 */
#include "pop3_mbox.h"

#include <string.h>

static const char FROM[] = "From ";

/* ---- the scanner ---- */

void
pop3_scan_init(struct pop3_scan *s, pop3_scan_fn emit, void *arg)
{
	memset(s, 0, sizeof *s);
	s->emit = emit;
	s->arg = arg;
	s->bol = 1;
}

static void
hash(struct pop3_scan *s, char c)
{
	s->cur.hash = (s->cur.hash ^ (unsigned char)c) * POP3_FNV_PRIME;
}

/* A blank line held back is content after all: count it. */
static void
confirm_blank(struct pop3_scan *s)
{
	if (!s->pend_blank)
		return;
	s->pend_blank = 0;
	hash(s, '\n');
	s->cur.size += 2;
}

/* One byte of the current line that is not its LF. */
static void
account(struct pop3_scan *s, char c)
{
	s->nonblank = 1;
	if (!s->in_msg)
		return;
	confirm_blank(s);
	hash(s, c);
	if (!s->from_line)
		s->cur.size++;
}

static void
flush_held(struct pop3_scan *s)
{
	for (unsigned i = 0; i < s->nheld; i++)
		account(s, s->held[i]);
	s->nheld = 0;
}

/* The current message ends where the held blank line (the separator) or
 * else the line at `at` starts. */
static int
finish(struct pop3_scan *s, uint64_t at)
{
	if (!s->in_msg)
		return 0;
	s->cur.end = s->pend_blank ? s->pend_off : at;
	s->pend_blank = 0;
	if (s->cur.end < s->cur.body)
		s->cur.end = s->cur.body;
	if (s->emit(s->arg, &s->cur) < 0) {
		s->stopped = 1;
		return -1;
	}
	return 0;
}

static int
from_line(struct pop3_scan *s)
{
	if (finish(s, s->line_start) < 0)
		return -1;
	memset(&s->cur, 0, sizeof s->cur);
	s->cur.start = s->line_start;
	s->cur.hash = POP3_FNV_OFFSET;
	s->in_msg = 1;
	s->from_line = 1;
	for (unsigned i = 0; i < s->nheld; i++)
		hash(s, s->held[i]);
	s->nheld = 0;
	return 0;
}

static void
end_line(struct pop3_scan *s)
{
	s->bol = 1;
	if (!s->in_msg)
		return;
	if (s->from_line) {
		hash(s, '\n');
		s->from_line = 0;
		s->cur.body = s->off + 1;
	} else if (!s->nonblank) {
		confirm_blank(s); /* the earlier blank line was content */
		s->pend_blank = 1;
		s->pend_off = s->line_start;
	} else {
		hash(s, '\n');
		s->cur.size += 2;
	}
}

/* Invariant: s->off is the offset of c; at a line start s->bol is set. */
static int
byte(struct pop3_scan *s, char c)
{
	if (s->bol) {
		s->bol = 0;
		s->line_start = s->off;
		s->prefix = 1;
		s->gt = s->match = s->nheld = 0;
		s->nonblank = 0;
	}
	if (s->prefix) {
		if (c == '>' && s->match == 0) {
			s->gt++;
			account(s, c);
			return 0;
		}
		if (c == FROM[s->match]) {
			s->match++;
			if (s->gt == 0)
				s->held[s->nheld++] = c;
			else
				account(s, c);
			if (s->match < 5)
				return 0;
			s->prefix = 0;
			if (s->gt == 0)
				return from_line(s);
			if (s->in_msg && !s->from_line)
				s->cur.size--; /* ">From ": one '>' less */
			return 0;
		}
		s->prefix = 0;
		flush_held(s);
	}
	if (c == '\n')
		end_line(s);
	else
		account(s, c);
	return 0;
}

/* The middle of a line, up to (not including) its LF: only the hash
 * and the size change. The fast path of pop3_scan_feed. */
static void
account_run(struct pop3_scan *s, const char *p, size_t n)
{
	uint64_t h;

	s->nonblank = 1;
	if (!s->in_msg)
		return;
	confirm_blank(s);
	h = s->cur.hash;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * POP3_FNV_PRIME;
	s->cur.hash = h;
	if (!s->from_line)
		s->cur.size += n;
}

int
pop3_scan_feed(struct pop3_scan *s, const char *p, size_t len)
{
	size_t i = 0;

	if (s->stopped)
		return -1;
	/* Invariant: p[0..i) is consumed and s->off is the offset of p[i]. */
	while (i < len) {
		if (!s->bol && !s->prefix) {
			const char *lf = memchr(p + i, '\n', len - i);
			size_t run = lf ? (size_t)(lf - (p + i)) : len - i;

			if (run > 0) {
				account_run(s, p + i, run);
				i += run;
				s->off += run;
				continue;
			}
		}
		if (byte(s, p[i]) < 0)
			return -1;
		i++;
		s->off++;
	}
	return 0;
}

int
pop3_scan_end(struct pop3_scan *s)
{
	if (s->stopped)
		return -1;
	if (!s->bol) {
		flush_held(s);
		/* A last line without LF: RETR sends it with CRLF. */
		if (s->in_msg && !s->from_line && s->nonblank)
			s->cur.size += 2;
		if (s->in_msg && s->from_line)
			s->cur.body = s->off;
	}
	return finish(s, s->off);
}

/* ---- the renderer ---- */

void
pop3_render_init(struct pop3_render *r, int unescape, int64_t top_lines)
{
	memset(r, 0, sizeof *r);
	r->unescape = unescape;
	r->top_lines = top_lines;
	r->in_hdr = 1;
	r->bol = 1;
}

/* Write what the line start held (a '>' and part of "From "). */
static size_t
put_held(struct pop3_render *r, char *out)
{
	size_t n = 0;

	if (r->held_gt)
		out[n++] = '>';
	for (unsigned i = 0; i < r->match; i++)
		out[n++] = FROM[i];
	r->held_gt = 0;
	r->match = 0;
	return n;
}

/* A line is complete: header/body bookkeeping for TOP. */
static void
line_done(struct pop3_render *r)
{
	r->out_lines++;
	if (r->in_hdr) {
		if (!r->nonblank)
			r->in_hdr = 0; /* the blank line ends the header */
	} else if (r->top_lines > 0) {
		r->top_lines--;
	}
	if (!r->in_hdr && r->top_lines == 0)
		r->done = 1;
	r->bol = 1;
	r->nonblank = 0;
}

/* One input byte into out (room for POP3_RENDER_SLACK). */
static size_t
render_byte(struct pop3_render *r, char c, char *out)
{
	size_t n = 0;

	if (r->bol) {
		r->bol = 0;
		if (c == '.')
			out[n++] = '.'; /* byte-stuffing */
		if (r->unescape && c == '>') {
			r->held_gt = 1; /* maybe the '>' to remove */
			r->nonblank = 1;
			return n;
		}
		if (!r->unescape)
			r->match = 5; /* nothing to look for on this line */
	}
	if (r->match < 5 && r->held_gt && c == '>' && r->match == 0) {
		out[n++] = '>'; /* later '>' are kept; one stays held */
		return n;
	}
	if (r->match < 5 && r->held_gt && c == FROM[r->match]) {
		if (++r->match == 5) {
			r->held_gt = 0; /* ">+From ": one '>' removed */
			memcpy(out + n, FROM, 5);
			n += 5;
		}
		return n;
	}
	if (r->match < 5) {
		n += put_held(r, out + n);
		r->match = 5;
	}
	if (c == '\n') {
		out[n++] = '\r';
		out[n++] = '\n';
		line_done(r);
		r->match = 0;
		return n;
	}
	r->nonblank = 1;
	out[n++] = c;
	return n;
}

size_t
pop3_render_feed(struct pop3_render *r, const char *in, size_t len, char *out,
                 size_t cap, size_t *outlen)
{
	size_t i = 0, o = 0;

	while (i < len && !r->done && cap - o >= POP3_RENDER_SLACK) {
		o += render_byte(r, in[i], out + o);
		i++;
	}
	*outlen = o;
	return i;
}

size_t
pop3_render_end(struct pop3_render *r, char *out, size_t cap)
{
	size_t n = 0;

	if (r->done || r->bol || cap < POP3_RENDER_SLACK)
		return 0;
	if (r->match < 5)
		n += put_held(r, out);
	out[n++] = '\r';
	out[n++] = '\n';
	line_done(r);
	return n;
}

uint64_t
pop3_wire_size(const char *p, size_t len, int *last_lf)
{
	uint64_t n = len;

	for (size_t i = 0; i < len; i++)
		n += p[i] == '\n';
	if (len)
		*last_lf = p[len - 1] == '\n';
	return n;
}
