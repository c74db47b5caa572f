/*
 * pop3d_trans.c - the mailbox phase of the POP3 server (see pop3d.h):
 * `tinymta pop3d-mailbox USER`, started by the master as USER after a good
 * login, with the connection on descriptors 0 and 1. It opens and locks
 * the mailbox, answers the PASS/AUTH that the login process took
 * ("+OK" or "-ERR [IN-USE]"), serves the TRANSACTION state and applies
 * deletions in the UPDATE state (QUIT). A timeout or a lost connection
 * ends the session without UPDATE (RFC 1939 section 3). UNTRUSTED: the
 * client's commands (pop3_cmd.c).
 */
#include "pop3_cmd.h"
#include "pop3d.h"
#include "pop3d_box.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TOUCH_MS 60000 /* dotlock refresh while idle (stale after 500 s) */

/* The mailbox of pw as local delivery finds it (resolve.c): home_mailbox
 * under the home directory, else mail_spool_directory/USER. */
static int
mailbox_path(const struct conf *c, const struct passwd *pw, char *out,
             size_t cap, int *maildir)
{
	const char *hm = conf_get(c, "home_mailbox");
	int n;

	*maildir = hm[0] && hm[strlen(hm) - 1] == '/';
	if (hm[0])
		n = snprintf(out, cap, "%s/%s", pw->pw_dir, hm);
	else
		n = snprintf(out, cap, "%s/%s",
		             conf_get(c, "mail_spool_directory"), pw->pw_name);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int
idle(void *arg)
{
	return pop3d_box_touch(arg);
}

/* A message number argument: the index, or -1 (replied). */
static long
msgno(struct pop3d *d, const struct pop3d_box *b, const char *s, size_t len)
{
	uint32_t n;

	if (pop3_cmd_num(s, len, &n) < 0) {
		pop3d_reply(d, "-ERR Invalid message number");
		return -1;
	}
	if (n < 1 || n > b->n || b->v[n - 1].deleted) {
		pop3d_reply(d, "-ERR No such message");
		return -1;
	}
	return (long)n - 1;
}

static void
stat_cmd(struct pop3d *d, const struct pop3d_box *b)
{
	unsigned long long size = 0;
	size_t n = 0;

	for (size_t i = 0; i < b->n; i++)
		if (!b->v[i].deleted) {
			n++;
			size += b->v[i].m.size;
		}
	pop3d_reply(d, "+OK %zu %llu", n, size);
}

/* LIST and UIDL, with or without an argument. */
static void
listing(struct pop3d *d, const struct pop3d_box *b, const struct pop3_cmd *c)
{
	int uidl = c->verb == POP3_UIDL;
	long i;

	if (c->nargs == 1) {
		if ((i = msgno(d, b, c->arg[0], c->arglen[0])) < 0)
			return;
		if (uidl)
			pop3d_reply(d, "+OK %ld %s", i + 1, b->v[i].uidl);
		else
			pop3d_reply(d, "+OK %ld %llu", i + 1,
			            (unsigned long long)b->v[i].m.size);
		return;
	}
	pop3d_reply(d, "+OK");
	for (size_t k = 0; k < b->n; k++) {
		if (b->v[k].deleted)
			continue;
		if (uidl)
			pop3d_reply(d, "%zu %s", k + 1, b->v[k].uidl);
		else
			pop3d_reply(d, "%zu %llu", k + 1,
			            (unsigned long long)b->v[k].m.size);
	}
	pop3d_reply(d, ".");
}

static void
capa(struct pop3d *d)
{
	pop3d_reply(d, "+OK Capability list follows");
	pop3d_reply(d, "TOP");
	pop3d_reply(d, "UIDL");
	pop3d_reply(d, "RESP-CODES");
	pop3d_reply(d, "AUTH-RESP-CODE");
	pop3d_reply(d, "IMPLEMENTATION tinymta");
	pop3d_reply(d, ".");
}

/* One TRANSACTION command. 0 go on, 1 QUIT, -1 the session is broken. */
static int
command(struct pop3d *d, struct pop3d_box *b, const struct pop3_cmd *c)
{
	uint32_t lines;
	long i;

	switch (c->verb) {
	case POP3_STAT:
		stat_cmd(d, b);
		return 0;
	case POP3_LIST:
	case POP3_UIDL:
		listing(d, b, c);
		return 0;
	case POP3_RETR:
	case POP3_TOP:
		if ((i = msgno(d, b, c->arg[0], c->arglen[0])) < 0)
			return 0;
		if (c->verb == POP3_TOP &&
		    pop3_cmd_num(c->arg[1], c->arglen[1], &lines) < 0) {
			pop3d_reply(d, "-ERR Invalid line count");
			return 0;
		}
		if (c->verb == POP3_RETR)
			pop3d_reply(d, "+OK %llu octets",
			            (unsigned long long)b->v[i].m.size);
		else
			pop3d_reply(d, "+OK");
		return pop3d_box_send(b, (size_t)i,
		                      c->verb == POP3_TOP ? (int64_t)lines : -1,
		                      &d->io);
	case POP3_DELE:
		if ((i = msgno(d, b, c->arg[0], c->arglen[0])) < 0)
			return 0;
		b->v[i].deleted = 1;
		pop3d_reply(d, "+OK Message %ld deleted", i + 1);
		return 0;
	case POP3_RSET:
		for (size_t k = 0; k < b->n; k++)
			b->v[k].deleted = 0;
		pop3d_reply(d, "+OK");
		return 0;
	case POP3_NOOP:
		pop3d_reply(d, "+OK");
		return 0;
	case POP3_CAPA:
		capa(d);
		return 0;
	case POP3_QUIT:
		return 1;
	default:
		pop3d_reply(d, "-ERR Not in this state");
		return 0;
	}
}

static int
serve(struct pop3d *d, struct pop3d_box *b, const char *user)
{
	char line[POP3_LINE_MAX], why[300];
	unsigned bad = 0, ndel = 0;
	int k;

	d->io.idle = idle;
	d->io.idle_arg = b;
	d->io.idle_ms = TOUCH_MS;
	for (;;) {
		struct pop3_cmd c;
		size_t n;
		enum pop3_io_res r =
		    pop3_io_line(&d->io, line, sizeof line, &n);
		enum pop3_err e;

		if (r == POP3_IO_TIMEOUT || r == POP3_IO_STOP) {
			log_info("%s: %s; deletions not applied", user,
			         r == POP3_IO_STOP ? "stopping" : "timeout");
			pop3d_reply(d,
			            r == POP3_IO_STOP
			                ? "-ERR [SYS/TEMP] Server shutting down"
			                : "-ERR Timeout; closing");
			pop3_io_flush(&d->io);
			return 0;
		}
		if (r != POP3_IO_LINE && r != POP3_IO_LONG) {
			log_info("%s: connection closed without QUIT; "
			         "deletions not applied",
			         user);
			return 0;
		}
		e = r == POP3_IO_LONG ? POP3_ERR_TOO_LONG
		                      : pop3_cmd_parse(line, n, &c);
		if (e != POP3_OK) {
			pop3d_reply(d, "-ERR %s", pop3_cmd_strerror(e));
			if (++bad >= 20)
				return 0;
			continue;
		}
		k = command(d, b, &c);
		if (k < 0)
			return 0;
		if (k == 1)
			break;
	}
	for (size_t i = 0; i < b->n; i++)
		ndel += b->v[i].deleted;
	k = pop3d_box_update(b, why, sizeof why);
	/* Unlock before the reply: the client may come back at once. */
	pop3d_box_close(b);
	if (k < 0) {
		log_error("%s: %s: deletions not applied: %s", user, b->path,
		          why);
		pop3d_reply(d, "-ERR [SYS/TEMP] Deletions could not be "
		               "applied");
	} else {
		log_info("%s: QUIT, %u message(s) deleted", user, ndel);
		pop3d_reply(d, "+OK Bye");
	}
	pop3_io_flush(&d->io);
	return 0;
}

int
pop3d_mailbox_main(struct pop3d *d, const char *user)
{
	struct pop3d_box b;
	struct passwd *pw = getpwnam(user);
	char path[POP3D_BOX_PATH_MAX], why[400];
	int maildir = 0, rc;
	enum pop3d_box_err e;

	if (!pw || geteuid() == 0) {
		log_error("pop3d-mailbox %s: %s", user,
		          pw ? "refusing to run as root" : "no such user");
		pop3d_reply(d, "-ERR [SYS/TEMP] Mailbox not available");
		pop3_io_flush(&d->io);
		return 70;
	}
	if (mailbox_path(d->conf, pw, path, sizeof path, &maildir) < 0) {
		log_error("%s: mailbox path too long", user);
		pop3d_reply(d, "-ERR [SYS/PERM] Mailbox not available");
		pop3_io_flush(&d->io);
		return 0;
	}
	e = pop3d_box_open(&b, path, maildir, why, sizeof why);
	if (e != POP3D_BOX_OK) {
		log_warn("%s: %s: %s", user, path, why);
		pop3d_reply(d, "-ERR [%s] %s",
		            e == POP3D_BOX_LOCKED ? "IN-USE"
		            : e == POP3D_BOX_PERM ? "SYS/PERM"
		                                  : "SYS/TEMP",
		            e == POP3D_BOX_LOCKED ? "Mailbox is in use"
		                                  : "Mailbox not available");
		pop3_io_flush(&d->io);
		return 0;
	}
	log_info("%s: mailbox %s, %zu message(s)", user, path, b.n);
	pop3d_reply(d, "+OK Logged in, %zu message(s)", b.n);
	rc = serve(d, &b, user);
	pop3d_box_close(&b);
	return rc;
}
