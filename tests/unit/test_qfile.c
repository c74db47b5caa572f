/*
 * test_qfile.c - the queue file: writer/reader round trips (multi-chunk,
 * 8-bit and NUL content, 1000 recipients), in-place updates that keep the
 * checksum valid, every corruption class against the validating reader
 * (built by a small independent builder that follows
 * docs/queue-format.md), queue ID syntax, order and uniqueness across
 * processes.
 */
#include "qfile.h"
#include "queue.h"
#include "t.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tdir[256];

/* ---- helpers ---- */

static void
rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    snprintf(p, sizeof p, "%s/%s", dir, e->d_name) <
		        (int)sizeof p)
			unlink(p);
	closedir(d);
	rmdir(dir);
}

static size_t
count_files(const char *dir, int dotted)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    (e->d_name[0] == '.') == dotted)
			n++;
	closedir(d);
	return n;
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	p = malloc((size_t)st.st_size + 1);
	if (p && read(fd, p, (size_t)st.st_size) != st.st_size) {
		free(p);
		p = NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

static void
path_of(char *out, size_t cap, const char *id)
{
	if (snprintf(out, cap, "%s/%s", tdir, id) >= (int)cap)
		out[0] = '\0';
}

/* Deterministic content with every byte value, NULs and 8-bit included. */
static void
fill(unsigned char *p, size_t n, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (unsigned char)(i % 7 == 0 ? 0 : x >> 16);
	}
}

/* ---- an independent builder (docs/queue-format.md); m[] marks the
 * in-place bytes, which the checksum sees as zero ---- */

struct bld {
	unsigned char *p, *m;
	size_t len, cap;
};

static void
b_init(struct bld *b)
{
	b->cap = 1 << 20;
	b->p = calloc(1, b->cap);
	b->m = calloc(1, b->cap);
	b->len = 0;
}

static void
b_free(struct bld *b)
{
	free(b->p);
	free(b->m);
}

static void
b_put(struct bld *b, const void *data, size_t n, int inplace)
{
	if (b->len + n > b->cap)
		abort();
	memcpy(b->p + b->len, data, n);
	memset(b->m + b->len, inplace, n);
	b->len += n;
}

static void
b_le(struct bld *b, uint64_t v, int n, int inplace)
{
	unsigned char t[8];

	for (int i = 0; i < n; i++)
		t[i] = (unsigned char)(v >> (8 * i));
	b_put(b, t, (size_t)n, inplace);
}

static void
b_header(struct bld *b, unsigned version, unsigned hsize, uint32_t usec,
         uint32_t flags)
{
	b_put(b, "TMQF", 4, 0);
	b_le(b, version, 2, 0);
	b_le(b, hsize, 2, 0);
	b_le(b, 1700000000, 8, 0);
	b_le(b, usec, 4, 0);
	b_le(b, flags, 4, 0);
	b_le(b, 3, 4, 1);          /* attempts */
	b_le(b, 0, 4, 1);          /* reserved */
	b_le(b, 1700000600, 8, 1); /* next attempt */
	b_le(b, 1700000300, 8, 1); /* last attempt */
	b_le(b, 0, 8, 1);
	b_le(b, 0, 8, 1);
}

static void
b_rec(struct bld *b, int type, const void *payload, size_t len)
{
	b_le(b, (uint64_t)type, 1, 0);
	b_le(b, len, 4, 0);
	b_put(b, payload, len, 0);
}

static void
b_str(struct bld *b, int type, const char *s)
{
	b_rec(b, type, s, strlen(s));
}

static void
b_rcpt(struct bld *b, unsigned status, unsigned notify, const char *reason,
       size_t rlen_field, const char *addr, size_t alen, const char *orcpt)
{
	unsigned char r[QFILE_REASON_MAX] = {0};
	size_t olen = strlen(orcpt);

	memcpy(r, reason, strnlen(reason, sizeof r));
	b_le(b, 'R', 1, 0);
	b_le(b, QFILE_RCPT_FIXED + 2 + alen + olen, 4, 0);
	b_le(b, status, 1, 1);
	b_le(b, notify, 1, 0);
	b_le(b, rlen_field, 2, 1);
	b_put(b, r, sizeof r, 1);
	b_le(b, alen, 2, 0);
	b_put(b, addr, alen, 0);
	b_put(b, orcpt, olen, 0);
}

static void
b_end(struct bld *b)
{
	br_sha256_context c;
	unsigned char h[32];

	br_sha256_init(&c);
	for (size_t i = 0; i < b->len; i++) {
		unsigned char x = b->m[i] ? 0 : b->p[i];

		br_sha256_update(&c, &x, 1);
	}
	br_sha256_out(&c, h);
	b_rec(b, 'E', h, sizeof h);
}

/* A small valid file: one attribute, a sender, two recipients, content. */
static void
b_small(struct bld *b)
{
	b_init(b);
	b_header(b, 1, 64, 5, 0);
	b_str(b, 'A', "ret=hdrs");
	b_str(b, 'S', "alice@example.org");
	b_rcpt(b, QFILE_RCPT_DEFERRED, 6, "451 try later", 13,
	       "bob@example.com", 15, "rfc822;bob@example.com");
	b_rcpt(b, QFILE_RCPT_DELIVERED, 0, "", 0, "carol@example.com", 17, "");
	b_str(b, 'C', "Subject: hi\n\nhello\n");
	b_end(b);
}

static enum qfile_err
check(const struct bld *b, struct qfile_info *info, char *where, size_t cap)
{
	return qfile_check_mem(b->p, b->len, info, where, cap);
}

