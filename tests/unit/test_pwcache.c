/*
 * test_pwcache.c - remembered getpwnam answers agree with getpwnam, for
 * users that exist and names that do not, past the number of entries.
 * (A changed /etc/passwd is tested end to end: test_listen.py
 * test_new_user_seen.)
 */
#include "pwcache.h"
#include "t.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static void
same_as_libc(const char *name)
{
	struct passwd *want = getpwnam(name);
	uid_t uid = want ? want->pw_uid : 0;
	char dir[256];
	const struct passwd *got;

	snprintf(dir, sizeof dir, "%s",
	         want && want->pw_dir ? want->pw_dir : "");
	for (int round = 0; round < 3; round++) {
		errno = EINVAL;
		got = pwcache_getpwnam(name);
		if (!want) {
			T_CHECK(!got && errno == 0,
			        "%s: not found, errno 0 (%d)", name, errno);
			continue;
		}
		T_CHECK(got && got->pw_uid == uid &&
		            strcmp(got->pw_name, name) == 0 &&
		            strcmp(got->pw_dir, dir) == 0,
		        "%s: round %d agrees with getpwnam", name, round);
	}
}

int
main(void)
{
	char name[32];

	pwcache_reset();
	same_as_libc("root");
	same_as_libc("no-such-user-tinymta");
	for (int i = 0; i < 2 * PWCACHE_ENTRIES; i++) {
		snprintf(name, sizeof name, "nobody-%d", i);
		same_as_libc(name);
	}
	same_as_libc("root"); /* pushed out and looked up again */
	same_as_libc("nobody");
	pwcache_reset();
	same_as_libc("root");
	return T_DONE();
}
