/*
 * pickup.h - state of the pickup role (see pickup.c).
 */
#ifndef TINYMTA_PICKUP_H
#define TINYMTA_PICKUP_H

#include "conf.h"
#include "queue.h"

struct pickup {
	const struct conf *conf; /* the role's, current after a reload */
	char qdir[QUEUE_DIR_MAX];
	char path[QUEUE_PATH_MAX]; /* the maildrop file at hand */
};

#endif