/* ---- writer/reader round trips ---- */

static int
write_msg(const char *dir, size_t nrcpt, const unsigned char *content,
          size_t clen, size_t piece, char id[QFILE_ID_MAX])
{
	static struct qfile_writer w;
	char addr[64];

	if (qfile_create(&w, dir, 0) < 0 ||
	    qfile_put_attr(&w, "ret", "full") < 0 ||
	    qfile_put_attr(&w, "fullname", "J\xc3\xb6rg \"Q\"\tX") < 0 ||
	    qfile_put_sender(&w, "sender@example.org") < 0)
		return -1;
	for (size_t i = 0; i < nrcpt; i++) {
		snprintf(addr, sizeof addr, "user%zu@example.com", i);
		if (qfile_put_rcpt(&w, addr, i % 2 ? "rfc822;o@x" : NULL,
		                   i % 3 == 0 ? QFILE_NOTIFY_NEVER
		                              : QFILE_NOTIFY_FAILURE) < 0)
			return -1;
	}
	for (size_t o = 0; o < clen; o += piece)
		if (qfile_put_content(&w, content + o,
		                      clen - o < piece ? clen - o : piece) < 0)
			return -1;
	return qfile_commit(&w, id);
}

static void
check_content(struct qfile_reader *r, const unsigned char *want, size_t len,
              size_t cap, const char *ctx)
{
	unsigned char *got = malloc(len + 1), buf[70000];
	size_t have = 0;
	ssize_t n;

	qfile_content_rewind(r);
	while ((n = qfile_content_read(r, buf, cap)) > 0) {
		if (have + (size_t)n > len)
			break;
		memcpy(got + have, buf, (size_t)n);
		have += (size_t)n;
	}
	T_CHECK(n == 0, "%s: read ends with %zd (%s)", ctx, n, strerror(errno));
	T_CHECK(have == len && memcmp(got, want, len) == 0,
	        "%s: content differs (%zu of %zu bytes)", ctx, have, len);
	free(got);
}

static void
test_roundtrip_one(size_t clen, size_t piece, size_t nrcpt)
{
	unsigned char *content = malloc(clen + 1);
	char id[QFILE_ID_MAX], path[512], ctx[80], n[80], v[2048];
	struct qfile_reader r;
	struct qfile_rcpt rc;
	enum qfile_err e;
	int ok = 1;

	snprintf(ctx, sizeof ctx, "roundtrip %zu bytes/%zu rcpts", clen, nrcpt);
	fill(content, clen, (unsigned)clen);
	T_CHECK(write_msg(tdir, nrcpt, content, clen, piece, id) == 0,
	        "%s: write: %s", ctx, strerror(errno));
	T_CHECK(qfile_id_valid(id), "%s: id %s", ctx, id);
	T_CHECK(count_files(tdir, 1) == 0, "%s: temporary file left", ctx);
	path_of(path, sizeof path, id);
	{
		struct stat st;

		T_CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
		        "%s: mode 0600 in our own directory", ctx);
	}
	T_CHECK(qfile_open(&r, path, 0, &e, v, sizeof v) == 0,
	        "%s: open: %s %s", ctx, qfile_strerror(e), v);
	T_CHECK(r.info.content_size == clen && r.info.nrcpt == nrcpt &&
	            r.info.nattr == 2 && r.info.ndone == 0 &&
	            r.info.version == 1 && r.info.attempts == 0,
	        "%s: info", ctx);
	T_STREQ(r.info.sender, "sender@example.org", ctx);
	T_CHECK(qfile_attr(&r, 1, n, sizeof n, v, sizeof v) == 0, "%s", ctx);
	T_STREQ(n, "fullname", ctx);
	T_STREQ(v, "J\xc3\xb6rg \"Q\"\tX", ctx);
	T_CHECK(qfile_attr_get(&r, "ret", v, sizeof v) == 1, "%s", ctx);
	T_STREQ(v, "full", ctx);
	T_CHECK(qfile_attr_get(&r, "envid", v, sizeof v) == 0, "%s", ctx);
	for (size_t i = 0; i < nrcpt; i++) {
		char want[64];

		snprintf(want, sizeof want, "user%zu@example.com", i);
		if (qfile_rcpt(&r, i, &rc) < 0 || strcmp(rc.addr, want) ||
		    strcmp(rc.orcpt, i % 2 ? "rfc822;o@x" : "") ||
		    rc.status != QFILE_RCPT_PENDING ||
		    rc.notify != (i % 3 == 0 ? 8u : 2u))
			ok = 0;
	}
	T_CHECK(ok, "%s: recipients read back", ctx);
	if (nrcpt > 3) { /* backwards access restarts the cursor */
		T_CHECK(qfile_rcpt(&r, nrcpt - 1, &rc) == 0 &&
		            qfile_rcpt(&r, 2, &rc) == 0 &&
		            strcmp(rc.addr, "user2@example.com") == 0,
		        "%s: random access", ctx);
	}
	T_CHECK(qfile_rcpt(&r, nrcpt, &rc) < 0 && errno == ENOENT, "%s", ctx);
	check_content(&r, content, clen, 70000, ctx);
	check_content(&r, content, clen, 1000, ctx);
	check_content(&r, content, clen, 1, ctx);
	qfile_close(&r);
	unlink(path);
	free(content);
}

