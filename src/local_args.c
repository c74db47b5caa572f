/*
 * local_args.c - parse the local agent's arguments (docs/processes.md):
 * ID SLOT IDX KIND TARGET ADDR SENDER, repeated. They come from qmgr through
 * the master; still checked, since a bad one must not become a bad write.
 */
#include "local.h"
#include "util/str.h"

#include <string.h>

static int
kind_of(const char *s, enum local_kind *k)
{
	if (strcmp(s, "mailbox") == 0)
		*k = LOCAL_MAILBOX;
	else if (strcmp(s, "pipe") == 0)
		*k = LOCAL_PIPE;
	else if (strcmp(s, "file") == 0)
		*k = LOCAL_FILE;
	else
		return -1;
	return 0;
}

int
local_parse_items(struct local *l, int argc, char **argv)
{
	if (argc <= 0 || argc % 7 != 0 || argc / 7 > LOCAL_ITEMS)
		return -1;
	l->nitems = 0;
	for (int i = 0; i < argc; i += 7) {
		struct local_item *it = &l->items[l->nitems++];
		uint32_t slot, idx;

		if (!qfile_id_valid(argv[i]) ||
		    scan_u32(argv[i + 1], &slot) < 0 || slot >= LOCAL_SLOTS ||
		    scan_u32(argv[i + 2], &idx) < 0 ||
		    kind_of(argv[i + 3], &it->kind) < 0 || !argv[i + 4][0] ||
		    (it->kind != LOCAL_PIPE && argv[i + 4][0] != '/'))
			return -1;
		it->slot = slot;
		it->idx = idx;
		it->target = argv[i + 4];
		it->addr = argv[i + 5];
		it->sender = argv[i + 6];
		str_copy(l->id[slot], sizeof l->id[slot], argv[i]);
	}
	return 0;
}
