/*
 * qfile_read.c - the queue file reader: qfile_open streams the file once
 * through the validating parser (qfile_check.c) in bounded memory, then
 * gives access to attributes, recipients and content, and makes the
 * in-place updates (recipient status, schedule) that keep the checksum
 * valid. Runs as mail_owner (qmgr, pickup, postsuper, mailq) or root
 * (postcat FILE). The file is untrusted even after validation: every
 * later read re-checks its bounds (a maildrop file's owner may rewrite it).
 */
#include "qfile_check.h"
#include "util/io.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK 4096 /* small: long-running roles keep their stack pages */

static int
pread_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;

	while (len > 0) {
		ssize_t r = pread(fd, p, len, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = EBADMSG; /* shorter than when validated */
			return -1;
		}
		p += r;
		off += r;
		len -= (size_t)r;
	}
	return 0;
}

static int
pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = pwrite(fd, p, len, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		off += w;
		len -= (size_t)w;
	}
	return 0;
}

void
qfile_describe(char *out, size_t cap, enum qfile_err e, const char *where,
               int errnum)
{
	int n;

	if (cap == 0)
		return;
	if (e == QFILE_ERR_IO)
		n = snprintf(out, cap, "%s%s%s", where ? where : "",
		             where && where[0] ? ": " : "", strerror(errnum));
	else
		n = snprintf(out, cap, "%s%s%s", qfile_strerror(e),
		             where && where[0] ? ": " : "", where ? where : "");
	if (n < 0)
		out[0] = '\0';
}

static int
open_fail(int fd, enum qfile_err *err, enum qfile_err e)
{
	int saved = errno;

	if (fd >= 0)
		io_close(fd);
	*err = e;
	errno = saved;
	return -1;
}

static void
set_where(char *where, size_t cap, const char *text)
{
	if (where && cap)
		str_copy(where, cap, text);
}

/* Stream fd through the parser. */
static enum qfile_err
check_fd(int fd, struct qfile_info *info, char *where, size_t wcap)
{
	struct qcheck q;
	unsigned char chunk[READ_CHUNK];
	ssize_t n;

	qcheck_init(&q, info, where, wcap);
	while ((n = io_read(fd, chunk, sizeof chunk)) > 0) {
		qcheck_feed(&q, chunk, (size_t)n);
		if (q.err != QFILE_OK)
			return q.err;
	}
	if (n < 0) {
		set_where(where, wcap, "read");
		return QFILE_ERR_IO;
	}
	return qcheck_finish(&q);
}

int
qfile_open(struct qfile_reader *r, const char *path, int rw,
           enum qfile_err *err, char *where, size_t wherecap)
{
	int fd;

	memset(r, 0, sizeof *r);
	r->fd = -1;
	set_where(where, wherecap, "");
	fd = io_open(path, (rw ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK,
	             0);
	if (fd < 0) {
		set_where(where, wherecap, "open");
		return open_fail(fd, err, QFILE_ERR_IO);
	}
	return qfile_open_fd(r, fd, rw, err, where, wherecap);
}

int
qfile_open_fd(struct qfile_reader *r, int fd, int rw, enum qfile_err *err,
              char *where, size_t wherecap)
{
	struct stat st;
	enum qfile_err e;

	(void)rw; /* the descriptor's own mode decides */
	memset(r, 0, sizeof *r);
	r->fd = -1;
	set_where(where, wherecap, "");
	if (fstat(fd, &st) < 0) {
		set_where(where, wherecap, "fstat");
		return open_fail(fd, err, QFILE_ERR_IO);
	}
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		set_where(where, wherecap, "not a regular file");
		return open_fail(fd, err, QFILE_ERR_IO);
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		set_where(where, wherecap, "lseek");
		return open_fail(fd, err, QFILE_ERR_IO);
	}
	e = check_fd(fd, &r->info, where, wherecap);
	if (e != QFILE_OK)
		return open_fail(fd, err, e);
	r->fd = fd;
	*err = QFILE_OK;
	qfile_content_rewind(r);
	r->aoff = QFILE_HEADER_SIZE;
	r->roff = r->info.rcpt_off;
	return 0;
}

void
qfile_close(struct qfile_reader *r)
{
	if (r->fd >= 0)
		io_close(r->fd);
	r->fd = -1;
}

static int
bad_file(void)
{
	errno = EBADMSG;
	return -1;
}

