/*
 * test_rewrite.c - address rewriting (rewrite.c, rewrite_header.c) against
 * real CDB tables built by map_build in a temporary directory: every
 * lookup rule of canonical(5)/generic(5), masquerade_domains with "!"
 * exceptions and masquerade_exceptions, tinymta_sender_address, header
 * fields with display names, comments, groups and folding, unparsable
 * fields passed unchanged, buffer limits, an unreadable table.
 */
#include "header.h"
#include "map_build.h"
#include "rewrite.h"
#include "t.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test_rewrite.XXXXXX";
static struct conf_problems *ps;

static void
write_map(const char *name, const char *text)
{
	char path[256], spec[300], err[MAP_ERR_MAX];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	snprintf(spec, sizeof spec, "cdb:%s", path);
	if (map_build(spec, MAP_SYNTAX_POSTMAP, 0, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "%s: %s\n", path, err);
		exit(1);
	}
}

static struct conf *
new_conf(const char *const *kv)
{
	struct conf *c = conf_new(dir);
	static const char *const base[] = {"myhostname",
	                                   "router.lan",
	                                   "mydomain",
	                                   "lan",
	                                   "myorigin",
	                                   "$myhostname",
	                                   "mydestination",
	                                   "$myhostname, localhost",
	                                   NULL};

	for (size_t i = 0; base[i]; i += 2)
		conf_set(c, base[i], base[i + 1], ps);
	for (size_t i = 0; kv && kv[i]; i += 2)
		T_CHECK(conf_set(c, kv[i], kv[i + 1], ps) == 0, "set %s",
		        kv[i]);
	return c;
}

static char mapspec[3][300];

static void
check_addr(struct conf *c, enum rewrite_where w, const char *in,
           const char *want, int want_r)
{
	char out[1100], why[300];
	int r = rewrite_addr(c, w, in, out, sizeof out, why, sizeof why);

	T_CHECK(r == want_r, "%s: returned %d, want %d (%s)", in, r, want_r,
	        why);
	T_STREQ(out, want, in);
}

