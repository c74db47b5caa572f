/*
 * local.c - the local delivery agent, `tinymta local ITEM…` (protocol in
 * docs/processes.md). The master starts it as the mailbox owner (never
 * root) with read-only queue files on descriptors 3, 4, … and a result
 * pipe to qmgr on standard output. Untrusted: the message content (only
 * its header is scanned, for Delivered-To loops and the Received: count
 * of hopcount_limit). Mailbox items for one mailbox share one lock and
 * one fsync (group commit); |command (local_pipe.c) and /file
 * (local_file.c) items are delivered one at a time.
 */
#include "local.h"
#include "cmd_tinymta.h"
#include "maildir.h"
#include "mbox.h"
#include "qfile.h"
#include "role.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

ssize_t
local_read_content(void *ctx, void *buf, size_t cap)
{
	return qfile_content_read(ctx, buf, cap);
}

/* Open the queue file of each slot once. */
static int
open_slot(struct local *l, unsigned slot)
{
	enum qfile_err err;
	char where[200];

	if (slot >= LOCAL_SLOTS)
		return -1;
	if (l->open[slot])
		return l->open[slot] > 0 ? 0 : -1;
	if (qfile_open_fd(&l->q[slot], 3 + (int)slot, 0, &err, where,
	                  sizeof where) < 0) {
		log_error("queue file on descriptor %u: %s: %s", 3 + slot,
		          qfile_strerror(err), where);
		l->open[slot] = -1;
		return -1;
	}
	l->open[slot] = 1;
	return 0;
}

static void
report(struct local *l, const struct local_item *it,
       const struct mbox_result *res)
{
	static const char *const words[] = {"sent", "deferred", "bounced"};
	struct qfile_reader *q = &l->q[it->slot];
	char line[600], rcpt[QFILE_ADDR_MAX + 1];
	double delay = difftime(time(NULL), (time_t)q->info.arrival);
	struct qfile_rcpt *rc = &l->rc;

	if (qfile_rcpt(q, it->idx, rc) == 0)
		str_copy(rcpt, sizeof rcpt, rc->addr);
	else
		str_copy(rcpt, sizeof rcpt, it->addr);
	snprintf(line, sizeof line, "%u %u %s %s %s\n", it->slot, it->idx,
	         words[res->status], res->dsn, res->reason);
	if (io_write_all(1, line, strlen(line)) < 0)
		log_warn("cannot report to the queue manager: %s",
		         strerror(errno));
	if (strcmp(rcpt, it->addr) != 0)
		log_info("%s: to=<%s>, orig_to=<%s>, relay=local, delay=%.0f, "
		         "dsn=%s, status=%s (%s)",
		         l->id[it->slot], it->addr, rcpt, delay < 0 ? 0 : delay,
		         res->dsn, words[res->status], res->reason);
	else
		log_info("%s: to=<%s>, relay=local, delay=%.0f, dsn=%s, "
		         "status=%s (%s)",
		         l->id[it->slot], it->addr, delay < 0 ? 0 : delay,
		         res->dsn, words[res->status], res->reason);
}

/* Delivered-To loop check: 1 when the message already went through. */
static int
looping(struct local *l, const struct local_item *it)
{
	struct qfile_reader *q = &l->q[it->slot];

	qfile_content_rewind(q);
	return mbox_delivered_to(local_read_content, q, it->addr,
	                         MBOX_DT_LIMIT) == 1;
}

/* Received: header fields in the message (bounded scan of its header). */
static unsigned
hops(struct local *l, const struct local_item *it)
{
	struct qfile_reader *q = &l->q[it->slot];
	struct local_hops h;
	char buf[2048];
	ssize_t n;

	qfile_content_rewind(q);
	local_hops_init(&h, MBOX_DT_LIMIT);
	while ((n = qfile_content_read(q, buf, sizeof buf)) > 0)
		if (local_hops_feed(&h, buf, (size_t)n))
			break;
	return h.count;
}

const char *
local_sender(const struct local *l, const struct local_item *it)
{
	return it->sender[0] ? it->sender : l->q[it->slot].info.sender;
}

void
local_fill_msg(struct local *l, const struct local_item *it, struct mbox_msg *m)
{
	struct qfile_reader *q = &l->q[it->slot];

	qfile_content_rewind(q);
	memset(m, 0, sizeof *m);
	m->sender = local_sender(l, it);
	m->recipient = it->addr;
	m->read = local_read_content;
	m->ctx = q;
}

