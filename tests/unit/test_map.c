/*
 * test_map.c - CDB maps: build (map_build.c) and lookup (map.c) round
 * trips, case folding, values against the caller's buffer at limit-1,
 * limit and limit+1, missing and unsupported maps, atomic rebuilds that
 * keep the old .cdb on a broken source, file modes, and truncated,
 * garbage and hostile .cdb files (which must give -1, never a crash).
 */
#include "map.h"
#include "map_build.h"
#include "t.h"

#include <cdb.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static const char *
path(const char *name)
{
	static char p[2][256];
	static int which;

	which = !which;
	snprintf(p[which], sizeof p[which], "%s/%s", dir, name);
	return p[which];
}

static void
write_file(const char *name, const char *text, size_t len, mode_t mode)
{
	FILE *f = fopen(path(name), "wb");

	if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		perror(path(name));
		exit(2);
	}
	if (chmod(path(name), mode) < 0) {
		perror("chmod");
		exit(2);
	}
}

/* Build name from text with the given syntax; returns map_build's code. */
static int
build(const char *name, const char *text, enum map_syntax syn, unsigned flags,
      char *err, size_t cap)
{
	write_file(name, text, strlen(text), 0644);
	return map_build(path(name), syn, flags, NULL, err, cap);
}

static int
lookup(const char *spec, unsigned flags, const char *key, char *val, size_t cap)
{
	struct map m;
	int r;

	if (map_open(&m, spec, flags) < 0)
		return -2;
	r = map_lookup(&m, key, val, cap, NULL);
	map_close(&m);
	return r;
}

static const char virtual_src[] =
    "# the Postfix tutorial's virtual table\n"
    "postmaster@example.com postmaster\n"
    "info@example.com       joe\n"
    "sales@example.com      jane\n"
    "# Uncomment entry below to implement a catch-all address\n"
    "# @example.com         jim\n"
    "Mixed@Example.COM      Value With Case\n"
    "multi                  a,\n"
    "    b\n";

static void
test_round_trip(void)
{
	char err[MAP_ERR_MAX], val[128], spec[300];

	T_CHECK(build("virtual", virtual_src, MAP_SYNTAX_POSTMAP, 0, err,
	              sizeof err) == 0,
	        "build: %s", err);
	snprintf(spec, sizeof spec, "cdb:%s", path("virtual"));
	T_CHECK(lookup(spec, 0, "info@example.com", val, sizeof val) == 1,
	        "info");
	T_STREQ(val, "joe", "info@example.com");
	T_CHECK(lookup(path("virtual"), 0, "sales@example.com", val,
	               sizeof val) == 1,
	        "bare path");
	T_STREQ(val, "jane", "sales");
	snprintf(spec, sizeof spec, "hash:%s", path("virtual"));
	T_CHECK(lookup(spec, 0, "INFO@EXAMPLE.COM", val, sizeof val) == 1,
	        "folded lookup");
	T_CHECK(lookup(spec, 0, "mixed@example.com", val, sizeof val) == 1,
	        "folded build");
	T_STREQ(val, "Value With Case", "value keeps its case");
	T_CHECK(lookup(spec, 0, "multi", val, sizeof val) == 1, "multi");
	T_STREQ(val, "a, b", "continuation");
	T_CHECK(lookup(spec, 0, "@example.com", val, sizeof val) == 0,
	        "commented out");
	T_CHECK(lookup(spec, 0, "nobody@example.com", val, sizeof val) == 0,
	        "not found");
	T_CHECK(lookup(spec, 0, "", val, sizeof val) == 0, "empty key");
}

static void
test_nofold(void)
{
	char err[MAP_ERR_MAX], val[64];

	T_CHECK(build("exact", "Key upper\nkey lower\n", MAP_SYNTAX_POSTMAP,
	              MAP_F_NOFOLD, err, sizeof err) == 0,
	        "build: %s", err);
	T_CHECK(lookup(path("exact"), MAP_F_NOFOLD, "Key", val, sizeof val) ==
	                1 &&
	            strcmp(val, "upper") == 0,
	        "Key");
	T_CHECK(lookup(path("exact"), MAP_F_NOFOLD, "key", val, sizeof val) ==
	                1 &&
	            strcmp(val, "lower") == 0,
	        "key");
	T_CHECK(lookup(path("exact"), MAP_F_NOFOLD, "KEY", val, sizeof val) ==
	            0,
	        "KEY");
}

