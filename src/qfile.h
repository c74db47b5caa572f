/*
 * qfile.h - tinymta's queue file: one file per message, versioned binary
 * format, documented byte by byte in docs/queue-format.md (an on-disk
 * contract between versions). The writer streams a message into a temporary
 * file and commits it durably (write, fsync, rename, fsync the directory);
 * the reader validates everything (structure, bounds, checksum) before
 * anyone trusts a byte, so a hostile or truncated file is reported, never
 * crashes a process.
 *
 * Layout (all integers little-endian):
 *   header, 64 bytes: "TMQF", u16 version=1, u16 header size=64,
 *     u64 arrival seconds, u32 arrival microseconds, u32 flags,
 *     then the in-place area (bytes 24..63): u32 attempts, u32 reserved,
 *     u64 next attempt, u64 last attempt, 16 reserved bytes.
 *   records: u8 type, u32 payload length, payload:
 *     'A' attribute "name=value"  (0 or more, before 'S')
 *     'S' envelope sender address (exactly one; empty = null sender)
 *     'R' recipient (1 or more): u8 status, u8 notify, u16 reason length,
 *         char reason[QFILE_REASON_MAX]  (status, reason length and reason
 *         are updated in place; notify is not), then u16 address length,
 *         address, ORCPT (the rest)
 *     'C' content, 1..QFILE_CHUNK_MAX bytes each (0 or more)
 *     'E' end: SHA-256 over the whole file with the in-place bytes taken
 *         as zero and without the 'E' record itself; must be last.
 * Content is stored in canonical form: lines end in LF only ("\r\n" from
 * SMTP is stored as "\n"); any other byte is stored as received. The
 * writer does not convert: its callers hand it canonical content.
 *
 * Queue IDs: base 32 ("0-9A-V", so lexicographic order is numeric order)
 * of the arrival seconds (7 digits) and microseconds (4 digits), then the
 * inode of the file (1-13 digits). Unique among the files of one file
 * system (the file holds its inode), sortable by arrival.
 */
#ifndef TINYMTA_QFILE_H
#define TINYMTA_QFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <bearssl.h> /* <bearssl_hash.h> is bearssl/ on Debian */

#define QFILE_MAGIC "TMQF"
#define QFILE_VERSION 1
#define QFILE_HEADER_SIZE 64
#define QFILE_INPLACE_OFF 24 /* header bytes 24..63 are updated in place */
#define QFILE_ADDR_MAX 1024  /* address record bound (RFC 5321 path + slack) */
#define QFILE_ATTR_MAX 1024  /* one "name=value" attribute */
#define QFILE_ATTR_NAME_MAX 64 /* the name part: [a-z0-9_.-]+ */
#define QFILE_REASON_MAX 200   /* last delivery status text, in place */
#define QFILE_CHUNK_MAX 65536
#define QFILE_OUT_MAX 2048 /* the writer's record buffer */
#define QFILE_ID_MAX 32    /* queue ID including NUL */
#define QFILE_RCPT_FIXED (4 + QFILE_REASON_MAX)
/* Largest 'R' payload: fixed part, u16 address length, address, ORCPT. */
#define QFILE_RCPT_PAYLOAD_MAX (QFILE_RCPT_FIXED + 2 + 2 * QFILE_ADDR_MAX)
#define QFILE_REC_HDR 5      /* u8 type, u32 length */
#define QFILE_HASH_SIZE 32   /* SHA-256 in the 'E' record */
#define QFILE_ID_TIME_LEN 11 /* fixed-width time prefix of an ID */

enum qfile_rcpt_status {
	QFILE_RCPT_PENDING = 0,   /* not yet tried */
	QFILE_RCPT_DELIVERED = 1, /* done */
	QFILE_RCPT_BOUNCED = 2,   /* done: failed permanently, DSN created */
	QFILE_RCPT_DEFERRED = 3,  /* tried, will be retried; reason says why */
};

/* RFC 3461 NOTIFY bits; 0 = not given (failure,delay by default). NEVER
 * stands alone; any other combination of the first three is valid. */
#define QFILE_NOTIFY_SUCCESS 1
#define QFILE_NOTIFY_FAILURE 2
#define QFILE_NOTIFY_DELAY 4
#define QFILE_NOTIFY_NEVER 8

#define QFILE_FLAG_CLOCK_UNSET 1 /* arrival time taken while clock unset */
#define QFILE_FLAGS_KNOWN QFILE_FLAG_CLOCK_UNSET

