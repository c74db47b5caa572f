/*
 * queue_env.c - main.cf values and privilege rules for the queue commands
 * (see queue_env.h). Runs as the invoking user, root included; reads only
 * main.cf (trusted: root's) and the password database.
 */
#include "queue_env.h"
#include "conf.h"
#include "util/log.h"
#include "util/str.h"
#include "util/sys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

/* conf_get's value lives until the next conf_* call: copy each at once. */
static int
copy_value(char *out, size_t cap, const struct conf *c, const char *name)
{
	const char *v = conf_get(c, name);

	if (!v || !v[0]) {
		log_error("main.cf: %s is empty", name);
		return EX_CONFIG;
	}
	if (str_copy(out, cap, v) < 0) {
		log_error("main.cf: %s is longer than %zu bytes", name,
		          cap - 1);
		return EX_CONFIG;
	}
	return 0;
}

static int
copy_values(struct queue_env *qe, const struct conf *c)
{
	int rc = copy_value(qe->dir, sizeof qe->dir, c, "queue_directory");

	if (rc == 0)
		rc = copy_value(qe->owner, sizeof qe->owner, c, "mail_owner");
	if (rc == 0 && qe->dir[0] != '/') {
		log_error("main.cf: queue_directory must be an absolute path");
		rc = EX_CONFIG;
	}
	return rc;
}

static int
read_conf(struct queue_env *qe, const char *prog)
{
	struct conf_problems *ps = conf_problems_new();
	struct conf *c = conf_new(conf_config_dir());
	int rc = 0;

	if (!ps || !c) {
		log_error("reading the configuration: out of memory");
		rc = EX_TEMPFAIL;
	} else if (conf_load(c, ps) < 0) {
		conf_problems_print(ps, stderr, prog);
		rc = EX_CONFIG;
	} else {
		conf_problems_print(ps, stderr, prog); /* warnings */
		rc = copy_values(qe, c);
	}
	if (c)
		conf_free(c);
	conf_problems_free(ps);
	return rc;
}

static int
resolve_owner(struct queue_env *qe)
{
	char esc[200];
	int r;

	qe->dev = geteuid() != 0;
	if (qe->dev) {
		qe->uid = geteuid();
		qe->gid = getegid();
		return 0;
	}
	r = sys_user(qe->owner, &qe->uid, &qe->gid);
	str_escape(esc, sizeof esc, qe->owner, strlen(qe->owner));
	if (r < 0) {
		log_error("mail_owner \"%s\": cannot look it up: %s", esc,
		          strerror(errno));
		return EX_TEMPFAIL;
	}
	if (r == 0) {
		log_error("mail_owner \"%s\" is not a known user: create it or "
		          "set mail_owner in main.cf",
		          esc);
		return EX_CONFIG;
	}
	if (qe->uid == 0) {
		log_error("mail_owner \"%s\" is root: it must be an "
		          "unprivileged user",
		          esc);
		return EX_CONFIG;
	}
	return 0;
}

int
queue_env_load(struct queue_env *qe, const char *prog)
{
	int rc;

	memset(qe, 0, sizeof *qe);
	rc = read_conf(qe, prog);
	return rc ? rc : resolve_owner(qe);
}

int
queue_env_drop(const struct queue_env *qe)
{
	if (geteuid() != 0)
		return 0;
	return sys_drop_privs(qe->uid, qe->gid);
}

int
queue_env_may_modify(const struct queue_env *qe)
{
	char path[QUEUE_PATH_MAX];
	struct stat st;

	if (geteuid() == 0)
		return 1;
	if (queue_path(path, sizeof path, qe->dir, "deferred", NULL) < 0)
		return -1;
	if (stat(path, &st) < 0 && (errno != ENOENT || stat(qe->dir, &st) < 0))
		return -1;
	return st.st_uid == geteuid();
}

int
queue_env_exists(const struct queue_env *qe)
{
	struct stat st;

	if (stat(qe->dir, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}
