/*
 * fuzz_header.c - header.c under libFuzzer: the input is a header section
 * (split into fields, each value walked as an address list) and also one
 * address list as a whole. Invariants violated trap.
 */
#include "header.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

/* Walk an address list; every mailbox is bounded and inside v. */
static void
walk(const char *v, size_t len)
{
	struct header_addr_iter it = {0};
	struct header_addr a;
	size_t epos, last = 0, count = 0;
	enum header_err e;

	while ((e = header_addr_next(v, len, &it, &a, &epos)) == HEADER_OK) {
		CHECK(a.addr_len > 0 && a.addr_len <= HEADER_ADDR_MAX);
		CHECK(strlen(a.addr) == a.addr_len);
		CHECK(a.name_off + a.name_len <= len);
		CHECK(a.spec_len > 0 && a.spec_off + a.spec_len <= len);
		CHECK(!a.in_group || a.group_off + a.group_len <= len);
		CHECK(it.pos > last || it.pos == len);
		last = it.pos;
		CHECK(++count <= len);
	}
	CHECK(e == HEADER_END || epos <= len);
	CHECK(header_strerror(e) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct header_field f[64];
	size_t n = 0, body = 0, epos = 0;
	enum header_err e;

	e = header_split(buf, size, f, 64, &n, &body, &epos);
	CHECK(n <= 64);
	if (e == HEADER_OK)
		CHECK(body <= size);
	for (size_t i = 0; i < n; i++) {
		CHECK(f[i].start < f[i].value && f[i].value <= f[i].value_end);
		CHECK(f[i].value_end <= f[i].end && f[i].end <= size);
		CHECK(f[i].name_len > 0 && f[i].name_len <= HEADER_NAME_MAX);
		CHECK(f[i].value_end - f[i].start <= HEADER_FIELD_MAX);
		CHECK(i == 0 || f[i].start == f[i - 1].end);
		walk(buf + f[i].value, f[i].value_end - f[i].value);
	}
	walk(buf, size);
	return 0;
}
