/*
 * pop3d_box.h - the mailbox of a POP3 session (the mailbox phase, run as
 * the mailbox's owner): open and lock it, index its messages, send one
 * (RETR, TOP) and apply deletions at QUIT.
 *
 * mbox (mail_spool_directory/USER, or home_mailbox not ending in '/'):
 * the dotlock and fcntl write lock of local delivery (mailbox_lock.h)
 * are held for the whole session, so delivery waits (and, past its lock
 * timeout, defers) but never writes meanwhile. The dotlock's mtime is
 * refreshed while the session waits for the client. Deletions rewrite the
 * mailbox: the kept records, byte for byte, into ".USER.pop3.tmp" next to
 * it (O_EXCL), fsync, rename over the mailbox, fsync the directory; local
 * delivery re-checks the inode after it locks (mbox.c), so it never
 * appends to the replaced file. A crash leaves the old or the new
 * mailbox, never a mix (a leftover temporary file is removed by the next
 * session).
 *
 * Maildir (home_mailbox ending in '/'): new/ and cur/, oldest first (by
 * name); DELE unlinks at QUIT. No lock is needed: delivery only adds
 * files through tmp/.
 *
 * UIDL: mbox: the FNV-1a 64 hash of the record (From_ line with its date,
 * Return-Path, Delivered-To, content) in 16 hex digits; a rewrite keeps
 * records byte for byte, so the UIDL stays. Two identical records (same
 * second, same content) get "-2", "-3"… after the hash in mailbox order.
 * Maildir: the file's unique name before ":2,", or its hash when that is
 * longer than 70 characters (RFC 1939 section 7).
 */
#ifndef TINYMTA_POP3D_BOX_H
#define TINYMTA_POP3D_BOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mailbox_lock.h"
#include "pop3_io.h"
#include "pop3_mbox.h"

#define POP3D_BOX_PATH_MAX 1024
#define POP3D_UIDL_MAX 71      /* 70 characters, with NUL */
#define POP3D_MSGS_MAX 1000000 /* messages indexed; the rest waits */

struct pop3d_msg {
	struct pop3_msg m;
	char *name; /* Maildir: "new/NAME" or "cur/NAME" (malloc'd) */
	char uidl[POP3D_UIDL_MAX];
	int deleted;
};

struct pop3d_box {
	int maildir;
	int fd; /* mbox: open, locked; -1 when the file does not exist */
	struct mailbox_dotlock dot;
	int dotlocked;
	uint64_t file_size; /* mbox: size when indexed */
	uint64_t limit;     /* mbox: start of the first message not indexed */
	mode_t mode;        /* mbox: kept by a rewrite */
	char path[POP3D_BOX_PATH_MAX];
	struct pop3d_msg *v;
	size_t n, cap;
};

enum pop3d_box_err {
	POP3D_BOX_OK = 0,
	POP3D_BOX_LOCKED, /* -ERR [IN-USE] */
	POP3D_BOX_TEMP,   /* -ERR [SYS/TEMP] */
	POP3D_BOX_PERM    /* -ERR [SYS/PERM] */
};

/* Open, lock and index path (maildir: a Maildir directory). On error,
 * why[cap] says what (logged by the caller) and nothing is held. */
enum pop3d_box_err pop3d_box_open(struct pop3d_box *b, const char *path,
                                  int maildir, char *why, size_t cap);
/* Refresh the dotlock (called while idle). 0, or -1 (lost). */
int pop3d_box_touch(struct pop3d_box *b);
/* Send message i (RETR: lines -1; TOP: lines) as a multi-line reply body
 * with its final ".". 0, or -1 (read or write error: the session ends). */
int pop3d_box_send(struct pop3d_box *b, size_t i, int64_t lines,
                   struct pop3_io *io);
/* Apply the deletions. 0, or -1 with why[cap] (nothing or, for Maildir,
 * only some of them applied). */
int pop3d_box_update(struct pop3d_box *b, char *why, size_t cap);
/* Unlock and free. */
void pop3d_box_close(struct pop3d_box *b);

#endif