static void
test_roundtrip(void)
{
	test_roundtrip_one(0, 1, 1);
	test_roundtrip_one(1, 1, 2);
	test_roundtrip_one(QFILE_CHUNK_MAX, 4096, 3);
	test_roundtrip_one(QFILE_CHUNK_MAX + 1, QFILE_CHUNK_MAX + 1, 3);
	test_roundtrip_one(300000, 777, 5);
	test_roundtrip_one(300000, 300000, 1);
	test_roundtrip_one(5000, 5000, 1000);
}

/* ---- in-place updates ---- */

static void
test_inplace(void)
{
	unsigned char c[10] = "x\ny\n";
	char id[QFILE_ID_MAX], path[512], where[200], longr[300];
	struct qfile_reader r;
	struct qfile_rcpt rc;
	enum qfile_err e;
	unsigned char *mem;
	size_t len;
	struct qfile_info info;

	memset(longr, 'z', sizeof longr - 1);
	longr[sizeof longr - 1] = '\0';
	T_CHECK(write_msg(tdir, 3, c, 4, 4, id) == 0, "inplace: write");
	path_of(path, sizeof path, id);
	T_CHECK(qfile_open(&r, path, 1, &e, where, sizeof where) == 0,
	        "inplace: open rw");
	T_CHECK(qfile_rcpt(&r, 1, &rc) == 0, "inplace: rcpt");
	T_CHECK(qfile_set_rcpt(&r, &rc, QFILE_RCPT_DEFERRED,
	                       "451 4.4.1 connect\r\n timed out") == 0,
	        "inplace: set deferred");
	T_CHECK(qfile_rcpt(&r, 2, &rc) == 0 &&
	            qfile_set_rcpt(&r, &rc, QFILE_RCPT_DELIVERED, longr) == 0,
	        "inplace: set delivered");
	T_CHECK(r.info.ndone == 1, "inplace: ndone %zu", r.info.ndone);
	T_CHECK(qfile_set_rcpt(&r, &rc, 9, "") < 0 && errno == EINVAL,
	        "inplace: bad status");
	T_CHECK(qfile_set_schedule(&r, 4, 1800000000, 1790000000) == 0,
	        "inplace: schedule");
	qfile_close(&r);
	T_CHECK(qfile_open(&r, path, 0, &e, where, sizeof where) == 0,
	        "inplace: reopen: %s %s", qfile_strerror(e), where);
	T_CHECK(r.info.attempts == 4 && r.info.next_attempt == 1800000000 &&
	            r.info.last_attempt == 1790000000 && r.info.ndone == 1,
	        "inplace: schedule read back");
	T_CHECK(qfile_rcpt(&r, 1, &rc) == 0 && rc.status == 3, "inplace");
	T_STREQ(rc.reason, "451 4.4.1 connect   timed out", "inplace reason");
	T_CHECK(rc.notify == QFILE_NOTIFY_FAILURE, "inplace: notify kept");
	T_CHECK(qfile_rcpt(&r, 2, &rc) == 0 && rc.status == 1 &&
	            strlen(rc.reason) == QFILE_REASON_MAX,
	        "inplace: reason cut to %d", QFILE_REASON_MAX);
	T_CHECK(qfile_set_rcpt(&r, &rc, 0, "") < 0, "inplace: read-only fd");
	qfile_close(&r);
	mem = slurp(path, &len);
	T_CHECK(mem && qfile_check_mem(mem, len, &info, where, sizeof where) ==
	                   QFILE_OK,
	        "inplace: check_mem agrees");
	free(mem);
	unlink(path);
}

/* ---- corruption classes ---- */

static void
test_truncate_flip(void)
{
	struct bld b;
	struct qfile_info info;
	char where[200];
	int never_ok = 1, trunc = 1, flips = 1;

	b_small(&b);
	T_CHECK(check(&b, &info, where, sizeof where) == QFILE_OK,
	        "builder file: %s", where);
	T_CHECK(info.nrcpt == 2 && info.ndone == 1 && info.nattr == 1 &&
	            info.content_size == 19 && info.attempts == 3,
	        "builder info");
	for (size_t n = 0; n < b.len; n++) {
		enum qfile_err e = qfile_check_mem(b.p, n, &info, where, 200);

		if (e == QFILE_OK)
			never_ok = 0;
		if (n >= 6 && e != QFILE_ERR_TRUNCATED)
			trunc = 0;
	}
	T_CHECK(never_ok, "a truncated file is never OK");
	T_CHECK(trunc, "truncation after the version is TRUNCATED");
	for (size_t i = 0; i < b.len; i++) {
		if (b.m[i])
			continue;
		for (unsigned bit = 1; bit < 256; bit <<= 1) {
			b.p[i] ^= (unsigned char)bit;
			if (qfile_check_mem(b.p, b.len, &info, where, 200) ==
			    QFILE_OK)
				flips = 0;
			b.p[i] ^= (unsigned char)bit;
		}
	}
	T_CHECK(flips, "every flipped bit outside the in-place area is caught");
	b_free(&b);
}

/* In-place bytes may change without breaking the checksum. */
static void
test_inplace_bytes(void)
{
	struct bld b;
	struct qfile_info info;
	char where[200];

	b_small(&b);
	b.p[24] = 0x7f;                          /* attempts */
	b.p[50] = 0xaa;                          /* reserved in-place */
	b.p[64 + 5 + 8 + 5 + 17 + 5 + 10] = 'X'; /* inside bob's reason */
	T_CHECK(check(&b, &info, where, sizeof where) == QFILE_OK,
	        "in-place bytes are outside the checksum: %s", where);
	T_CHECK(info.attempts == 0x7f, "attempts read");
	b_free(&b);
}

struct shape {
	const char *name;
	void (*build)(struct bld *);
	enum qfile_err want;
};

