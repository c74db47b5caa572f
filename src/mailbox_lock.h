/*
 * mailbox_lock.h - the two mailbox locks every tinymta mailbox user takes,
 * in this order: a dotlock ("PATH.lock" created with O_CREAT|O_EXCL next to
 * the mailbox), then an fcntl() lock on the open mailbox. Local delivery,
 * the POP3 server and `mail` share these functions so they exclude each
 * other and any other dotlock/fcntl-aware mail program.
 *
 * Both acquire functions retry a bounded number of times, with short sleeps,
 * within a total time bound; a lock still held after that is -1 with errno
 * EAGAIN ("Resource temporarily unavailable"), which callers report as a
 * temporary failure. Every other failure is -1 with the errno of the system
 * call that failed.
 */
#ifndef TINYMTA_MAILBOX_LOCK_H
#define TINYMTA_MAILBOX_LOCK_H

#include <sys/types.h>

/* Defaults: Postfix tries 20 times, 1 s apart (deliver_lock_attempts,
 * deliver_lock_delay) and removes lock files older than stale_lock_time
 * (500 s). We poll more often for the same total bound. */
#define MAILBOX_LOCK_TIMEOUT_MS 20000
#define MAILBOX_LOCK_RETRY_MS 100
#define MAILBOX_LOCK_TRIES 200
#define MAILBOX_LOCK_STALE_S 500
#define MAILBOX_LOCK_PATH_MAX 1024 /* mailbox path plus ".lock", with NUL */

struct mailbox_lock_opts {
	unsigned timeout_ms; /* total time bound for one acquire */
	unsigned retry_ms;   /* pause between two attempts (capped by the
	                        remaining time) */
	unsigned tries;      /* attempts per acquire, at least 1 */
	unsigned stale_s;    /* a dotlock whose mtime is further than this
	                        from now (either way: a clock set after boot)
	                        is stale and removed */
};

/* Fill *o with the defaults above. */
void mailbox_lock_defaults(struct mailbox_lock_opts *o);

/* A held dotlock: its path and the identity of the file we created, so
 * release never removes a lock that somebody else took over as stale. */
struct mailbox_dotlock {
	char path[MAILBOX_LOCK_PATH_MAX];
	dev_t dev;
	ino_t ino;
	int held;
};

/* Create mbox_path".lock" (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, our pid
 * inside). A lock that exists and is stale is removed and the attempt
 * repeated at once. 0 on success (l->held = 1); -1 with errno: EAGAIN when
 * still held after the bounds, ENAMETOOLONG when the path does not fit,
 * else the errno of open/write/unlink (EACCES when the directory is not
 * writable). The remaining race (two processes removing the same stale
 * lock) is why callers take the fcntl lock next. */
int mailbox_lock_dot_acquire(struct mailbox_dotlock *l, const char *mbox_path,
                             const struct mailbox_lock_opts *o);

/* Refresh the lock file's mtime so a long holder (a POP3 session) is not
 * taken for stale. 0, or -1 with errno (ESTALE when it is not ours any
 * more). */
int mailbox_lock_dot_touch(struct mailbox_dotlock *l);

/* Remove the lock file if it is still the one we created. 0 when removed
 * or not held; -1 with errno (ESTALE: somebody replaced it; left alone). */
int mailbox_lock_dot_release(struct mailbox_dotlock *l);

/* fcntl(F_SETLK) of the whole file, type F_WRLCK (fd open for writing) or
 * F_RDLCK, retried within the bounds. 0, or -1 with errno (EAGAIN when
 * still held). Note: POSIX drops a process's fcntl locks on a file when
 * ANY descriptor of that file is closed by the process. */
int mailbox_lock_fcntl_acquire(int fd, short type,
                               const struct mailbox_lock_opts *o);

/* Release the fcntl lock (F_UNLCK). 0, or -1 with errno. */
int mailbox_lock_fcntl_release(int fd);

#endif