enum qfile_err {
	QFILE_OK = 0,
	QFILE_ERR_IO,        /* a system call failed: errno is set */
	QFILE_ERR_MAGIC,     /* not a tinymta queue file */
	QFILE_ERR_VERSION,   /* a version this binary does not know */
	QFILE_ERR_TRUNCATED, /* ends inside a record or before 'E' */
	QFILE_ERR_RECORD,    /* unknown type, bad length or order */
	QFILE_ERR_CHECKSUM,  /* 'E' does not match the contents */
	QFILE_ERR_LIMIT,     /* a field over its bound */
};

/* Human text for an error code ("checksum mismatch"). */
const char *qfile_strerror(enum qfile_err e);
/* One line for a failed qfile_open: "checksum mismatch: offset 123: …",
 * or for QFILE_ERR_IO "open: Permission denied" (errnum: its errno). */
void qfile_describe(char *out, size_t cap, enum qfile_err e, const char *where,
                    int errnum);

struct qfile_writer {
	int fd;
	char dir[512];
	char tmp[600]; /* temporary path until commit; "" for an unnamed
	                  file (O_TMPFILE: linked into dir at commit) */
	br_sha256_context sha;
	uint64_t content_size;
	uint64_t arrival;
	uint32_t arrival_usec;
	size_t nrcpt;
	int state;             /* private: records order */
	char id[QFILE_ID_MAX]; /* private: the ID the commit will use */
	/* private: records not yet written (header, envelope, the end), so
	 * that a small message takes two writes, not one per record */
	size_t outlen;
	unsigned char out[QFILE_OUT_MAX];
	size_t buflen;
	unsigned char buf[QFILE_CHUNK_MAX]; /* pending content chunk */
};

/* Create a temporary file (a name starting with '.') in dir (O_EXCL) and
 * write the header with the current time. The file is mode 0600 when the
 * process owns dir, else 0644 (maildrop/: pickup, running as the owner of
 * the directory, must be able to read it). flags: QFILE_FLAG_*.
 * 0, or -1 with errno (nothing is left behind). */
int qfile_create(struct qfile_writer *w, const char *dir, uint32_t flags);
/* Records, in this order: attributes, sender, recipients, content.
 * Each returns 0, or -1 with errno: EINVAL for out-of-order or
 * over-bound input (the writer stays usable: skip that item), any other
 * errno for a failed write (the writer is then dead: qfile_abort).
 * Attribute names are [a-z0-9_.-]{1,64}; values and addresses may not hold
 * control bytes (below 0x20, 0x7f; a value may hold TAB). */
int qfile_put_attr(struct qfile_writer *w, const char *name, const char *value);
int qfile_put_sender(struct qfile_writer *w, const char *addr);
/* orcpt may be NULL or "" (none). addr is not empty. */
int qfile_put_rcpt(struct qfile_writer *w, const char *addr, const char *orcpt,
                   unsigned notify);
int qfile_put_content(struct qfile_writer *w, const void *data, size_t len);
/* Write the end record and name the file with a new queue ID in the same
 * directory, durably: a temporary file is fsynced and renamed, an unnamed
 * one (O_TMPFILE) linked and fsynced; then the directory is fsynced; when
 * the directory cannot be opened (maildrop/ for an unprivileged user) the
 * file is fsynced again instead.
 * The ID is written to id[QFILE_ID_MAX]. 0, or -1 with errno (the
 * temporary file, or the renamed file when the directory fsync failed, is
 * removed: nothing half-committed stays behind). Needs one recipient. */
int qfile_commit(struct qfile_writer *w, char id[QFILE_ID_MAX]);
/* Give up: close and unlink the temporary file. Safe after any failure,
 * after a failed qfile_create and after qfile_commit (then a no-op). */
void qfile_abort(struct qfile_writer *w);

struct qfile_rcpt {
	int status;      /* enum qfile_rcpt_status */
	unsigned notify; /* QFILE_NOTIFY_* */
	off_t off;       /* file offset of the in-place status byte */
	char reason[QFILE_REASON_MAX + 1];
	char addr[QFILE_ADDR_MAX + 1];
	char orcpt[QFILE_ADDR_MAX + 1];
};