static void
s_zero_rcpts(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'S', "a@b");
	b_end(b);
}

static void
s_content_before_rcpt(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'S', "a@b");
	b_str(b, 'C', "x");
	b_rcpt(b, 0, 0, "", 0, "c@d", 3, "");
	b_end(b);
}

static void
s_attr_after_sender(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'S', "a@b");
	b_str(b, 'A', "ret=full");
	b_rcpt(b, 0, 0, "", 0, "c@d", 3, "");
	b_end(b);
}

static void
s_two_senders(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'S', "a@b");
	b_str(b, 'S', "a@b");
	b_rcpt(b, 0, 0, "", 0, "c@d", 3, "");
	b_end(b);
}

static void
s_rcpt_after_content(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'S', "");
	b_rcpt(b, 0, 0, "", 0, "c@d", 3, "");
	b_str(b, 'C', "x");
	b_rcpt(b, 0, 0, "", 0, "c@d", 3, "");
	b_end(b);
}

static void
s_no_sender(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_rcpt(b, 0, 0, "", 0, "c@d", 3, "");
	b_end(b);
}

static void
b_min_tail(struct bld *b)
{
	b_str(b, 'S', "a@b");
	b_rcpt(b, 0, 0, "", 0, "c@d", 3, "");
}

static void
s_null_sender_ok(struct bld *b)
{
	b_header(b, 1, 64, 999999, QFILE_FLAG_CLOCK_UNSET);
	b_str(b, 'S', "");
	b_rcpt(b, 0, 0, "", 0, "c@d", 3, "");
	b_end(b);
}

static void
s_unknown_type(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_min_tail(b);
	b_str(b, 'X', "what");
	b_end(b);
}

static char big[QFILE_CHUNK_MAX + 2];

static void
s_addr_limit(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'S', "a@b");
	b_rcpt(b, 0, 0, "", 0, big, QFILE_ADDR_MAX, "");
	b_end(b);
}

static void
s_addr_over(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'S', "a@b");
	b_rcpt(b, 0, 0, "", 0, big, QFILE_ADDR_MAX + 1, "");
	b_end(b);
}

static void
s_empty_addr(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'S', "a@b");
	b_rcpt(b, 0, 0, "", 0, "", 0, "");
	b_end(b);
}

static void
s_sender_limit(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_rec(b, 'S', big, QFILE_ADDR_MAX);
	b_rcpt(b, 0, 0, "", 0, "c@d", 3, "");
	b_end(b);
}

static void
s_sender_over(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_rec(b, 'S', big, QFILE_ADDR_MAX + 1);
	b_rcpt(b, 0, 0, "", 0, "c@d", 3, "");
	b_end(b);
}

static void
s_attr(struct bld *b, size_t len)
{
	char a[QFILE_ATTR_MAX + 2];

	memset(a, 'v', sizeof a);
	memcpy(a, "x=", 2);
	b_header(b, 1, 64, 0, 0);
	b_rec(b, 'A', a, len);
	b_min_tail(b);
	b_end(b);
}

static void
s_attr_limit(struct bld *b)
{
	s_attr(b, QFILE_ATTR_MAX);
}

static void
s_attr_over(struct bld *b)
{
	s_attr(b, QFILE_ATTR_MAX + 1);
}

static void
s_attr_noeq(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'A', "novalue");
	b_min_tail(b);
	b_end(b);
}

static void
s_attr_badname(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'A', "Ret=full");
	b_min_tail(b);
	b_end(b);
}

static void
s_attr_ctrl(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'A', "fullname=a\nb");
	b_min_tail(b);
	b_end(b);
}

static void
s_chunk_limit(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_min_tail(b);
	b_rec(b, 'C', big, QFILE_CHUNK_MAX);
	b_end(b);
}

static void
s_chunk_over(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_min_tail(b);
	b_rec(b, 'C', big, QFILE_CHUNK_MAX + 1);
	b_end(b);
}

static void
s_chunk_empty(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_min_tail(b);
	b_rec(b, 'C', "", 0);
	b_end(b);
}

static void
s_reason_limit(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'S', "a@b");
	b_rcpt(b, 3, 0, big, QFILE_REASON_MAX, "c@d", 3, "");
	b_end(b);
}

static void
s_reason_over(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'S', "a@b");
	b_rcpt(b, 3, 0, big, QFILE_REASON_MAX + 1, "c@d", 3, "");
	b_end(b);
}

static void
s_bad_status(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'S', "a@b");
	b_rcpt(b, 4, 0, "", 0, "c@d", 3, "");
	b_end(b);
}

static void
s_bad_notify(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'S', "a@b");
	b_rcpt(b, 0, QFILE_NOTIFY_NEVER | QFILE_NOTIFY_FAILURE, "", 0, "c@d", 3,
	       "");
	b_end(b);
}

static void
s_ctrl_addr(struct bld *b)
{
	b_header(b, 1, 64, 0, 0);
	b_str(b, 'S', "a@b");
	b_rcpt(b, 0, 0, "", 0, "c\r@d", 4, "");
	b_end(b);
}

static void
s_version2(struct bld *b)
{
	b_header(b, 2, 80, 0, 0);
	b_str(b, 'Z', "anything at all");
}

static void
s_version0(struct bld *b)
{
	b_header(b, 0, 64, 0, 0);
	b_min_tail(b);
	b_end(b);
}

static void
s_hsize(struct bld *b)
{
	b_header(b, 1, 65, 0, 0);
	b_min_tail(b);
	b_end(b);
}

