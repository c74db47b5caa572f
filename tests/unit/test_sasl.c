/*
 * test_sasl.c - the SASL decoders (strict base64, the AUTH argument,
 * PLAIN messages, users-file lines, the constant-time comparison) and
 * password verification against a real users CDB built by map_build.
 */
#include "map_build.h"
#include "sasl.h"
#include "sasl_decode.h"
#include "t.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
	const char *in;
	enum sasl_err want;
	const char *out; /* decoded, when OK */
	size_t outlen;
} b64[] = {
    /* RFC 4648 section 10 */
    {"", SASL_OK, "", 0},
    {"Zg==", SASL_OK, "f", 1},
    {"Zm8=", SASL_OK, "fo", 2},
    {"Zm9v", SASL_OK, "foo", 3},
    {"Zm9vYg==", SASL_OK, "foob", 4},
    {"Zm9vYmE=", SASL_OK, "fooba", 5},
    {"Zm9vYmFy", SASL_OK, "foobar", 6},
    {"AGFsaWNlAHB3", SASL_OK, "\0alice\0pw", 9},
    {"+/+/", SASL_OK, "\xfb\xff\xbf", 3},
    /* strictness */
    {"Zg=", SASL_ERR_B64, NULL, 0},       /* length not a multiple of 4 */
    {"Zg", SASL_ERR_B64, NULL, 0},        /* padding required */
    {"Zh==", SASL_ERR_B64, NULL, 0},      /* unused bits not zero */
    {"Zm9=", SASL_ERR_B64, NULL, 0},      /* unused bits not zero */
    {"Z===", SASL_ERR_B64, NULL, 0},      /* three pads */
    {"====", SASL_ERR_B64, NULL, 0},      /* only pads */
    {"Zg==Zg==", SASL_ERR_B64, NULL, 0},  /* pad in the middle */
    {"Zm=v", SASL_ERR_B64, NULL, 0},      /* data after a pad */
    {"Zm9v Zm9v", SASL_ERR_B64, NULL, 0}, /* white space */
    {"Zm9v\r\n", SASL_ERR_B64, NULL, 0},  /* line end */
    {"Zm-v", SASL_ERR_B64, NULL, 0},      /* base64url alphabet */
    {"Zm9\x80", SASL_ERR_B64, NULL, 0},   /* 8-bit */
    {"*", SASL_ERR_B64, NULL, 0},         /* cancel is the caller's */
};

static void
test_b64(void)
{
	unsigned char out[64];

	for (size_t i = 0; i < sizeof b64 / sizeof b64[0]; i++) {
		size_t n = 99;
		enum sasl_err e = sasl_b64_decode(b64[i].in, strlen(b64[i].in),
		                                  out, sizeof out, &n);

		T_CHECK(e == b64[i].want, "b64 \"%s\": %d", b64[i].in, e);
		if (e == SASL_OK && b64[i].want == SASL_OK)
			T_CHECK(n == b64[i].outlen &&
			            memcmp(out, b64[i].out, n) == 0,
			        "b64 \"%s\" decodes", b64[i].in);
	}
}

/* The output bound: cap-1, cap and cap+1 bytes of output. */
static void
test_b64_bounds(void)
{
	unsigned char out[6], canary[4] = {0xaa, 0xaa, 0xaa, 0xaa};
	struct {
		unsigned char out[6];
		unsigned char canary[4];
	} b;
	size_t n;

	memcpy(b.canary, canary, 4);
	T_CHECK(sasl_b64_decode("Zm9vYg==", 8, b.out, 6, &n) == SASL_OK &&
	            n == 4,
	        "5 of 6");
	T_CHECK(sasl_b64_decode("Zm9vYmFy", 8, b.out, 6, &n) == SASL_OK &&
	            n == 6,
	        "6 of 6");
	T_CHECK(sasl_b64_decode("Zm9vYmFyYg==", 12, b.out, 6, &n) ==
	                SASL_ERR_TOO_LONG &&
	            n == 0,
	        "7 into 6: too long");
	T_CHECK(memcmp(b.canary, canary, 4) == 0, "nothing written past cap");
	T_CHECK(sasl_b64_decode("Zm9vYmFyYmF6", 12, out, 6, &n) ==
	            SASL_ERR_TOO_LONG,
	        "9 into 6: too long");
}

static const struct {
	const char *in;
	enum sasl_err want;
	enum sasl_mech mech;
	const char *ir; /* NULL: none */
} auth[] = {
    {"PLAIN", SASL_OK, SASL_MECH_PLAIN, NULL},
    {"plain", SASL_OK, SASL_MECH_PLAIN, NULL},
    {"LOGIN", SASL_OK, SASL_MECH_LOGIN, NULL},
    {"PLAIN AGFAYg==", SASL_OK, SASL_MECH_PLAIN, "AGFAYg=="},
    {"LOGIN YWxpY2U=", SASL_OK, SASL_MECH_LOGIN, "YWxpY2U="},
    {"PLAIN =", SASL_OK, SASL_MECH_PLAIN, ""},
    {"CRAM-MD5", SASL_ERR_MECH, 0, NULL},
    {"PLAINX", SASL_ERR_MECH, 0, NULL},
    {"", SASL_ERR_SYNTAX, 0, NULL},
    {" PLAIN", SASL_ERR_SYNTAX, 0, NULL},
    {"PLAIN ", SASL_ERR_SYNTAX, 0, NULL},
    {"PLAIN a b", SASL_ERR_SYNTAX, 0, NULL},
};

