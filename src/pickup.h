/*
 * pickup.h - state of the pickup role (see pickup.c).
 */
#ifndef TINYMTA_PICKUP_H
#define TINYMTA_PICKUP_H

#include "conf.h"
#include "qfile.h"
#include "queue.h"

struct pickup {
	const struct conf *conf; /* the role's, current after a reload */
	char qdir[QUEUE_DIR_MAX];
	char path[QUEUE_PATH_MAX]; /* the maildrop file at hand */
};

/* Copy r's content to w with the header fields rewritten for queue entry
 * (pickup_rewrite.c). 0; -1 a read or write error (errno); -2 a lookup
 * table could not be read (why[whylen] says which): try again later. */
int pickup_copy_content(const struct conf *c, struct qfile_reader *r,
                        struct qfile_writer *w, char *why, size_t whylen);

#endif
