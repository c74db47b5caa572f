/*
 * cmd_postsuper.c - `postsuper [-s] [-d|-h|-H|-r ID|ALL|-]… [queue…]`:
 * queue maintenance as Postfix's postsuper: -s (the default) creates the
 * queue directories and fixes their owners and modes, -d deletes, -h puts
 * on hold, -H releases from hold (to deferred/), -r requeues (to
 * incoming/, next attempt reset to now). Runs as root (then as mail_owner
 * after -s) or as the queue's owner; anyone else gets exit 77. Untrusted
 * input: IDs from the command line and stdin, checked with qfile_id_valid
 * before any path is built; queue files, validated before -r writes them.
 */
#include "applets.h"
#include "queue_env.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#define ACTIONS_MAX 64
#define BIT(q) (1u << (q))

enum { OP_DELETE, OP_HOLD, OP_RELEASE, OP_REQUEUE, OP_N };

static const struct opinfo {
	char flag;
	const char *summary;
	int to;           /* destination queue; -1: delete */
	unsigned allowed; /* queues it may take files from */
	int defaults[4];  /* queues used when none is named, in order */
	size_t ndefaults;
} ops[OP_N] = {
    {'d',
     "Deleted",
     -1,
     (1u << QUEUE_N) - 1,
     {QUEUE_HOLD, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED},
     4},
    /* maildrop/ files are the submitters' own: only pickup, which
     * validates them, may take them into the private queues */
    {'h',
     "Placed on hold",
     QUEUE_HOLD,
     BIT(QUEUE_INCOMING) | BIT(QUEUE_ACTIVE) | BIT(QUEUE_DEFERRED),
     {QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED},
     3},
    {'H',
     "Released from hold",
     QUEUE_DEFERRED,
     BIT(QUEUE_HOLD),
     {QUEUE_HOLD},
     1},
    {'r',
     "Requeued",
     QUEUE_INCOMING,
     BIT(QUEUE_INCOMING) | BIT(QUEUE_HOLD) | BIT(QUEUE_ACTIVE) |
         BIT(QUEUE_DEFERRED),
     {QUEUE_INCOMING, QUEUE_HOLD, QUEUE_ACTIVE, QUEUE_DEFERRED},
     4},
};

struct action {
	int op;
	const char *arg; /* an ID, "ALL" or "-" */
};

struct super {
	struct queue_env qe;
	struct action act[ACTIONS_MAX];
	size_t nact;
	int named[QUEUE_N]; /* queues named on the command line */
	size_t nnamed;
	int structure;      /* -s */
	unsigned requested; /* BIT(op) of the operations asked for */
	unsigned long done[OP_N];
	unsigned dirty; /* BIT(queue) of directories to fsync */
	int failed;     /* an operation failed (not: message not found) */
};

static int
usage(void)
{
	fprintf(
	    stderr,
	    "usage: postsuper [-sv] [-c DIR] [-d ID|ALL|-] [-h ID|ALL|-] "
	    "[-H ID|ALL|-] [-r ID|ALL|-] [queue...]\n"
	    "  -s  create the queue directories, fix owners and modes "
	    "(default)\n"
	    "  -d  delete   -h  hold   -H  release from hold   -r  requeue\n"
	    "  queue: maildrop incoming active deferred hold corrupt\n");
	return EX_USAGE;
}

static void
warn_errno(const char *id, const char *what, const char *queue)
{
	log_warn("%s: %s %s: %s", id, what, queue, strerror(errno));
}

/* Reset the next attempt to 0 (now) in place, then move to incoming/. */
static int
requeue(struct super *S, int q, const char *id)
{
	char path[QUEUE_PATH_MAX], where[300], text[400];
	struct qfile_reader r;
	enum qfile_err e;
	int rc;

	if (queue_path(path, sizeof path, S->qe.dir, queue_names[q], id) < 0)
		return -1;
	if (qfile_open(&r, path, 1, &e, where, sizeof where) < 0) {
		if (e == QFILE_ERR_IO && errno == ENOENT)
			return 0;
		qfile_describe(text, sizeof text, e, where, errno);
		log_warn("%s/%s: not requeued: %s", queue_names[q], id, text);
		return -1;
	}
	rc = qfile_set_schedule(&r, r.info.attempts, 0, r.info.last_attempt);
	if (rc == 0)
		rc = io_fsync(r.fd);
	qfile_close(&r);
	if (rc < 0) {
		warn_errno(id, "cannot reset the schedule in", queue_names[q]);
		return -1;
	}
	if (q == QUEUE_INCOMING)
		return 1;
	if (queue_move(S->qe.dir, queue_names[q], "incoming", id) < 0) {
		warn_errno(id, "cannot move to incoming from", queue_names[q]);
		return -1;
	}
	return 1;
}

