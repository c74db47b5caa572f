/*
 * cmd_smtp.c - the smtp delivery agent, `tinymta smtp [-r FD] NEXTHOP
 * ITEM…` (protocol in docs/processes.md, "The smtp agent"): reads its
 * arguments and the read-only queue files on descriptors 3, 4, …, groups
 * the items into mail transactions (same queue file, same sender),
 * delivers them (smtp_client.c), then writes one result line per item and
 * the "site" line to qmgr on standard output, and logs Postfix's lines.
 * With -r FD (qmgr's socket for more work) a good connection stays open:
 * the agent writes "idle" and waits up to smtp_connection_cache_time_limit
 * for the next batch (IPC_SMTP_MORE: the items and their queue files) to
 * the same next hop, then QUIT. Runs as mail_owner; arguments and frames
 * come from qmgr (still checked), the queue file content is untrusted.
 */
#include "cmd_tinymta.h"
#include "ipc.h"
#include "smtp_client.h"
#include "smtp_client_data.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ITEM = ID SLOT IDX ADDR SENDER. 0, or -1 when malformed. */
static int
parse_items(struct smtpc *s, int argc, const char *const *argv)
{
	if (argc <= 0 || argc % 5 != 0 || argc / 5 > SMTP_ITEMS)
		return -1;
	for (int i = 0; i < argc; i += 5) {
		struct smtpc_item *it = &s->items[s->nitems++];
		uint32_t slot, idx;

		memset(it, 0, sizeof *it); /* a new batch: nothing carried */
		if (!qfile_id_valid(argv[i]) ||
		    scan_u32(argv[i + 1], &slot) < 0 || slot >= SMTP_SLOTS ||
		    scan_u32(argv[i + 2], &idx) < 0 || !argv[i + 3][0] ||
		    strlen(argv[i + 3]) > QFILE_ADDR_MAX ||
		    strlen(argv[i + 4]) > QFILE_ADDR_MAX)
			return -1;
		it->slot = slot;
		it->idx = idx;
		it->addr = argv[i + 3];
		it->sender = argv[i + 4];
		it->txn = -1;
		str_copy(it->relay, sizeof it->relay, "none");
		str_copy(s->id[slot], sizeof s->id[slot], argv[i]);
	}
	return 0;
}

/* Open the queue file of a slot once and scan its content. */
static int
open_slot(struct smtpc *s, unsigned slot, struct smtpc_scan *scan)
{
	enum qfile_err err;
	char where[200], buf[8192];
	ssize_t n;

	if (s->open[slot])
		return s->open[slot] > 0 ? 0 : -1;
	s->open[slot] = -1;
	if (s->fd[slot] < 0 || qfile_open_fd(&s->q[slot], s->fd[slot], 0, &err,
	                                     where, sizeof where) < 0) {
		log_error("queue file of slot %u: %s: %s", slot,
		          s->fd[slot] < 0 ? "none" : qfile_strerror(err),
		          s->fd[slot] < 0 ? "not passed" : where);
		s->fd[slot] = -1; /* closed by qfile_open_fd */
		return -1;
	}
	memset(scan, 0, sizeof *scan);
	qfile_content_rewind(&s->q[slot]);
	while ((n = qfile_content_read(&s->q[slot], buf, sizeof buf)) > 0)
		smtpc_scan_feed(scan, buf, (size_t)n);
	if (n < 0) {
		log_error("%s: cannot read the queue file content",
		          s->id[slot]);
		qfile_close(&s->q[slot]);
		s->fd[slot] = -1;
		return -1;
	}
	s->open[slot] = 1;
	return 0;
}

/* The message's sender when the item gives none. */
static const char *
sender_of(struct smtpc *s, const struct smtpc_item *it)
{
	return it->sender[0] ? it->sender : s->q[it->slot].info.sender;
}

/* 1 when s holds a control byte (it would break the SMTP command). */
static int
ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Put each usable item in a transaction (same slot and sender). */
static void
group(struct smtpc *s)
{
	static struct smtpc_scan scans[SMTP_SLOTS];
	char v[QFILE_ATTR_MAX];

	for (size_t i = 0; i < s->nitems; i++) {
		struct smtpc_item *it = &s->items[i];
		size_t t;

		if (ctl(it->addr) || ctl(it->sender)) {
			smtpc_item_set(it, SMTPC_BOUNCED, "5.1.3",
			               "bad address syntax (control byte)");
			continue;
		}
		if (open_slot(s, it->slot, &scans[it->slot]) < 0 ||
		    it->idx >= s->q[it->slot].info.nrcpt) {
			smtpc_item_set(it, SMTPC_DEFERRED, "4.3.0",
			               "queue file unusable");
			continue;
		}
		for (t = 0; t < s->ntxn; t++)
			if (s->txns[t].slot == it->slot &&
			    strcmp(s->txns[t].sender, sender_of(s, it)) == 0)
				break;
		if (t == s->ntxn) {
			s->txns[t].slot = it->slot;
			s->txns[t].sender = sender_of(s, it);
			s->txns[t].has8bit = scans[it->slot].has8bit;
			s->txns[t].size = scans[it->slot].size;
			s->txns[t].smtputf8 =
			    qfile_attr_get(&s->q[it->slot], "smtputf8", v,
			                   sizeof v) == 1 &&
			    str_eq_nocase(v, "yes");
			s->ntxn++;
		}
		it->txn = (int)t;
	}
}

