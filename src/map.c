/*
 * map.c - read-only CDB lookup tables (see map.h).
 * Runs in every role that consults a table (smtpd, qmgr, local, postmap),
 * with that role's privileges. Untrusted input: the .cdb file itself (it
 * may be truncated, stale or hostile): every position and length read from
 * it is checked against the file size before use, in 64-bit arithmetic,
 * and every loop is bounded by the size of the table it walks.
 */
#include "map.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/io.h"

uint32_t
map_hash(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint32_t h = 5381;

	for (size_t i = 0; i < len; i++)
		h = ((h << 5) + h) ^ s[i];
	return h;
}

void
map_fold(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] + ('a' - 'A'));
}

static uint32_t
u32le(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Copy len bytes at off into buf: 0, or -1 with EPROTO when the range is
 * outside the file (or the file shrank since it was opened). */
static int
rd(const struct map *m, uint64_t off, void *buf, size_t len)
{
	size_t got = 0;

	if (off > m->size || len > m->size - off) {
		errno = EPROTO;
		return -1;
	}
	if (m->mem) {
		memcpy(buf, m->mem + off, len);
		return 0;
	}
	while (got < len) {
		ssize_t r = pread(m->fd, (char *)buf + got, len - got,
		                  (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = EPROTO;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

/* Is hash table t inside the file? Its slots are 8 bytes each. */
static int
table(const struct map *m, unsigned t, uint64_t *pos, uint32_t *slots)
{
	*pos = u32le(m->toc + 8 * t);
	*slots = u32le(m->toc + 8 * t + 4);
	if (*pos > m->size || (uint64_t)*slots * 8 > m->size - *pos) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

static int
check_toc(const struct map *m)
{
	uint64_t pos;
	uint32_t slots;

	for (unsigned t = 0; t < 256; t++)
		if (table(m, t, &pos, &slots) < 0)
			return -1;
	return 0;
}

static void
reset(struct map *m)
{
	m->fd = -1;
	m->mem = NULL;
	m->size = 0;
	m->flags = 0;
	m->dev = 0;
	m->ino = 0;
	m->path[0] = '\0';
}

int
map_open_mem(struct map *m, const void *img, size_t len, unsigned flags)
{
	reset(m);
	m->flags = flags;
	if (len < MAP_TOC_SIZE) {
		errno = EPROTO;
		return -1;
	}
	m->mem = img;
	m->size = len;
	memcpy(m->toc, img, MAP_TOC_SIZE);
	if (check_toc(m) < 0) {
		reset(m);
		return -1;
	}
	return 0;
}

int
map_spec_source(const char *spec, char *src, size_t cap)
{
	const char *name = spec, *colon = strchr(spec, ':');

	if (colon && colon != spec &&
	    strspn(spec, "abcdefghijklmnopqrstuvwxyz0123456789_") ==
	        (size_t)(colon - spec)) {
		if (strncmp(spec, "cdb:", 4) != 0 &&
		    strncmp(spec, "hash:", 5) != 0) {
			errno = EINVAL;
			return -1;
		}
		name = colon + 1;
	}
	if (!*name) {
		errno = EINVAL;
		return -1;
	}
	if (strlen(name) + sizeof ".cdb" > MAP_PATH_MAX ||
	    str_copy(src, cap, name) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
open_fd(struct map *m)
{
	struct stat st;

	m->fd = io_open(m->path, O_RDONLY, 0);
	if (m->fd < 0)
		return -1;
	if (fstat(m->fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	m->size = (uint64_t)st.st_size;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	if (m->size < MAP_TOC_SIZE) {
		errno = EPROTO;
		return -1;
	}
	if (rd(m, 0, m->toc, MAP_TOC_SIZE) < 0)
		return -1;
	return check_toc(m);
}

int
map_open(struct map *m, const char *spec, unsigned flags)
{
	char src[MAP_PATH_MAX];
	int saved;

	reset(m);
	m->flags = flags;
	if (map_spec_source(spec, src, sizeof src) < 0)
		return -1;
	if (snprintf(m->path, sizeof m->path, "%s.cdb", src) >=
	    (int)sizeof m->path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (open_fd(m) == 0)
		return 0;
	saved = errno;
	map_close(m);
	errno = saved;
	return -1;
}

void
map_close(struct map *m)
{
	if (m->fd >= 0)
		io_close(m->fd);
	reset(m);
}

/* Read a record header at pos: key and value lengths, both inside the
 * file. */
static int
record(const struct map *m, uint64_t pos, uint64_t end, uint32_t *klen,
       uint32_t *vlen)
{
	unsigned char h[8];

	if (pos > end || end - pos < 8) {
		errno = EPROTO;
		return -1;
	}
	if (rd(m, pos, h, sizeof h) < 0)
		return -1;
	*klen = u32le(h);
	*vlen = u32le(h + 4);
	if ((uint64_t)*klen + *vlen > end - pos - 8) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/* Copy a value of vlen bytes at pos into val[cap], NUL-terminated. */
static int
copy_value(const struct map *m, uint64_t pos, uint32_t vlen, char *val,
           size_t cap, size_t *outlen)
{
	if ((uint64_t)vlen >= cap) {
		errno = ERANGE;
		return -1;
	}
	if (rd(m, pos, val, vlen) < 0)
		return -1;
	val[vlen] = '\0';
	if (memchr(val, '\0', vlen)) {
		errno = EPROTO;
		return -1;
	}
	if (outlen)
		*outlen = vlen;
	return 0;
}

/* Does the record at rpos hold key? 1 yes (*vpos, *vlen set), 0 no. */
static int
match(const struct map *m, uint64_t rpos, const char *key, size_t klen,
      uint64_t *vpos, uint32_t *vlen)
{
	char stored[MAP_KEY_MAX];
	uint32_t sk;

	if (record(m, rpos, m->size, &sk, vlen) < 0)
		return -1;
	if (sk != klen)
		return 0;
	if (rd(m, rpos + 8, stored, klen) < 0)
		return -1;
	if (memcmp(stored, key, klen) != 0)
		return 0;
	*vpos = rpos + 8 + klen;
	return 1;
}

/* Probe the hash table for key; 1 with the value's place, 0, -1. */
static int
find(const struct map *m, const char *key, size_t klen, uint64_t *vpos,
     uint32_t *vlen)
{
	uint32_t h = map_hash(key, klen), slots, start;
	uint64_t pos;

	if (table(m, h & 255, &pos, &slots) < 0)
		return -1;
	if (slots == 0)
		return 0;
	start = (h >> 8) % slots;
	/* loop invariant: each of the table's slots is read at most once */
	for (uint32_t i = 0; i < slots; i++) {
		unsigned char s[8];
		uint32_t slot = (uint32_t)(((uint64_t)start + i) % slots);
		uint32_t rpos;
		int r;

		if (rd(m, pos + (uint64_t)slot * 8, s, sizeof s) < 0)
			return -1;
		rpos = u32le(s + 4);
		if (rpos == 0)
			return 0;
		if (u32le(s) != h)
			continue;
		r = match(m, rpos, key, klen, vpos, vlen);
		if (r != 0)
			return r;
	}
	return 0;
}

int
map_lookup_n(struct map *m, const char *key, size_t klen, char *val, size_t cap,
             size_t *vlen)
{
	char folded[MAP_KEY_MAX];
	uint64_t vpos;
	uint32_t len;
	int r;

	if (klen > MAP_KEY_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (klen == 0)
		return 0;
	memcpy(folded, key, klen);
	if (!(m->flags & MAP_F_NOFOLD))
		map_fold(folded, klen);
	r = find(m, folded, klen, &vpos, &len);
	if (r <= 0)
		return r;
	if (copy_value(m, vpos, len, val, cap, vlen) < 0)
		return -1;
	return 1;
}

int
map_lookup(struct map *m, const char *key, char *val, size_t cap, size_t *vlen)
{
	return map_lookup_n(m, key, strlen(key), val, cap, vlen);
}

/* The end of the records: the lowest hash table position. */
static uint64_t
data_end(const struct map *m)
{
	uint64_t end = m->size;

	for (unsigned t = 0; t < 256; t++) {
		uint64_t pos = u32le(m->toc + 8 * t);

		if (pos < end)
			end = pos;
	}
	return end;
}

int
map_next(struct map *m, uint64_t *cursor, char *key, size_t kcap, char *val,
         size_t vcap)
{
	uint64_t pos = *cursor ? *cursor : MAP_TOC_SIZE, end = data_end(m);
	uint32_t klen, vlen;

	if (pos >= end)
		return 0;
	if (record(m, pos, end, &klen, &vlen) < 0)
		return -1;
	if (copy_value(m, pos + 8, klen, key, kcap, NULL) < 0 ||
	    copy_value(m, pos + 8 + klen, vlen, val, vcap, NULL) < 0)
		return -1;
	*cursor = pos + 8 + klen + vlen;
	return 1;
}

int
map_changed(const struct map *m)
{
	struct stat st;

	if (m->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (stat(m->path, &st) < 0)
		return -1;
	return st.st_dev != m->dev || st.st_ino != m->ino;
}
