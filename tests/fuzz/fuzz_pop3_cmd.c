/*
 * fuzz_pop3_cmd.c - pop3d's pure parsers under libFuzzer: the input as a
 * command line (pop3_cmd_parse, pop3_cmd_num on its arguments) and as an
 * mbox (the index scanner fed whole and in uneven pieces, which must
 * agree; each message rendered for RETR and TOP, whose output must stay
 * within the renderer's bound and be the LIST size plus one octet per
 * byte-stuffed line).
 */
#include "pop3_cmd.h"
#include "pop3_mbox.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

#define MSGS 64

struct got {
	struct pop3_msg m[MSGS];
	size_t n;
};

static int
collect(void *arg, const struct pop3_msg *m)
{
	struct got *g = arg;

	if (g->n == MSGS)
		return -1;
	g->m[g->n++] = *m;
	return 0;
}

static void
command(const char *in, size_t size)
{
	struct pop3_cmd c;
	uint32_t n;

	if (pop3_cmd_parse(in, size, &c) != POP3_OK)
		return;
	CHECK(size <= POP3_LINE_MAX);
	CHECK(c.verb > POP3_NONE && c.verb < POP3_VERB_N);
	CHECK(c.nargs <= 2);
	for (unsigned i = 0; i < c.nargs; i++) {
		CHECK(c.arg[i] >= in && c.arg[i] + c.arglen[i] <= in + size);
		CHECK(c.arglen[i] > 0);
		CHECK(memchr(c.arg[i], '\n', c.arglen[i]) == NULL);
		if (pop3_cmd_num(c.arg[i], c.arglen[i], &n) == 0)
			CHECK(n <= 999999999);
	}
}

/* Render one message in pieces of 7 bytes into a small buffer. */
static uint64_t
render(const char *in, size_t len, int64_t lines)
{
	struct pop3_render r;
	char out[POP3_RENDER_SLACK * 2];
	size_t used = 0, n;
	uint64_t total = 0;

	pop3_render_init(&r, 1, lines);
	while (used < len && !r.done) {
		size_t k = len - used < 7 ? len - used : 7;
		size_t u =
		    pop3_render_feed(&r, in + used, k, out, sizeof out, &n);

		CHECK(n <= sizeof out);
		CHECK(u > 0 || r.done);
		used += u;
		total += n;
	}
	n = pop3_render_end(&r, out, sizeof out);
	CHECK(n <= sizeof out);
	return total + n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct pop3_scan s;
	struct got *a = calloc(2, sizeof *a);

	command(in, size);
	if (!a)
		return 0;
	pop3_scan_init(&s, collect, &a[0]);
	if (pop3_scan_feed(&s, in, size) == 0)
		pop3_scan_end(&s);
	pop3_scan_init(&s, collect, &a[1]);
	for (size_t i = 0, k = 1; i < size; i += k, k = k % 5 + 1)
		if (pop3_scan_feed(&s, in + i, size - i < k ? size - i : k) < 0)
			break;
	pop3_scan_end(&s);
	CHECK(a[0].n == a[1].n);
	CHECK(memcmp(a[0].m, a[1].m, a[0].n * sizeof a[0].m[0]) == 0);
	for (size_t i = 0; i < a[0].n; i++) {
		const struct pop3_msg *m = &a[0].m[i];
		uint64_t out, dots = 0, h = POP3_FNV_OFFSET;

		CHECK(m->start <= m->body && m->body <= m->end &&
		      m->end <= size);
		CHECK(i == 0 || a[0].m[i - 1].end <= m->start);
		for (uint64_t k = m->start; k < m->end; k++)
			h = (h ^ (unsigned char)in[k]) * POP3_FNV_PRIME;
		CHECK(h == m->hash); /* the hash covers exactly the record */
		for (uint64_t k = m->body; k < m->end; k++)
			dots +=
			    in[k] == '.' && (k == m->body || in[k - 1] == '\n');
		out = render(in + m->body, (size_t)(m->end - m->body), -1);
		/* RETR sends the LIST size plus one '.' per stuffed line. */
		CHECK(out == m->size + dots);
		render(in + m->body, (size_t)(m->end - m->body), 2);
	}
	free(a);
	return 0;
}
