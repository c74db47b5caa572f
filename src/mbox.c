/*
 * mbox.c - append messages to an mbox file (see mbox.h for the format,
 * the locking order and the group commit contract).
 * Runs in the local delivery agent as the mailbox owner, never root.
 * Untrusted: the message content (escaped, never interpreted, except by
 * the bounded Delivered-To scanner) and whatever is at the mailbox path
 * (a symlink, a hard link, someone else's file: refused).
 */
#include "mbox.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DSN_LOCK "4.2.1"   /* mailbox busy: RFC 3463 X.2.1 */
#define DSN_UNSAFE "5.2.0" /* unsafe mailbox file */
#define DSN_BADARG "5.3.0" /* caller passed something we cannot write */

void
mbox_result_set(struct mbox_result *r, enum mbox_status status, const char *dsn,
                int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	r->status = status;
	str_copy(r->dsn, sizeof r->dsn, dsn);
	va_start(ap, fmt);
	n = vsnprintf(r->reason, sizeof r->reason, fmt, ap);
	va_end(ap);
	if (n < 0)
		r->reason[0] = '\0';
	/* A truncated reason is still a useful reason. */
	if (err != 0 && str_append(r->reason, sizeof r->reason, ": ") >= 0)
		str_append(r->reason, sizeof r->reason, strerror(err));
}

/* Postfix's mbox_dsn(), except that a full quota is temporary here: the
 * user may clean up. */
void
mbox_result_errno(struct mbox_result *r, int err, const char *what)
{
	if (err == EFBIG)
		mbox_result_set(r, MBOX_PERM, "5.2.2", err, "%s", what);
	else if (err == EDQUOT)
		mbox_result_set(r, MBOX_TEMP, "4.2.2", err, "%s", what);
	else if (err == ENOSPC)
		mbox_result_set(r, MBOX_TEMP, "4.3.1", err, "%s", what);
	else
		mbox_result_set(r, MBOX_TEMP, "4.3.0", err, "%s", what);
}

void
mbox_opts_defaults(struct mbox_opts *o, uid_t uid, gid_t gid)
{
	memset(o, 0, sizeof *o);
	o->uid = uid;
	o->gid = gid;
	mailbox_lock_defaults(&o->lock);
	o->dotlock = MBOX_DOTLOCK_REQUIRED;
	o->reopen_max = MBOX_REOPEN_MAX;
}

/* ---- open, check, lock ---- */

/* The file at hand must be a regular file with one link, owned by uid. */
static int
check_file(const struct stat *st, uid_t uid, struct mbox_result *res)
{
	if (!S_ISREG(st->st_mode)) {
		mbox_result_set(res, MBOX_PERM, DSN_UNSAFE, 0,
		                "mailbox is not a regular file");
		return -1;
	}
	if (st->st_nlink != 1) {
		mbox_result_set(res, MBOX_PERM, DSN_UNSAFE, 0,
		                "mailbox has %lu hard links",
		                (unsigned long)st->st_nlink);
		return -1;
	}
	if (st->st_uid != uid) {
		mbox_result_set(res, MBOX_PERM, DSN_UNSAFE, 0,
		                "mailbox is owned by uid %ld, not %ld",
		                (long)st->st_uid, (long)uid);
		return -1;
	}
	return 0;
}

static int
open_error(struct mbox_result *res, int err)
{
	if (err == ELOOP)
		mbox_result_set(res, MBOX_PERM, DSN_UNSAFE, 0,
		                "mailbox is a symbolic link");
	else if (err == EISDIR || err == ENXIO) /* a directory, a socket */
		mbox_result_set(res, MBOX_PERM, DSN_UNSAFE, 0,
		                "mailbox is not a regular file");
	else
		mbox_result_errno(res, err, "cannot open mailbox");
	return -1;
}

/* Open the existing file or create it; O_NONBLOCK keeps a FIFO planted at
 * the path from blocking us (check_file refuses it next). */
