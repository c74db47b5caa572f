/*
 * cmd_mail_maildir.c - the mail applet on a Maildir (home_mailbox =
 * Maildir/, or mail -f DIR): the index is the regular files of new/ and
 * cur/ in delivery order (the seconds that start a name written by
 * maildir.c, then the name), bounded like an mbox index; deletions are
 * unlinks at q. Nothing needs a lock: delivery only links new files into
 * new/. Runs as the invoking user; the names are untrusted (bounded,
 * never printed) and the files are read through the same paths as mbox
 * messages.
 */
#include "cmd_mail.h"
#include "cmd_sendmail.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MD_NAME_MAX 255

/* The names pool, for the qsort comparator (one sort at a time). */
static const char *sort_names;

static int
add_name(struct mail_box *b, const char *sub, const char *name, uint32_t *off)
{
	size_t need = strlen(sub) + 1 + strlen(name) + 1;

	if (need > b->names_cap - b->names_len) {
		size_t cap = b->names_cap ? 2 * b->names_cap : 4096;
		char *p;

		while (cap - b->names_len < need)
			cap *= 2;
		p = realloc(b->names, cap);
		if (!p)
			return -1;
		b->names = p;
		b->names_cap = cap;
	}
	*off = (uint32_t)b->names_len;
	snprintf(b->names + b->names_len, need, "%s/%s", sub, name);
	b->names_len += need;
	return 0;
}

static int
grow(struct mail_index *ix)
{
	size_t cap;
	struct mail_msg *v;

	if (ix->n < ix->cap)
		return 0;
	cap = ix->cap ? 2 * ix->cap : 64;
	if (cap > ix->max)
		cap = ix->max;
	v = realloc(ix->v, cap * sizeof *v);
	if (!v)
		return -1;
	ix->v = v;
	ix->cap = cap;
	return 0;
}

/* Lines of a message file (its last line may lack a LF). */
static uint32_t
count_lines(struct mail_box *b, int fd)
{
	uint32_t lines = 0;
	ssize_t r;
	char last = '\n';

	while ((r = io_read(fd, b->buf, sizeof b->buf)) > 0) {
		for (ssize_t i = 0; i < r; i++)
			lines += b->buf[i] == '\n';
		last = b->buf[r - 1];
	}
	return lines + (last != '\n');
}

/* One entry of new/ or cur/ (dfd); 0, or -1 when out of memory. */
static int
add_entry(struct mail_box *b, int dfd, const char *sub, const char *name)
{
	struct mail_msg *m;
	const char *info;
	struct stat st;
	int fd;

	if (name[0] == '.' || strlen(name) > MD_NAME_MAX)
		return 0;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return 0; /* gone meanwhile, or a link: not a message */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		io_close(fd);
		return 0;
	}
	if (b->ix.n >= b->ix.max) {
		b->ix.over = 1;
		io_close(fd);
		return 0;
	}
	if (grow(&b->ix) < 0) {
		io_close(fd);
		return -1;
	}
	m = &b->ix.v[b->ix.n];
	memset(m, 0, sizeof *m);
	m->cend = m->end = (uint64_t)st.st_size;
	m->lines = count_lines(b, fd);
	io_close(fd);
	info = strstr(name, ":2,");
	if (strcmp(sub, "cur") == 0 && info && strchr(info + 3, 'S'))
		m->flags |= MAIL_F_SEEN;
	if (add_name(b, sub, name, &m->name) < 0)
		return -1;
	b->ix.n++;
	return 0;
}

static int
scan_sub(struct mail_box *b, const char *sub)
{
	int dfd = openat(b->fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (dfd < 0) {
		if (errno == ENOENT)
			return 0;
		log_error("%s/%s: %s", b->path, sub, strerror(errno));
		return MAIL_EX_IOERR;
	}
	d = fdopendir(dfd);
	if (!d) {
		log_error("%s/%s: %s", b->path, sub, strerror(errno));
		io_close(dfd);
		return MAIL_EX_IOERR;
	}
	while (rc == 0 && (e = readdir(d)))
		if (add_entry(b, dirfd(d), sub, e->d_name) < 0) {
			log_error("%s: out of memory indexing the Maildir",
			          b->path);
			rc = SM_EX_TEMPFAIL;
		}
	closedir(d);
	return rc;
}

/* The microseconds of a name "SECONDS.MUSEC…" (after the seconds at
 * *p), or 0 when it has none. */
static unsigned long long
name_usec(const char *p)
{
	return p[0] == '.' && p[1] == 'M' ? strtoull(p + 2, NULL, 10) : 0;
}

/* Delivery order: the seconds that start the name, its microseconds
 * (".M", not zero-padded: 84547 comes before 189030), then the name. */
static int
cmp_msg(const void *x, const void *y)
{
	const char *a = sort_names + ((const struct mail_msg *)x)->name + 4;
	const char *b = sort_names + ((const struct mail_msg *)y)->name + 4;
	char *ea, *eb;
	unsigned long long sa = strtoull(a, &ea, 10);
	unsigned long long sb = strtoull(b, &eb, 10);
	unsigned long long ua = name_usec(ea), ub = name_usec(eb);

	if (sa != sb)
		return sa < sb ? -1 : 1;
	if (ua != ub)
		return ua < ub ? -1 : 1;
	return strcmp(a, b);
}

int
mail_md_load(struct mail_box *b)
{
	int rc = scan_sub(b, "new");

	if (rc == 0)
		rc = scan_sub(b, "cur");
	if (rc != 0)
		return rc;
	sort_names = b->names;
	if (b->ix.n > 1)
		qsort(b->ix.v, b->ix.n, sizeof b->ix.v[0], cmp_msg);
	if (b->ix.over)
		log_warn("%s: more than %zu messages: only %zu are shown",
		         b->path, b->ix.max, b->ix.max);
	return 0;
}

int
mail_md_open(struct mail_box *b, size_t i)
{
	int fd = openat(b->fd, b->names + b->ix.v[i].name,
	                O_RDONLY | O_NOFOLLOW | O_NOCTTY);

	if (fd < 0)
		log_error("message %zu: %s%s", i + 1, strerror(errno),
		          errno == ENOENT ? " (removed by another program)"
		                          : "");
	return fd;
}

int
mail_md_commit(struct mail_box *b)
{
	int rc = 0, any = 0;

	for (size_t i = 0; i < b->ix.n; i++) {
		if (!(b->ix.v[i].flags & MAIL_F_DELETED))
			continue;
		any = 1;
		if (unlinkat(b->fd, b->names + b->ix.v[i].name, 0) < 0 &&
		    errno != ENOENT) {
			log_error("message %zu: cannot remove: %s", i + 1,
			          strerror(errno));
			rc = MAIL_EX_IOERR;
		}
	}
	for (int k = 0; any && k < 2; k++) {
		int fd = openat(b->fd, k ? "cur" : "new",
		                O_RDONLY | O_DIRECTORY | O_NOFOLLOW);

		if (fd >= 0 && io_fsync(fd) < 0)
			log_warn("%s: fsync: %s", b->path, strerror(errno));
		if (fd >= 0)
			io_close(fd);
	}
	return rc;
}
