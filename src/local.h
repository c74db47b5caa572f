/*
 * local.h - state of the local delivery agent (see local.c) and the
 * parser of its arguments (local_args.c).
 */
#ifndef TINYMTA_LOCAL_H
#define TINYMTA_LOCAL_H

#include "mbox.h"
#include "qfile.h"
#include "role.h"

#define LOCAL_SLOTS 13 /* queue files per agent: descriptors 3..15 */
#define LOCAL_ITEMS 10 /* items per agent (6 arguments each) */

enum local_kind { LOCAL_MAILBOX, LOCAL_PIPE, LOCAL_FILE };

struct local_item {
	unsigned slot; /* queue file on descriptor 3 + slot */
	unsigned idx;  /* recipient index in that file */
	enum local_kind kind;
	int usable;
	const char *target; /* mailbox path (Maildir when ending in /) */
	const char *addr;   /* final address, for Delivered-To */
};

struct local {
	struct role role;
	struct local_item items[LOCAL_ITEMS];
	size_t nitems;
	int open[LOCAL_SLOTS]; /* 0 not yet, 1 open, -1 unusable */
	char id[LOCAL_SLOTS][QFILE_ID_MAX];
	struct qfile_reader q[LOCAL_SLOTS];
	struct qfile_rcpt rc;
	struct mbox mbox;
};

/* argv = ITEM… (6 strings each); 0, or -1 when malformed. */
int local_parse_items(struct local *l, int argc, char **argv);

#endif
