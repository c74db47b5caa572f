/*
 * maildir.h - deliver one message into a Maildir (home_mailbox = Maildir/).
 *
 * The message file is Return-Path: and Delivered-To: (as in mbox.h), then
 * the content unchanged (no From_ line, no escaping), plus a final newline
 * when the content lacks one. Commit order (qmail): write tmp/NAME with
 * O_EXCL, fsync, close, link() to new/NAME (rename() where the file
 * system has no hard links, e.g. vfat), unlink tmp/NAME, fsync new/.
 * NAME is "SEC.M<usec>P<pid>Q<seq>.HOST": unique across processes by the
 * pid, within one by the sequence number, and never overwritten (O_EXCL,
 * link() fails on an existing name and a fresh name is tried).
 * Missing DIR, DIR/tmp, DIR/new and DIR/cur are created (0700); the parent
 * of DIR must exist. mailbox_size_limit limits each message file, as in
 * Postfix.
 */
#ifndef TINYMTA_MAILDIR_H
#define TINYMTA_MAILDIR_H

#include <stddef.h>
#include <stdint.h>

#include "mbox.h"

#define MAILDIR_PATH_MAX 1024 /* the Maildir directory, with NUL */
#define MAILDIR_HOST_MAX 256  /* host part of a name, escaped, with NUL */
#define MAILDIR_NAME_MAX 384  /* a whole file name, with NUL */
#define MAILDIR_TRIES 8       /* fresh names tried on a collision */

/* Per-process delivery state. Caller-owned (about 9 KB); fields private. */
struct maildir {
	char dir[MAILDIR_PATH_MAX];
	char host[MAILDIR_HOST_MAX]; /* '/' and ':' escaped as \057 \072 */
	unsigned long seq;           /* the Q part of the next name */
	uint64_t size_limit;         /* per message file; 0 = unlimited */
	int ready;                   /* the directories were checked */
	char buf[MBOX_BUF_SIZE];
};

/* dir: the Maildir path (a trailing '/' is allowed). hostname: the host
 * part of names (myhostname); NULL: uname's nodename. 0, or -1 with *res
 * PERM 5.3.0 (a path or host name that does not fit). No I/O besides
 * uname. */
int maildir_init(struct maildir *md, const char *dir, const char *hostname,
                 uint64_t size_limit, struct mbox_result *res);

/* Deliver one message (msg->date is not used). On OK, name[cap] (when
 * not NULL) receives "new/NAME". Returns res->status; on failure nothing
 * is left in tmp/ or new/. Runs as the mailbox owner. */
enum mbox_status maildir_deliver(struct maildir *md, const struct mbox_msg *msg,
                                 struct mbox_result *res, char *name,
                                 size_t cap);

#endif