static void
test_canonical(void)
{
	const char *kv[] = {"sender_canonical_maps",
	                    mapspec[0],
	                    "recipient_canonical_maps",
	                    mapspec[1],
	                    "recipient_delimiter",
	                    "+",
	                    NULL};
	struct conf *c = new_conf(kv);

	/* user@domain first */
	check_addr(c, RW_ENTRY_SENDER, "alice@router.lan",
	           "a.smith@example.com", 1);
	/* user only for local domains: $myorigin, $mydestination, bare */
	check_addr(c, RW_ENTRY_SENDER, "root@localhost", "admin@example.com",
	           1);
	check_addr(c, RW_ENTRY_SENDER, "root", "admin@example.com", 1);
	check_addr(c, RW_ENTRY_SENDER, "root@other.org", "root@other.org", 0);
	/* @domain: a result "@x" replaces only the domain */
	check_addr(c, RW_ENTRY_SENDER, "bob@old.example", "bob@new.example", 1);
	check_addr(c, RW_ENTRY_SENDER, "Bob.X@OLD.example", "Bob.X@new.example",
	           1);
	/* @domain with a whole address as result */
	check_addr(c, RW_ENTRY_SENDER, "any@catch.example", "all@example.com",
	           1);
	/* user@domain wins over @domain */
	check_addr(c, RW_ENTRY_SENDER, "special@old.example", "sp@example.net",
	           1);
	/* user wins over @domain for a local domain */
	check_addr(c, RW_ENTRY_SENDER, "nobody@router.lan", "nobody@void.lan",
	           1);
	/* extensions: user+ext@domain, then user@domain with +ext kept */
	check_addr(c, RW_ENTRY_SENDER, "alice+lists@router.lan",
	           "a.smith+lists@example.com", 1);
	check_addr(c, RW_ENTRY_SENDER, "alice+exact@router.lan",
	           "exact@example.com", 1);
	check_addr(c, RW_ENTRY_SENDER, "root+x", "admin+x@example.com", 1);
	/* the null sender never changes; garbage passes */
	check_addr(c, RW_ENTRY_SENDER, "", "", 0);
	check_addr(c, RW_ENTRY_SENDER, "a b@@x", "a b@@x", 0);
	/* the sender table is not used for recipients and vice versa */
	check_addr(c, RW_ENTRY_RCPT, "alice@router.lan", "alice@router.lan", 0);
	check_addr(c, RW_ENTRY_RCPT, "info@router.lan", "ops@example.com", 1);
	check_addr(c, RW_ENTRY_RCPT, "quoted", "\"a b\"@example.com", 1);
	check_addr(c, RW_ENTRY_SENDER, "info@router.lan",
	           "nobody@wrong.example", 1);
	/* case of the key does not matter; quoted local parts */
	check_addr(c, RW_ENTRY_SENDER, "ALICE@Router.LAN",
	           "a.smith@example.com", 1);
	check_addr(c, RW_ENTRY_SENDER, "\"a b\"@old.example",
	           "\"a b\"@new.example", 1);
	/* a bad table result defers */
	char out[300], why[300];
	T_CHECK(rewrite_addr(c, RW_ENTRY_SENDER, "broken@router.lan", out,
	                     sizeof out, why, sizeof why) == -1,
	        "bad result");
	T_CHECK(strstr(why, "bad result") != NULL, "why: %s", why);
	T_STREQ(out, "broken@router.lan", "bad result leaves the address");
	/* out too small */
	T_CHECK(rewrite_addr(c, RW_ENTRY_SENDER, "alice@router.lan", out, 10,
	                     why, sizeof why) == -1,
	        "short out");
	T_CHECK(rewrite_addr(c, RW_ENTRY_SENDER, "alice@r.lan", out, 12, why,
	                     sizeof why) == 0,
	        "exact fit");
	T_CHECK(rewrite_addr(c, RW_ENTRY_SENDER, "alice@router.lan", out, 17,
	                     why, sizeof why) == -1,
	        "result does not fit");
	T_STREQ(out, "alice@router.lan", "unchanged after overflow");
	conf_free(c);
}

static void
test_masquerade(void)
{
	const char *kv[] = {"masquerade_domains",
	                    "!dev.example.com, example.com, lan",
	                    "masquerade_exceptions", "root", NULL};
	struct conf *c = new_conf(kv);

	check_addr(c, RW_ENTRY_SENDER, "joe@host.example.com",
	           "joe@example.com", 1);
	check_addr(c, RW_ENTRY_SENDER, "joe@a.b.EXAMPLE.com", "joe@example.com",
	           1);
	check_addr(c, RW_ENTRY_SENDER, "joe@example.com", "joe@example.com", 0);
	check_addr(c, RW_ENTRY_SENDER, "joe@host.dev.example.com",
	           "joe@host.dev.example.com", 0);
	check_addr(c, RW_ENTRY_SENDER, "joe@dev.example.com",
	           "joe@dev.example.com", 0);
	check_addr(c, RW_ENTRY_SENDER, "joe@notexample.com",
	           "joe@notexample.com", 0);
	check_addr(c, RW_ENTRY_SENDER, "joe@router.lan", "joe@lan", 1);
	check_addr(c, RW_ENTRY_SENDER, "root@router.lan", "root@router.lan", 0);
	check_addr(c, RW_ENTRY_SENDER, "joe", "joe", 0);
	/* not for envelope recipients (Postfix's masquerade_classes) */
	check_addr(c, RW_ENTRY_RCPT, "joe@host.example.com",
	           "joe@host.example.com", 0);
	conf_free(c);
}