static int
move_or_delete(struct super *S, int op, int q, const char *id)
{
	char path[QUEUE_PATH_MAX];

	if (op != OP_DELETE)
		return queue_move(S->qe.dir, queue_names[q],
		                  queue_names[ops[op].to], id);
	if (queue_path(path, sizeof path, S->qe.dir, queue_names[q], id) < 0)
		return -1;
	return unlink(path);
}

/* One operation on one file: 1 done, 0 not in that queue, -1 failed. */
static int
apply(struct super *S, int op, int q, const char *id)
{
	int to = ops[op].to, r;

	if (op == OP_REQUEUE) {
		r = requeue(S, q, id);
	} else if (q == to) {
		return 0;
	} else if (move_or_delete(S, op, q, id) == 0) {
		r = 1;
	} else if (errno == ENOENT) {
		r = 0;
	} else {
		warn_errno(id,
		           op == OP_DELETE ? "cannot delete from"
		                           : "cannot move from",
		           queue_names[q]);
		r = -1;
	}
	if (r > 0) {
		S->done[op]++;
		S->dirty |= BIT(q) | (to >= 0 ? BIT((unsigned)to) : 0);
	}
	if (r < 0)
		S->failed = 1;
	return r;
}

/* The queues an operation works on: those named (that it may take files
 * from), else its defaults. */
static size_t
op_queues(const struct super *S, int op, int *out)
{
	size_t n = 0;

	if (S->nnamed == 0) {
		memcpy(out, ops[op].defaults, ops[op].ndefaults * sizeof *out);
		return ops[op].ndefaults;
	}
	for (size_t i = 0; i < S->nnamed; i++)
		if (ops[op].allowed & BIT((unsigned)S->named[i]))
			out[n++] = S->named[i];
	return n;
}

static void
one_id(struct super *S, int op, const char *id)
{
	int qs[QUEUE_N];
	size_t n = op_queues(S, op, qs);
	int found = 0;

	for (size_t i = 0; i < n; i++) {
		int r = apply(S, op, qs[i], id);

		if (r != 0)
			found = 1;
		if (r > 0 && op != OP_DELETE)
			break; /* moved: it is no longer in the next queue */
	}
	if (!found)
		log_warn("%s: no such message in the queues -%c works on", id,
		         ops[op].flag);
}

static void
all_ids(struct super *S, int op)
{
	int qs[QUEUE_N];
	size_t n = op_queues(S, op, qs);
	char id[QFILE_ID_MAX];

	for (size_t i = 0; i < n; i++) {
		struct queue_iter it;

		if (queue_iter_open(&it, S->qe.dir, queue_names[qs[i]]) < 0) {
			if (errno != ENOENT) {
				warn_errno("ALL", "cannot read",
				           queue_names[qs[i]]);
				S->failed = 1;
			}
			continue;
		}
		while (queue_iter_next(&it, id) > 0)
			apply(S, op, qs[i], id);
		queue_iter_close(&it);
	}
}

/* "-": one ID per line on stdin; bad lines are skipped with a warning. */
static void
stdin_ids(struct super *S, int op)
{
	char line[256], esc[200];

	while (fgets(line, sizeof line, stdin)) {
		char *id = str_trim(line);

		if (!*id)
			continue;
		if (!qfile_id_valid(id)) {
			str_escape(esc, sizeof esc, id, strlen(id));
			log_warn("invalid queue ID \"%s\" on stdin: skipped",
			         esc);
			continue;
		}
		one_id(S, op, id);
	}
}

static void
run_actions(struct super *S)
{
	/* Postfix's order: delete, then hold/release, then requeue */
	for (int op = 0; op < OP_N; op++)
		for (size_t i = 0; i < S->nact; i++) {
			if (S->act[i].op != op)
				continue;
			if (strcmp(S->act[i].arg, "ALL") == 0)
				all_ids(S, op);
			else if (strcmp(S->act[i].arg, "-") == 0)
				stdin_ids(S, op);
			else
				one_id(S, op, S->act[i].arg);
		}
	for (int q = 0; q < QUEUE_N; q++)
		if ((S->dirty & BIT((unsigned)q)) &&
		    queue_sync(S->qe.dir, queue_names[q]) < 0) {
			warn_errno("fsync", "cannot sync", queue_names[q]);
			S->failed = 1;
		}
	for (int op = 0; op < OP_N; op++)
		if (S->requested & BIT((unsigned)op))
			log_info("%s: %lu message%s", ops[op].summary,
			         S->done[op], S->done[op] == 1 ? "" : "s");
}

