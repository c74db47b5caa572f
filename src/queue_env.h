/*
 * queue_env.h - what the queue commands (mailq, postqueue, postcat,
 * postsuper) need from main.cf: queue_directory and mail_owner, resolved
 * to the uid/gid that owns the queue, and the privilege rules around it
 * (docs/queue-format.md, "Owners and development mode").
 */
#ifndef TINYMTA_QUEUE_ENV_H
#define TINYMTA_QUEUE_ENV_H

#include <sys/types.h>

#include "queue.h"

struct queue_env {
	char dir[QUEUE_DIR_MAX]; /* queue_directory */
	char owner[64];          /* mail_owner as configured */
	uid_t uid;               /* who owns the queue: mail_owner as root, */
	gid_t gid;               /* the invoking user otherwise */
	int dev;                 /* 1: not root, development mode */
};

/* Read main.cf (conf_config_dir()) and resolve the owner. Problems are
 * printed on stderr under prog's name. As root, mail_owner must be a
 * known user other than root; as anyone else mail_owner is ignored and
 * the invoking user owns the queue (development mode). 0, or the exit
 * code to give up with (78 for a configuration error). */
int queue_env_load(struct queue_env *qe, const char *prog);
/* As root: become mail_owner for good (the commands need no more). 0, or
 * -1 with errno. Others: no-op. */
int queue_env_drop(const struct queue_env *qe);
/* 1 when the process may change the queue: root, or the owner of its
 * private directories (mail_owner, or the developer in development
 * mode); 0 otherwise, -1 with errno when that cannot be told (the
 * queue directory is missing). */
int queue_env_may_modify(const struct queue_env *qe);
/* 0 when queue_directory exists, else -1 with errno. */
int queue_env_exists(const struct queue_env *qe);

#endif