static void
test_generic(void)
{
	const char *kv[] = {"smtp_generic_maps", mapspec[2], NULL};
	const char *kv2[] = {"smtp_generic_maps", mapspec[2],
	                     "tinymta_sender_address", "box@isp.example", NULL};
	struct conf *c = new_conf(kv), *c2;

	check_addr(c, RW_OUT_SENDER, "root@router.lan", "router@isp.example",
	           1);
	check_addr(c, RW_OUT_SENDER, "root", "router@isp.example", 1);
	check_addr(c, RW_OUT_RCPT, "joe@router.lan", "joe@isp.example", 1);
	check_addr(c, RW_OUT_RCPT, "joe@far.example", "joe@far.example", 0);
	check_addr(c, RW_OUT_SENDER, "", "", 0);
	/* no canonical tables when relaying out */
	check_addr(c, RW_ENTRY_SENDER, "root@router.lan", "root@router.lan", 0);
	c2 = new_conf(kv2);
	check_addr(c2, RW_OUT_SENDER, "root@router.lan", "box@isp.example", 1);
	check_addr(c2, RW_OUT_SENDER, "joe@far.example", "box@isp.example", 1);
	check_addr(c2, RW_OUT_SENDER, "box@isp.example", "box@isp.example", 0);
	check_addr(c2, RW_OUT_SENDER, "", "", 0);
	check_addr(c2, RW_OUT_RCPT, "root@router.lan", "router@isp.example", 1);
	conf_free(c);
	conf_free(c2);
}

/* Run the fields of hdr (one after another) through rewrite_header and
 * rewrite_header_end; return the new header in out. */
static int
run_header(struct conf *c, int outflag, const char *hdr, char *out, size_t cap,
           struct rewrite_hdr *st)
{
	struct header_field f;
	size_t pos = 0, errpos, len = strlen(hdr), o = 0;
	char buf[4096];

	rewrite_hdr_init(st, outflag);
	while (header_next(hdr, len, &pos, &f, &errpos) == HEADER_OK) {
		ssize_t n = rewrite_header(c, st, hdr + f.start,
		                           f.end - f.start, buf, sizeof buf);

		if (n < 0) {
			if (st->map_err)
				return -1;
			memcpy(buf, hdr + f.start, f.end - f.start);
			n = (ssize_t)(f.end - f.start);
		}
		if (o + (size_t)n >= cap)
			return -1;
		memcpy(out + o, buf, (size_t)n);
		o += (size_t)n;
	}
	ssize_t n = rewrite_header_end(c, st, out + o, cap - o);
	if (n < 0)
		return -1;
	o += (size_t)n;
	out[o] = '\0';
	return 0;
}

static void
check_hdr(struct conf *c, int outflag, const char *in, const char *want)
{
	struct rewrite_hdr st;
	char out[8192];

	T_CHECK(run_header(c, outflag, in, out, sizeof out, &st) == 0, "%s",
	        in);
	T_STREQ(out, want, in);
}

