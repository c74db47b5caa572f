/*
 * sys.h - privilege and process helpers shared by every role: look up the
 * mail_owner user, drop privileges in the fixed order (setgroups, setresgid,
 * setresuid, checked with getresuid, then PR_SET_NO_NEW_PRIVS), find our
 * own executable for re-exec.
 */
#ifndef TINYMTA_UTIL_SYS_H
#define TINYMTA_UTIL_SYS_H

#include <stddef.h>
#include <sys/types.h>

/* Look up a user by name: 1 found, 0 no such user, -1 error (errno). */
int sys_user(const char *name, uid_t *uid, gid_t *gid);

/* Become uid/gid for good (no-op when already that user and not root).
 * 0, or -1 with errno; the caller must exit on failure. */
int sys_drop_privs(uid_t uid, gid_t gid);

/* The path of the running executable (for re-exec) into buf[cap]. */
int sys_self_exe(char *buf, size_t cap);

/* Ignore SIGPIPE, and restore default SIGCHLD handling. */
void sys_default_signals(void);

#endif
