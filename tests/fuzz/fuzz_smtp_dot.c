/*
 * fuzz_smtp_dot.c - the smtp client's DATA encoder under libFuzzer: the
 * first byte sets the line length limit (0..63, 0: none) and the output
 * buffer size; the rest is stored content. The wire text must hold no
 * bare CR or LF, no line longer than the limit (plus a doubled dot), no
 * line "." before the end, and end in CRLF ".CRLF".
 */
#include "smtp_client_data.h"

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpc_dot d;
	const char *in = (const char *)data + 1;
	size_t n, limit, cap, o = 0, col = 0;
	char *out;

	if (size == 0 || size > 65536)
		return 0;
	limit = data[0] & 63;
	cap = SMTPC_DOT_GROWTH + (data[0] >> 6) * 5;
	n = size - 1;
	out = malloc(n * SMTPC_DOT_GROWTH + 8);
	if (!out)
		return 0;
	smtpc_dot_init(&d, limit);
	while (n > 0) {
		size_t used = 0,
		       w = smtpc_dot_encode(&d, in, n, out + o, cap, &used);

		CHECK(used > 0 && used <= n && w <= cap);
		o += w;
		in += used;
		n -= used;
	}
	o += smtpc_dot_end(&d, out + o);
	CHECK(o >= 3 && memcmp(out + o - 3, ".\r\n", 3) == 0);
	CHECK(o == 3 || (o >= 5 && out[o - 5] == '\r' && out[o - 4] == '\n'));
	for (size_t i = 0; i < o; i++) {
		if (out[i] == '\r') {
			CHECK(i + 1 < o && out[i + 1] == '\n');
			continue;
		}
		if (out[i] == '\n') {
			CHECK(i > 0 && out[i - 1] == '\r');
			/* a line "." only at the very end */
			if (col == 1 && out[i - 2] == '.')
				CHECK(i == o - 1);
			col = 0;
			continue;
		}
		col++;
		if (limit > 0)
			CHECK(col <= limit + 1);
	}
	free(out);
	return 0;
}