static void
s_usec(struct bld *b)
{
	b_header(b, 1, 64, 1000000, 0);
	b_min_tail(b);
	b_end(b);
}

static void
s_flags_valid_sum(struct bld *b)
{
	b_header(b, 1, 64, 0, 0x100);
	b_min_tail(b);
	b_end(b);
}

static void
s_flags_bad_sum(struct bld *b)
{
	s_flags_valid_sum(b);
	b->p[b->len - 1] ^= 1;
}

static void
s_magic(struct bld *b)
{
	s_null_sender_ok(b);
	b->p[0] = 'X';
}

static void
s_junk_after_end(struct bld *b)
{
	s_null_sender_ok(b);
	b_put(b, "\n", 1, 0);
}

static void
s_two_ends(struct bld *b)
{
	s_null_sender_ok(b);
	b_end(b);
}

static void
s_len_overflow(struct bld *b)
{
	s_null_sender_ok(b);
	memset(b->p + 65, 0xff, 4); /* the sender record's length */
}

static void
s_rcpt_len_overflow(struct bld *b)
{
	s_null_sender_ok(b);
	memset(b->p + 64 + 5 + 1, 0xff, 4);
}

static void
s_addr_overruns(struct bld *b)
{
	s_null_sender_ok(b);
	b->p[64 + 5 + 5 + QFILE_RCPT_FIXED] = 200; /* alen > record */
}

static void
s_end_short(struct bld *b)
{
	s_null_sender_ok(b);
	b->p[b->len - 32 - 4] = 31;
}

static void
s_empty(struct bld *b)
{
	(void)b;
}

static void
s_garbage(struct bld *b)
{
	const char *t = "From alice Mon Jan  1\nSubject: x\n\nhi\n";

	b_put(b, t, strlen(t), 0);
}

static const struct shape shapes[] = {
    {"null sender, clock flag", s_null_sender_ok, QFILE_OK},
    {"zero recipients", s_zero_rcpts, QFILE_ERR_RECORD},
    {"content before recipient", s_content_before_rcpt, QFILE_ERR_RECORD},
    {"attribute after sender", s_attr_after_sender, QFILE_ERR_RECORD},
    {"two senders", s_two_senders, QFILE_ERR_RECORD},
    {"recipient after content", s_rcpt_after_content, QFILE_ERR_RECORD},
    {"no sender", s_no_sender, QFILE_ERR_RECORD},
    {"unknown record type", s_unknown_type, QFILE_ERR_RECORD},
    {"address at limit", s_addr_limit, QFILE_OK},
    {"address over limit", s_addr_over, QFILE_ERR_LIMIT},
    {"empty address", s_empty_addr, QFILE_ERR_RECORD},
    {"sender at limit", s_sender_limit, QFILE_OK},
    {"sender over limit", s_sender_over, QFILE_ERR_LIMIT},
    {"attribute at limit", s_attr_limit, QFILE_OK},
    {"attribute over limit", s_attr_over, QFILE_ERR_LIMIT},
    {"attribute without =", s_attr_noeq, QFILE_ERR_RECORD},
    {"attribute bad name", s_attr_badname, QFILE_ERR_RECORD},
    {"attribute control byte", s_attr_ctrl, QFILE_ERR_RECORD},
    {"chunk at limit", s_chunk_limit, QFILE_OK},
    {"chunk over limit", s_chunk_over, QFILE_ERR_LIMIT},
    {"empty chunk", s_chunk_empty, QFILE_ERR_RECORD},
    {"reason at limit", s_reason_limit, QFILE_OK},
    {"reason over limit", s_reason_over, QFILE_ERR_LIMIT},
    {"status 4", s_bad_status, QFILE_ERR_RECORD},
    {"notify never+failure", s_bad_notify, QFILE_ERR_RECORD},
    {"control byte in address", s_ctrl_addr, QFILE_ERR_RECORD},
    {"version 2", s_version2, QFILE_ERR_VERSION},
    {"version 0", s_version0, QFILE_ERR_RECORD},
    {"header size 65", s_hsize, QFILE_ERR_RECORD},
    {"microseconds 1000000", s_usec, QFILE_ERR_RECORD},
    {"unknown flag, valid sum", s_flags_valid_sum, QFILE_ERR_VERSION},
    {"unknown flag, bad sum", s_flags_bad_sum, QFILE_ERR_CHECKSUM},
    {"wrong magic", s_magic, QFILE_ERR_MAGIC},
    {"junk after end", s_junk_after_end, QFILE_ERR_RECORD},
    {"two end records", s_two_ends, QFILE_ERR_RECORD},
    {"record length 0xffffffff", s_len_overflow, QFILE_ERR_LIMIT},
    {"recipient length 0xffffffff", s_rcpt_len_overflow, QFILE_ERR_LIMIT},
    {"address overruns record", s_addr_overruns, QFILE_ERR_RECORD},
    {"end record of 31 bytes", s_end_short, QFILE_ERR_RECORD},
    {"empty file", s_empty, QFILE_ERR_TRUNCATED},
    {"mbox text", s_garbage, QFILE_ERR_MAGIC},
};

