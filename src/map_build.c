/*
 * map_build.c - compile a lookup table source into SOURCE.cdb with tinycdb
 * (see map_build.h): read the source, parse it with the PURE parsers,
 * write a temporary file, fsync, rename, fsync the directory.
 * Runs in postmap, postalias and newaliases as the invoking user (root on
 * the device: then the .cdb gets the source's owner). Untrusted input: the
 * source file's text (bounded by MAP_SOURCE_MAX, parsed by map_parse.c and
 * alias_parse.c).
 */
#include "map_build.h"
#include "alias_parse.h"
#include "map.h"
#include "map_parse.h"
#include "sasl_decode.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

struct build {
	const char *spec;
	enum map_syntax syntax;
	unsigned flags;
	char src[MAP_PATH_MAX];
	char out[MAP_PATH_MAX];
	char tmp[MAP_PATH_MAX + 32];
	struct stat st; /* of the source */
	char *text;     /* the source, NUL-terminated */
	size_t len;
	int fd;       /* the temporary file, or -1 */
	int have_tmp; /* the temporary file exists */
	int making;   /* cdb_make_start called, not yet finished */
	struct cdb_make cm;
	struct map_build_stats stats;
	char *err;
	size_t errcap;
	char key[MAP_KEY_MAX + 1];
	char line[MAP_LINE_MAX + 1];
	char value[MAP_VALUE_MAX + 1];
};

__attribute__((format(printf, 3, 4))) static int
fail(struct build *b, int code, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->err, b->errcap, fmt, ap);
	va_end(ap);
	if (n < 0 && b->errcap > 0)
		str_copy(b->err, b->errcap, "(unformattable error)");
	return code;
}

static int
read_source(struct build *b)
{
	if (map_spec_source(b->spec, b->src, sizeof b->src) < 0) {
		if (errno == EINVAL)
			return fail(b, EX_CONFIG,
			            "%s: unsupported map type (use cdb:FILE)",
			            b->spec);
		return fail(b, EX_NOINPUT, "%s: %s", b->spec, strerror(errno));
	}
	if (snprintf(b->out, sizeof b->out, "%s.cdb", b->src) >=
	        (int)sizeof b->out ||
	    snprintf(b->tmp, sizeof b->tmp, "%s.tmp.%ld", b->out,
	             (long)getpid()) >= (int)sizeof b->tmp)
		return fail(b, EX_NOINPUT, "%s: %s", b->src,
		            strerror(ENAMETOOLONG));
	if (stat(b->src, &b->st) < 0 ||
	    io_slurp(b->src, MAP_SOURCE_MAX, &b->text, &b->len) < 0) {
		if (errno == EFBIG)
			return fail(b, EX_NOINPUT, "%s: larger than %u bytes",
			            b->src, MAP_SOURCE_MAX);
		return fail(b, EX_NOINPUT, "open %s: %s", b->src,
		            strerror(errno));
	}
	return 0;
}