struct qfile_info {
	uint32_t version;
	uint64_t arrival;
	uint32_t arrival_usec;
	uint32_t flags;
	uint32_t attempts;
	uint64_t next_attempt;
	uint64_t last_attempt;
	uint64_t age_base; /* in place: see qfile_set_age_base */
	uint64_t file_size;
	uint64_t content_size;
	off_t content_off; /* offset of the first 'C' record (or of 'E') */
	off_t rcpt_off;    /* offset of the first 'R' record */
	off_t end_off;     /* offset of the 'E' record */
	size_t nattr;
	size_t nrcpt;
	size_t ndone; /* recipients delivered or bounced */
	char sender[QFILE_ADDR_MAX + 1];
};

/* Validate a whole queue file held in memory (PURE: used by the fuzzer and
 * by qfile_open). Fills *info. Returns QFILE_OK or the first problem;
 * where[] receives a short description with the byte offset. A file of
 * another version gives QFILE_ERR_VERSION with info->version set: the
 * caller must leave it alone (never quarantine it). */
enum qfile_err qfile_check_mem(const unsigned char *p, size_t len,
                               struct qfile_info *info, char *where,
                               size_t wherecap);

struct qfile_reader {
	int fd;
	struct qfile_info info;
	off_t pos; /* private: content iteration */
	/* private: the remaining bytes of the current 'C' record, and
	 * cursors that make sequential qfile_attr/qfile_rcpt calls O(1). */
	uint32_t crem;
	size_t acur, rcur;
	off_t aoff, roff;
};

/* Open and validate path (read-only, or read-write when rw is set, for the
 * in-place updates; never follows a symbolic link, refuses anything but a
 * regular file). Streams the file once to check it; memory use does not
 * grow with the message size. On failure, *err says why, where[] where
 * (QFILE_ERR_IO: errno is set); the fd is closed. 0 or -1. */
int qfile_open(struct qfile_reader *r, const char *path, int rw,
               enum qfile_err *err, char *where, size_t wherecap);
/* The same for an open descriptor (read from offset 0; reads use
 * pread, so the offset is not relied on afterwards). Takes ownership of
 * fd: it is closed on failure and by qfile_close. */
int qfile_open_fd(struct qfile_reader *r, int fd, int rw, enum qfile_err *err,
                  char *where, size_t wherecap);
void qfile_close(struct qfile_reader *r);
/* Attribute i / recipient i (0-based) of an opened file; 0 or -1 (errno:
 * ENOENT past the end, ERANGE when a buffer is too small, EBADMSG when
 * the file changed under us). Sequential access is cheapest. */
int qfile_attr(struct qfile_reader *r, size_t i, char *name, size_t ncap,
               char *value, size_t vcap);
/* The value of the first attribute with this name; 1 found, 0 not, -1 err. */
int qfile_attr_get(struct qfile_reader *r, const char *name, char *value,
                   size_t vcap);
int qfile_rcpt(struct qfile_reader *r, size_t i, struct qfile_rcpt *out);
/* Content: rewind, then read pieces (cap > 0) until 0 (end) or -1. */
void qfile_content_rewind(struct qfile_reader *r);
ssize_t qfile_content_read(struct qfile_reader *r, void *buf, size_t cap);
/* In-place updates (file opened rw); the caller fsyncs when it must.
 * The reason is cut to QFILE_REASON_MAX bytes; control bytes in it become
 * spaces. The checksum stays valid (these bytes are outside it). */
int qfile_set_rcpt(struct qfile_reader *r, const struct qfile_rcpt *rc,
                   int status, const char *reason);
int qfile_set_schedule(struct qfile_reader *r, uint32_t attempts,
                       uint64_t next_attempt, uint64_t last_attempt);

/* For a file that arrived while the clock was unset (QFILE_FLAG_CLOCK_UNSET):
 * record, in place (header bytes 48..55), the wall-clock time at which
 * the queue manager first saw it with a set clock; its age counts from
 * then. 0 or -1 with errno. */
int qfile_set_age_base(struct qfile_reader *r, uint64_t t);

/* A queue ID names a file: [0-9A-Z]{8,30}. 1 when valid. IDs this version
 * makes are [0-9A-V]{12,24}; the wider rule leaves room for later ones. */
int qfile_id_valid(const char *id);
/* The ID for a message that arrived at sec.usec in the file with inode
 * ino (see above). Seconds beyond 2^35 (year 3058) are clamped. */
void qfile_id_make(char id[QFILE_ID_MAX], uint64_t sec, uint32_t usec,
                   uint64_t ino);
/* rename(2) that never replaces an existing file (RENAME_NOREPLACE; where
 * the file system lacks it, a plain rename: IDs are unique by design).
 * 0, or -1 with errno (EEXIST). */
int qfile_rename_noclobber(const char *from, const char *to);

#endif
