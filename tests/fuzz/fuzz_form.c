/*
 * fuzz_form.c - the web UI's untrusted-input parsers under libFuzzer: the
 * input as a form body / query string (cgi_form_parse), as a Cookie header
 * (cgi_cookie) and as a session cookie (cgi_session_check). Whatever is
 * accepted must respect the documented bounds: names [a-z0-9_] up to
 * CGI_NAME_MAX, values without control bytes up to CGI_VALUE_MAX, inside
 * the form's buffer, each name once.
 */
#include "cgi_form.h"
#include "cgi_session.h"

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

static struct cgi_form F;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[CGI_KEY_LEN] = {7};
	char why[256], *s, v[CGI_COOKIE_MAX], user[CGI_USER_MAX + 1];

	if (cgi_form_parse(&F, (const char *)data, size, why, sizeof why) ==
	    0) {
		CHECK(size <= CGI_INPUT_MAX && F.n <= CGI_FIELDS_MAX);
		CHECK(F.used <= sizeof F.buf);
		for (size_t i = 0; i < F.n; i++) {
			size_t nl = strlen(F.f[i].name), vl;

			CHECK(nl >= 1 && nl <= CGI_NAME_MAX);
			CHECK(strspn(F.f[i].name, "abcdefghijklmnopqrstuvwxyz"
			                          "0123456789_") == nl);
			CHECK(F.f[i].value >= F.buf &&
			      F.f[i].value < F.buf + sizeof F.buf);
			vl = strlen(F.f[i].value);
			CHECK(vl <= CGI_VALUE_MAX);
			for (size_t j = 0; j < vl; j++)
				CHECK((unsigned char)F.f[i].value[j] >= 0x20 &&
				      F.f[i].value[j] != 0x7f);
			CHECK(cgi_form_get(&F, F.f[i].name) == F.f[i].value);
		}
	} else {
		CHECK(F.n == 0 && memchr(why, '\0', sizeof why));
	}
	if (!(s = malloc(size + 1)))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (cgi_cookie(s, "tmsid", v, sizeof v))
		CHECK(strlen(v) < sizeof v);
	/* a random cookie never passes: the MAC is under a key it does not
	 * know (a hit here would be an HMAC-SHA256 forgery) */
	CHECK(cgi_session_check(key, s, 0, user, sizeof user) == 0);
	free(s);
	return 0;
}
