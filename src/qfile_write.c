/*
 * qfile_write.c - the queue file writer: header, envelope records, content
 * in bounded chunks, the end record with its SHA-256, and the commit
 * protocol (write; fsync and rename, or link and fsync; fsync the
 * directory).
 * Runs in whoever submits mail: sendmail as the invoking user (into
 * maildrop/), smtpd and pickup as mail_owner (into incoming/). Inputs
 * (addresses, attribute values, content) are untrusted: they are checked
 * against the bounds of docs/queue-format.md before they are written.
 */
#define _GNU_SOURCE /* O_TMPFILE, sync_file_range */
#include "qfile_check.h"
#include "util/io.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

enum { W_ATTR, W_SENDER, W_RCPT, W_CONTENT, W_DONE, W_FAILED };

#define TMP_TRIES 100
#define NOREPLACE 1 /* RENAME_NOREPLACE of linux/fs.h */

static const char b32[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

/* Fixed-width base 32, most significant digit first. */
static size_t
b32_fixed(char *out, uint64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = b32[v & 31];
		v >>= 5;
	}
	return (size_t)width;
}

void
qfile_id_make(char id[QFILE_ID_MAX], uint64_t sec, uint32_t usec, uint64_t ino)
{
	char tmp[16];
	size_t n = 0, o = 0;

	if (sec >= (1ULL << 35))
		sec = (1ULL << 35) - 1;
	o += b32_fixed(id, sec, 7);
	o += b32_fixed(id + o, usec % 1000000, 4);
	do {
		tmp[n++] = b32[ino & 31];
		ino >>= 5;
	} while (ino);
	while (n > 0)
		id[o++] = tmp[--n];
	id[o] = '\0';
}

int
qfile_rename_noclobber(const char *from, const char *to)
{
#ifdef SYS_renameat2
	if (syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, NOREPLACE) ==
	    0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	return rename(from, to);
}

static int
fail(struct qfile_writer *w)
{
	w->state = W_FAILED;
	return -1;
}

static int
bad_input(void)
{
	errno = EINVAL;
	return -1;
}

/* Queue a and b (a record's header and payload) behind the records not
 * yet written; when they do not fit, write it all with one writev. */
static int
emit(struct qfile_writer *w, const void *a, size_t an, const void *b, size_t bn)
{
	struct iovec v[3];

	if (w->outlen + an + bn <= sizeof w->out) {
		memcpy(w->out + w->outlen, a, an);
		if (bn)
			memcpy(w->out + w->outlen + an, b, bn);
		w->outlen += an + bn;
		return 0;
	}
	v[0].iov_base = w->out;
	v[0].iov_len = w->outlen;
	memcpy(&v[1].iov_base, &a, sizeof a); /* writev does not write them */
	v[1].iov_len = an;
	memcpy(&v[2].iov_base, &b, sizeof b);
	v[2].iov_len = bn;
	w->outlen = 0;
	return io_writev_all(w->fd, v, 3);
}

/* Write the records not yet written. */
static int
flush_out(struct qfile_writer *w)
{
	size_t n = w->outlen;

	w->outlen = 0;
	return io_write_all(w->fd, w->out, n);
}

/* Hash one record (never 'E') and queue or write it. */
static int
put_record(struct qfile_writer *w, int type, const void *payload, size_t len)
{
	unsigned char rec[QFILE_REC_HDR];

	rec[0] = (unsigned char)type;
	qcheck_put_le(rec + 1, len, 4);
	br_sha256_update(&w->sha, rec, QFILE_REC_HDR);
	br_sha256_update(&w->sha, payload, len);
	return emit(w, rec, QFILE_REC_HDR, payload, len) < 0 ? fail(w) : 0;
}

/* The name of an unnamed file's descriptor that linkat can follow
 * without privileges. */
static void
fd_path(char *buf, size_t cap, int fd)
{
	snprintf(buf, cap, "/proc/self/fd/%d", fd);
}

/* An unnamed file in dir (O_TMPFILE), given its name only when it is
 * complete (qfile_commit): nothing half-written can ever be seen under a
 * name, nothing is left after a crash, and the directory's lock is not
 * held while the file system looks for a free inode (which ext4 without
 * a journal makes slow under a stream of messages: docs/smtpd.md,
 * "Throughput"). The link goes through /proc/self/fd; without /proc, or
 * on a file system without O_TMPFILE, a named temporary file it is. */
