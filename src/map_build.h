/*
 * map_build.h - build SOURCE.cdb from a lookup table source (postmap,
 * postalias, newaliases), atomically: the table is written to
 * SOURCE.cdb.tmp.PID, fsynced, renamed over SOURCE.cdb and the directory
 * fsynced. On any error the temporary file is removed and the old .cdb is
 * left untouched.
 *
 * The .cdb gets the source file's permission bits (without execute bits):
 * a 0600 sasl_passwd gives a 0600 sasl_passwd.cdb, a 0644 aliases a 0644
 * aliases.cdb. Run as root, it also gets the source file's owner and
 * group (the owner of an alias file is whom its |command deliveries run
 * as). Keys are folded to lower case unless MAP_F_NOFOLD. A duplicate key
 * is a warning (log_warn, naming file and line); the first entry wins.
 */
#ifndef TINYMTA_MAP_BUILD_H
#define TINYMTA_MAP_BUILD_H

#include <stddef.h>

#define MAP_SOURCE_MAX (64u * 1024 * 1024) /* larger sources: refused */
#define MAP_ERR_MAX 600                    /* room for a build error text */

enum map_syntax {
	MAP_SYNTAX_POSTMAP, /* `key value` (map_parse.h) */
	MAP_SYNTAX_ALIAS,   /* `name: a, b` (alias_parse.h) */
	MAP_SYNTAX_PASSWD, /* `user:hash[:flags]` (sasl_users, sasl_decode.h) */
};

struct map_build_stats {
	unsigned entries;    /* records written */
	unsigned duplicates; /* entries ignored as duplicates */
};

/* Build the table of spec ("cdb:FILE", "hash:FILE" or FILE). Returns 0, or
 * a sysexits code with a message in err[errcap] (without the program
 * name): 65 EX_DATAERR for a syntax error ("FILE, line N: reason"), 66
 * EX_NOINPUT when the source cannot be opened or read, 73 EX_CANTCREAT
 * when the .cdb cannot be written, 74 EX_IOERR, 78 EX_CONFIG for an
 * unsupported map type. stats may be NULL. */
int map_build(const char *spec, enum map_syntax syntax, unsigned flags,
              struct map_build_stats *stats, char *err, size_t errcap);

#endif