/* The header of the record at off: its type and payload length. */
static int
rec_head(struct qfile_reader *r, off_t off, int *type, uint32_t *len)
{
	unsigned char h[QFILE_REC_HDR];

	if (off < QFILE_HEADER_SIZE || off >= r->info.end_off)
		return bad_file();
	if (pread_full(r->fd, h, sizeof h, off) < 0)
		return -1;
	*type = h[0];
	*len = qcheck_le32(h + 1);
	return 0;
}

/* Walk to record i of a run of records of one type that starts at base. */
static int
seek_run(struct qfile_reader *r, int type, size_t i, size_t *cur, off_t *off,
         off_t base)
{
	int t;
	uint32_t len;

	if (i < *cur) {
		*cur = 0;
		*off = base;
	}
	while (*cur < i) {
		if (rec_head(r, *off, &t, &len) < 0)
			return -1;
		if (t != type)
			return bad_file();
		*off += QFILE_REC_HDR + (off_t)len;
		(*cur)++;
	}
	return 0;
}

/* Read the record at off, of this type, whose payload fits buf[cap]. */
static int
rec_read(struct qfile_reader *r, off_t off, int type, unsigned char *buf,
         size_t cap, uint32_t *len)
{
	int t;

	if (rec_head(r, off, &t, len) < 0)
		return -1;
	if (t != type || *len > cap)
		return bad_file();
	return pread_full(r->fd, buf, *len, off + QFILE_REC_HDR);
}

int
qfile_attr(struct qfile_reader *r, size_t i, char *name, size_t ncap,
           char *value, size_t vcap)
{
	unsigned char buf[QFILE_ATTR_MAX];
	const unsigned char *eq;
	uint32_t len;

	if (i >= r->info.nattr) {
		errno = ENOENT;
		return -1;
	}
	if (seek_run(r, 'A', i, &r->acur, &r->aoff, QFILE_HEADER_SIZE) < 0 ||
	    rec_read(r, r->aoff, 'A', buf, sizeof buf, &len) < 0)
		return -1;
	eq = memchr(buf, '=', len);
	if (!eq)
		return bad_file();
	if (str_copy_n(name, ncap, (const char *)buf, (size_t)(eq - buf)) < 0 ||
	    str_copy_n(value, vcap, (const char *)eq + 1,
	               len - (size_t)(eq - buf) - 1) < 0) {
		errno = ERANGE;
		return -1;
	}
	return 0;
}

int
qfile_attr_get(struct qfile_reader *r, const char *name, char *value,
               size_t vcap)
{
	char n[QFILE_ATTR_NAME_MAX + 1], v[QFILE_ATTR_MAX + 1];

	for (size_t i = 0; i < r->info.nattr; i++) {
		if (qfile_attr(r, i, n, sizeof n, v, sizeof v) < 0)
			return -1;
		if (strcmp(n, name) != 0)
			continue;
		if (str_copy(value, vcap, v) < 0) {
			errno = ERANGE;
			return -1;
		}
		return 1;
	}
	return 0;
}

static int
rcpt_parse(const unsigned char *p, uint32_t len, struct qfile_rcpt *out)
{
	uint32_t rlen = qcheck_le16(p + 2), alen, olen;

	if (len < QFILE_RCPT_FIXED + 3 || p[0] > QFILE_RCPT_DEFERRED ||
	    rlen > QFILE_REASON_MAX)
		return bad_file();
	alen = qcheck_le16(p + QFILE_RCPT_FIXED);
	if (alen == 0 || alen > QFILE_ADDR_MAX ||
	    QFILE_RCPT_FIXED + 2 + alen > len)
		return bad_file();
	olen = len - QFILE_RCPT_FIXED - 2 - alen;
	if (olen > QFILE_ADDR_MAX)
		return bad_file();
	out->status = p[0];
	out->notify = p[1];
	/* a torn in-place write may leave a NUL inside: stop there */
	str_copy_n(out->reason, sizeof out->reason, (const char *)p + 4,
	           strnlen((const char *)p + 4, rlen));
	str_copy_n(out->addr, sizeof out->addr,
	           (const char *)p + QFILE_RCPT_FIXED + 2, alen);
	str_copy_n(out->orcpt, sizeof out->orcpt,
	           (const char *)p + QFILE_RCPT_FIXED + 2 + alen, olen);
	return 0;
}