/* A value of L bytes needs cap L+1: at cap L it is an error (ERANGE),
 * never a truncated value. */
static void
test_value_limit(void)
{
	char src[300], err[MAP_ERR_MAX], val[200];
	size_t vlen = 0;
	struct map m;

	memcpy(src, "k ", 2);
	memset(src + 2, 'v', 100);
	memcpy(src + 102, "\n", 2);
	T_CHECK(build("long", src, MAP_SYNTAX_POSTMAP, 0, err, sizeof err) == 0,
	        "build: %s", err);
	T_CHECK(map_open(&m, path("long"), 0) == 0, "open");
	for (size_t cap = 100; cap <= 102; cap++) {
		int r;

		memset(val, 'x', sizeof val);
		errno = 0;
		r = map_lookup(&m, "k", val, cap, &vlen);
		if (cap > 100)
			T_CHECK(r == 1 && vlen == 100 && val[100] == '\0',
			        "cap %zu", cap);
		else
			T_CHECK(r == -1 && errno == ERANGE, "cap %zu: %d", cap,
			        r);
	}
	map_close(&m);
}

static void
test_key_limit(void)
{
	char *src = malloc(MAP_KEY_MAX + 16), *key = malloc(MAP_KEY_MAX + 2);
	char err[MAP_ERR_MAX], val[16];
	struct map m;

	memset(src, 'k', MAP_KEY_MAX);
	memcpy(src + MAP_KEY_MAX, " v\n", 4);
	T_CHECK(build("keys", src, MAP_SYNTAX_POSTMAP, 0, err, sizeof err) == 0,
	        "build: %s", err);
	T_CHECK(map_open(&m, path("keys"), 0) == 0, "open");
	memset(key, 'k', MAP_KEY_MAX + 1);
	key[MAP_KEY_MAX - 1] = '\0';
	T_CHECK(map_lookup(&m, key, val, sizeof val, NULL) == 0, "limit-1");
	key[MAP_KEY_MAX - 1] = 'k';
	key[MAP_KEY_MAX] = '\0';
	T_CHECK(map_lookup(&m, key, val, sizeof val, NULL) == 1, "limit");
	key[MAP_KEY_MAX] = 'k';
	key[MAP_KEY_MAX + 1] = '\0';
	errno = 0;
	T_CHECK(map_lookup(&m, key, val, sizeof val, NULL) == -1 &&
	            errno == ENAMETOOLONG,
	        "limit+1");
	map_close(&m);
	memset(src, 'k', MAP_KEY_MAX + 1);
	memcpy(src + MAP_KEY_MAX + 1, " v\n", 4);
	T_CHECK(build("keys2", src, MAP_SYNTAX_POSTMAP, 0, err, sizeof err) ==
	            65,
	        "key over the limit: %s", err);
	free(src);
	free(key);
}

static void
test_missing(void)
{
	struct map m;
	char err[MAP_ERR_MAX];

	errno = 0;
	T_CHECK(map_open(&m, path("nothing"), 0) == -1 && errno == ENOENT,
	        "missing map: errno %d", errno);
	errno = 0;
	T_CHECK(map_open(&m, "lmdb:/etc/x", 0) == -1 && errno == EINVAL,
	        "unsupported type");
	T_CHECK(map_open(&m, "cdb:", 0) == -1 && errno == EINVAL, "no name");
	T_CHECK(map_build(path("nothing"), MAP_SYNTAX_POSTMAP, 0, NULL, err,
	                  sizeof err) == 66 &&
	            strstr(err, "No such file"),
	        "missing source: %s", err);
	T_CHECK(map_build("btree:/x", MAP_SYNTAX_POSTMAP, 0, NULL, err,
	                  sizeof err) == 78,
	        "unsupported type: %s", err);
	write_file("dir.cdb", "", 0, 0644);
	T_CHECK(map_open(&m, path("dir"), 0) == -1 && errno == EPROTO,
	        "empty .cdb");
}