static int
op_of(int flag)
{
	for (int op = 0; op < OP_N; op++)
		if (ops[op].flag == flag)
			return op;
	return -1;
}

static int
add_action(struct super *S, int op, const char *arg)
{
	char esc[200];

	if (strcmp(arg, "ALL") != 0 && strcmp(arg, "-") != 0 &&
	    !qfile_id_valid(arg)) {
		str_escape(esc, sizeof esc, arg, strlen(arg));
		log_error("invalid queue ID \"%s\" (IDs are [0-9A-Z]{8,30}, "
		          "or ALL, or - for stdin)",
		          esc);
		return -1;
	}
	for (size_t i = 0; i < S->nact; i++)
		if (strcmp(arg, "-") == 0 && strcmp(S->act[i].arg, "-") == 0) {
			log_error("only one option may read IDs from stdin");
			return -1;
		}
	if (S->nact >= ACTIONS_MAX) {
		log_error("more than %d operations", ACTIONS_MAX);
		return -1;
	}
	S->act[S->nact].op = op;
	S->act[S->nact++].arg = arg;
	S->requested |= BIT((unsigned)op);
	return 0;
}

static int
parse(struct super *S, int argc, char **argv)
{
	int opt;

	optind = 1;
	while ((opt = getopt(argc, argv, "+c:d:h:H:r:sv")) != -1) {
		if (opt == 's')
			S->structure = 1;
		else if (opt == 'v')
			log_set_verbose(1);
		else if (opt == 'c') {
			if (setenv("TINYMTA_CONFIG_DIR", optarg, 1) < 0)
				return -1;
		} else if (op_of(opt) < 0 ||
		           add_action(S, op_of(opt), optarg) < 0)
			return -1;
	}
	for (int i = optind; i < argc; i++) {
		int q = queue_index(argv[i]);

		if (q < 0 || S->nnamed >= QUEUE_N) {
			log_error("unknown or repeated queue \"%.40s\"",
			          argv[i]);
			return -1;
		}
		S->named[S->nnamed++] = q;
	}
	if (S->nact == 0)
		S->structure = 1; /* Postfix: no operation means -s */
	return 0;
}

static int
no_permission(const struct super *S)
{
	log_error("permission denied: postsuper changes the queue in %s and "
	          "must run as root or as its owner (mail_owner %s)",
	          S->qe.dir, S->qe.owner);
	return EX_NOPERM;
}

/* -s: create and repair the directories (as root, or as their owner). */
static int
structure(struct super *S)
{
	if (geteuid() != 0 && queue_env_exists(&S->qe) == 0 &&
	    queue_env_may_modify(&S->qe) != 1)
		return no_permission(S);
	if (queue_init(S->qe.dir, S->qe.uid, S->qe.gid) < 0)
		return errno == EACCES || errno == EPERM ? EX_NOPERM
		                                         : EX_CANTCREAT;
	return 0;
}

int
applet_postsuper_main(int argc, char **argv)
{
	struct super S;
	int rc;

	memset(&S, 0, sizeof S);
	log_init("postsuper", LOG_TO_STDERR);
	if (parse(&S, argc, argv) < 0)
		return usage();
	if ((rc = queue_env_load(&S.qe, "postsuper")) != 0)
		return rc;
	if (S.structure && (rc = structure(&S)) != 0)
		return rc;
	if (S.nact == 0)
		return 0;
	if (queue_env_exists(&S.qe) < 0) {
		log_error("queue directory %s: %s (postsuper -s creates it)",
		          S.qe.dir, strerror(errno));
		return EX_TEMPFAIL;
	}
	if (queue_env_may_modify(&S.qe) != 1)
		return no_permission(&S);
	if (queue_env_drop(&S.qe) < 0) {
		log_error("cannot become mail_owner: %s", strerror(errno));
		return EX_SOFTWARE;
	}
	run_actions(&S);
	return S.failed ? EX_TEMPFAIL : 0;
}
