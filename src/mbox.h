/*
 * mbox.h - append messages to a Unix mbox file safely, and the vocabulary
 * shared with maildir.h: the delivery result, the envelope of one message
 * and the content read callback.
 *
 * Format: mboxrd. Each record is
 *   "From SENDER DATE\n"            SENDER "MAILER-DAEMON" for <>; DATE
 *                                   asctime-style local time
 *                                   ("Sun Nov 29 16:45:08 2026")
 *   "Return-Path: <SENDER>\n"
 *   "Delivered-To: RECIPIENT\n"
 *   content, where every line matching ^>*From  gets one more '>'
 *   "\n" when the content does not end with one, then one blank line.
 * Readers (pop3d, `mail`) undo the escaping by removing one '>' from every
 * line matching ^>+From . mboxrd rather than Postfix's mboxo because it is
 * reversible: a line that really starts with ">From " survives the trip.
 * When an existing mailbox does not end with a newline, the record starts
 * with one so that its From_ line starts a line.
 *
 * Locking and safety (see mailbox_lock.h): dotlock, then open with
 * O_NOFOLLOW|O_APPEND (created O_EXCL, mode 0600, when missing), fcntl
 * write lock, then a re-check that the path still names the locked file
 * (regular, one link, owned by the expected uid); a file replaced meanwhile
 * (rename by a POP3 session) is reopened and relocked, a bounded number of
 * times. A failed or refused record is cut off again with ftruncate() to the
 * end of the previous record; success is reported only after fsync().
 *
 * Group commit:  mbox_open, mbox_append x N (no fsync), mbox_commit (one
 * fsync), mbox_close. A message whose mbox_append returned 0 is delivered
 * only when the following mbox_commit returns 0; mbox_commit's result is the
 * result of every such message. A message whose mbox_append returned -1 is
 * not in the mailbox (its own result says why) and does not disturb the
 * others. mbox_close cuts off anything appended but not committed.
 */
#ifndef TINYMTA_MBOX_H
#define TINYMTA_MBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "mailbox_lock.h"

#define MBOX_PATH_MAX 1024  /* mail_spool_directory/USER, with NUL */
#define MBOX_ADDR_MAX 1024  /* envelope address (as QFILE_ADDR_MAX) */
#define MBOX_REASON_MAX 256 /* one-line reason, with NUL */
#define MBOX_BUF_SIZE 8192  /* each of the read and write buffers */
#define MBOX_REOPEN_MAX 5   /* opens when the file keeps being replaced */
/* Delivered-To scan bound: Postfix's header_size_limit. */
#define MBOX_DT_LIMIT 102400
#define MBOX_DT_NAME_MAX 32 /* longer field names cannot be Delivered-To */

/* The outcome of one delivery: OK (2.x.x), TEMP (4.x.x: deferred, try
 * again later), PERM (5.x.x: bounce). */
enum mbox_status {
	MBOX_OK = 0,
	MBOX_TEMP,
	MBOX_PERM,
};

/* dsn is the RFC 3463 enhanced status code; reason is one line of text
 * (errno text included) for "dsn=4.2.1, status=deferred (REASON)". It
 * contains no control characters and no path. The codes used:
 *   2.0.0 delivered (mbox: committed)
 *   4.2.1 lock held or not creatable, file replaced too often
 *   4.2.2 quota (EDQUOT)   4.3.1 file system full (ENOSPC)
 *   4.3.0 other I/O errors, content read error
 *   5.2.0 unsafe mailbox: symlink, hard links, other owner, not a file
 *   5.2.2 mailbox_size_limit (or EFBIG)
 *   5.3.0 unusable arguments: control characters, over-long path */
struct mbox_result {
	enum mbox_status status;
	char dsn[8];
	char reason[MBOX_REASON_MAX];
};

/* Fill *r: status, dsn and a printf-style reason; when err is not 0,
 * ": strerror(err)" is appended. A reason too long is truncated. */