static void
test_spec(void)
{
	char src[64];

	T_CHECK(map_spec_source("cdb:/a/b", src, sizeof src) == 0 &&
	            strcmp(src, "/a/b") == 0,
	        "cdb:");
	T_CHECK(map_spec_source("hash:rel", src, sizeof src) == 0 &&
	            strcmp(src, "rel") == 0,
	        "hash:");
	T_CHECK(map_spec_source("/a:b", src, sizeof src) == 0 &&
	            strcmp(src, "/a:b") == 0,
	        "bare path with colon");
	T_CHECK(map_spec_source("virtual", src, sizeof src) == 0 &&
	            strcmp(src, "virtual") == 0,
	        "bare name");
	T_CHECK(map_spec_source("texthash:/x", src, sizeof src) == -1 &&
	            errno == EINVAL,
	        "texthash");
	T_CHECK(map_spec_source("cdb:/aaaaaaaaaaaaaaaa", src, 8) == -1 &&
	            errno == ENAMETOOLONG,
	        "too long");
}

static int
count_tmp_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += strstr(e->d_name, ".tmp.") != NULL;
	if (d)
		closedir(d);
	return n;
}

/* A broken source leaves the old .cdb (same inode, same content) and no
 * temporary file; a good one replaces it (map_changed sees that). */
static void
test_atomic(void)
{
	char err[MAP_ERR_MAX], val[64];
	struct stat before, after;
	struct map m;

	T_CHECK(build("atomic", "a 1\n", MAP_SYNTAX_POSTMAP, 0, err,
	              sizeof err) == 0,
	        "build");
	T_CHECK(map_open(&m, path("atomic"), 0) == 0, "open");
	T_CHECK(map_changed(&m) == 0, "unchanged");
	stat(path("atomic.cdb"), &before);
	T_CHECK(build("atomic", "a 2\nb 3\nbroken\n", MAP_SYNTAX_POSTMAP, 0,
	              err, sizeof err) == 65,
	        "broken source");
	T_CHECK(strstr(err, "atomic, line 3: missing value") != NULL,
	        "message: %s", err);
	stat(path("atomic.cdb"), &after);
	T_CHECK(before.st_ino == after.st_ino, "old .cdb kept");
	T_CHECK(lookup(path("atomic"), 0, "a", val, sizeof val) == 1 &&
	            strcmp(val, "1") == 0,
	        "old content");
	T_CHECK(count_tmp_files() == 0, "no temporary left");
	T_CHECK(build("atomic", "a 2\n", MAP_SYNTAX_POSTMAP, 0, err,
	              sizeof err) == 0,
	        "rebuild");
	T_CHECK(map_changed(&m) == 1, "changed after rebuild");
	T_CHECK(map_lookup(&m, "a", val, sizeof val, NULL) == 1 &&
	            strcmp(val, "1") == 0,
	        "open map still reads its file");
	map_close(&m);
	T_CHECK(lookup(path("atomic"), 0, "a", val, sizeof val) == 1 &&
	            strcmp(val, "2") == 0,
	        "new content");
}

static void
test_mode(void)
{
	char err[MAP_ERR_MAX];
	struct stat st;

	write_file("secret", "relay user:pass\n", 16, 0600);
	T_CHECK(map_build(path("secret"), MAP_SYNTAX_POSTMAP, 0, NULL, err,
	                  sizeof err) == 0,
	        "build");
	T_CHECK(stat(path("secret.cdb"), &st) == 0 &&
	            (st.st_mode & 07777) == 0600,
	        "0600 source: mode %o", (unsigned)(st.st_mode & 07777));
	write_file("public", "a b\n", 4, 0755);
	T_CHECK(map_build(path("public"), MAP_SYNTAX_POSTMAP, 0, NULL, err,
	                  sizeof err) == 0,
	        "build");
	T_CHECK(stat(path("public.cdb"), &st) == 0 &&
	            (st.st_mode & 07777) == 0644,
	        "0755 source: mode %o", (unsigned)(st.st_mode & 07777));
}