static int
open_unnamed(struct qfile_writer *w, mode_t mode)
{
#ifdef O_TMPFILE
	char self[32];
	struct stat st;

	w->fd = io_open(w->dir, O_WRONLY | O_TMPFILE, mode);
	if (w->fd < 0)
		return -1;
	fd_path(self, sizeof self, w->fd);
	if (stat(self, &st) == 0) {
		w->tmp[0] = '\0';
		return 0;
	}
	io_close(w->fd);
	w->fd = -1;
#else
	(void)w;
	(void)mode;
#endif
	return -1;
}

static int
open_tmp(struct qfile_writer *w, mode_t mode, const struct timeval *tv)
{
	/* into a directory of ours (smtpd, pickup: incoming/); sendmail's
	 * maildrop/ file keeps the named way: it cannot fsync that
	 * directory and fsyncs the file after its rename instead */
	if (mode == 0600 && open_unnamed(w, mode) == 0)
		return 0;
	for (int i = 0; i < TMP_TRIES; i++) {
		int n = snprintf(w->tmp, sizeof w->tmp, "%s/.t%ld.%ld.%d",
		                 w->dir, (long)getpid(), (long)tv->tv_usec, i);

		if (n < 0 || (size_t)n >= sizeof w->tmp) {
			errno = ENAMETOOLONG;
			return -1;
		}
		w->fd = io_open(w->tmp,
		                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
		if (w->fd >= 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

static mode_t
file_mode(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) == 0 && st.st_uid != geteuid())
		return 0644;
	return 0600;
}

/* The header with its in-place area zero (as the checksum sees it). */
static void
make_header(unsigned char *h, const struct qfile_writer *w, uint32_t flags)
{
	memset(h, 0, QFILE_HEADER_SIZE);
	memcpy(h, QFILE_MAGIC, 4);
	qcheck_put_le(h + 4, QFILE_VERSION, 2);
	qcheck_put_le(h + 6, QFILE_HEADER_SIZE, 2);
	qcheck_put_le(h + 8, w->arrival, 8);
	qcheck_put_le(h + 16, w->arrival_usec, 4);
	qcheck_put_le(h + 20, flags, 4);
}

static int
create_fail(struct qfile_writer *w)
{
	int saved = errno;

	if (w->fd >= 0) {
		io_close(w->fd);
		if (w->tmp[0])
			unlink(w->tmp);
	}
	w->fd = -1;
	w->tmp[0] = '\0';
	w->state = W_FAILED;
	errno = saved;
	return -1;
}

int
qfile_create(struct qfile_writer *w, const char *dir, uint32_t flags)
{
	unsigned char h[QFILE_HEADER_SIZE];
	struct timeval tv;
	struct stat st;
	mode_t mode = file_mode(dir);

	memset(w, 0, offsetof(struct qfile_writer, out));
	w->fd = -1;
	w->state = W_FAILED;
	if ((flags & ~(uint32_t)QFILE_FLAGS_KNOWN) ||
	    str_copy(w->dir, sizeof w->dir, dir) < 0)
		return bad_input();
	gettimeofday(&tv, NULL);
	w->arrival = tv.tv_sec < 0 ? 0 : (uint64_t)tv.tv_sec;
	w->arrival_usec = (uint32_t)tv.tv_usec;
	if (open_tmp(w, mode, &tv) < 0 || fchmod(w->fd, mode) < 0 ||
	    fstat(w->fd, &st) < 0)
		return create_fail(w);
	qfile_id_make(w->id, w->arrival, w->arrival_usec, (uint64_t)st.st_ino);
	make_header(h, w, flags);
	br_sha256_init(&w->sha);
	br_sha256_update(&w->sha, h, sizeof h);
	if (emit(w, h, sizeof h, NULL, 0) < 0)
		return create_fail(w);
	w->state = W_ATTR;
	return 0;
}

static int
attr_name_ok(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return n >= 1 && n <= QFILE_ATTR_NAME_MAX;
}

/* No control bytes (TAB allowed when tab is set); see queue-format.md. */
static int
text_ok(const char *s, size_t len, int tab)
{
	return qcheck_text_ok((const unsigned char *)s, len, tab);
}

static int
writable(struct qfile_writer *w)
{
	if (w->state == W_FAILED || w->state == W_DONE || w->fd < 0) {
		errno = EBADF;
		return 0;
	}
	return 1;
}

int
qfile_put_attr(struct qfile_writer *w, const char *name, const char *value)
{
	char rec[QFILE_ATTR_MAX + 1];
	int n;

	if (!writable(w))
		return -1;
	if (w->state != W_ATTR || !attr_name_ok(name) ||
	    !text_ok(value, strlen(value), 1))
		return bad_input();
	n = snprintf(rec, sizeof rec, "%s=%s", name, value);
	if (n < 0 || n > QFILE_ATTR_MAX)
		return bad_input();
	return put_record(w, 'A', rec, (size_t)n);
}

int
qfile_put_sender(struct qfile_writer *w, const char *addr)
{
	size_t len = strlen(addr);

	if (!writable(w))
		return -1;
	if (w->state != W_ATTR || len > QFILE_ADDR_MAX ||
	    !text_ok(addr, len, 0))
		return bad_input();
	if (put_record(w, 'S', addr, len) < 0)
		return -1;
	w->state = W_SENDER;
	return 0;
}

int
qfile_put_rcpt(struct qfile_writer *w, const char *addr, const char *orcpt,
               unsigned notify)
{
	unsigned char rec[QFILE_RCPT_PAYLOAD_MAX];
	size_t alen = strlen(addr), olen = orcpt ? strlen(orcpt) : 0;

	if (!writable(w))
		return -1;
	if ((w->state != W_SENDER && w->state != W_RCPT) || alen == 0 ||
	    alen > QFILE_ADDR_MAX || olen > QFILE_ADDR_MAX ||
	    !text_ok(addr, alen, 0) || (olen && !text_ok(orcpt, olen, 0)) ||
	    !qcheck_notify_ok(notify))
		return bad_input();
	memset(rec, 0, QFILE_RCPT_FIXED);
	rec[1] = (unsigned char)notify;
	qcheck_put_le(rec + QFILE_RCPT_FIXED, alen, 2);
	memcpy(rec + QFILE_RCPT_FIXED + 2, addr, alen);
	if (olen)
		memcpy(rec + QFILE_RCPT_FIXED + 2 + alen, orcpt, olen);
	if (put_record(w, 'R', rec, QFILE_RCPT_FIXED + 2 + alen + olen) < 0)
		return -1;
	w->state = W_RCPT;
	w->nrcpt++;
	return 0;
}

static int
flush_chunk(struct qfile_writer *w)
{
	if (w->buflen == 0)
		return 0;
	if (put_record(w, 'C', w->buf, w->buflen) < 0)
		return -1;
	w->buflen = 0;
	return 0;
}

int
qfile_put_content(struct qfile_writer *w, const void *data, size_t len)
{
	const unsigned char *p = data;

	if (!writable(w))
		return -1;
	if (w->state != W_RCPT && w->state != W_CONTENT)
		return bad_input();
	w->state = W_CONTENT;
	/* loop invariant: buflen < QFILE_CHUNK_MAX on entry */
	while (len > 0) {
		size_t n = QFILE_CHUNK_MAX - w->buflen;

		if (n > len)
			n = len;
		memcpy(w->buf + w->buflen, p, n);
		w->buflen += n;
		w->content_size += n;
		p += n;
		len -= n;
		if (w->buflen == QFILE_CHUNK_MAX && flush_chunk(w) < 0)
			return -1;
	}
	return 0;
}

static int
write_end(struct qfile_writer *w)
{
	unsigned char e[QFILE_REC_HDR + QFILE_HASH_SIZE];

	e[0] = 'E';
	qcheck_put_le(e + 1, QFILE_HASH_SIZE, 4);
	br_sha256_out(&w->sha, e + QFILE_REC_HDR);
	if (emit(w, e, sizeof e, NULL, 0) < 0)
		return -1;
	return flush_out(w);
}

/* Undo a commit that could not be made durable; errno is kept. */
static int
commit_fail(struct qfile_writer *w, const char *path)
{
	int saved = errno;

	if (w->fd >= 0)
		io_close(w->fd);
	if (*path)
		unlink(path);
	w->fd = -1;
	w->tmp[0] = '\0';
	w->state = W_FAILED;
	errno = saved;
	return -1;
}

/* The directory fsync, or, when the directory cannot be opened (maildrop/
 * 1733 for an unprivileged user: EACCES), a second fsync of the file: on
 * ext4's ordered journal the rename is then committed with the data.
 * Writers naming files in one directory at once share the work in the
 * kernel (ext4's journal commit, the block layer's merged flushes); a lock
 * of our own around it made more flushes, not fewer (docs/smtpd.md,
 * "Throughput"). */
static int
sync_rename(struct qfile_writer *w)
{
	if (io_fsync_dir(w->dir) == 0)
		return 0;
	if (errno != EACCES && errno != EPERM)
		return -1;
	return io_fsync(w->fd);
}

/* The complete file gets its queue ID as its name, never replacing one
 * (EEXIST): a link for an unnamed file, else a rename. */
static int
give_name(struct qfile_writer *w, const char *path)
{
	char self[32];
	int r;

	if (w->tmp[0])
		return qfile_rename_noclobber(w->tmp, path);
	fd_path(self, sizeof self, w->fd);
	do
		r = linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
	while (r < 0 && errno == EINTR);
	return r;
}

/* The data on the disk (not yet flushed from its cache) before the link:
 * the blocks are then allocated in a journal transaction no later than
 * the one that holds the link, so a crash never leaves the name with an
 * empty file (ext4's delayed allocation would otherwise allow that when
 * another writer's fsync commits the link first). Where sync_file_range
 * is not there, a full fsync. */
static int
write_out(int fd)
{
	int r;

	do
		r = sync_file_range(fd, 0, 0,
		                    SYNC_FILE_RANGE_WAIT_BEFORE |
		                        SYNC_FILE_RANGE_WRITE |
		                        SYNC_FILE_RANGE_WAIT_AFTER);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == ENOSYS || errno == EINVAL || errno == ESPIPE))
		return io_fsync(fd);
	return r;
}