static void
test_auth_arg(void)
{
	char big[SASL_B64_MAX + 16] = "PLAIN ";

	for (size_t i = 0; i < sizeof auth / sizeof auth[0]; i++) {
		enum sasl_mech m = 0;
		const char *ir = NULL;
		size_t irlen = 0;
		enum sasl_err e = sasl_parse_auth(
		    auth[i].in, strlen(auth[i].in), &m, &ir, &irlen);

		T_CHECK(e == auth[i].want, "AUTH %s: %d", auth[i].in, e);
		if (e != SASL_OK || auth[i].want != SASL_OK)
			continue;
		T_CHECK(m == auth[i].mech, "AUTH %s: mech", auth[i].in);
		if (!auth[i].ir)
			T_CHECK(ir == NULL, "AUTH %s: no response", auth[i].in);
		else
			T_CHECK(ir && irlen == strlen(auth[i].ir) &&
			            memcmp(ir, auth[i].ir, irlen) == 0,
			        "AUTH %s: response", auth[i].in);
	}
	/* the initial response bound: SASL_B64_MAX and one more */
	memset(big + 6, 'A', SASL_B64_MAX);
	for (size_t extra = 0; extra < 2; extra++) {
		enum sasl_mech m;
		const char *ir;
		size_t irlen;

		big[6 + SASL_B64_MAX + extra] = extra ? 'A' : '\0';
		T_CHECK(sasl_parse_auth(big, 6 + SASL_B64_MAX + extra, &m, &ir,
		                        &irlen) ==
		            (extra ? SASL_ERR_TOO_LONG : SASL_OK),
		        "initial response of %zu", SASL_B64_MAX + extra);
	}
}

static const struct {
	const char *msg;
	size_t len;
	enum sasl_err want;
	const char *user, *pass;
} plain[] = {
    {"\0alice\0pw", 9, SASL_OK, "alice", "pw"},
    {"alice\0alice\0pw", 14, SASL_OK, "alice", "pw"},
    {"\0a@b.example\0p w \x01", 18, SASL_OK, "a@b.example", "p w \x01"},
    {"bob\0alice\0pw", 12, SASL_ERR_AUTHZID, NULL, NULL},
    {"alicex\0alice\0pw", 15, SASL_ERR_AUTHZID, NULL, NULL},
    {"\0alice\0", 7, SASL_ERR_EMPTY, NULL, NULL},
    {"\0\0pw", 4, SASL_ERR_EMPTY, NULL, NULL},
    {"\0alice", 6, SASL_ERR_SYNTAX, NULL, NULL},
    {"alice", 5, SASL_ERR_SYNTAX, NULL, NULL},
    {"", 0, SASL_ERR_SYNTAX, NULL, NULL},
    {"\0alice\0pw\0", 10, SASL_ERR_SYNTAX, NULL, NULL},
    {"\0al ice\0pw", 10, SASL_ERR_CHARS, NULL, NULL},
    {"\0al\nice\0pw", 10, SASL_ERR_CHARS, NULL, NULL},
    {"\0al:ice\0pw", 10, SASL_ERR_CHARS, NULL, NULL},
};

static void
test_plain(void)
{
	char user[SASL_USER_MAX + 1], pass[SASL_PASS_MAX + 1];
	unsigned char msg[SASL_MSG_MAX + 8];

	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		enum sasl_err e =
		    sasl_plain_parse((const unsigned char *)plain[i].msg,
		                     plain[i].len, user, pass);

		T_CHECK(e == plain[i].want, "PLAIN case %zu: %d", i, e);
		if (e == SASL_OK && plain[i].want == SASL_OK) {
			T_STREQ(user, plain[i].user, "PLAIN user");
			T_STREQ(pass, plain[i].pass, "PLAIN pass");
		}
	}
	/* user and password at their limit and one over */
	for (size_t over = 0; over < 2; over++) {
		size_t n = 0;

		msg[n++] = 0;
		memset(msg + n, 'u', SASL_USER_MAX + over);
		n += SASL_USER_MAX + over;
		msg[n++] = 0;
		memset(msg + n, 'p', SASL_PASS_MAX);
		n += SASL_PASS_MAX;
		T_CHECK(sasl_plain_parse(msg, n, user, pass) ==
		            (over ? SASL_ERR_TOO_LONG : SASL_OK),
		        "user of %zu", SASL_USER_MAX + over);
		if (!over)
			T_CHECK(strlen(user) == SASL_USER_MAX &&
			            strlen(pass) == SASL_PASS_MAX,
			        "lengths at the limit");
	}
}