static void
test_duplicates_and_dump(void)
{
	char err[MAP_ERR_MAX], key[64], val[64];
	struct map_build_stats st;
	struct map m;
	uint64_t cur = 0;
	int n = 0, r;

	write_file("dup", "a first\nb x\nA second\n", 20, 0644);
	T_CHECK(map_build(path("dup"), MAP_SYNTAX_POSTMAP, 0, &st, err,
	                  sizeof err) == 0,
	        "build");
	T_CHECK(st.entries == 2 && st.duplicates == 1, "stats %u %u",
	        st.entries, st.duplicates);
	T_CHECK(lookup(path("dup"), 0, "a", val, sizeof val) == 1 &&
	            strcmp(val, "first") == 0,
	        "first wins");
	T_CHECK(map_open(&m, path("dup"), 0) == 0, "open");
	while ((r = map_next(&m, &cur, key, sizeof key, val, sizeof val)) == 1)
		n++;
	T_CHECK(r == 0 && n == 2, "dump: %d records, r %d", n, r);
	map_close(&m);
}

static void
test_alias(void)
{
	char err[MAP_ERR_MAX], val[128];

	T_CHECK(build("aliases",
	              "# aliases\nPostmaster: root\nroot: admin,\n"
	              "  \"|/usr/bin/logger -t mail\"\n",
	              MAP_SYNTAX_ALIAS, 0, err, sizeof err) == 0,
	        "build: %s", err);
	T_CHECK(lookup(path("aliases"), 0, "POSTMASTER", val, sizeof val) ==
	                1 &&
	            strcmp(val, "root") == 0,
	        "postmaster");
	T_CHECK(lookup(path("aliases"), 0, "root", val, sizeof val) == 1,
	        "root");
	T_STREQ(val, "admin, \"|/usr/bin/logger -t mail\"", "root's value");
	T_CHECK(build("aliases", "ok: a\n\n\n\n\n\nroot admin\n",
	              MAP_SYNTAX_ALIAS, 0, err, sizeof err) == 65,
	        "broken aliases");
	T_CHECK(strstr(err, "aliases, line 7: missing ':' after alias name") !=
	            NULL,
	        "message: %s", err);
}

static void
test_hash(void)
{
	static const char *const keys[] = {"", "a", "postmaster@example.com",
	                                   "\xff\x80"};

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		T_CHECK(map_hash(keys[i], strlen(keys[i])) ==
		            cdb_hash(keys[i], (unsigned)strlen(keys[i])),
		        "hash of \"%s\"", keys[i]);
}

/* Read a whole file into a malloc'd buffer. */
static unsigned char *
slurp(const char *p, size_t *len)
{
	struct stat st;
	unsigned char *b;
	FILE *f = fopen(p, "rb");

	if (!f || fstat(fileno(f), &st) < 0)
		exit(2);
	b = malloc((size_t)st.st_size + 1);
	*len = fread(b, 1, (size_t)st.st_size, f);
	fclose(f);
	return b;
}

/* Look every key of the virtual table up in m; count results. */
static void
probe(struct map *m, int *found, int *errors)
{
	static const char *const keys[] = {
	    "postmaster@example.com", "info@example.com", "sales@example.com",
	    "multi", "nope"};
	char val[64];
	uint64_t cur = 0;
	char key[64];

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		int r = map_lookup(m, keys[i], val, sizeof val, NULL);

		*found += r == 1;
		*errors += r < 0;
	}
	for (int i = 0; i < 100 && map_next(m, &cur, key, sizeof key, val,
	                                    sizeof val) == 1;
	     i++)
		;
}

