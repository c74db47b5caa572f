/*
 * test_pop3.c - the pure parts of pop3d: the command parser
 * (pop3_cmd.c), the mbox index scanner and the RETR/TOP renderer
 * (pop3_mbox.c), on crafted input, fed whole and a byte at a time.
 */
#include "pop3_cmd.h"
#include "pop3_mbox.h"
#include "t.h"

#include <stdlib.h>

static void
test_parse(void)
{
	static const struct {
		const char *line;
		enum pop3_err err;
		enum pop3_verb verb;
		unsigned nargs;
		const char *a0, *a1;
	} v[] = {
	    {"USER alice\r\n", POP3_OK, POP3_USER, 1, "alice", NULL},
	    {"user alice\n", POP3_OK, POP3_USER, 1, "alice", NULL},
	    {"PASS pass with spaces\r\n", POP3_OK, POP3_PASS, 1,
	     "pass with spaces", NULL},
	    {"PASS  leading\r\n", POP3_OK, POP3_PASS, 1, " leading", NULL},
	    {"STAT\r\n", POP3_OK, POP3_STAT, 0, NULL, NULL},
	    {"StAt\r\n", POP3_OK, POP3_STAT, 0, NULL, NULL},
	    {"STAT 1\r\n", POP3_ERR_SYNTAX, POP3_STAT, 0, NULL, NULL},
	    {"LIST\r\n", POP3_OK, POP3_LIST, 0, NULL, NULL},
	    {"LIST 3\r\n", POP3_OK, POP3_LIST, 1, "3", NULL},
	    {"LIST 3 4\r\n", POP3_ERR_SYNTAX, POP3_LIST, 1, NULL, NULL},
	    {"LIST \r\n", POP3_ERR_SYNTAX, POP3_LIST, 0, NULL, NULL},
	    {"TOP 1 10\r\n", POP3_OK, POP3_TOP, 2, "1", "10"},
	    {"TOP 1\r\n", POP3_ERR_SYNTAX, POP3_TOP, 1, NULL, NULL},
	    {"TOP 1  10\r\n", POP3_ERR_SYNTAX, POP3_TOP, 1, NULL, NULL},
	    {"RETR 1\r\n", POP3_OK, POP3_RETR, 1, "1", NULL},
	    {"DELE 1\r\n", POP3_OK, POP3_DELE, 1, "1", NULL},
	    {"AUTH\r\n", POP3_OK, POP3_AUTH, 0, NULL, NULL},
	    {"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", POP3_OK, POP3_AUTH, 2,
	     "PLAIN", "AGFsaWNlAHNlY3JldA=="},
	    {"QUIT\r\n", POP3_OK, POP3_QUIT, 0, NULL, NULL},
	    {"STLS\r\n", POP3_OK, POP3_STLS, 0, NULL, NULL},
	    {"CAPA\r\n", POP3_OK, POP3_CAPA, 0, NULL, NULL},
	    {"APOP a b\r\n", POP3_ERR_UNKNOWN, POP3_NONE, 0, NULL, NULL},
	    {"\r\n", POP3_ERR_UNKNOWN, POP3_NONE, 0, NULL, NULL},
	    {"QU\r\n", POP3_ERR_UNKNOWN, POP3_NONE, 0, NULL, NULL},
	    {"QUITS\r\n", POP3_ERR_UNKNOWN, POP3_NONE, 0, NULL, NULL},
	    {" QUIT\r\n", POP3_ERR_UNKNOWN, POP3_NONE, 0, NULL, NULL},
	    {"USER a\tb\r\n", POP3_ERR_CHARS, POP3_NONE, 0, NULL, NULL},
	    {"USER 12345678901234567890123456789012345678901\r\n",
	     POP3_ERR_SYNTAX, POP3_USER, 0, NULL, NULL},
	    {"USER 1234567890123456789012345678901234567890\r\n", POP3_OK,
	     POP3_USER, 1, "1234567890123456789012345678901234567890", NULL},
	};
	char nul[] = "USER a\0b\r\n", big[POP3_LINE_MAX + 2];
	struct pop3_cmd c;

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		enum pop3_err e =
		    pop3_cmd_parse(v[i].line, strlen(v[i].line), &c);

		T_CHECK(e == v[i].err, "%s: err %d want %d", v[i].line, e,
		        v[i].err);
		if (e != POP3_OK)
			continue;
		T_CHECK(c.verb == v[i].verb && c.nargs == v[i].nargs,
		        "%s: verb %d nargs %u", v[i].line, c.verb, c.nargs);
		if (v[i].a0)
			T_CHECK(c.arglen[0] == strlen(v[i].a0) &&
			            memcmp(c.arg[0], v[i].a0, c.arglen[0]) == 0,
			        "%s: arg 0", v[i].line);
		if (v[i].a1)
			T_CHECK(c.arglen[1] == strlen(v[i].a1) &&
			            memcmp(c.arg[1], v[i].a1, c.arglen[1]) == 0,
			        "%s: arg 1", v[i].line);
	}
	T_CHECK(pop3_cmd_parse(nul, sizeof nul - 1, &c) == POP3_ERR_CHARS,
	        "NUL in a line");
	memset(big, 'A', sizeof big);
	memcpy(big, "PASS ", 5);
	big[POP3_LINE_MAX - 2] = '\r';
	big[POP3_LINE_MAX - 1] = '\n';
	T_CHECK(pop3_cmd_parse(big, POP3_LINE_MAX, &c) == POP3_OK,
	        "255 octets with CRLF");
	big[POP3_LINE_MAX - 1] = 'A';
	big[POP3_LINE_MAX] = '\n';
	T_CHECK(pop3_cmd_parse(big, POP3_LINE_MAX + 1, &c) == POP3_ERR_TOO_LONG,
	        "256 octets");
}