int
qfile_rcpt(struct qfile_reader *r, size_t i, struct qfile_rcpt *out)
{
	unsigned char buf[QFILE_RCPT_PAYLOAD_MAX];
	uint32_t len;

	if (i >= r->info.nrcpt) {
		errno = ENOENT;
		return -1;
	}
	if (seek_run(r, 'R', i, &r->rcur, &r->roff, r->info.rcpt_off) < 0 ||
	    rec_read(r, r->roff, 'R', buf, sizeof buf, &len) < 0 ||
	    rcpt_parse(buf, len, out) < 0)
		return -1;
	out->off = r->roff + QFILE_REC_HDR;
	return 0;
}

void
qfile_content_rewind(struct qfile_reader *r)
{
	r->pos = r->info.content_off;
	r->crem = 0;
}

ssize_t
qfile_content_read(struct qfile_reader *r, void *buf, size_t cap)
{
	size_t n;

	if (cap == 0) {
		errno = EINVAL;
		return -1;
	}
	if (r->crem == 0) {
		int t;
		uint32_t len;

		if (r->pos == r->info.end_off)
			return 0;
		if (rec_head(r, r->pos, &t, &len) < 0)
			return -1;
		if (t != 'C' || len == 0 || len > QFILE_CHUNK_MAX)
			return bad_file();
		r->crem = len;
		r->pos += QFILE_REC_HDR;
	}
	n = cap < r->crem ? cap : r->crem;
	if (pread_full(r->fd, buf, n, r->pos) < 0)
		return -1;
	r->pos += (off_t)n;
	r->crem -= (uint32_t)n;
	return (ssize_t)n;
}

static int
is_done(int status)
{
	return status == QFILE_RCPT_DELIVERED || status == QFILE_RCPT_BOUNCED;
}

/* The 202 in-place bytes after notify: u16 length, reason, zero padding.
 * Control bytes become spaces (the text comes from remote servers). */
static void
put_reason(unsigned char *p, const char *reason)
{
	size_t n = strlen(reason);

	if (n > QFILE_REASON_MAX)
		n = QFILE_REASON_MAX;
	memset(p, 0, 2 + QFILE_REASON_MAX);
	p[0] = (unsigned char)n;
	p[1] = (unsigned char)(n >> 8);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)reason[i];

		p[2 + i] = (c < 0x20 || c == 0x7f) ? ' ' : c;
	}
}

int
qfile_set_rcpt(struct qfile_reader *r, const struct qfile_rcpt *rc, int status,
               const char *reason)
{
	unsigned char fixed[QFILE_RCPT_FIXED];
	int t, old;
	uint32_t len;

	if (status < QFILE_RCPT_PENDING || status > QFILE_RCPT_DEFERRED ||
	    rc->off < QFILE_HEADER_SIZE + QFILE_REC_HDR) {
		errno = EINVAL;
		return -1;
	}
	if (rec_head(r, rc->off - QFILE_REC_HDR, &t, &len) < 0)
		return -1;
	if (t != 'R' || len < QFILE_RCPT_FIXED + 3)
		return bad_file();
	if (pread_full(r->fd, fixed, sizeof fixed, rc->off) < 0)
		return -1;
	old = fixed[0];
	fixed[0] = (unsigned char)status;
	put_reason(fixed + 2, reason ? reason : "");
	if (pwrite_full(r->fd, fixed, sizeof fixed, rc->off) < 0)
		return -1;
	if (is_done(old) && !is_done(status) && r->info.ndone > 0)
		r->info.ndone--;
	else if (!is_done(old) && is_done(status))
		r->info.ndone++;
	return 0;
}

int
qfile_set_schedule(struct qfile_reader *r, uint32_t attempts,
                   uint64_t next_attempt, uint64_t last_attempt)
{
	unsigned char b[24];

	qcheck_put_le(b, attempts, 4);
	qcheck_put_le(b + 4, 0, 4);
	qcheck_put_le(b + 8, next_attempt, 8);
	qcheck_put_le(b + 16, last_attempt, 8);
	if (pwrite_full(r->fd, b, sizeof b, QFILE_INPLACE_OFF) < 0)
		return -1;
	r->info.attempts = attempts;
	r->info.next_attempt = next_attempt;
	r->info.last_attempt = last_attempt;
	return 0;
}

int
qfile_set_age_base(struct qfile_reader *r, uint64_t t)
{
	unsigned char b[8];

	qcheck_put_le(b, t, 8);
	if (pwrite_full(r->fd, b, sizeof b, 48) < 0)
		return -1;
	r->info.age_base = t;
	return 0;
}