static int
open_or_create(struct mbox *m, struct mbox_result *res)
{
	const int fl = O_RDWR | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
	int i;

	/* Bounded: each pass loses a race against a create or unlink. */
	for (i = 0; i < 3; i++) {
		m->fd = io_open(m->path, fl, 0);
		if (m->fd >= 0) {
			m->created = 0;
			return 0;
		}
		if (errno != ENOENT)
			return open_error(res, errno);
		m->fd = io_open(m->path, fl | O_CREAT | O_EXCL, 0600);
		if (m->fd >= 0) {
			m->created = 1;
			return 0;
		}
		if (errno != EEXIST)
			return open_error(res, errno);
	}
	return open_error(res, EAGAIN);
}

static int
open_file(struct mbox *m, struct mbox_result *res)
{
	struct stat st;
	int fl;

	if (open_or_create(m, res) < 0)
		return -1;
	if (fstat(m->fd, &st) < 0)
		return open_error(res, errno);
	if (check_file(&st, m->opts.uid, res) < 0)
		return -1;
	fl = fcntl(m->fd, F_GETFL);
	if (fl < 0 || fcntl(m->fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return open_error(res, errno);
	/* Only a group we belong to is allowed: the mode is 0600 anyway. */
	if (m->created && st.st_gid != m->opts.gid &&
	    fchown(m->fd, (uid_t)-1, m->opts.gid) < 0 && errno != EPERM)
		return open_error(res, errno);
	return 0;
}

static int
take_dotlock(struct mbox *m, struct mbox_result *res)
{
	if (m->opts.dotlock == MBOX_DOTLOCK_NONE)
		return 0;
	if (mailbox_lock_dot_acquire(&m->dot, m->path, &m->opts.lock) == 0)
		return 0;
	if (errno == EAGAIN) {
		mbox_result_set(res, MBOX_TEMP, DSN_LOCK, errno,
		                "cannot lock mailbox (lock file)");
		return -1;
	}
	if (m->opts.dotlock == MBOX_DOTLOCK_MAY_FAIL && errno != ENAMETOOLONG)
		return 0;
	mbox_result_set(res, MBOX_TEMP, DSN_LOCK, errno,
	                "cannot create mailbox lock file");
	return -1;
}

/* After the fcntl lock: 1 when the path still names our file (and it is
 * still safe), 0 when it was replaced or removed, -1 on error. */
static int
still_same(struct mbox *m, struct mbox_result *res)
{
	struct stat fst, pst;

	if (fstat(m->fd, &fst) < 0)
		return open_error(res, errno);
	if (lstat(m->path, &pst) < 0) {
		if (errno == ENOENT)
			return 0;
		return open_error(res, errno);
	}
	if (fst.st_dev != pst.st_dev || fst.st_ino != pst.st_ino)
		return 0;
	if (check_file(&fst, m->opts.uid, res) < 0)
		return -1;
	m->committed = m->end = m->size = (uint64_t)fst.st_size;
	return 1;
}

static void
close_fd(struct mbox *m)
{
	if (m->fd >= 0 && io_close(m->fd) < 0)
		log_warn("close mailbox: %s", strerror(errno));
	m->fd = -1;
}

/* Open, lock, re-check; reopen while the file keeps being replaced. */
static int
open_locked(struct mbox *m, struct mbox_result *res)
{
	unsigned attempt;
	int r;

	for (attempt = 0; attempt < m->opts.reopen_max; attempt++) {
		if (open_file(m, res) < 0)
			return -1;
		if (m->opts.after_open)
			m->opts.after_open(m->opts.hook_arg, m->path, attempt);
		if (mailbox_lock_fcntl_acquire(m->fd, F_WRLCK, &m->opts.lock) <
		    0) {
			mbox_result_set(res, MBOX_TEMP, DSN_LOCK, errno,
			                "cannot lock mailbox");
			return -1;
		}
		r = still_same(m, res);
		if (r != 0)
			return r > 0 ? 0 : -1;
		close_fd(m);
	}
	mbox_result_set(res, MBOX_TEMP, DSN_LOCK, 0,
	                "mailbox was replaced while being locked, %u times",
	                m->opts.reopen_max);
	return -1;
}

/* Remember whether the file ends with a newline. */
static int
read_tail(struct mbox *m, struct mbox_result *res)
{
	ssize_t r;
	char c;

	m->last_at_end = '\n';
	if (m->end == 0)
		return 0;
	do
		r = pread(m->fd, &c, 1, (off_t)(m->end - 1));
	while (r < 0 && errno == EINTR);
	if (r != 1)
		return open_error(res, r < 0 ? errno : EIO);
	m->last_at_end = c;
	return 0;
}

int
mbox_open(struct mbox *m, const char *path, const struct mbox_opts *o,
          struct mbox_result *res)
{
	m->fd = -1;
	m->created = m->broken = m->over = 0;
	m->npending = 0;
	m->olen = 0;
	m->dot.held = 0;
	m->opts = *o;
	if (m->opts.reopen_max == 0)
		m->opts.reopen_max = 1;
	if (str_copy(m->path, sizeof m->path, path) < 0) {
		mbox_result_set(res, MBOX_PERM, DSN_BADARG, ENAMETOOLONG,
		                "mailbox path");
		return -1;
	}
	if (take_dotlock(m, res) < 0 || open_locked(m, res) < 0 ||
	    read_tail(m, res) < 0) {
		mbox_close(m);
		return -1;
	}
	return 0;
}

/* ---- writing ---- */

static int
out_flush(struct mbox *m)
{
	if (m->olen > 0 && io_write_all(m->fd, m->obuf, m->olen) < 0)
		return -1;
	m->olen = 0;
	return 0;
}

/* Buffer n bytes; the size limit is checked against the size the mailbox
 * would have, before anything is written. */
static int
out_put(struct mbox *m, const void *p, size_t n)
{
	const char *s = p;
	uint64_t lim = m->opts.size_limit;

	if (lim != 0 && (m->size > lim || n > lim - m->size)) {
		m->over = 1;
		errno = EFBIG;
		return -1;
	}
	m->size += n;
	while (n > 0) {
		size_t k = sizeof m->obuf - m->olen;

		if (k == 0) {
			if (out_flush(m) < 0)
				return -1;
			continue;
		}
		if (k > n)
			k = n;
		memcpy(m->obuf + m->olen, s, k);
		m->olen += k;
		s += k;
		n -= k;
	}
	return 0;
}

static int
put_gt(struct mbox *m, size_t n)
{
	static const char gts[] = ">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>";

	while (n > 0) {
		size_t k = n < sizeof gts - 1 ? n : sizeof gts - 1;

		if (out_put(m, gts, k) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

static void
esc_reset(struct mbox *m, int bol)
{
	m->gt = 0;
	m->from = 0;
	m->bol = bol;
}

/* Emit what the start of the line held back, unescaped. */
static int
esc_release(struct mbox *m)
{
	if (m->gt > 0 && put_gt(m, m->gt) < 0)
		return -1;
	if (m->from > 0 && out_put(m, "From ", m->from) < 0)
		return -1;
	if (m->from > 0)
		m->last = "From "[m->from - 1];
	else if (m->gt > 0)
		m->last = '>';
	esc_reset(m, 0);
	return 0;
}

/* One byte at the start of a line: 1 held or escaped, 0 the line is not a
 * From_ line (held bytes released, c not consumed), -1 write error. */
static int
esc_bol(struct mbox *m, char c)
{
	if (m->from == 0 && c == '>') {
		m->gt++;
		return 1;
	}
	if (c != "From "[m->from])
		return esc_release(m) < 0 ? -1 : 0;
	if (++m->from < 5)
		return 1;
	if (put_gt(m, m->gt + 1) < 0 || out_put(m, "From ", 5) < 0)
		return -1;
	m->last = ' ';
	esc_reset(m, 0);
	return 1;
}

/* mboxrd escaping of one chunk; the state carries across chunks. */
static int
put_escaped(struct mbox *m, const char *p, size_t n)
{
	size_t i = 0, k;
	const char *nl;
	int r;

	/* loop invariant: p[0..i) is written or held in (gt, from) */
	while (i < n) {
		if (m->bol) {
			r = esc_bol(m, p[i]);
			if (r < 0)
				return -1;
			if (r > 0) {
				i++;
				continue;
			}
		}
		nl = memchr(p + i, '\n', n - i);
		k = nl ? (size_t)(nl - (p + i)) + 1 : n - i;
		if (out_put(m, p + i, k) < 0)
			return -1;
		m->last = p[i + k - 1];
		m->bol = nl != NULL;
		i += k;
	}
	return 0;
}

/* asctime() layout without its newline, in the C locale whatever the
 * environment says: "Sun Nov  1 06:45:08 2026". */
static int
format_date(char *buf, size_t cap, time_t t)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm;
	int n;

	if (!localtime_r(&t, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11) {
		errno = EOVERFLOW;
		return -1;
	}
	n = snprintf(buf, cap, "%.3s %.3s %2d %02d:%02d:%02d %d",
	             days + 3 * tm.tm_wday, mons + 3 * tm.tm_mon, tm.tm_mday,
	             tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
	if (n < 0 || (size_t)n >= cap) {
		errno = EOVERFLOW;
		return -1;
	}
	return 0;
}

/* The From_ line and our two header fields (addresses are bounded by
 * mbox_msg_check, so the buffer always suffices). */
static int
put_envelope(struct mbox *m, const struct mbox_msg *msg)
{
	const char *from = msg->sender[0] ? msg->sender : "MAILER-DAEMON";
	char date[64], env[3 * MBOX_ADDR_MAX + 128];
	int n;

	if (format_date(date, sizeof date, msg->date ? msg->date : time(NULL)))
		return -1;
	n = snprintf(env, sizeof env,
	             "%sFrom %s %s\nReturn-Path: <%s>\nDelivered-To: %s\n",
	             m->last_at_end != '\n' ? "\n" : "", from, date,
	             msg->sender, msg->recipient);
	if (n < 0 || (size_t)n >= sizeof env) {
		errno = EOVERFLOW;
		return -1;
	}
	return out_put(m, env, (size_t)n);
}

enum fail {
	FAIL_WRITE,
	FAIL_READ,
};

/* The content, escaped, then the end of the record. */
static int
put_content(struct mbox *m, const struct mbox_msg *msg, enum fail *why)
{
	ssize_t n;

	esc_reset(m, 1);
	m->last = '\n';
	for (;;) {
		n = msg->read(msg->ctx, m->ibuf, sizeof m->ibuf);
		if (n == 0)
			break;
		if (n < 0 || (size_t)n > sizeof m->ibuf) {
			if (n > 0)
				errno = EINVAL;
			*why = FAIL_READ;
			return -1;
		}
		if (put_escaped(m, m->ibuf, (size_t)n) < 0)
			return -1;
	}
	if (m->bol && esc_release(m) < 0)
		return -1;
	if (m->last != '\n' && out_put(m, "\n", 1) < 0)
		return -1;
	return out_put(m, "\n", 1);
}

/* Cut the file back to offset to; on failure the mailbox is unusable. */
static int
cut_back(struct mbox *m, uint64_t to)
{
	int r;

	m->olen = 0;
	do
		r = ftruncate(m->fd, (off_t)to);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		m->broken = 1;
		log_error("cannot truncate mailbox back to %llu bytes: %s",
		          (unsigned long long)to, strerror(errno));
		return -1;
	}
	m->size = m->end = to;
	return 0;
}

static int
append_failed(struct mbox *m, enum fail why, struct mbox_result *res)
{
	int err = errno;

	if (why == FAIL_READ)
		mbox_result_set(res, MBOX_TEMP, "4.3.0", err,
		                "cannot read message content");
	else if (m->over)
		mbox_result_set(res, MBOX_PERM, "5.2.2", 0,
		                "mailbox would exceed mailbox_size_limit "
		                "(%llu bytes)",
		                (unsigned long long)m->opts.size_limit);
	else
		mbox_result_errno(res, err, "cannot write mailbox");
	cut_back(m, m->end); /* failure logged; the mailbox is "broken" */
	return -1;
}

static int
addr_ok(const char *a)
{
	size_t n = 0;

	for (; *a; a++, n++)
		if ((unsigned char)*a < 0x20 || *a == 0x7f)
			return 0;
	return n <= MBOX_ADDR_MAX;
}

int
mbox_msg_check(const struct mbox_msg *msg, struct mbox_result *res)
{
	if (!msg->sender || !msg->recipient || !msg->read ||
	    !addr_ok(msg->sender) || !addr_ok(msg->recipient)) {
		mbox_result_set(res, MBOX_PERM, DSN_BADARG, 0,
		                "envelope address missing, too long or with "
		                "control characters");
		return -1;
	}
	return 0;
}

int
mbox_append(struct mbox *m, const struct mbox_msg *msg, struct mbox_result *res)
{
	enum fail why = FAIL_WRITE;

	if (m->fd < 0 || m->broken) {
		mbox_result_set(res, MBOX_TEMP, "4.3.0", 0,
		                m->broken ? "mailbox left in an unknown state"
		                          : "mailbox is not open");
		return -1;
	}
	if (mbox_msg_check(msg, res) < 0)
		return -1;
	m->over = 0;
	m->size = m->end;
	if (put_envelope(m, msg) < 0 || put_content(m, msg, &why) < 0 ||
	    out_flush(m) < 0)
		return append_failed(m, why, res);
	m->end = m->size;
	m->last_at_end = '\n';
	m->npending++;
	mbox_result_set(res, MBOX_OK, "2.0.0", 0, "pending commit");
	return 0;
}

/* A new mailbox's directory entry must be durable too. A spool directory
 * we may not open (EACCES) leaves the fsync of the file as the best we
 * can do, as qfile_commit does for maildrop/. */
static int
sync_dir(struct mbox *m)
{
	char dir[MBOX_PATH_MAX];
	char *slash;

	str_copy(dir, sizeof dir, m->path);
	slash = strrchr(dir, '/');
	if (!slash)
		str_copy(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (io_fsync_dir(dir) < 0 && errno != EACCES)
		return -1;
	return 0;
}

int
mbox_commit(struct mbox *m, struct mbox_result *res)
{
	if (m->fd < 0) {
		mbox_result_set(res, MBOX_TEMP, "4.3.0", 0,
		                "mailbox is not open");
		return -1;
	}
	if (io_fsync(m->fd) < 0 || (m->created && sync_dir(m) < 0)) {
		mbox_result_errno(res, errno, "cannot fsync mailbox");
		if (res->status == MBOX_PERM)
			res->status = MBOX_TEMP;
		if (!m->broken)
			cut_back(m, m->committed);
		m->npending = 0;
		return -1;
	}
	m->created = 0;
	m->committed = m->end;
	m->npending = 0;
	mbox_result_set(res, MBOX_OK, "2.0.0", 0, "delivered to mailbox");
	return 0;
}

void
mbox_close(struct mbox *m)
{
	if (m->fd >= 0 && m->npending > 0 && !m->broken)
		cut_back(m, m->committed);
	m->npending = 0;
	/* Closing drops the fcntl lock; the dotlock goes after it. */
	close_fd(m);
	if (m->dot.held && mailbox_lock_dot_release(&m->dot) < 0)
		log_warn("cannot remove mailbox lock file: %s",
		         strerror(errno));
}

enum mbox_status
mbox_deliver(const char *path, const struct mbox_opts *o,
             const struct mbox_msg *msg, struct mbox_result *res)
{
	struct mbox m;

	if (mbox_open(&m, path, o, res) < 0)
		return res->status;
	if (mbox_append(&m, msg, res) == 0)
		mbox_commit(&m, res);
	mbox_close(&m);
	return res->status;
}

/* ---- Delivered-To scanner (PURE) ---- */

enum dt_pos {
	DT_BOL,   /* at the start of a line */
	DT_NAME,  /* in a field name */
	DT_COLON, /* white space between the name and the colon */
	DT_VALUE, /* in a Delivered-To value */
	DT_SKIP,  /* in any other field */
};

void
mbox_dt_init(struct mbox_dt *s, const char *rcpt, size_t limit)
{
	memset(s, 0, sizeof *s);
	s->rcpt = rcpt;
	s->limit = limit;
	s->st = DT_BOL;
	s->result = MBOX_DT_MORE;
}

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* RFC 5322 3.6.8: printable US-ASCII except colon. */
static int
is_ftext(int c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* The field that just ended: does it name our recipient? */
static void
dt_field_end(struct mbox_dt *s)
{
	size_t a = 0, b = s->vlen;

	if (!s->match)
		return;
	s->match = 0;
	while (a < b && (is_wsp(s->value[a]) || s->value[a] == '\r'))
		a++;
	while (b > a && (is_wsp(s->value[b - 1]) || s->value[b - 1] == '\r'))
		b--;
	s->value[b] = '\0';
	if (!s->vover && str_eq_nocase(s->value + a, s->rcpt))
		s->result = MBOX_DT_FOUND;
}

/* White space that trimming would remove anyway never fills the buffer. */
static void
dt_value_add(struct mbox_dt *s, char c)
{
	if (s->vlen == 0 && (is_wsp(c) || c == '\r'))
		return;
	if (s->vlen < sizeof s->value - 1)
		s->value[s->vlen++] = c;
	else if (!is_wsp(c) && c != '\r')
		s->vover = 1;
}

static void
dt_bol(struct mbox_dt *s, unsigned char c)
{
	if (is_wsp(c)) { /* a folded continuation of the last field */
		if (s->match)
			dt_value_add(s, (char)c);
		s->st = s->match ? DT_VALUE : DT_SKIP;
		return;
	}
	dt_field_end(s);
	if (s->result != MBOX_DT_MORE)
		return;
	if (!is_ftext(c)) { /* empty line, or the body without one */
		s->result = MBOX_DT_NOTFOUND;
		return;
	}
	s->nlen = 0;
	s->name[s->nlen++] = (char)c;
	s->st = DT_NAME;
}

static void
dt_name(struct mbox_dt *s, unsigned char c)
{
	if (c == ':') {
		if (s->nlen < sizeof s->name) /* == sizeof: too long */
			s->name[s->nlen] = '\0';
		s->match = s->nlen < sizeof s->name &&
		           str_eq_nocase(s->name, "delivered-to");
		s->vlen = 0;
		s->vover = 0;
		s->st = s->match ? DT_VALUE : DT_SKIP;
	} else if (s->st == DT_NAME && is_ftext(c)) {
		if (s->nlen < sizeof s->name)
			s->name[s->nlen++] = (char)c;
	} else if (is_wsp(c)) { /* obsolete WSP before the colon */
		s->st = DT_COLON;
	} else {
		s->result = MBOX_DT_NOTFOUND;
	}
}

enum mbox_dt_state
mbox_dt_feed(struct mbox_dt *s, const char *p, size_t len)
{
	size_t i;

	/* loop invariant: s->seen <= s->limit; s->result is MORE */
	for (i = 0; i < len && s->result == MBOX_DT_MORE; i++) {
		unsigned char c = (unsigned char)p[i];

		if (s->seen++ >= s->limit) {
			s->result = MBOX_DT_NOTFOUND;
			break;
		}
		if (s->st == DT_BOL)
			dt_bol(s, c);
		else if (s->st == DT_NAME || s->st == DT_COLON)
			dt_name(s, c);
		else if (c == '\n')
			s->st = DT_BOL;
		else if (s->st == DT_VALUE)
			dt_value_add(s, (char)c);
	}
	return s->result;
}

enum mbox_dt_state
mbox_dt_end(struct mbox_dt *s)
{
	if (s->result == MBOX_DT_MORE) {
		if (s->st == DT_VALUE || s->st == DT_BOL)
			dt_field_end(s);
		if (s->result == MBOX_DT_MORE)
			s->result = MBOX_DT_NOTFOUND;
	}
	return s->result;
}

int
mbox_delivered_to(mbox_read_fn rd, void *ctx, const char *rcpt, size_t limit)
{
	struct mbox_dt s;
	char buf[1024];
	ssize_t n;
	enum mbox_dt_state r = MBOX_DT_MORE;

	mbox_dt_init(&s, rcpt, limit);
	while (r == MBOX_DT_MORE) {
		n = rd(ctx, buf, sizeof buf);
		if (n < 0 || (size_t)n > sizeof buf) {
			if (n > 0)
				errno = EINVAL;
			return -1;
		}
		if (n == 0)
			r = mbox_dt_end(&s);
		else
			r = mbox_dt_feed(&s, buf, (size_t)n);
	}
	return r == MBOX_DT_FOUND;
}