static void
test_num(void)
{
	uint32_t n;

	T_CHECK(pop3_cmd_num("1", 1, &n) == 0 && n == 1, "1");
	T_CHECK(pop3_cmd_num("0", 1, &n) == 0 && n == 0, "0");
	T_CHECK(pop3_cmd_num("999999999", 9, &n) == 0 && n == 999999999,
	        "9 digits");
	T_CHECK(pop3_cmd_num("1234567890", 10, &n) < 0, "10 digits");
	T_CHECK(pop3_cmd_num("+1", 2, &n) < 0, "sign");
	T_CHECK(pop3_cmd_num("1a", 2, &n) < 0, "letter");
	T_CHECK(pop3_cmd_num("", 0, &n) < 0, "empty");
}

struct got {
	struct pop3_msg m[16];
	size_t n;
};

static int
collect(void *arg, const struct pop3_msg *m)
{
	struct got *g = arg;

	if (g->n < 16)
		g->m[g->n++] = *m;
	return 0;
}

static void
scan(const char *box, size_t len, int bytewise, struct got *g)
{
	struct pop3_scan s;

	memset(g, 0, sizeof *g);
	pop3_scan_init(&s, collect, g);
	if (bytewise)
		for (size_t i = 0; i < len; i++)
			pop3_scan_feed(&s, box + i, 1);
	else
		pop3_scan_feed(&s, box, len);
	pop3_scan_end(&s);
}

/* Render [from, to) of box fully (RETR, or TOP lines) in small steps. */
static void
render(const char *in, size_t len, int unescape, int64_t lines, char *out,
       size_t cap, size_t *olen)
{
	struct pop3_render r;
	size_t used = 0, n;

	pop3_render_init(&r, unescape, lines);
	*olen = 0;
	while (used < len && !r.done) {
		used += pop3_render_feed(&r, in + used, 1, out + *olen,
		                         cap - *olen, &n);
		*olen += n;
	}
	*olen += pop3_render_end(&r, out + *olen, cap - *olen);
	out[*olen] = '\0';
}

static const char BOX[] = "junk before\n"
                          "From a@x Sun Nov 29 16:45:08 2026\n"
                          "Subject: one\n"
                          "\n"
                          ">From quoted\n"
                          ".dot\n"
                          "\n"
                          "\n"
                          "From b@x Sun Nov 29 16:45:09 2026\n"
                          "Subject: two\n"
                          "\n"
                          ">>From twice\n"
                          ">Frog\n"
                          "last";

