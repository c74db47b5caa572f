/*
 * local.h - state of the local delivery agent (see local.c) and the
 * parser of its arguments (local_args.c).
 */
#ifndef TINYMTA_LOCAL_H
#define TINYMTA_LOCAL_H

#include "mbox.h"
#include "qfile.h"
#include "role.h"

#define LOCAL_SLOTS 32 /* queue files per agent: descriptors 3..34 */
/* items per agent: 7 arguments each, and 2 + 7 * LOCAL_ITEMS fields of
 * the IPC_DELIVER frame must fit IPC_FIELDS_MAX. A batch is what waited
 * for one mailbox while its previous agent ran: under load, 32 messages
 * take one agent (one fork and exec, one lock, one fsync), where 8 took
 * four. */
#define LOCAL_ITEMS 32

#include <sys/types.h>

enum local_kind { LOCAL_MAILBOX, LOCAL_PIPE, LOCAL_FILE };

struct local_item {
	unsigned slot; /* queue file on descriptor 3 + slot */
	unsigned idx;  /* recipient index in that file */
	enum local_kind kind;
	int usable;
	const char *target; /* mailbox path (Maildir when ending in /) */
	const char *addr;   /* final address, for Delivered-To */
	const char *sender; /* envelope sender override, "" = the message's */
};

struct local {
	struct role role;
	struct local_item items[LOCAL_ITEMS];
	size_t nitems;
	int open[LOCAL_SLOTS]; /* 0 not yet, 1 open, -1 unusable */
	char id[LOCAL_SLOTS][QFILE_ID_MAX];
	struct qfile_reader q[LOCAL_SLOTS];
	struct qfile_rcpt rc;
	struct mbox mbox;
};

/* argv = ITEM… (7 strings each); 0, or -1 when malformed. */
int local_parse_items(struct local *l, int argc, char **argv);

/* local.c: the queue file's content, for mbox_msg.read (ctx: reader). */
ssize_t local_read_content(void *ctx, void *buf, size_t cap);
/* local.c: the envelope sender of item it (its override, else the
 * message's; "" is the null sender). */
const char *local_sender(const struct local *l, const struct local_item *it);
/* local.c: the envelope of item it, content rewound. */
void local_fill_msg(struct local *l, const struct local_item *it,
                    struct mbox_msg *m);
/* local.c: deliver it to the Maildir (path ending in /) and report. */
void local_deliver_maildir(struct local *l, const struct local_item *it);

/*
 * local_pipe.c: |command delivery, as Postfix's local(8) does it: `/bin/sh
 * -c COMMAND` in a new session, the message on standard input after a
 * From_ line, Return-Path: and Delivered-To: (no From_ quoting, no blank
 * line appended), standard output and error captured (the first
 * LOCAL_PIPE_OUTPUT_MAX bytes) for the bounce text, Postfix's environment
 * (HOME SHELL of the user running it; USER LOGNAME LOCAL DOMAIN EXTENSION
 * RECIPIENT ORIGINAL_RECIPIENT SENDER of the message, with characters
 * outside Postfix's command_expansion_filter made '_'; PATH=/usr/bin:/bin;
 * TZ passed on), working directory the user's home or /. A command still
 * running after command_time_limit (default LOCAL_PIPE_TIME_LIMIT) is
 * killed with its process group and the delivery deferred. Exit status:
 * 0 sent; <sysexits.h> codes as Postfix maps them (75 and 71 deferred,
 * the others bounced with their DSN code); any other status bounces
 * (5.3.0); a signal defers. Input and output are pumped with poll(), so a
 * command that does not read cannot block the agent.
 */
#define LOCAL_PIPE_OUTPUT_MAX 2048
#define LOCAL_PIPE_TIME_LIMIT 1000 /* s: Postfix's command_time_limit */
#define LOCAL_PIPE_ENV_MAX 16

void local_pipe_deliver(struct local *l, const struct local_item *it,
                        struct mbox_result *res);
/* PURE: the result for a command's wait status (timed_out: killed at the
 * limit). cmd and output (captured, any bytes) are quoted into the
 * reason, on one line, cut to fit. */
void local_pipe_status(int wstatus, int timed_out, const char *cmd,
                       const char *output, size_t outlen,
                       struct mbox_result *res);
/* PURE: s into out[cap] with every byte outside Postfix's
 * command_expansion_filter replaced by '_'. */
void local_env_filter(char *out, size_t cap, const char *s);

/* local_file.c: /file delivery as the user running the agent: mbox
 * format under the mailbox locks (a dotlock only where the directory
 * allows it), the file must be owned by that user or be creatable by it
 * (symlinks and hard links refused, as for mailboxes); a path ending in /
 * is a Maildir; /dev/null discards. */
void local_file_deliver(struct local *l, const struct local_item *it,
                        struct mbox_result *res);

/* local_hops.c, PURE: count "Received:" header fields (case-insensitive)
 * in the header section, stopping at its end or after limit bytes. */
struct local_hops {
	size_t limit, seen;
	unsigned count;
	int st; /* private */
	size_t nlen;
	char name[16];
};

void local_hops_init(struct local_hops *h, size_t limit);
/* Feed bytes; returns 1 once the header section is over (count final). */
int local_hops_feed(struct local_hops *h, const char *p, size_t n);

#endif
