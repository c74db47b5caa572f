/*
 * pwcache.c - remembered getpwnam answers (see pwcache.h).
 */
#include "pwcache.h"
#include "util/str.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

struct pw_entry {
	char name[64];
	int found;
	unsigned long used; /* the tick of its last use: the oldest goes */
	uid_t uid;
	gid_t gid;
	char dir[256];
	char shell[128];
};

static struct {
	struct stat st; /* of PWCACHE_PATH when the entries were made */
	int have_st;
	unsigned long tick;
	struct pw_entry e[PWCACHE_ENTRIES];
	struct passwd out;
} cache;

void
pwcache_reset(void)
{
	memset(&cache, 0, sizeof cache);
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static const struct passwd *
answer(struct pw_entry *e)
{
	e->used = ++cache.tick;
	if (!e->found) {
		errno = 0;
		return NULL;
	}
	memset(&cache.out, 0, sizeof cache.out);
	cache.out.pw_name = e->name;
	cache.out.pw_uid = e->uid;
	cache.out.pw_gid = e->gid;
	cache.out.pw_dir = e->dir;
	cache.out.pw_shell = e->shell;
	return &cache.out;
}

/* Keep the answer for name in the least recently used entry, unless its
 * fields do not fit. */
static void
keep(const char *name, const struct passwd *pw)
{
	struct pw_entry *e = &cache.e[0];

	for (size_t i = 1; i < PWCACHE_ENTRIES; i++)
		if (cache.e[i].used < e->used)
			e = &cache.e[i];
	memset(e, 0, sizeof *e);
	if (str_copy(e->name, sizeof e->name, name) < 0 ||
	    (pw && (str_copy(e->dir, sizeof e->dir,
	                     pw->pw_dir ? pw->pw_dir : "") < 0 ||
	            str_copy(e->shell, sizeof e->shell,
	                     pw->pw_shell ? pw->pw_shell : "") < 0))) {
		memset(e, 0, sizeof *e); /* not kept */
		return;
	}
	e->found = pw != NULL;
	if (pw) {
		e->uid = pw->pw_uid;
		e->gid = pw->pw_gid;
	}
	e->used = ++cache.tick;
}

const struct passwd *
pwcache_getpwnam(const char *name)
{
	struct stat st;
	struct passwd *pw;

	if (stat(PWCACHE_PATH, &st) < 0) {
		cache.have_st = 0; /* nothing to compare with: ask each time */
		return getpwnam(name);
	}
	if (!cache.have_st || !same_file(&st, &cache.st)) {
		pwcache_reset();
		cache.st = st;
		cache.have_st = 1;
	}
	for (size_t i = 0; i < PWCACHE_ENTRIES; i++)
		if (cache.e[i].used && strcmp(cache.e[i].name, name) == 0)
			return answer(&cache.e[i]);
	errno = 0;
	pw = getpwnam(name);
	/* an error (errno set, no entry) is not an answer to keep */
	if (pw || errno == 0 || errno == ENOENT || errno == ESRCH)
		keep(name, pw);
	if (!pw && (errno == ENOENT || errno == ESRCH))
		errno = 0;
	return pw;
}