/* Every truncation of a good .cdb, as a file and as a memory image. */
static void
test_truncated(void)
{
	size_t len;
	unsigned char *img = slurp(path("virtual.cdb"), &len);
	int bad = 0, found = 0, errors = 0;

	for (size_t cut = 0; cut < len; cut++) {
		struct map m;

		write_file("cut.cdb", (const char *)img, cut, 0644);
		if (map_open(&m, path("cut"), 0) == 0) {
			probe(&m, &found, &errors);
			map_close(&m);
		} else if (errno != EPROTO) {
			bad++;
		}
		if (map_open_mem(&m, img, cut, 0) == 0) {
			probe(&m, &found, &errors);
			map_close(&m);
		}
	}
	T_CHECK(bad == 0, "%d truncations gave another errno than EPROTO", bad);
	free(img);
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* A one-record CDB image written by hand: key "k", value v (vlen bytes):
 * record at 2048, its table (2 slots) after it. Returns the size. */
static size_t
image(unsigned char *img, const char *v, uint32_t vlen)
{
	uint32_t h = map_hash("k", 1), t = 2048 + 8 + 1 + vlen;

	memset(img, 0, 2048);
	for (int i = 0; i < 256; i++)
		put32(img + 8 * i, t + (i == (int)(h & 255) ? 0 : 16));
	put32(img + 8 * (h & 255) + 4, 2);
	put32(img + 2048, 1);
	put32(img + 2052, vlen);
	img[2056] = 'k';
	memcpy(img + 2057, v, vlen);
	memset(img + t, 0, 16);
	put32(img + t + 8 * ((h >> 8) % 2), h);
	put32(img + t + 8 * ((h >> 8) % 2) + 4, 2048);
	return t + 16;
}

static void
test_hostile(void)
{
	unsigned char *img = calloc(1, 8192);
	uint32_t h = map_hash("k", 1);
	char val[64];
	struct map m;
	size_t n = image(img, "value", 5);

	T_CHECK(map_open_mem(&m, img, n, 0) == 0, "hand-made image");
	T_CHECK(map_lookup(&m, "k", val, sizeof val, NULL) == 1 &&
	            strcmp(val, "value") == 0,
	        "hand-made lookup");
	/* a value longer than the file */
	put32(img + 2052, 0x7fffffff);
	errno = 0;
	T_CHECK(map_lookup(&m, "k", val, sizeof val, NULL) == -1 &&
	            errno == EPROTO,
	        "value length past the end");
	put32(img + 2052, 5);
	/* a record position past the end */
	put32(img + n - 16 + 8 * ((h >> 8) % 2) + 4, 0xfffffff0);
	T_CHECK(map_lookup(&m, "k", val, sizeof val, NULL) == -1,
	        "record past the end");
	n = image(img, "va\0ue", 5);
	T_CHECK(map_open_mem(&m, img, n, 0) == 0 &&
	            map_lookup(&m, "k", val, sizeof val, NULL) == -1 &&
	            errno == EPROTO,
	        "NUL inside a value");
	/* a table with more slots than the file holds */
	n = image(img, "value", 5);
	put32(img + 8 * (h & 255) + 4, 0x20000000);
	errno = 0;
	T_CHECK(map_open_mem(&m, img, n, 0) == -1 && errno == EPROTO,
	        "table past the end");
	/* every slot full, none matching: the probe loop ends */
	n = image(img, "value", 5);
	put32(img + n - 16, h);
	put32(img + n - 16 + 4, 2048);
	put32(img + n - 8, h);
	put32(img + n - 8 + 4, 2048);
	put32(img + 2048, 2); /* key length 2: never matches "k" */
	T_CHECK(map_open_mem(&m, img, n, 0) == 0 &&
	            map_lookup(&m, "k", val, sizeof val, NULL) == 0,
	        "full table");
	free(img);
}

/* Random bytes: open and lookups must return, whatever they return. */
static void
test_garbage(void)
{
	unsigned char *img = malloc(4096);
	uint32_t seed = 12345;
	int found = 0, errors = 0;
	struct map m;

	for (int round = 0; round < 2000; round++) {
		size_t n = 2048 + (size_t)(round % 2049);

		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			img[i] = (unsigned char)(seed >> 16);
		}
		/* small positions so that some tables fall inside */
		for (int t = 0; round % 2 && t < 256; t++) {
			put32(img + 8 * t, 2048 + (uint32_t)(img[8 * t] * 4));
			put32(img + 8 * t + 4, img[8 * t + 4] % 8);
		}
		if (map_open_mem(&m, img, n, 0) == 0)
			probe(&m, &found, &errors);
	}
	T_CHECK(1, "garbage survived (%d found, %d errors)", found, errors);
	free(img);
}

static void
cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlink(path(e->d_name));
	if (d)
		closedir(d);
	rmdir(dir);
}

int
main(void)
{
	snprintf(dir, sizeof dir, "/tmp/test_map.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	umask(022);
	test_spec();
	test_round_trip();
	test_nofold();
	test_value_limit();
	test_key_limit();
	test_missing();
	test_atomic();
	test_mode();
	test_duplicates_and_dump();
	test_alias();
	test_hash();
	test_truncated();
	test_hostile();
	test_garbage();
	cleanup();
	return T_DONE();
}
