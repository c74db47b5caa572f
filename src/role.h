/*
 * role.h - what every role the master starts (pickup, qmgr, local) does
 * first: logging as the master set it up (TINYMTA_LOGTO, TINYMTA_VERBOSE),
 * the configuration, SIGTERM as a stop request, and the frames the master
 * sends on descriptor 3 (IPC_RELOAD; EOF means the master is gone).
 */
#ifndef TINYMTA_ROLE_H
#define TINYMTA_ROLE_H

#include "conf.h"
#include "ipc.h"

struct role {
	struct conf *conf;
	const char *name;
};

/* Set up logging, signals and the configuration. 0, or -1 (logged). */
int role_init(struct role *r, const char *name);
/* 1 once SIGTERM or SIGINT arrived. */
int role_stopping(void);
/* Re-read the configuration; the old one stays on errors. 0 or -1. */
int role_reload(struct role *r);
/* Read one frame from the master link: handles IPC_RELOAD itself and
 * returns 0; returns 1 with *m for any other frame, -1 when the link is
 * closed or broken (the role should exit). */
int role_link_read(struct role *r, int fd, unsigned char *buf,
                   struct ipc_msg *m);
/* For roles with nothing else to hear: role_link_read and ignore. */
int role_link_input(struct role *r, int fd);

#endif
