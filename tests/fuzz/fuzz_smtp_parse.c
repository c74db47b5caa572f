/*
 * fuzz_smtp_parse.c - smtp_parse_cmd under libFuzzer. The first byte
 * selects the flags; the rest is one command line. Whatever parses must
 * stay inside the line and keep its bounds.
 */
#include "smtp_parse.h"

#include <stddef.h>
#include <stdint.h>
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
	const char *in = (const char *)data + 1;
	struct smtp_cmd c;
	enum smtp_perr e;

	if (size == 0)
		return 0;
	size--;
	e = smtp_parse_cmd(in, size, data[0] & 1, &c);
	CHECK(c.verb < SMTP_CMD_N && smtp_verb_name(c.verb) != NULL);
	if (c.arg)
		CHECK(c.arg >= in && c.arg + c.arglen <= in + size);
	if (e == SMTP_P_OK &&
	    (c.verb == SMTP_CMD_MAIL || c.verb == SMTP_CMD_RCPT)) {
		CHECK(strlen(c.path.local) <= ADDR_LOCAL_MAX);
		CHECK(strlen(c.path.domain) <= ADDR_DOMAIN_MAX);
	}
	return 0;
}
