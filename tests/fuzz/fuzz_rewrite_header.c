/*
 * fuzz_rewrite_header.c - rewrite_header() under libFuzzer. At start a
 * small postmap table is built in a temporary directory (sender and
 * recipient canonical, generic) and masquerade_domains and
 * tinymta_sender_address are set, so lookups, masquerading and From
 * replacement all run. The input's first byte picks queue entry or
 * relaying out and the output capacity; the rest is a header section,
 * fed field by field. Invariants violated trap: the output fits, a
 * non-address field is copied byte for byte, the spans header.c reports
 * lie inside the value.
 */
#include "header.h"
#include "map_build.h"
#include "rewrite.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static struct conf *conf;
static char out[2 * HEADER_FIELD_MAX];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/tmp/fuzz_rewrite.XXXXXX";
	char path[256], spec[300], err[MAP_ERR_MAX];
	struct conf_problems *ps = conf_problems_new();
	FILE *f;

	(void)argc;
	(void)argv;
	if (!ps || !mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/t", dir);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs("root admin@example.com\n@old.example @new.example\n"
	      "a@b.c \"x y\"@q.example\n@router.lan @isp.example\n",
	      f);
	fclose(f);
	snprintf(spec, sizeof spec, "cdb:%s", path);
	if (map_build(spec, MAP_SYNTAX_POSTMAP, 0, NULL, err, sizeof err) < 0)
		abort();
	conf = conf_new(dir);
	if (!conf)
		abort();
	conf_set(conf, "myhostname", "router.lan", ps);
	conf_set(conf, "sender_canonical_maps", spec, ps);
	conf_set(conf, "recipient_canonical_maps", spec, ps);
	conf_set(conf, "smtp_generic_maps", spec, ps);
	conf_set(conf, "masquerade_domains", "!x.example.com, example.com", ps);
	conf_set(conf, "tinymta_sender_address", "box@isp.example", ps);
	conf_set(conf, "recipient_delimiter", "+", ps);
	conf_problems_free(ps);
	return 0;
}

/* 1 when f names an address field (rewrite.h's list). */
static int
is_addr_field(const char *buf, const struct header_field *f)
{
	static const char *const names[] = {"From",
	                                    "Sender",
	                                    "Reply-To",
	                                    "Errors-To",
	                                    "Return-Receipt-To",
	                                    "Resent-From",
	                                    "Resent-Sender",
	                                    "Resent-Reply-To",
	                                    "To",
	                                    "Cc",
	                                    "Bcc",
	                                    "Apparently-To",
	                                    "Resent-To",
	                                    "Resent-Cc",
	                                    "Resent-Bcc"};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (header_name_is(buf, f, names[i]))
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rewrite_hdr st;
	struct header_field f;
	const char *buf;
	size_t pos = 0, epos, cap;
	ssize_t n;

	if (size < 1)
		return 0;
	rewrite_hdr_init(&st, data[0] & 1);
	cap = (data[0] & 2) ? 64 : sizeof out; /* a small one hits limits */
	buf = (const char *)data + 1;
	size--;
	while (header_next(buf, size, &pos, &f, &epos) == HEADER_OK) {
		size_t len = f.end - f.start;

		n = rewrite_header(conf, &st, buf + f.start, len, out, cap);
		CHECK(n >= -1 && (n < 0 || (size_t)n <= cap));
		CHECK(!st.map_err);
		if (n >= 0 && !is_addr_field(buf, &f))
			CHECK((size_t)n == len &&
			      memcmp(out, buf + f.start, len) == 0);
	}
	n = rewrite_header_end(conf, &st, out, cap);
	CHECK(n >= -1 && (n < 0 || (size_t)n < cap));
	CHECK(!st.from_replaced || st.out);
	return 0;
}
