/*
 * map.h - lookup tables: read-only CDB maps named "type:name" as in
 * Postfix. "cdb:/path", "hash:/path" (for familiarity) and a bare "/path"
 * all mean the CDB file /path.cdb that postmap/postalias built from /path.
 *
 * The reader is our own, with every offset and length in the file checked
 * against its size (a hostile or truncated .cdb gives -1, errno EPROTO,
 * never a crash); it reads with pread(2), so a file truncated under a
 * running process cannot raise SIGBUS as an mmap would. Files are written
 * with tinycdb (map_build.h); the format is D. J. Bernstein's CDB.
 *
 * Keys are folded to lower case (ASCII) when a map is built and when it is
 * looked up, as Postfix does, unless MAP_F_NOFOLD is given to both.
 * Storage belongs to the caller: struct map lives wherever the caller
 * wants, values are copied into the caller's buffer.
 */
#ifndef TINYMTA_MAP_H
#define TINYMTA_MAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAP_PATH_MAX 4096   /* a map's file name, with ".cdb" */
#define MAP_KEY_MAX 1024    /* a key: RFC 5321 path (256+1+255) with slack */
#define MAP_VALUE_MAX 65536 /* a value (an alias with many members) */
#define MAP_TOC_SIZE 2048   /* CDB header: 256 (position, slots) pairs */

#define MAP_F_NOFOLD 1 /* keys are case-sensitive (postmap -f) */

struct map {
	int fd;                   /* -1 for a memory image */
	const unsigned char *mem; /* the image of map_open_mem, else NULL */
	uint64_t size;            /* file or image size */
	unsigned flags;           /* MAP_F_* */
	dev_t dev;                /* identity of the open file (map_changed) */
	ino_t ino;
	unsigned char toc[MAP_TOC_SIZE]; /* the header, read once */
	char path[MAP_PATH_MAX];         /* the .cdb file name, or "" */
};

/* The source file named by a map spec: "cdb:/x", "hash:/x" and "/x" give
 * "/x" in src[cap]. Returns 0; -1 with errno EINVAL for another map type
 * (the type is then "unsupported") or an empty name, ENAMETOOLONG when
 * the name (with ".cdb") would not fit MAP_PATH_MAX or cap. */
int map_spec_source(const char *spec, char *src, size_t cap);

/* Open the CDB file of spec (SOURCE.cdb) and check its header. Returns 0,
 * or -1 with errno: ENOENT etc. from open(2), EINVAL for an unsupported
 * type or a file that is not a regular file, EPROTO for a file that is not
 * a well-formed CDB (too short, a hash table outside the file). */
int map_open(struct map *m, const char *spec, unsigned flags);

/* The same over a CDB image in memory (tests, fuzzing). The image must
 * stay valid while m is used. */
int map_open_mem(struct map *m, const void *img, size_t len, unsigned flags);

/* Close the file (if any). m may be opened again afterwards. */
void map_close(struct map *m);

/* Look key up and copy its value, NUL-terminated, into val[cap]; *vlen
 * (may be NULL) gets its length. Returns 1 found, 0 not found, or -1 with
 * errno: ERANGE when the value does not fit (vlen < cap is needed; nothing
 * is truncated), ENAMETOOLONG for a key over MAP_KEY_MAX, EPROTO for a
 * corrupt file (including a value holding a NUL byte), EIO etc. from
 * pread(2). An empty key is never found. */
int map_lookup(struct map *m, const char *key, char *val, size_t cap,
               size_t *vlen);
/* The same for a key of klen bytes (it may hold any byte). */
int map_lookup_n(struct map *m, const char *key, size_t klen, char *val,
                 size_t cap, size_t *vlen);

/* Walk the records in file order (postmap -s). *cursor starts at 0.
 * Copies the next key and value, NUL-terminated, into key[kcap] and
 * val[vcap]. Returns 1, 0 at the end, -1 with errno (ERANGE: a key or
 * value does not fit; EPROTO: corrupt file). */
int map_next(struct map *m, uint64_t *cursor, char *key, size_t kcap, char *val,
             size_t vcap);

/* 1 when the file at m->path is no longer the one open (rebuilt and
 * renamed into place: a daemon should reopen), 0 when it is, -1 with
 * errno when it cannot be checked (ENOENT: removed). */
int map_changed(const struct map *m);

/* The CDB hash function (DJB's: h = 5381; h = (h * 33) ^ byte). */
uint32_t map_hash(const void *p, size_t len);

/* Fold s[0..len) to lower case (ASCII letters only) in place. */
void map_fold(char *s, size_t len);

#endif
