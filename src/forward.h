/*
 * forward.h - ~/.forward files (Postfix local(8) semantics): where they
 * are looked for and when one is safe to use. qmgr's resolver reads them
 * as mail_owner, so a user's home directory must be searchable and the
 * file readable by mail_owner; an unreadable file is ignored with a
 * warning and the mail goes to the user's mailbox, as Postfix does with a
 * .forward it cannot use.
 */
#ifndef TINYMTA_FORWARD_H
#define TINYMTA_FORWARD_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define FORWARD_SIZE_MAX 65536 /* larger .forward files are ignored */

enum forward_verdict {
	FORWARD_OK = 0,
	FORWARD_NOT_REGULAR,   /* a symlink, directory, device ... */
	FORWARD_BAD_OWNER,     /* owned by neither the user nor root */
	FORWARD_WORLD_WRITABLE /* mode & 002 */
};

/* PURE: Postfix's rules for a .forward file found with lstat (a symlink
 * is "not a regular file"): a regular file owned by uid or by root, not
 * world-writable. Group write is allowed, as in Postfix. */
enum forward_verdict forward_check(const struct stat *st, uid_t uid);

/* "is not a regular file", "has a bad owner", "is world writable". */
const char *forward_strverdict(enum forward_verdict v);

/* PURE: the candidate paths in Postfix's default forward_path order,
 * "$home/.forward${recipient_delimiter}${extension}, $home/.forward":
 * path i (0 or 1) into out[cap]. delim_ext is "+ext" or "" (then only
 * path 1 exists). 1 when the path exists and fits, 0 when not. */
int forward_path(const char *home, const char *delim_ext, int i, char *out,
                 size_t cap);

enum forward_result {
	FORWARD_FOUND = 1,   /* *text holds the file, malloc'd, NUL-ended */
	FORWARD_NONE = 0,    /* no such file */
	FORWARD_IGNORED = 2, /* unsafe or unreadable: why[] says why */
	FORWARD_ERROR = -1   /* an I/O error: why[] says which (defer) */
};

/* Read the rest of the open file fd, at most max bytes, into a malloc'd
 * NUL-terminated string. 0, or -1 with errno (EFBIG when larger). */
int forward_slurp_fd(int fd, size_t max, char **text);

/* Open path without following a symlink, check it with forward_check
 * against uid and read it (at most FORWARD_SIZE_MAX bytes). */
enum forward_result forward_read(const char *path, uid_t uid, char **text,
                                 char *why, size_t cap);

#endif
