/*
 * conf_secrets.c - `tinymta check`: warn when a file that holds secrets
 * (the sources and CDBs of smtp_sasl_password_maps, tinymta_sasl_users and
 * its CDB, smtpd_tls_key_file) can be read by anyone but root and
 * mail_owner. Parameters themselves are never secret: their values are
 * file names (postconf --json says "secret": false for all); the files
 * they name are. A missing file is not a problem here.
 */
#include "conf.h"
#include "conf_secrets.h"
#include "map.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>

/* 1 with a short description in why when others than root and the mail
 * owner (uid, gid) can read the file of st, else 0. */
static int
loose(const struct stat *st, uid_t uid, gid_t gid, char *why, size_t cap)
{
	if (st->st_mode & S_IROTH) {
		snprintf(why, cap, "readable by everyone (mode %03o)",
		         (unsigned)(st->st_mode & 0777));
		return 1;
	}
	if ((st->st_mode & S_IRGRP) && st->st_gid != 0 && st->st_gid != gid) {
		snprintf(why, cap, "readable by group %u (mode %03o)",
		         (unsigned)st->st_gid, (unsigned)(st->st_mode & 0777));
		return 1;
	}
	if ((st->st_mode & S_IRUSR) && st->st_uid != 0 && st->st_uid != uid) {
		snprintf(why, cap, "owned by uid %u, not root or mail_owner",
		         (unsigned)st->st_uid);
		return 1;
	}
	return 0;
}

static void
check_file(struct conf_problems *ps, const char *param, const char *path,
           uid_t uid, gid_t gid)
{
	struct stat st;
	char why[96];

	if (!*path || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	if (loose(&st, uid, gid, why, sizeof why))
		conf_problems_add(ps, path, 0, param, CONF_SEV_WARNING,
		                  "holds secrets but is %s; chmod 600 or 640 "
		                  "and chown to root or mail_owner",
		                  why);
}

/* A map spec's source and its .cdb. */
static void
check_map(struct conf_problems *ps, const char *param, const char *spec,
          uid_t uid, gid_t gid)
{
	char src[MAP_PATH_MAX], cdb[MAP_PATH_MAX + 8];

	if (map_spec_source(spec, src, sizeof src) < 0)
		return;
	check_file(ps, param, src, uid, gid);
	snprintf(cdb, sizeof cdb, "%s.cdb", src);
	check_file(ps, param, cdb, uid, gid);
}

void
conf_check_secrets(const struct conf *c, struct conf_problems *ps)
{
	const char *owner = conf_get(c, "mail_owner"), *v;
	const struct passwd *pw = owner ? getpwnam(owner) : NULL;
	/* no such user: only root may read */
	uid_t uid = pw ? pw->pw_uid : 0;
	gid_t gid = pw ? pw->pw_gid : 0;
	char spec[CONF_VALUE_MAX];

	if ((v = conf_get(c, "smtp_sasl_password_maps")))
		while (conf_list_next(&v, spec, sizeof spec))
			check_map(ps, "smtp_sasl_password_maps", spec, uid,
			          gid);
	if ((v = conf_get(c, "tinymta_sasl_users")))
		check_map(ps, "tinymta_sasl_users", v, uid, gid);
	if ((v = conf_get(c, "smtpd_tls_key_file")))
		check_file(ps, "smtpd_tls_key_file", v, uid, gid);
}