static void
test_shapes(void)
{
	struct qfile_info info;
	char where[200];

	memset(big, 'a', sizeof big);
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		struct bld b;
		enum qfile_err e;

		b_init(&b);
		shapes[i].build(&b);
		where[0] = '\0';
		e = check(&b, &info, where, sizeof where);
		T_CHECK(e == shapes[i].want, "%s: got %s (%s), want %s",
		        shapes[i].name, qfile_strerror(e), where,
		        qfile_strerror(shapes[i].want));
		T_CHECK(e == QFILE_OK || strstr(where, "offset ") == where,
		        "%s: where names the offset: %s", shapes[i].name,
		        where);
		if (shapes[i].want == QFILE_ERR_VERSION &&
		    shapes[i].build == s_version2)
			T_CHECK(info.version == 2, "version reported");
		b_free(&b);
	}
	T_CHECK(qfile_check_mem(NULL, 0, &info, NULL, 0) == QFILE_ERR_TRUNCATED,
	        "NULL where is allowed");
}

/* The streaming reader says the same as check_mem about a bad file. */
static void
test_open_corrupt(void)
{
	struct bld b;
	struct qfile_reader r;
	enum qfile_err e = QFILE_OK;
	char where[200], path[512];
	int fd;

	b_small(&b);
	b.p[b.len - 1] ^= 1;
	snprintf(path, sizeof path, "%s/BAD0000000000", tdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	T_CHECK(fd >= 0 && write(fd, b.p, b.len) == (ssize_t)b.len, "write");
	close(fd);
	T_CHECK(qfile_open(&r, path, 0, &e, where, sizeof where) < 0 &&
	            e == QFILE_ERR_CHECKSUM && r.fd < 0,
	        "open corrupt: %s", qfile_strerror(e));
	unlink(path);
	T_CHECK(qfile_open(&r, path, 0, &e, where, sizeof where) < 0 &&
	            e == QFILE_ERR_IO && errno == ENOENT,
	        "open missing");
	T_CHECK(symlink("/etc/passwd", path) == 0, "symlink");
	T_CHECK(qfile_open(&r, path, 0, &e, where, sizeof where) < 0 &&
	            e == QFILE_ERR_IO && errno == ELOOP,
	        "open refuses a symlink (errno %d)", errno);
	unlink(path);
	T_CHECK(qfile_open(&r, tdir, 0, &e, where, sizeof where) < 0 &&
	            e == QFILE_ERR_IO,
	        "open refuses a directory");
	b_free(&b);
}

/* ---- writer input checks ---- */

static void
test_writer_input(void)
{
	static struct qfile_writer w;
	char id[QFILE_ID_MAX], addr[QFILE_ADDR_MAX + 2];

	memset(addr, 'a', sizeof addr);
	addr[QFILE_ADDR_MAX + 1] = '\0';
	T_CHECK(qfile_create(&w, tdir, 0) == 0, "create");
	T_CHECK(qfile_put_rcpt(&w, "a@b", NULL, 0) < 0 && errno == EINVAL,
	        "rcpt before sender");
	T_CHECK(qfile_put_attr(&w, "Bad", "x") < 0 && errno == EINVAL,
	        "attr name");
	T_CHECK(qfile_put_attr(&w, "", "x") < 0, "empty attr name");
	T_CHECK(qfile_put_attr(&w, "fullname", "a\nb") < 0, "attr newline");
	T_CHECK(qfile_put_sender(&w, addr) < 0 && errno == EINVAL,
	        "sender over limit");
	T_CHECK(qfile_put_sender(&w, "s@x") == 0, "sender after EINVAL");
	T_CHECK(qfile_put_attr(&w, "ret", "full") < 0, "attr after sender");
	T_CHECK(qfile_put_content(&w, "x", 1) < 0, "content before rcpt");
	T_CHECK(qfile_commit(&w, id) < 0 && errno == EINVAL, "no recipients");
	T_CHECK(qfile_put_rcpt(&w, "", NULL, 0) < 0, "empty rcpt");
	T_CHECK(qfile_put_rcpt(&w, addr, NULL, 0) < 0, "rcpt over limit");
	addr[QFILE_ADDR_MAX] = '\0';
	T_CHECK(qfile_put_rcpt(&w, addr, NULL, 0) == 0, "rcpt at limit");
	T_CHECK(qfile_put_rcpt(&w, "a\tb", NULL, 0) < 0, "rcpt tab");
	T_CHECK(qfile_put_rcpt(&w, "a@b", NULL, 9) < 0, "notify 9");
	T_CHECK(qfile_put_rcpt(&w, "a@b", addr, 8) == 0, "orcpt at limit");
	T_CHECK(qfile_put_content(&w, "x", 1) == 0, "content");
	T_CHECK(qfile_put_rcpt(&w, "a@b", NULL, 0) < 0, "rcpt after content");
	/* a named temporary file, or an unnamed one (O_TMPFILE): never a
	 * queue name before the commit */
	T_CHECK(count_files(tdir, 0) == 0 &&
	            count_files(tdir, 1) == (w.tmp[0] ? 1u : 0u),
	        "only a temporary file while writing");
	qfile_abort(&w);
	qfile_abort(&w);
	T_CHECK(count_files(tdir, 1) == 0 && count_files(tdir, 0) == 0,
	        "abort leaves nothing");
	T_CHECK(qfile_put_content(&w, "x", 1) < 0, "dead writer");
	T_CHECK(qfile_create(&w, "/nonexistent/dir", 0) < 0 && errno == ENOENT,
	        "create in a missing dir");
	qfile_abort(&w);
	T_CHECK(qfile_create(&w, tdir, 0x80) < 0 && errno == EINVAL,
	        "unknown flag");
}

/* ---- queue IDs ---- */

static const struct {
	const char *id;
	int ok;
} ids[] = {
    {"", 0},
    {"ABCDEFG", 0},
    {"ABCDEFGH", 1},
    {"0123456789ABCDEFGHIJKLMNOPQRST", 1},
    {"0123456789ABCDEFGHIJKLMNOPQRSTU", 0},
    {"abcdefgh", 0},
    {"../../etc/passwd", 0},
    {"ABCD/EFGH", 0},
    {".ABCDEFGH", 0},
    {"ABCDEFGH\n", 0},
    {"ABCDEFGH ", 0},
    {"ABCDEFG-", 0},
};

static void
test_ids(void)
{
	char a[QFILE_ID_MAX], b[QFILE_ID_MAX];

	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		T_CHECK(qfile_id_valid(ids[i].id) == ids[i].ok, "id \"%s\"",
		        ids[i].id);
	qfile_id_make(a, 0, 0, 0);
	T_STREQ(a, "000000000000", "id of zero");
	qfile_id_make(a, 1, 1, 31);
	T_STREQ(a, "00000010001V", "id 1.000001 inode 31");
	qfile_id_make(a, 1700000000, 999999, UINT64_MAX);
	T_CHECK(strlen(a) == 24 && qfile_id_valid(a), "longest id %s", a);
	qfile_id_make(b, 1700000001, 0, 0);
	T_CHECK(strcmp(a, b) < 0, "later second sorts after: %s %s", a, b);
	qfile_id_make(a, 1700000000, 5, 123456789);
	qfile_id_make(b, 1700000000, 6, 1);
	T_CHECK(strcmp(a, b) < 0, "later microsecond sorts after");
	qfile_id_make(a, UINT64_MAX, 0, 0);
	T_CHECK(strncmp(a, "VVVVVVV", 7) == 0, "clamped seconds: %s", a);
}

/* maildrop/: an unprivileged user in a 1733 directory it does not own
 * (the directory fsync is impossible: EACCES; the file must be 0644). */
static void
test_maildrop_user(void)
{
	struct passwd *pw = getpwnam("nobody");
	unsigned char c[] = "x\n";
	char dir[300], id[QFILE_ID_MAX] = "", path[400];
	struct stat st;
	int p[2], status = -1;

	if (geteuid() != 0 || !pw)
		return; /* needs root to become another user */
	snprintf(dir, sizeof dir, "%s/maildrop", tdir);
	T_CHECK(chmod(tdir, 0711) == 0 && mkdir(dir, 0700) == 0 &&
	            chmod(dir, 01733) == 0 && pipe(p) == 0,
	        "maildrop setup");
	if (fork() == 0) {
		close(p[0]);
		if (setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0 ||
		    write_msg(dir, 1, c, 2, 2, id) < 0 ||
		    write(p[1], id, sizeof id) != (ssize_t)sizeof id)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	T_CHECK(read(p[0], id, sizeof id) == (ssize_t)sizeof id, "child id");
	close(p[0]);
	wait(&status);
	T_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	        "commit into maildrop as nobody");
	if (snprintf(path, sizeof path, "%s/%s", dir, id) >= (int)sizeof path)
		path[0] = '\0';
	T_CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644 &&
	            st.st_uid == pw->pw_uid,
	        "maildrop file 0644, owned by the submitter");
	T_CHECK(count_files(dir, 1) == 0, "no temporary file in maildrop");
	unlink(path);
	rmdir(dir);
	chmod(tdir, 0700);
}