static void
test_headers_entry(void)
{
	const char *kv[] = {"sender_canonical_maps",
	                    mapspec[0],
	                    "recipient_canonical_maps",
	                    mapspec[1],
	                    "masquerade_domains",
	                    "example.org",
	                    NULL};
	struct conf *c = new_conf(kv);

	check_hdr(c, 0, "From: Alice Smith <alice@router.lan>\n",
	          "From: Alice Smith <a.smith@example.com>\n");
	check_hdr(c, 0, "From: alice@router.lan (Alice, \"the\" boss)\n",
	          "From: a.smith@example.com (Alice, \"the\" boss)\n");
	check_hdr(c, 0, "From: (c1) alice @ router.lan (c2)\n",
	          "From: (c1) a.smith@example.com (c2)\n");
	check_hdr(c, 0, "FROM:root\n", "FROM:admin@example.com\n");
	check_hdr(c, 0, "Sender: \"Root <x>\" <root@localhost>\n",
	          "Sender: \"Root <x>\" <admin@example.com>\n");
	/* recipient fields use the recipient table and masquerade */
	check_hdr(c, 0,
	          "To: info@router.lan, \"Al\" <alice@router.lan>,\n"
	          "\tjoe@mx.example.org\n",
	          "To: ops@example.com, \"Al\" <alice@router.lan>,\n"
	          "\tjoe@example.org\n");
	/* groups, empty groups, folding inside an angle address */
	check_hdr(c, 0, "Cc: team: info@router.lan, x@y.z;, undisclosed:;\n",
	          "Cc: team: ops@example.com, x@y.z;, undisclosed:;\n");
	check_hdr(c, 0, "Cc: A <info\n @router.lan>\n",
	          "Cc: A <ops@example.com>\n");
	check_hdr(c, 0, "Resent-From: bob@old.example\n",
	          "Resent-From: bob@new.example\n");
	/* other fields, and address fields without a match, unchanged */
	check_hdr(c, 0, "Subject: alice@router.lan\n",
	          "Subject: alice@router.lan\n");
	check_hdr(c, 0, "To: nobody@far.away\n", "To: nobody@far.away\n");
	/* unparsable fields pass unchanged */
	check_hdr(c, 0, "From: \"alice@router.lan\n",
	          "From: \"alice@router.lan\n");
	check_hdr(c, 0, "To: Info Desk info@router.lan\n",
	          "To: Info Desk info@router.lan\n");
	check_hdr(c, 0, "To: <info@router.lan\n", "To: <info@router.lan\n");
	check_hdr(c, 0, "To: a@b (unclosed, info@router.lan\n",
	          "To: a@b (unclosed, info@router.lan\n");
	/* a mailbox addr.c refuses is left alone, the others rewritten */
	check_hdr(c, 0, "To: <a..b@@x>, info@router.lan\n",
	          "To: <a..b@@x>, ops@example.com\n");
	/* CRLF line ends are kept */
	check_hdr(c, 0, "From: alice@router.lan\r\n",
	          "From: a.smith@example.com\r\n");
	/* at entry, no Reply-To is added */
	check_hdr(c, 0, "From: root\nSubject: x\n",
	          "From: admin@example.com\nSubject: x\n");
	conf_free(c);
}

static void
test_headers_out(void)
{
	const char *kv[] = {"smtp_generic_maps", mapspec[2],
	                    "tinymta_sender_address", "box@isp.example", NULL};
	const char *kv2[] = {"smtp_generic_maps", mapspec[2], NULL};
	struct conf *c = new_conf(kv), *c2 = new_conf(kv2);
	struct rewrite_hdr st;
	char out[8192];

	/* a local From becomes the sender address; Reply-To added */
	check_hdr(c, 1,
	          "From: Router <root@router.lan>\nTo: joe@router.lan\n"
	          "Subject: hi\n",
	          "From: Router <box@isp.example>\nTo: joe@isp.example\n"
	          "Subject: hi\nReply-To: Router <root@router.lan>\n");
	check_hdr(c, 1, "From: root (the\n admin)\n",
	          "From: box@isp.example (the\n admin)\n"
	          "Reply-To: root (the admin)\n");
	/* an existing Reply-To is kept, before or after From */
	check_hdr(c, 1, "Reply-To: me@far.example\nFrom: root@localhost\n",
	          "Reply-To: me@far.example\nFrom: box@isp.example\n");
	check_hdr(c, 1, "From: root@localhost\nreply-to: me@far.example\n",
	          "From: box@isp.example\nreply-to: me@far.example\n");
	/* a non-local From is left (generic maps only) */
	check_hdr(c, 1, "From: Joe <joe@far.example>\n",
	          "From: Joe <joe@far.example>\n");
	/* without tinymta_sender_address: generic maps on From too */
	check_hdr(c2, 1, "From: Router <root@router.lan>\n",
	          "From: Router <router@isp.example>\n");
	/* a From that cannot be parsed passes; no Reply-To */
	T_CHECK(run_header(c, 1, "From: <root@router.lan\n", out, sizeof out,
	                   &st) == 0,
	        "bad from");
	T_STREQ(out, "From: <root@router.lan\n", "bad from unchanged");
	T_CHECK(!st.from_replaced, "bad from not replaced");
	/* limits: output too small gives -1, the caller keeps the field */
	rewrite_hdr_init(&st, 1);
	const char *f = "From: root@router.lan\n";
	T_CHECK(rewrite_header(c, &st, f, strlen(f), out, 10) == -1 &&
	            !st.map_err && !st.from_replaced,
	        "small out");
	T_CHECK(rewrite_header(c, &st, "Subject: x\n", 11, out, 11) == 11,
	        "exact copy");
	T_CHECK(rewrite_header(c, &st, "Subject: x\n", 11, out, 10) == -1,
	        "copy too small");
	T_CHECK(rewrite_header(c, &st, "no colon\n", 9, out, 100) == -1,
	        "not a field");
	T_CHECK(rewrite_header(c, &st, "A: b\nC: d\n", 10, out, 100) == -1,
	        "two fields");
	T_CHECK(rewrite_header_end(c, &st, out, 100) == 0, "nothing to add");
	rewrite_hdr_init(&st, 1);
	T_CHECK(rewrite_header(c, &st, f, strlen(f), out, 100) > 0 &&
	            st.from_replaced,
	        "replaced");
	T_CHECK(rewrite_header_end(c, &st, out, 5) == -1, "end too small");
	conf_free(c);
	conf_free(c2);
}