void mbox_result_set(struct mbox_result *r, enum mbox_status status,
                     const char *dsn, int err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Map the errno of a failed write or fsync: EFBIG PERM 5.2.2 (a file size
 * limit), EDQUOT TEMP 4.2.2, ENOSPC TEMP 4.3.1, anything else TEMP 4.3.0.
 * The reason is "WHAT: strerror(err)". */
void mbox_result_errno(struct mbox_result *r, int err, const char *what);

/* Content source: read up to cap bytes into buf; returns the count, 0 at
 * the end, -1 with errno on error. Content has LF line endings (qfile.h).
 * For a queue file:
 *   static ssize_t rd(void *r, void *b, size_t n)
 *   { return qfile_content_read(r, b, n); }     (after qfile_content_rewind)
 */
typedef ssize_t (*mbox_read_fn)(void *ctx, void *buf, size_t cap);

/* One message to deliver. sender "" is the null sender. sender and
 * recipient: at most MBOX_ADDR_MAX bytes, no control characters (else PERM
 * 5.3.0), written as given. */
struct mbox_msg {
	const char *sender;
	const char *recipient; /* for Delivered-To: */
	time_t date;           /* From_ line time; 0: now */
	mbox_read_fn read;
	void *ctx;
};

/* 0 when msg can be written; else -1 with *res PERM 5.3.0. */
int mbox_msg_check(const struct mbox_msg *msg, struct mbox_result *res);

enum mbox_dotlock {
	MBOX_DOTLOCK_REQUIRED = 0, /* no lock file, no delivery (TEMP) */
	MBOX_DOTLOCK_MAY_FAIL,     /* a directory where the user cannot
	                              create files: fcntl lock only. A lock
	                              file that exists is still waited for */
	MBOX_DOTLOCK_NONE,
};

struct mbox_opts {
	uid_t uid;           /* the mailbox must be owned by this uid */
	gid_t gid;           /* group given to a mailbox we create (when
	                        the kernel lets us: EPERM is ignored) */
	uint64_t size_limit; /* mailbox_size_limit; 0 = unlimited: the size
	                        the mailbox would have after the record */
	struct mailbox_lock_opts lock;
	enum mbox_dotlock dotlock;
	unsigned reopen_max; /* bound on reopen after a replacement */
	/* Test hook, called after each open and before the fcntl lock
	 * (attempt counts from 0); NULL in production. */
	void (*after_open)(void *arg, const char *path, unsigned attempt);
	void *hook_arg;
};

/* Defaults: locks as mailbox_lock_defaults, dotlock required,
 * MBOX_REOPEN_MAX, no size limit, no hook. */
void mbox_opts_defaults(struct mbox_opts *o, uid_t uid, gid_t gid);

/* An open, locked mailbox. Caller-owned storage (about 17 KB); all fields
 * are private. */
struct mbox {
	int fd;
	int created;        /* we created the file: fsync its directory */
	int broken;         /* a truncation failed: no more appends */
	int over;           /* the last failure was size_limit */
	unsigned npending;  /* appended since the last commit */
	uint64_t committed; /* size after the last commit (or at lock) */
	uint64_t end;       /* end of the last complete record */
	uint64_t size;      /* bytes written plus bytes buffered */
	char last_at_end;   /* the file's byte before offset end */
	char last;          /* last content byte written */
	int bol;            /* escaping: at the start of a line */
	unsigned from;      /* escaping: bytes of "From " matched */
	size_t gt;          /* escaping: '>' held at the start of a line */
	size_t olen;
	struct mbox_opts opts;
	struct mailbox_dotlock dot;
	char path[MBOX_PATH_MAX];
	unsigned char obuf[MBOX_BUF_SIZE];
	char ibuf[MBOX_BUF_SIZE];
};

/* Lock and open (or create) the mailbox at path. 0 with *m ready; -1 with
 * *res filled and nothing held. Runs as the mailbox owner. */
int mbox_open(struct mbox *m, const char *path, const struct mbox_opts *o,
              struct mbox_result *res);
/* Write one record, without fsync. 0: pending until mbox_commit; -1: this
 * message failed (*res says why; the file is back at the end of the
 * previous record) and the mailbox stays usable unless the truncation
 * failed. */
int mbox_append(struct mbox *m, const struct mbox_msg *msg,
                struct mbox_result *res);
/* fsync everything appended since the last commit. 0 (*res OK 2.0.0) or -1
 * (*res TEMP; the pending records were cut off again). */
int mbox_commit(struct mbox *m, struct mbox_result *res);
/* Cut off uncommitted records, unlock, close. Safe to call twice. */
void mbox_close(struct mbox *m);

/* One message: open, append, commit, close. Returns res->status. */
enum mbox_status mbox_deliver(const char *path, const struct mbox_opts *o,
                              const struct mbox_msg *msg,
                              struct mbox_result *res);

/*
 * Delivered-To loop detection, PURE: scan a message's header section
 * (stopping at the first empty or non-header line, or after limit bytes)
 * for a "Delivered-To:" field, case-insensitive, folded or not, whose value
 * with surrounding white space removed equals rcpt case-insensitively.
 */
enum mbox_dt_state {
	MBOX_DT_MORE = 0, /* feed more bytes */
	MBOX_DT_FOUND,
	MBOX_DT_NOTFOUND,
};

struct mbox_dt {
	const char *rcpt;
	size_t limit, seen;
	int st;    /* private: position in the line */
	int match; /* private: the current field is Delivered-To */
	int vover; /* private: the value did not fit */
	enum mbox_dt_state result;
	size_t nlen, vlen;
	char name[MBOX_DT_NAME_MAX];
	char value[MBOX_ADDR_MAX + 1];
};

/* rcpt must outlive the scan. */
void mbox_dt_init(struct mbox_dt *s, const char *rcpt, size_t limit);
/* Feed the next len bytes; once the answer is not MBOX_DT_MORE it stays. */
enum mbox_dt_state mbox_dt_feed(struct mbox_dt *s, const char *p, size_t len);
/* The content ended: FOUND or NOTFOUND. */
enum mbox_dt_state mbox_dt_end(struct mbox_dt *s);
/* Read content through rd until the answer is known: 1 found, 0 not found,
 * -1 read error (errno set). The caller rewinds the content afterwards. */
int mbox_delivered_to(mbox_read_fn rd, void *ctx, const char *rcpt,
                      size_t limit);

#endif
