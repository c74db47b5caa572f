/*
 * fuzz_sasl.c - the SASL decoders under libFuzzer: the input is used as
 * an AUTH argument, as base64 (then the decoded bytes as a PLAIN message)
 * and as a users-file line. Whatever decodes must stay inside its buffer
 * and respect the documented bounds.
 */
#include "sasl_decode.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static void
plain(const unsigned char *msg, size_t n)
{
	char user[SASL_USER_MAX + 1], pass[SASL_PASS_MAX + 1];

	if (sasl_plain_parse(msg, n, user, pass) == SASL_OK) {
		size_t ul = strlen(user), pl = strlen(pass);

		CHECK(ul > 0 && ul <= SASL_USER_MAX);
		CHECK(pl > 0 && pl <= SASL_PASS_MAX);
		CHECK(sasl_user_check(user, ul) == SASL_OK);
		CHECK(ul + pl + 2 <= n);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	unsigned char out[SASL_MSG_MAX];
	enum sasl_mech m;
	const char *ir, *u, *v;
	size_t n = 0, irlen, ul, vl;
	int admin;

	if (sasl_parse_auth(in, size, &m, &ir, &irlen) == SASL_OK) {
		CHECK(m == SASL_MECH_PLAIN || m == SASL_MECH_LOGIN);
		if (ir)
			CHECK(ir >= in && ir + irlen <= in + size &&
			      irlen <= SASL_B64_MAX);
	}
	if (sasl_b64_decode(in, size, out, sizeof out, &n) == SASL_OK) {
		CHECK(n <= sizeof out &&
		      n == size / 4 * 3 - (size > 0 && in[size - 1] == '=') -
		               (size > 1 && in[size - 2] == '='));
		plain(out, n);
	}
	plain(data, size);
	if (sasl_users_line(in, size, &u, &ul, &v, &vl) == 1) {
		CHECK(u == in && ul > 0 && ul <= SASL_USER_MAX);
		CHECK(v > u && v + vl <= in + size && vl > 0);
		CHECK(sasl_value_hash(v, vl, &admin) <= vl);
	}
	(void)sasl_const_eq(in, size, in, size / 2);
	return 0;
}