static void
report(struct smtpc *s, const struct smtpc_item *it)
{
	static const char *const words[] = {"deferred", "sent", "deferred",
	                                    "bounced"};
	char line[SMTPC_TEXT_LINE + 64], orig[QFILE_ADDR_MAX + 64] = "";
	double delay = 0;

	if (s->open[it->slot] > 0) {
		delay =
		    difftime(time(NULL), (time_t)s->q[it->slot].info.arrival);
		if (qfile_rcpt(&s->q[it->slot], it->idx, &s->rc) == 0 &&
		    strcmp(s->rc.addr, it->addr) != 0)
			smtpc_fmt(orig, sizeof orig, ", orig_to=<%s>",
			          s->rc.addr);
	}
	smtpc_fmt(line, sizeof line, "%u %u %s %s %s\n", it->slot, it->idx,
	          words[it->status], it->dsn, it->text);
	if (io_write_all(1, line, strlen(line)) < 0)
		log_warn("cannot report to the queue manager: %s",
		         strerror(errno));
	log_info("%s: to=<%s>%s, relay=%s, delay=%.0f, dsn=%s, status=%s (%s)",
	         s->id[it->slot], it->addr, orig, it->relay,
	         delay < 0 ? 0 : delay, it->dsn, words[it->status], it->text);
}

static void
site_line(struct smtpc *s, int attempted)
{
	char line[SMTPC_TEXT_LINE + 32];

	/* no line (neither) when nothing was tried or DNS said no for good */
	if (!attempted || s->dns_final)
		return;
	if (s->greeted)
		smtpc_fmt(line, sizeof line, "site ok %s\n", "server reached");
	else
		smtpc_fmt(line, sizeof line, "site failed %s\n", s->why);
	if (io_write_all(1, line, strlen(line)) < 0)
		log_warn("cannot report to the queue manager: %s",
		         strerror(errno));
}

/* Close the batch's queue files and forget its items. */
static void
end_batch(struct smtpc *s, int own_fds)
{
	for (unsigned i = 0; i < SMTP_SLOTS; i++) {
		if (s->open[i] > 0)
			qfile_close(&s->q[i]); /* closes s->fd[i] */
		else if (own_fds && s->fd[i] >= 0)
			io_close(s->fd[i]);
		s->open[i] = 0;
		s->fd[i] = -1;
	}
	s->nitems = 0;
	s->ntxn = 0;
	s->greeted = 0;
	s->dns_final = 0;
}

/* Wait up to the cache time for qmgr's next batch on fd. 1 with the
 * items parsed and their files in s->fd, 0 for none (time up, qmgr
 * closed it, or a bad frame: logged). */
static int
next_batch(struct smtpc *s, int fd, struct ipc_msg *m)
{
	long long ms =
	    conf_time(s->role.conf, "smtp_connection_cache_time_limit") * 1000;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;

	if (io_write_all(1, "idle\n", 5) < 0)
		return 0;
	do
		r = poll(&p, 1, ms > 300000 ? 300000 : (int)ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0 || ipc_recv(fd, s->frame, m) <= 0)
		return 0;
	if (m->type != IPC_SMTP_MORE || m->nfds > SMTP_SLOTS ||
	    parse_items(s, (int)m->nfields, m->field) < 0) {
		log_error("bad batch from the queue manager ignored");
		for (size_t i = 0; i < m->nfds; i++)
			io_close(m->fds[i]);
		s->nitems = 0;
		return 0;
	}
	for (size_t i = 0; i < m->nfds; i++)
		s->fd[i] = m->fds[i];
	return 1;
}

/* -r FD: the descriptor qmgr sends more work on, or -1. */
static int
work_fd(int *argc, char ***argv)
{
	uint32_t fd;

	if (*argc < 3 || strcmp((*argv)[1], "-r") != 0)
		return -1;
	if (scan_u32((*argv)[2], &fd) < 0 || fd < 3 || fd > 1024)
		return -2;
	*argc -= 2;
	*argv += 2;
	return (int)fd;
}

int
tinymta_smtp_main(int argc, char **argv)
{
	struct smtpc *s = calloc(1, sizeof *s);
	struct ipc_msg m;
	int attempted, more = work_fd(&argc, &argv), batch = 0;

	if (!s || role_init(&s->role, "smtp") < 0) {
		free(s);
		return 75;
	}
	s->conn.fd = -1;
	for (unsigned i = 0; i < SMTP_SLOTS; i++)
		s->fd[i] = 3 + (int)i == more ? -1 : 3 + (int)i;
	if (more == -2 || argc < 3 ||
	    parse_items(s, argc - 2, (const char *const *)argv + 2) < 0) {
		log_error(
		    "usage: smtp [-r FD] NEXTHOP ID SLOT IDX ADDR SENDER …");
		conf_free(s->role.conf);
		free(s);
		return 64;
	}
	s->nexthop = argv[1];
	s->keep =
	    more >= 0 &&
	    conf_time(s->role.conf, "smtp_connection_cache_time_limit") > 0;
	do {
		group(s);
		attempted = s->ntxn > 0;
		smtpc_deliver(s);
		for (size_t i = 0; i < s->nitems; i++)
			report(s, &s->items[i]);
		site_line(s, attempted);
		end_batch(s, batch++ > 0);
	} while (s->keep && s->conn.fd >= 0 && next_batch(s, more, &m));
	smtpc_session_end(s);
	conf_free(s->role.conf);
	free(s);
	return 0;
}