/* ---- the queue directory (queue.c) ---- */

static mode_t
mode_of(const char *qdir, const char *name)
{
	char p[600];
	struct stat st;

	if (snprintf(p, sizeof p, "%s/%s", qdir, name) >= (int)sizeof p ||
	    lstat(p, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	return st.st_mode & 07777;
}

static void
test_queue_dir(void)
{
	char q[300], p[600], id[QFILE_ID_MAX], got[QFILE_ID_MAX];
	const int both[] = {QUEUE_INCOMING, QUEUE_DEFERRED, QUEUE_HOLD};
	unsigned char c[] = "x\n";
	struct queue_iter it;
	int n = 0, fd;

	snprintf(q, sizeof q, "%s/queue", tdir);
	T_CHECK(queue_init(q, getuid(), getgid()) == 0, "queue_init");
	T_CHECK(mode_of(q, ".") == 0755 && mode_of(q, "maildrop") == 01733 &&
	            mode_of(q, "deferred") == 0700 &&
	            mode_of(q, "corrupt") == 0700 &&
	            mode_of(q, "public") == 0711 && mode_of(q, "pid") == 0755,
	        "queue modes");
	snprintf(p, sizeof p, "%s/hold", q);
	T_CHECK(chmod(p, 0755) == 0 && queue_init(q, getuid(), getgid()) == 0 &&
	            mode_of(q, "hold") == 0700,
	        "queue_init repairs a mode");
	T_CHECK(queue_index("deferred") == QUEUE_DEFERRED &&
	            queue_index("pid") < 0 && queue_index("") < 0,
	        "queue_index");
	T_CHECK(queue_path(p, sizeof p, q, "incoming", "../../etc") < 0 &&
	            errno == EINVAL,
	        "queue_path refuses a bad ID");
	T_CHECK(queue_path(p, sizeof p, q, "a/b", NULL) < 0, "bad queue name");
	T_CHECK(queue_path(p, 8, q, "incoming", NULL) < 0 &&
	            errno == ENAMETOOLONG,
	        "queue_path truncation");
	snprintf(p, sizeof p, "%s/incoming", q);
	T_CHECK(write_msg(p, 1, c, 2, 2, id) == 0, "message in incoming");
	snprintf(p, sizeof p, "%s/incoming/.t123", q);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	close(fd);
	snprintf(p, sizeof p, "%s/incoming/not-an-id", q);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	close(fd);
	T_CHECK(queue_iter_open(&it, q, "incoming") == 0, "iter open");
	while (queue_iter_next(&it, got) > 0) {
		n++;
		T_STREQ(got, id, "iterated id");
	}
	queue_iter_close(&it);
	T_CHECK(n == 1, "iteration skips temporary and odd names: %d", n);
	T_CHECK(queue_iter_open(&it, q, "nosuch") < 0 && errno == ENOENT,
	        "iter on a missing queue");
	T_CHECK(queue_find(q, id, both, 3) == QUEUE_INCOMING, "find incoming");
	T_CHECK(queue_move(q, "incoming", "deferred", id) == 0 &&
	            queue_find(q, id, both, 3) == QUEUE_DEFERRED,
	        "move to deferred");
	T_CHECK(queue_move(q, "incoming", "deferred", id) < 0 &&
	            errno == ENOENT,
	        "move of a missing file");
	snprintf(p, sizeof p, "%s/hold/%s", q, id);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	close(fd);
	T_CHECK(queue_move(q, "deferred", "hold", id) < 0 && errno == EEXIST,
	        "a move never replaces a file");
	unlink(p);
	T_CHECK(queue_quarantine(q, "deferred", id, "test\nreason") == 0 &&
	            mode_of(q, "corrupt") == 0700,
	        "quarantine");
	snprintf(p, sizeof p, "%s/corrupt/%s", q, id);
	T_CHECK(access(p, F_OK) == 0, "file in corrupt/");
	T_CHECK(queue_find(q, id, both, 3) < 0 && errno == ENOENT,
	        "find: not in the listed queues");
	snprintf(p, sizeof p, "%s/active", q);
	T_CHECK(rmdir(p) == 0 && symlink("/etc", p) == 0 &&
	            queue_init(q, getuid(), getgid()) < 0 && errno == ENOTDIR,
	        "queue_init refuses a symlinked queue directory");
	unlink(p);
	for (int i = 0; i < QUEUE_N; i++) {
		snprintf(p, sizeof p, "%s/%s", q, queue_names[i]);
		rm_dir(p);
	}
	snprintf(p, sizeof p, "%s/public", q);
	rm_dir(p);
	snprintf(p, sizeof p, "%s/pid", q);
	rmdir(p);
	rmdir(q);
}

#define NPROC 4
#define NPER 1000

struct seen {
	char id[QFILE_ID_MAX];
	uint64_t t;
};

static int
cmp_seen(const void *x, const void *y)
{
	return strcmp(((const struct seen *)x)->id,
	              ((const struct seen *)y)->id);
}

static void
child(int fd)
{
	unsigned char c[] = "Subject: t\n\nx\n";
	char id[QFILE_ID_MAX];

	for (int i = 0; i < NPER; i++) {
		if (write_msg(tdir, 1, c, sizeof c - 1, 64, id) < 0)
			_exit(1);
		if (dprintf(fd, "%s\n", id) < 0)
			_exit(1);
	}
	_exit(0);
}

static size_t
read_ids(FILE *f, struct seen *s, size_t max)
{
	char line[QFILE_ID_MAX];
	size_t n = 0;

	while (n < max && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(s[n++].id, QFILE_ID_MAX, "%s", line);
	}
	return n;
}

static void
test_unique(void)
{
	static struct seen s[NPROC * NPER + 1];
	int p[2], status, okexit = 1, sorted = 1;
	size_t n, dup = 0;
	FILE *f;

	T_CHECK(pipe(p) == 0, "pipe");
	for (int i = 0; i < NPROC; i++)
		if (fork() == 0) {
			close(p[0]);
			child(p[1]);
		}
	close(p[1]);
	f = fdopen(p[0], "r");
	n = read_ids(f, s, NPROC * NPER + 1);
	fclose(f);
	for (int i = 0; i < NPROC; i++)
		if (wait(&status) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			okexit = 0;
	T_CHECK(okexit, "children succeeded");
	T_CHECK(n == NPROC * NPER, "ids collected: %zu", n);
	T_CHECK(count_files(tdir, 0) == NPROC * NPER, "files: %zu",
	        count_files(tdir, 0));
	qsort(s, n, sizeof s[0], cmp_seen);
	for (size_t i = 0; i < n; i++) {
		struct qfile_info info;
		char path[512], where[100];
		unsigned char *mem;
		size_t len;

		if (i > 0 && strcmp(s[i].id, s[i - 1].id) == 0)
			dup++;
		path_of(path, sizeof path, s[i].id);
		mem = slurp(path, &len);
		if (!mem || qfile_check_mem(mem, len, &info, where, 100))
			sorted = 0;
		else
			s[i].t = info.arrival * 1000000 + info.arrival_usec;
		if (i > 0 && s[i].t < s[i - 1].t)
			sorted = 0;
		free(mem);
	}
	T_CHECK(dup == 0, "%zu duplicate ids", dup);
	T_CHECK(sorted, "id order is arrival order");
}

int
main(void)
{
	snprintf(tdir, sizeof tdir, "%s/tq.XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	log_init("test_qfile", 0); /* queue.c logs; keep the output clean */
	if (!mkdtemp(tdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_ids();
	test_shapes();
	test_truncate_flip();
	test_inplace_bytes();
	test_writer_input();
	test_open_corrupt();
	test_roundtrip();
	test_inplace();
	test_maildrop_user();
	test_queue_dir();
	test_unique();
	rm_dir(tdir);
	return T_DONE();
}
