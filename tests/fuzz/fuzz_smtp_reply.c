/*
 * fuzz_smtp_reply.c - the smtp client's reply parser under libFuzzer: the
 * first byte chooses how the rest is cut into reads (as a server's bytes
 * arrive in pieces); every complete reply also goes through the EHLO
 * keyword parser, the enhanced-code extractor and the one-line printer.
 * Whatever comes in, the bounds hold and no byte past the input is used.
 */
#include "smtp_client_reply.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static struct smtpc_reply r;

static void
done(void)
{
	struct smtpc_ext e;
	char dsn[16], line[300];

	CHECK(r.code >= 200 && r.code <= 599);
	CHECK(r.textlen <= SMTPC_TEXT_MAX && strlen(r.text) == r.textlen);
	CHECK(r.lines >= 1 && r.lines <= SMTPC_LINES_MAX);
	smtpc_ehlo_parse(&r, &e);
	CHECK(strlen(e.auth) < sizeof e.auth);
	smtpc_reply_dsn(&r, dsn, sizeof dsn);
	CHECK(dsn[0] == '2' || dsn[0] == '4' || dsn[0] == '5' || dsn[0] == '3');
	smtpc_reply_line(&r, line, sizeof line);
	for (size_t i = 0; line[i]; i++)
		CHECK((unsigned char)line[i] >= 0x20 &&
		      (unsigned char)line[i] < 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;
	size_t step, n;

	if (size == 0)
		return 0;
	step = (size_t)data[0] + 1;
	n = size - 1;
	smtpc_reply_init(&r);
	while (n > 0) {
		size_t k = n < step ? n : step, used = 99999999;
		enum smtpc_rstat st = smtpc_reply_feed(&r, p, k, &used);

		CHECK(used <= k);
		if (st == SMTPC_R_MORE)
			CHECK(used == k);
		if (st == SMTPC_R_ERR) {
			CHECK(r.err != NULL);
			smtpc_reply_init(&r);
		}
		if (st == SMTPC_R_DONE) {
			done();
			smtpc_reply_init(&r);
		}
		if (used == 0 && st != SMTPC_R_MORE)
			used = 1; /* an error on no input: skip a byte */
		p += used;
		n -= used;
	}
	return 0;
}