static void
test_unreadable(void)
{
	char spec[300], path[300], out[300], why[300];
	const char *kv[] = {"sender_canonical_maps", spec, NULL};
	struct conf *c;
	struct rewrite_hdr st;
	FILE *f;

	/* a corrupt table: the caller must defer, never pass */
	snprintf(path, sizeof path, "%s/bad.cdb", dir);
	snprintf(spec, sizeof spec, "cdb:%s/bad", dir);
	f = fopen(path, "w");
	fputs("not a cdb", f);
	fclose(f);
	c = new_conf(kv);
	T_CHECK(rewrite_addr(c, RW_ENTRY_SENDER, "root@router.lan", out,
	                     sizeof out, why, sizeof why) == -1,
	        "corrupt map");
	T_CHECK(strstr(why, "sender_canonical_maps") != NULL, "why: %s", why);
	rewrite_hdr_init(&st, 0);
	const char *fld = "From: root\n";
	T_CHECK(rewrite_header(c, &st, fld, strlen(fld), out, sizeof out) ==
	                -1 &&
	            st.map_err && st.why[0],
	        "header map error");
	/* a table not built yet has no entries (as resolve.c) */
	conf_free(c);
	snprintf(spec, sizeof spec, "cdb:%s/never-built", dir);
	c = new_conf(kv);
	check_addr(c, RW_ENTRY_SENDER, "root@router.lan", "root@router.lan", 0);
	conf_free(c);
}

struct sink {
	char buf[16384];
	size_t len;
	int fail_after; /* emit fails once len passes this (0: never) */
};

static int
sink_emit(void *ctx, const void *p, size_t n)
{
	struct sink *k = ctx;

	if ((k->fail_after && k->len > (size_t)k->fail_after) ||
	    n > sizeof k->buf - 1 - k->len)
		return -1;
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	k->buf[k->len] = '\0';
	return 0;
}

/* A real queue file holding msg, streamed through rewrite_content. */
static int
stream(struct conf *c, int outflag, const char *msg, struct sink *k, char *why,
       size_t whylen)
{
	static struct qfile_writer w;
	struct qfile_reader r;
	char id[QFILE_ID_MAX], path[400], where[200];
	enum qfile_err err;
	int rc;

	if (qfile_create(&w, dir, 0) < 0 || qfile_put_sender(&w, "a@b.c") < 0 ||
	    qfile_put_rcpt(&w, "d@e.f", NULL, 0) < 0 ||
	    qfile_put_content(&w, msg, strlen(msg)) < 0 ||
	    qfile_commit(&w, id) < 0)
		return -9;
	snprintf(path, sizeof path, "%s/%s", dir, id);
	if (qfile_open(&r, path, 0, &err, where, sizeof where) < 0)
		return -9;
	rc = rewrite_content(c, outflag, &r, sink_emit, k, why, whylen);
	qfile_close(&r);
	unlink(path);
	return rc;
}

