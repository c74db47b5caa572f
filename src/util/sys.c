/*
 * sys.c - privilege drop and process helpers (see sys.h). Called by the
 * master (root) before it execs a role, and by roles started by hand.
 */
#define _GNU_SOURCE /* setresuid, getresuid */
#include "util/sys.h"
#include "util/str.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int
sys_user(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (!pw)
		return errno ? -1 : 0;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 1;
}

int
sys_drop_privs(uid_t uid, gid_t gid)
{
	uid_t r, e, s;

	if (geteuid() != 0) {
		if (geteuid() == uid)
			return 0;
		errno = EPERM;
		return -1;
	}
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -1;
	if (getresuid(&r, &e, &s) < 0)
		return -1;
	if (r != uid || e != uid || s != uid) {
		errno = EPERM;
		return -1;
	}
	if (uid != 0 && setuid(0) == 0) {
		errno = EPERM; /* regained root: the drop did not hold */
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return 0;
}

int
sys_self_exe(char *buf, size_t cap)
{
	ssize_t n;

	if (cap < 2) {
		errno = ENAMETOOLONG;
		return -1;
	}
	n = readlink("/proc/self/exe", buf, cap - 1);
	if (n < 0)
		return -1;
	if ((size_t)n >= cap - 1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

void
sys_default_signals(void)
{
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
}