static void
test_scan(void)
{
	struct got g, h;
	char out[512];
	size_t olen;

	scan(BOX, sizeof BOX - 1, 0, &g);
	scan(BOX, sizeof BOX - 1, 1, &h);
	T_CHECK(g.n == 2, "two messages, got %zu", g.n);
	T_CHECK(h.n == g.n && memcmp(g.m, h.m, sizeof g.m[0] * g.n) == 0,
	        "byte at a time gives the same index");
	if (g.n != 2)
		return;
	T_CHECK(g.m[0].start == 12, "start %llu",
	        (unsigned long long)g.m[0].start);
	T_CHECK(g.m[0].body == 12 + 34, "body %llu",
	        (unsigned long long)g.m[0].body);
	/* Content: "Subject: one\n\n>From quoted\n.dot\n\n" (one of the two
	 * blank lines is the separator). */
	T_CHECK(g.m[0].end - g.m[0].body == 33, "end %llu",
	        (unsigned long long)(g.m[0].end - g.m[0].body));
	render(BOX + g.m[0].body, g.m[0].end - g.m[0].body, 1, -1, out,
	       sizeof out, &olen);
	T_STREQ(out, "Subject: one\r\n\r\nFrom quoted\r\n..dot\r\n\r\n",
	        "RETR 1");
	T_CHECK(g.m[0].size == strlen("Subject: one\r\n\r\nFrom quoted\r\n"
	                              ".dot\r\n\r\n"),
	        "size 1 %llu (without stuffing)",
	        (unsigned long long)g.m[0].size);
	render(BOX + g.m[1].body, g.m[1].end - g.m[1].body, 1, -1, out,
	       sizeof out, &olen);
	T_STREQ(out, "Subject: two\r\n\r\n>From twice\r\n>Frog\r\nlast\r\n",
	        "RETR 2: one '>' removed, last line without LF");
	T_CHECK(g.m[1].size == olen, "size 2 %llu vs %zu",
	        (unsigned long long)g.m[1].size, olen);
	T_CHECK(g.m[0].hash != g.m[1].hash, "hashes differ");
	render(BOX + g.m[1].body, g.m[1].end - g.m[1].body, 1, 1, out,
	       sizeof out, &olen);
	T_STREQ(out, "Subject: two\r\n\r\n>From twice\r\n", "TOP 2 1");
	render(BOX + g.m[1].body, g.m[1].end - g.m[1].body, 1, 0, out,
	       sizeof out, &olen);
	T_STREQ(out, "Subject: two\r\n\r\n", "TOP 2 0");
	render(">From x\n.\n", 10, 0, -1, out, sizeof out, &olen);
	T_STREQ(out, ">From x\r\n..\r\n", "Maildir: no unescaping");
}

static void
test_scan_edges(void)
{
	struct got g;
	static const char one[] = "From a Sun\nbody\n";
	static const char fromonly[] = "From a Sun";
	static const char blanks[] = "From a\n\n\n\nFrom b\nx\n";
	int lf = 1;

	scan("", 0, 0, &g);
	T_CHECK(g.n == 0, "empty mailbox");
	scan("no from line\n", 13, 0, &g);
	T_CHECK(g.n == 0, "junk only");
	scan(one, sizeof one - 1, 0, &g);
	T_CHECK(g.n == 1 && g.m[0].size == 6 && g.m[0].end == sizeof one - 1,
	        "no separator at the end");
	scan(fromonly, sizeof fromonly - 1, 0, &g);
	T_CHECK(g.n == 1 && g.m[0].size == 0 && g.m[0].body == g.m[0].end,
	        "a From_ line and nothing else");
	scan(blanks, sizeof blanks - 1, 1, &g);
	T_CHECK(g.n == 2 && g.m[0].size == 4,
	        "two blank lines kept, one "
	        "separator: %llu",
	        g.n ? (unsigned long long)g.m[0].size : 0);
	T_CHECK(pop3_wire_size("a\nb", 3, &lf) == 4 && !lf, "wire size");
	T_CHECK(pop3_wire_size("a\n", 2, &lf) == 3 && lf, "wire size LF");
}

/* Same content, same hash; a rewrite moves records but keeps bytes. */
static void
test_hash_stable(void)
{
	static const char a[] = "From a\nx\n\nFrom b\ny\n\nFrom c\nz\n\n";
	static const char b[] = "From a\nx\n\nFrom c\nz\n\n";
	struct got g, h;

	scan(a, sizeof a - 1, 0, &g);
	scan(b, sizeof b - 1, 0, &h);
	T_CHECK(g.n == 3 && h.n == 2, "counts");
	if (g.n == 3 && h.n == 2)
		T_CHECK(g.m[0].hash == h.m[0].hash &&
		            g.m[2].hash == h.m[1].hash,
		        "hashes survive a rewrite");
}

int
main(void)
{
	test_parse();
	test_num();
	test_scan();
	test_scan_edges();
	test_hash_stable();
	return T_DONE();
}
