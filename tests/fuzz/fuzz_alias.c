/*
 * fuzz_alias.c - the lookup table source parsers: logical lines
 * (map_parse.c), `key value` entries and /etc/aliases entries
 * (alias_parse.c). Byte 0 chooses the syntax (even: aliases, odd:
 * postmap); the rest is the source text. An alias entry's canonical value
 * must parse back to itself and its targets must iterate without error.
 */
#include "alias_parse.h"
#include "map.h"
#include "map_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct bufs {
	char line[MAP_LINE_MAX + 1];
	char value[MAP_VALUE_MAX + 1];
	char again[MAP_VALUE_MAX + 1];
	char reline[MAP_VALUE_MAX + 8];
	char name[ALIAS_NAME_MAX + 1];
	char key[MAP_KEY_MAX + 1];
};

/* Where the targets start in an entry that parsed: after the ':'. */
static const char *
value_start(const char *line, size_t len)
{
	size_t i = 0;
	const char *c;

	if (len > 0 && line[0] == '"')
		i = (size_t)map_parse_quoted(line, len, NULL, 0, NULL);
	c = memchr(line + i, ':', len - i);
	if (!c)
		abort();
	return c + 1;
}

/* The canonical value must be a fixed point, and hold the same targets
 * (type and text) as the line it came from. */
static void
check_alias(struct bufs *b, size_t len, size_t vlen)
{
	struct alias_target t1, t2;
	enum alias_err err;
	const char *c1 = value_start(b->line, len), *c2 = b->value;
	size_t n2 = 0;
	int r1, r2;

	memcpy(b->reline, "n: ", 3);
	memcpy(b->reline + 3, b->value, vlen);
	if (alias_parse_entry(b->reline, vlen + 3, b->name, sizeof b->name,
	                      b->again, sizeof b->again, &n2,
	                      NULL) != ALIAS_OK ||
	    n2 != vlen || memcmp(b->again, b->value, vlen) != 0)
		abort();
	do {
		r1 = alias_value_next(&c1, b->line + len, &t1, &err);
		r2 = alias_value_next(&c2, b->value + vlen, &t2, &err);
		if (r1 != r2 || r1 < 0)
			abort();
		if (r1 == 1 && (t1.type != t2.type || t1.len != t2.len ||
		                strcmp(t1.text, t2.text) != 0 ||
		                t1.len != strlen(t1.text)))
			abort();
	} while (r1 == 1);
}

static void
entry(struct bufs *b, size_t len, int alias)
{
	const char *val;
	size_t klen, vlen;

	if (!alias) {
		map_parse_entry(b->line, len, b->key, sizeof b->key, &klen,
		                &val, &vlen);
		return;
	}
	if (alias_parse_entry(b->line, len, b->name, sizeof b->name, b->value,
	                      sizeof b->value, &vlen, NULL) == ALIAS_OK)
		check_alias(b, len, vlen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bufs *b;
	struct map_lines r;
	enum map_parse_err err;
	unsigned line;
	size_t len;

	if (size < 1)
		return 0;
	b = malloc(sizeof *b);
	if (!b)
		return 0;
	map_lines_init(&r, (const char *)data + 1, size - 1);
	while (map_lines_next(&r, b->line, sizeof b->line, &len, &line, &err) ==
	       1)
		entry(b, len, !(data[0] & 1));
	free(b);
	return 0;
}
