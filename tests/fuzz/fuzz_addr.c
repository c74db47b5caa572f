/*
 * fuzz_addr.c - addr.c under libFuzzer. The first byte selects the flags,
 * the rest is a mailbox and a path. Whatever parses must format within
 * ADDR_TEXT_MAX and parse again to the same normal form (a round trip).
 */
#include "addr.h"

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
round_trip(const struct addr *a, unsigned flags)
{
	char text[ADDR_TEXT_MAX];
	struct addr b;
	int n;

	CHECK(strlen(a->local) <= ADDR_LOCAL_MAX);
	CHECK(strlen(a->domain) <= ADDR_DOMAIN_MAX);
	n = addr_format(a, text, sizeof text);
	CHECK(n >= 0 && (size_t)n < sizeof text);
	if (a->null)
		return;
	CHECK(addr_parse(text, (size_t)n, flags | ADDR_F_BARE, &b, NULL) ==
	      ADDR_OK);
	CHECK(strcmp(a->local, b.local) == 0);
	CHECK(strcmp(a->domain, b.domain) == 0);
	CHECK(a->quoted == b.quoted);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	unsigned flags;
	struct addr a;
	size_t end = 0, epos = 0;
	enum addr_err e;

	if (size == 0)
		return 0;
	flags = data[0] & 63;
	size--;
	e = addr_parse(in, size, flags, &a, &epos);
	CHECK(epos <= size && addr_strerror(e) != NULL);
	if (e == ADDR_OK)
		round_trip(&a, flags & (ADDR_F_UTF8 | ADDR_F_OBS));
	e = addr_parse_path(in, size, flags, &a, &end, &epos);
	CHECK(epos <= size);
	if (e == ADDR_OK) {
		CHECK(end <= size);
		round_trip(&a, flags & (ADDR_F_UTF8 | ADDR_F_OBS));
	}
	e = addr_parse_path(in, size, flags, &a, NULL, NULL);
	CHECK(addr_strerror(e) != NULL);
	return 0;
}