static const struct {
	const char *line;
	int want;
	const char *user, *val;
} lines[] = {
    {"alice:$6$s$h", 1, "alice", "$6$s$h"},
    {"bob:$6$s$h:admin", 1, "bob", "$6$s$h:admin"},
    {"bob:$6$s$h:admin  ", 1, "bob", "$6$s$h:admin"},
    {"# comment", 0, NULL, NULL},
    {"", 0, NULL, NULL},
    {"   ", 0, NULL, NULL},
    {":$6$s$h", -1, NULL, NULL},
    {"alice", -1, NULL, NULL},
    {"alice:", -1, NULL, NULL},
    {" alice:$6$", -1, NULL, NULL},
    {"al ice:$6$", -1, NULL, NULL},
    {"alice:$6$ x", -1, NULL, NULL},
};

static void
test_users_line(void)
{
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		const char *u = NULL, *v = NULL;
		size_t ul = 0, vl = 0;
		int r = sasl_users_line(lines[i].line, strlen(lines[i].line),
		                        &u, &ul, &v, &vl);

		T_CHECK(r == lines[i].want, "line \"%s\": %d", lines[i].line,
		        r);
		if (r == 1 && lines[i].want == 1)
			T_CHECK(ul == strlen(lines[i].user) &&
			            memcmp(u, lines[i].user, ul) == 0 &&
			            vl == strlen(lines[i].val) &&
			            memcmp(v, lines[i].val, vl) == 0,
			        "line \"%s\" split", lines[i].line);
	}
}

static void
test_value_and_eq(void)
{
	int admin = 7;

	T_CHECK(sasl_value_hash("$6$a$b", 6, &admin) == 6 && admin == 0,
	        "plain hash");
	T_CHECK(sasl_value_hash("$6$a$b:admin", 12, &admin) == 6 && admin == 1,
	        "admin flag");
	T_CHECK(sasl_value_hash("$6$a$b:x,admin", 14, &admin) == 6 &&
	            admin == 1,
	        "admin among flags");
	T_CHECK(sasl_value_hash("$6$a$b:administrator", 20, &admin) == 6 &&
	            admin == 0,
	        "not a prefix match");
	T_CHECK(sasl_const_eq("abc", 3, "abc", 3), "equal");
	T_CHECK(!sasl_const_eq("abd", 3, "abc", 3), "last byte");
	T_CHECK(!sasl_const_eq("ab", 2, "abc", 3), "shorter");
	T_CHECK(!sasl_const_eq("abcd", 4, "abc", 3), "longer");
	T_CHECK(!sasl_const_eq("", 0, "a", 1), "empty");
}

/* A real users file and CDB in a temporary directory. */
static void
test_verify(void)
{
	char dir[] = "/tmp/test_sasl.XXXXXX", src[128], spec[140], err[600],
	     line[400];
	const char *h;
	FILE *f;
	int rc;

	if (!mkdtemp(dir)) {
		T_CHECK(0, "mkdtemp");
		return;
	}
	snprintf(src, sizeof src, "%s/sasl_users", dir);
	snprintf(spec, sizeof spec, "cdb:%s", src);
	T_CHECK(sasl_verify(spec, "alice", "pw") == 0, "no CDB: a failure");
	f = fopen(src, "w");
	h = crypt("s3cret", "$6$0123456789abcdef$");
	snprintf(line, sizeof line, "# users\nalice:%s\nbob:%s:admin\n", h, h);
	fputs(line, f);
	fclose(f);
	rc = map_build(spec, MAP_SYNTAX_PASSWD, 0, NULL, err, sizeof err);
	T_CHECK(rc == 0, "map_build: %s", err);
	T_CHECK(sasl_verify(spec, "alice", "s3cret") == 1, "right password");
	T_CHECK(sasl_verify(spec, "ALICE", "s3cret") == 1, "name folded");
	T_CHECK(sasl_verify(spec, "bob", "s3cret") == 1, "admin entry");
	T_CHECK(sasl_verify(spec, "alice", "s3cre") == 0, "wrong password");
	T_CHECK(sasl_verify(spec, "alice", "s3crett") == 0, "longer password");
	T_CHECK(sasl_verify(spec, "carol", "s3cret") == 0, "unknown user");
	f = fopen(src, "w");
	fputs("alice:$6$x$y\nbroken\n", f);
	fclose(f);
	rc = map_build(spec, MAP_SYNTAX_PASSWD, 0, NULL, err, sizeof err);
	T_CHECK(rc == 65 && strstr(err, "line 2"), "malformed line: %d %s", rc,
	        err);
	T_CHECK(sasl_verify(spec, "alice", "s3cret") == 1,
	        "a failed build keeps the old CDB");
	snprintf(line, sizeof line, "%s.cdb", src);
	unlink(line);
	unlink(src);
	rmdir(dir);
}

int
main(void)
{
	test_b64();
	test_b64_bounds();
	test_auth_arg();
	test_plain();
	test_users_line();
	test_value_and_eq();
	test_verify();
	return T_DONE();
}
