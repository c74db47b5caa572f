/*
 * test_smtp_data.c - the DATA state machine: dot-unstuffing, canonical
 * line ends, and every SMTP smuggling variant (none may end DATA). Each
 * case is fed whole and then byte by byte: both must agree.
 */
#include "smtp_data.h"
#include "t.h"

static const struct {
	const char *name;
	const char *in;
	int end;          /* SMTP_DATA_END expected */
	const char *out;  /* canonical content */
	size_t rest;      /* input bytes left after the end */
	unsigned bare_lf; /* bare LFs counted */
} cases[] = {
    {"simple", "a\r\nb\r\n.\r\n", 1, "a\nb\n", 0, 0},
    {"empty message", ".\r\n", 1, "", 0, 0},
    {"pipelined rest", "x\r\n.\r\nQUIT\r\n", 1, "x\n", 6, 0},
    {"dot stuffed", "..a\r\n..\r\n.\r\n", 1, ".a\n.\n", 0, 0},
    {"dot mid line", "a.b\r\n.\r\n", 1, "a.b\n", 0, 0},
    {"no end", "a\r\nb", 0, "a\nb", 0, 0},
    {"bare CR kept", "a\rb\r\n.\r\n", 1, "a\rb\n", 0, 0},
    {"CR CR LF", "a\r\r\n.\r\n", 1, "a\r\n", 0, 0},
    {"bare LF normalized", "a\nb\r\n.\r\n", 1, "a\nb\n", 0, 1},
    /* smuggling variants: none ends DATA */
    {"LF.LF", "a\n.\nb", 0, "a\n\nb", 0, 2},
    {"LF.CRLF", "a\n.\r\nb", 0, "a\n\nb", 0, 1},
    {"CRLF.LF", "a\r\n.\nb", 0, "a\n\nb", 0, 1},
    {"CR.CR", "a\r.\rb", 0, "a\r.\rb", 0, 0},
    {"CR.CRLF", "a\r.\r\nb", 0, "a\r.\nb", 0, 0},
    {"CRLF.CR", "a\r\n.\rb", 0, "a\n\rb", 0, 0},
    {"CRLF.CR.", "a\r\n.\r.\r\n", 0, "a\n\r.\n", 0, 0},
    {"LF.CR LF", "a\n.\r\n", 0, "a\n\n", 0, 1},
    {"CRLF. CRLF", "a\r\n. \r\n", 0, "a\n \n", 0, 0},
    {"CRLF.CRCRLF", "a\r\n.\r\r\n", 0, "a\n\r\n", 0, 0},
    {"smuggle then real end", "a\r\n.\nMAIL FROM:<x@y>\r\n.\r\nQUIT\r\n", 1,
     "a\n\nMAIL FROM:<x@y>\n", 6, 1},
    {"bare LF then dot CRLF then real", "a\n.\r\nb\r\n.\r\n", 1, "a\n\nb\n", 0,
     1},
    {"NUL kept", "a\0b\r\n.\r\n", 1, "a\0b\n", 0, 0},
};

static void
run(size_t k, int bytewise)
{
	unsigned char out[256];
	size_t inlen = 0, o = 0, pos = 0;
	struct smtp_data d;
	int end = 0;
	const char *in = cases[k].in;

	/* the inputs hold a NUL in one case: length from the table text */
	inlen = strlen(in);
	if (strcmp(cases[k].name, "NUL kept") == 0)
		inlen = 8;
	smtp_data_init(&d);
	while (pos < inlen && !end) {
		size_t n = bytewise ? 1 : inlen - pos, got, used;

		end = smtp_data_feed(&d, (const unsigned char *)in + pos, n,
		                     out + o, &got, &used) == SMTP_DATA_END;
		T_CHECK(got <= n + SMTP_DATA_SLACK, "%s: slack", cases[k].name);
		o += got;
		pos += used;
	}
	T_CHECK(end == cases[k].end, "%s (%s): end %d", cases[k].name,
	        bytewise ? "bytes" : "whole", end);
	T_CHECK(inlen - pos == cases[k].rest, "%s: rest %zu", cases[k].name,
	        inlen - pos);
	T_CHECK(d.bare_lf == cases[k].bare_lf, "%s: bare_lf %llu",
	        cases[k].name, (unsigned long long)d.bare_lf);
	T_CHECK(d.size == o, "%s: size", cases[k].name);
	size_t wl = strlen(cases[k].out);
	if (strcmp(cases[k].name, "NUL kept") == 0) {
		wl = 4;
		T_CHECK(d.nul == 1, "nul counted");
	}
	T_CHECK(o == wl && memcmp(out, cases[k].out, wl) == 0,
	        "%s (%s): output %.*s", cases[k].name,
	        bytewise ? "bytes" : "whole", (int)o, (const char *)out);
}

/* A long line in many pieces streams through unchanged. */
static void
test_long_line(void)
{
	static unsigned char in[100000], out[100000 + SMTP_DATA_SLACK];
	struct smtp_data d;
	size_t got, used, total = 0;

	memset(in, 'x', sizeof in);
	smtp_data_init(&d);
	for (int i = 0; i < 10; i++) {
		T_CHECK(smtp_data_feed(&d, in, sizeof in, out, &got, &used) ==
		            SMTP_DATA_MORE,
		        "long");
		total += got;
	}
	T_CHECK(total == 10 * sizeof in && d.size == total, "long size");
	T_CHECK(smtp_data_feed(&d, (const unsigned char *)"\r\n.\r\n", 5, out,
	                       &got, &used) == SMTP_DATA_END &&
	            got == 1 && out[0] == '\n',
	        "long end");
}

int
main(void)
{
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		run(k, 0);
		run(k, 1);
	}
	test_long_line();
	return T_DONE();
}