static int
create_tmp(struct build *b)
{
	if (unlink(b->tmp) < 0 && errno != ENOENT)
		return fail(b, EX_CANTCREAT, "remove %s: %s", b->tmp,
		            strerror(errno));
	b->fd = io_open(b->tmp, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (b->fd < 0)
		return fail(b, EX_CANTCREAT, "create %s: %s", b->tmp,
		            strerror(errno));
	b->have_tmp = 1;
	if (cdb_make_start(&b->cm, b->fd) < 0)
		return fail(b, EX_IOERR, "write %s: %s", b->tmp,
		            strerror(errno));
	b->making = 1;
	return 0;
}

/* Add one record; a duplicate key is a warning and is skipped. */
static int
add(struct build *b, unsigned lineno, size_t klen, const char *val, size_t vlen)
{
	char shown[MAP_KEY_MAX * 4 + 1];
	int r;

	if (!(b->flags & MAP_F_NOFOLD))
		map_fold(b->key, klen);
	r = cdb_make_put(&b->cm, b->key, (unsigned)klen, val, (unsigned)vlen,
	                 CDB_PUT_INSERT);
	if (r < 0)
		return fail(b, EX_IOERR, "write %s: %s", b->tmp,
		            strerror(errno));
	if (r > 0) {
		str_escape(shown, sizeof shown, b->key, klen);
		log_warn("%s, line %u: duplicate entry: \"%s\" (ignored)",
		         b->src, lineno, shown);
		b->stats.duplicates++;
		return 0;
	}
	b->stats.entries++;
	return 0;
}

static int
entry(struct build *b, size_t len, unsigned lineno)
{
	const char *val = b->value;
	size_t klen = 0, vlen = 0;

	if (b->syntax == MAP_SYNTAX_ALIAS) {
		enum alias_err e =
		    alias_parse_entry(b->line, len, b->key, sizeof b->key,
		                      b->value, sizeof b->value, &vlen, NULL);

		if (e != ALIAS_OK)
			return fail(b, EX_DATAERR, "%s, line %u: %s", b->src,
			            lineno, alias_strerror(e));
		klen = strlen(b->key);
	} else if (b->syntax == MAP_SYNTAX_PASSWD) {
		const char *user;
		int r =
		    sasl_users_line(b->line, len, &user, &klen, &val, &vlen);

		if (r < 0)
			return fail(b, EX_DATAERR,
			            "%s, line %u: not \"user:hash[:admin]\"",
			            b->src, lineno);
		if (r == 0)
			return 0;
		memcpy(b->key, user, klen);
	} else {
		enum map_parse_err e = map_parse_entry(
		    b->line, len, b->key, sizeof b->key, &klen, &val, &vlen);

		if (e != MAP_PARSE_OK)
			return fail(b, EX_DATAERR, "%s, line %u: %s", b->src,
			            lineno, map_parse_strerror(e));
	}
	return add(b, lineno, klen, val, vlen);
}

static int
parse(struct build *b)
{
	struct map_lines r;
	enum map_parse_err e = MAP_PARSE_OK;
	unsigned lineno = 0;
	size_t len;
	int got, rc;

	map_lines_init(&r, b->text, b->len);
	while ((got = map_lines_next(&r, b->line, sizeof b->line, &len, &lineno,
	                             &e)) == 1)
		if ((rc = entry(b, len, lineno)) != 0)
			return rc;
	if (got < 0)
		return fail(b, EX_DATAERR, "%s, line %u: %s", b->src, lineno,
		            map_parse_strerror(e));
	return 0;
}

/* The directory of path, for the fsync after rename. */
static void
dir_of(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		str_copy(dir, cap, ".");
	else if (slash == path)
		str_copy(dir, cap, "/");
	else
		str_copy_n(dir, cap, path, (size_t)(slash - path));
}

static int
commit(struct build *b)
{
	char dir[MAP_PATH_MAX];

	b->making = 0;
	if (cdb_make_finish(&b->cm) < 0)
		return fail(b, EX_IOERR, "write %s: %s", b->tmp,
		            strerror(errno));
	if (fchmod(b->fd, b->st.st_mode & 0666) < 0 ||
	    (geteuid() == 0 && fchown(b->fd, b->st.st_uid, b->st.st_gid) < 0))
		return fail(b, EX_CANTCREAT, "set owner/mode of %s: %s", b->tmp,
		            strerror(errno));
	if (io_fsync(b->fd) < 0 || io_close(b->fd) < 0) {
		b->fd = -1;
		return fail(b, EX_IOERR, "write %s: %s", b->tmp,
		            strerror(errno));
	}
	b->fd = -1;
	if (rename(b->tmp, b->out) < 0)
		return fail(b, EX_CANTCREAT, "rename %s to %s: %s", b->tmp,
		            b->out, strerror(errno));
	b->have_tmp = 0;
	dir_of(b->out, dir, sizeof dir);
	if (io_fsync_dir(dir) < 0)
		return fail(b, EX_IOERR, "fsync directory %s: %s", dir,
		            strerror(errno));
	return 0;
}

/* Undo a failed build: free tinycdb's lists, remove the temporary. */
static void
abandon(struct build *b)
{
	if (b->making)
		cdb_make_finish(&b->cm); /* frees its record lists */
	b->making = 0;
	if (b->fd >= 0)
		io_close(b->fd);
	b->fd = -1;
	if (b->have_tmp && unlink(b->tmp) < 0 && errno != ENOENT)
		log_warn("remove %s: %s", b->tmp, strerror(errno));
	b->have_tmp = 0;
}

int
map_build(const char *spec, enum map_syntax syntax, unsigned flags,
          struct map_build_stats *stats, char *err, size_t errcap)
{
	struct build *b = calloc(1, sizeof *b);
	int rc;

	if (!b) {
		if (errcap > 0)
			str_copy(err, errcap, strerror(errno));
		return EX_IOERR;
	}
	b->spec = spec;
	b->syntax = syntax;
	b->flags = flags;
	b->fd = -1;
	b->err = err;
	b->errcap = errcap;
	rc = read_source(b);
	if (rc == 0)
		rc = create_tmp(b);
	if (rc == 0)
		rc = parse(b);
	if (rc == 0)
		rc = commit(b);
	if (rc != 0)
		abandon(b);
	if (stats)
		*stats = b->stats;
	free(b->text);
	free(b);
	return rc;
}