static void
test_stream(void)
{
	const char *kv[] = {"smtp_generic_maps", mapspec[2],
	                    "tinymta_sender_address", "box@isp.example", NULL};
	struct conf *c = new_conf(kv);
	static struct sink k;
	char why[300];

	/* relaying out: From replaced, Reply-To added at the header's end,
	 * the body untouched (it looks like a header but is not one) */
	k.len = 0;
	T_CHECK(stream(c, 1,
	               "From: Router <root@router.lan>\nTo: joe@router.lan\n"
	               "\nFrom: root@router.lan\n",
	               &k, why, sizeof why) == 0,
	        "stream out");
	T_STREQ(k.buf,
	        "From: Router <box@isp.example>\nTo: joe@isp.example\n"
	        "Reply-To: Router <root@router.lan>\n"
	        "\nFrom: root@router.lan\n",
	        "stream out result");
	/* a message without a body or final line end */
	k.len = 0;
	T_CHECK(stream(c, 1, "To: joe@router.lan", &k, why, sizeof why) == 0,
	        "no line end");
	T_STREQ(k.buf, "To: joe@isp.example", "no line end result");
	/* entry: no canonical tables set here, nothing changes */
	k.len = 0;
	T_CHECK(stream(c, 0, "From: root@router.lan\n\nx\n", &k, why,
	               sizeof why) == 0,
	        "stream entry");
	T_STREQ(k.buf, "From: root@router.lan\n\nx\n", "entry unchanged");
	/* emit failing stops the copy with -1 */
	k.len = 0;
	k.fail_after = 5;
	T_CHECK(stream(c, 1, "Subject: a\nSubject: b\n\nbody\n", &k, why,
	               sizeof why) == -1,
	        "emit failure");
	k.fail_after = 0;
	conf_free(c);
	/* a table that cannot be read: -2 and why */
	char spec[300], path[300];
	const char *kv2[] = {"smtp_generic_maps", spec, NULL};
	snprintf(spec, sizeof spec, "cdb:%s/bad", dir);
	snprintf(path, sizeof path, "%s/bad.cdb", dir);
	FILE *f = fopen(path, "w");
	fputs("junk", f);
	fclose(f);
	c = new_conf(kv2);
	k.len = 0;
	T_CHECK(stream(c, 1, "To: a@router.lan\n\n", &k, why, sizeof why) ==
	                -2 &&
	            strstr(why, "smtp_generic_maps"),
	        "stream map error: %s", why);
	conf_free(c);
}

int
main(void)
{
	if (!mkdtemp(dir) || !(ps = conf_problems_new())) {
		perror("mkdtemp");
		return 1;
	}
	write_map("sender", "alice@router.lan a.smith@example.com\n"
	                    "alice+exact@router.lan exact@example.com\n"
	                    "root admin@example.com\n"
	                    "nobody nobody@void.lan\n"
	                    "@old.example @new.example\n"
	                    "special@old.example sp@example.net\n"
	                    "@catch.example all@example.com\n"
	                    "@router.lan nobody@wrong.example\n"
	                    "broken@router.lan <<<\n");
	write_map("recipient", "info ops@example.com\n"
	                       "quoted \"a b\"@example.com\n");
	write_map("generic", "root@router.lan router@isp.example\n"
	                     "@router.lan @isp.example\n");
	snprintf(mapspec[0], sizeof mapspec[0], "cdb:%s/sender", dir);
	snprintf(mapspec[1], sizeof mapspec[1], "cdb:%s/recipient", dir);
	snprintf(mapspec[2], sizeof mapspec[2], "cdb:%s/generic", dir);
	test_canonical();
	test_masquerade();
	test_generic();
	test_headers_entry();
	test_headers_out();
	test_unreadable();
	test_stream();
	conf_problems_free(ps);
	return T_DONE();
}
