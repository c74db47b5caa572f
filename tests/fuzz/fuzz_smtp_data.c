/*
 * fuzz_smtp_data.c - the DATA state machine under libFuzzer. The input is
 * fed whole and in pieces of the first byte's size: the content, the end
 * and the bytes used must agree, the output must stay within its bound,
 * and no end may be reported unless the input holds "\r\n.\r\n" (or
 * starts with ".\r\n").
 */
#include "smtp_data.h"

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

static size_t
run(const uint8_t *in, size_t len, size_t piece, unsigned char *out, int *end,
    size_t *pos)
{
	struct smtp_data d;
	size_t o = 0;

	smtp_data_init(&d);
	*end = 0;
	*pos = 0;
	while (*pos < len && !*end) {
		size_t n = len - *pos < piece ? len - *pos : piece, got, used;

		*end = smtp_data_feed(&d, in + *pos, n, out + o, &got, &used) ==
		       SMTP_DATA_END;
		CHECK(got <= n + SMTP_DATA_SLACK && used <= n);
		CHECK(*end || used == n);
		o += got;
		*pos += used;
	}
	CHECK(d.size == o);
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *a, *b;
	size_t na, nb, pa, pb, piece;
	int ea, eb;

	if (size == 0)
		return 0;
	piece = (size_t)data[0] % 16 + 1;
	data++;
	size--;
	a = malloc(size + SMTP_DATA_SLACK + 1);
	b = malloc(size + SMTP_DATA_SLACK + 16);
	if (!a || !b)
		abort();
	na = run(data, size, size ? size : 1, a, &ea, &pa);
	nb = run(data, size, piece, b, &eb, &pb);
	CHECK(na == nb && ea == eb && pa == pb && memcmp(a, b, na) == 0);
	if (ea) {
		CHECK(pa >= 3 && memcmp(data + pa - 3, ".\r\n", 3) == 0);
		CHECK(pa == 3 ||
		      (pa >= 5 && memcmp(data + pa - 5, "\r\n", 2) == 0));
	}
	free(a);
	free(b);
	return 0;
}