/* Items [first, last) all go to one mbox file: one lock, one fsync. */
static void
deliver_mbox_group(struct local *l, size_t first, size_t last)
{
	struct mbox_result res, cres;
	struct mbox_opts o;
	struct mbox_msg msg;
	int ok[LOCAL_ITEMS] = {0};

	mbox_opts_defaults(&o, getuid(), getgid());
	o.size_limit = (uint64_t)conf_size(l->role.conf, "mailbox_size_limit");
	o.dotlock = MBOX_DOTLOCK_MAY_FAIL;
	if (mbox_open(&l->mbox, l->items[first].target, &o, &res) < 0) {
		for (size_t i = first; i < last; i++)
			report(l, &l->items[i], &res);
		return;
	}
	for (size_t i = first; i < last; i++) {
		local_fill_msg(l, &l->items[i], &msg);
		if (mbox_append(&l->mbox, &msg, &res) == 0)
			ok[i] = 1;
		else
			report(l, &l->items[i], &res);
	}
	mbox_commit(&l->mbox, &cres);
	if (cres.status == MBOX_OK)
		str_copy(cres.reason, sizeof cres.reason,
		         "delivered to mailbox");
	mbox_close(&l->mbox);
	for (size_t i = first; i < last; i++)
		if (ok[i])
			report(l, &l->items[i], &cres);
}

void
local_deliver_maildir(struct local *l, const struct local_item *it)
{
	struct maildir md;
	struct mbox_result res;
	struct mbox_msg msg;
	char host[256];

	if (gethostname(host, sizeof host) < 0)
		str_copy(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	local_fill_msg(l, it, &msg);
	if (maildir_init(
	        &md, it->target, host,
	        (uint64_t)conf_size(l->role.conf, "mailbox_size_limit"),
	        &res) == 0 &&
	    maildir_deliver(&md, &msg, &res, NULL, 0) == MBOX_OK)
		str_copy(res.reason, sizeof res.reason, "delivered to maildir");
	report(l, it, &res);
}

/* Check each item; those that cannot go ahead are reported now. */
static int
usable(struct local *l, struct local_item *it)
{
	struct mbox_result res;

	if (open_slot(l, it->slot) < 0 ||
	    it->idx >= l->q[it->slot].info.nrcpt) {
		mbox_result_set(&res, MBOX_TEMP, "4.3.0", 0,
		                "queue file unusable");
		report(l, it, &res);
		return 0;
	}
	if (hops(l, it) > (unsigned)conf_int(l->role.conf, "hopcount_limit")) {
		mbox_result_set(
		    &res, MBOX_PERM, "5.4.6", 0,
		    "too many hops (more than hopcount_limit = %lld "
		    "Received: header fields)",
		    conf_int(l->role.conf, "hopcount_limit"));
		report(l, it, &res);
		return 0;
	}
	if (looping(l, it)) {
		mbox_result_set(&res, MBOX_PERM, "5.4.6", 0,
		                "mail forwarding loop for %s", it->addr);
		report(l, it, &res);
		return 0;
	}
	return 1;
}

/* A command or a file: one at a time, each reported. */
static void
deliver_special(struct local *l, const struct local_item *it)
{
	struct mbox_result res;

	if (it->kind == LOCAL_FILE &&
	    it->target[strlen(it->target) - 1] == '/') {
		local_deliver_maildir(l, it); /* reports itself */
		return;
	}
	if (it->kind == LOCAL_PIPE)
		local_pipe_deliver(l, it, &res);
	else
		local_file_deliver(l, it, &res);
	report(l, it, &res);
}

static void
deliver_all(struct local *l)
{
	size_t i = 0;

	while (i < l->nitems) {
		size_t j = i + 1;
		const char *t = l->items[i].target;

		if (!l->items[i].usable) {
			i++;
			continue;
		}
		if (l->items[i].kind != LOCAL_MAILBOX) {
			deliver_special(l, &l->items[i]);
			i++;
			continue;
		}
		if (t[0] && t[strlen(t) - 1] == '/') {
			local_deliver_maildir(l, &l->items[i]);
			i++;
			continue;
		}
		while (j < l->nitems && l->items[j].usable &&
		       l->items[j].kind == LOCAL_MAILBOX &&
		       strcmp(l->items[j].target, t) == 0)
			j++;
		deliver_mbox_group(l, i, j);
		i = j;
	}
}

int
tinymta_local_main(int argc, char **argv)
{
	struct local *l = calloc(1, sizeof *l);

	if (!l || role_init(&l->role, "local") < 0)
		return 75;
	if (local_parse_items(l, argc - 1, argv + 1) < 0) {
		log_error("usage: local ID SLOT IDX KIND TARGET ADDR SENDER …");
		return 64;
	}
	for (size_t i = 0; i < l->nitems; i++)
		l->items[i].usable = usable(l, &l->items[i]);
	deliver_all(l);
	for (unsigned s = 0; s < LOCAL_SLOTS; s++)
		if (l->open[s] > 0)
			qfile_close(&l->q[s]);
	free(l);
	return 0;
}