/* Steps 3 to 5 of the write protocol (docs/queue-format.md). A named
 * temporary file is fsynced before its rename. An unnamed file is
 * written out, linked and fsynced once after the link: that one
 * fsync writes its data, its inode with the new link count and, on ext4,
 * commits the link with them (journal) or writes the directory entry
 * too (no journal), where an fsync before the link would need a second
 * one for the link count. Then the directory's fsync. */
static int
make_durable(struct qfile_writer *w, const char *path)
{
	if (w->tmp[0]) {
		if (io_fsync(w->fd) < 0)
			return commit_fail(w, w->tmp);
		if (give_name(w, path) < 0)
			return commit_fail(w, w->tmp);
	} else {
		if (write_out(w->fd) < 0 || give_name(w, path) < 0)
			return commit_fail(w, w->tmp);
		if (io_fsync(w->fd) < 0)
			return commit_fail(w, path);
	}
	if (sync_rename(w) < 0)
		return commit_fail(w, path);
	return 0;
}

int
qfile_commit(struct qfile_writer *w, char id[QFILE_ID_MAX])
{
	char path[sizeof w->dir + QFILE_ID_MAX + 1];
	int n;

	if (!writable(w))
		return -1;
	if (w->state != W_RCPT && w->state != W_CONTENT)
		return bad_input();
	n = snprintf(path, sizeof path, "%s/%s", w->dir, w->id);
	if (n < 0 || (size_t)n >= sizeof path) {
		errno = ENAMETOOLONG;
		return commit_fail(w, w->tmp);
	}
	if (flush_chunk(w) < 0 || write_end(w) < 0)
		return commit_fail(w, w->tmp);
	if (make_durable(w, path) < 0)
		return -1;
	n = io_close(w->fd);
	w->fd = -1;
	if (n < 0)
		return commit_fail(w, path);
	w->tmp[0] = '\0';
	w->state = W_DONE;
	memcpy(id, w->id, QFILE_ID_MAX);
	return 0;
}

void
qfile_abort(struct qfile_writer *w)
{
	if (w->fd >= 0)
		io_close(w->fd);
	if (w->tmp[0])
		unlink(w->tmp);
	w->fd = -1;
	w->tmp[0] = '\0';
	w->state = W_FAILED;
}
