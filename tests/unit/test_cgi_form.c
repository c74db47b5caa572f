/*
 * test_cgi_form.c - the web UI's form and cookie parsers, HTML escaping,
 * session cookies and CSRF tokens (cgi_form.c, cgi_session.c).
 */
#include "../../src/cgi_form.h"
#include "../../src/cgi_session.h"
#include "t.h"

#include <stdlib.h>

static struct cgi_form F;

static int
parse(const char *s)
{
	char why[128];

	return cgi_form_parse(&F, s, strlen(s), why, sizeof why);
}

static void
test_form(void)
{
	static char big[CGI_INPUT_MAX + 2];
	char why[128];

	T_CHECK(parse("a=1&b=x+y%21&&c&d=") == 0 && F.n == 4, "basic");
	T_STREQ(cgi_form_get(&F, "a"), "1", "a");
	T_STREQ(cgi_form_get(&F, "b"), "x y!", "b: + and %21");
	T_STREQ(cgi_form_get(&F, "c"), "", "c without =");
	T_STREQ(cgi_form_get(&F, "d"), "", "d empty");
	T_CHECK(cgi_form_get(&F, "e") == NULL, "missing");
	T_CHECK(parse("") == 0 && F.n == 0, "empty");
	T_CHECK(parse("v=%24%28id%29%3B%22%27%3C") == 0, "hostile chars");
	T_STREQ(cgi_form_get(&F, "v"), "$(id);\"'<", "hostile decoded");
	T_CHECK(parse("v=a=b") == 0, "= in a value");
	T_STREQ(cgi_form_get(&F, "v"), "a=b", "= kept");
	T_CHECK(parse("v=%C3%A9") == 0, "UTF-8");
	/* refusals */
	T_CHECK(parse("v=%00") < 0 && F.n == 0, "NUL refused");
	T_CHECK(parse("v=a%0Ab") < 0, "newline refused");
	T_CHECK(parse("v=a%0db") < 0, "CR refused");
	T_CHECK(parse("v=%7f") < 0, "DEL refused");
	T_CHECK(parse("v=%") < 0 && parse("v=%4") < 0 && parse("v=%zz") < 0,
	        "bad escapes");
	T_CHECK(parse("v=1&v=2") < 0, "a name twice");
	T_CHECK(parse("V=1") < 0 && parse("a%62=1") < 0 && parse("=1") < 0 &&
	            parse("a-b=1") < 0,
	        "bad names");
	T_CHECK(parse("abcdefghijabcdefghijabcdefghij12=1") == 0 &&
	            parse("abcdefghijabcdefghijabcdefghij123=1") < 0,
	        "name length 32");
	memset(big, 'a', sizeof big);
	big[0] = 'v';
	big[1] = '=';
	T_CHECK(cgi_form_parse(&F, big, CGI_VALUE_MAX + 2, why, sizeof why) ==
	            0,
	        "value of CGI_VALUE_MAX");
	T_CHECK(cgi_form_parse(&F, big, CGI_VALUE_MAX + 3, why, sizeof why) <
	                0 &&
	            strstr(why, "longer"),
	        "value too long: %s", why);
	T_CHECK(cgi_form_parse(&F, big, CGI_INPUT_MAX + 1, why, sizeof why) < 0,
	        "input too long");
	{
		char many[400] = "";

		for (int i = 0; i < CGI_FIELDS_MAX; i++)
			snprintf(many + strlen(many),
			         sizeof many - strlen(many), "f%d=1&", i);
		T_CHECK(parse(many) == 0 && F.n == CGI_FIELDS_MAX, "32 fields");
		strcat(many, "z=1");
		T_CHECK(parse(many) < 0, "33 fields refused");
	}
}

static void
test_cookie_html(void)
{
	char v[16];
	FILE *f;
	char *buf = NULL;
	size_t len = 0;

	T_CHECK(cgi_cookie("a=1; tmsid=xyz; b=2", "tmsid", v, sizeof v) &&
	            strcmp(v, "xyz") == 0,
	        "cookie found");
	T_CHECK(!cgi_cookie("xtmsid=1; tmsidx=2", "tmsid", v, sizeof v),
	        "no prefix match");
	T_CHECK(!cgi_cookie("tmsid=0123456789abcdefg", "tmsid", v, sizeof v),
	        "too long not found");
	T_CHECK(!cgi_cookie("", "tmsid", v, sizeof v), "empty header");
	f = open_memstream(&buf, &len);
	cgi_html(f, "<a href=\"x\">'&'</a>");
	fclose(f);
	T_STREQ(buf, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
	        "escaped");
	free(buf);
}

static void
test_session(void)
{
	unsigned char key[CGI_KEY_LEN] = {1, 2, 3}, key2[CGI_KEY_LEN] = {9};
	char c[CGI_COOKIE_MAX], u[CGI_USER_MAX + 1], t1[CGI_TOKEN_LEN + 1],
	    t2[CGI_TOKEN_LEN + 1];
	time_t now = 1700000000;

	T_CHECK(cgi_session_make(key, "admin@x", now, c, sizeof c) == 0,
	        "make");
	T_CHECK(cgi_session_check(key, c, now + 10, u, sizeof u) == 1 &&
	            strcmp(u, "admin@x") == 0,
	        "check");
	T_CHECK(cgi_session_check(key, c, now + CGI_SESSION_TTL, u, sizeof u) ==
	            0,
	        "expired");
	T_CHECK(cgi_session_check(key2, c, now, u, sizeof u) == 0,
	        "another key");
	c[0] = 'b'; /* "bdmin": the MAC no longer matches */
	T_CHECK(cgi_session_check(key, c, now, u, sizeof u) == 0, "tampered");
	T_CHECK(cgi_session_check(key, "", now, u, sizeof u) == 0 &&
	            cgi_session_check(key, "a.b.c", now, u, sizeof u) == 0,
	        "garbage");
	T_CHECK(cgi_session_make(key, "a b", now, c, sizeof c) < 0 &&
	            cgi_session_make(key, "", now, c, sizeof c) < 0,
	        "bad user names");
	cgi_csrf_token(key, "s1", t1);
	cgi_csrf_token(key, "s2", t2);
	T_CHECK(strlen(t1) == CGI_TOKEN_LEN && !cgi_token_eq(t1, t2),
	        "tokens differ per session");
	cgi_csrf_token(key, "s1", t2);
	T_CHECK(cgi_token_eq(t1, t2) && !cgi_token_eq(t1, "") &&
	            !cgi_token_eq(t1, "00"),
	        "token compare");
}

int
main(void)
{
	test_form();
	test_cookie_html();
	test_session();
	return T_DONE();
}
