/*
 * local_file.c - /file delivery (see local.h). Runs in the local agent as
 * the user the resolver chose (the alias file's owner, default_privs for
 * root's aliases, or the user whose ~/.forward names the file; never
 * root). Untrusted: the message content, written through mbox.c's
 * escaping; the path comes from the administrator's aliases or the
 * user's own .forward, and mbox.c refuses symlinks and hard links.
 */
#include "local.h"
#include "util/str.h"

#include <string.h>
#include <unistd.h>

void
local_file_deliver(struct local *l, const struct local_item *it,
                   struct mbox_result *res)
{
	struct mbox_opts o;
	struct mbox_msg msg;

	if (strcmp(it->target, "/dev/null") == 0) {
		mbox_result_set(res, MBOX_OK, "2.0.0", 0,
		                "delivered to file: /dev/null (discarded)");
		return;
	}
	mbox_opts_defaults(&o, getuid(), getgid());
	o.size_limit = (uint64_t)conf_size(l->role.conf, "mailbox_size_limit");
	o.dotlock = MBOX_DOTLOCK_MAY_FAIL;
	local_fill_msg(l, it, &msg);
	if (mbox_deliver(it->target, &o, &msg, res) == MBOX_OK)
		str_copy(res->reason, sizeof res->reason, "delivered to file");
}
