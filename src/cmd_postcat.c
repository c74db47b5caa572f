/*
 * cmd_postcat.c - `postcat [-behv] [-c DIR] -q ID… | FILE…`: one queued
 * message, envelope and content, readably, in Postfix's sections
 * (*** ENVELOPE RECORDS … ***, *** MESSAGE CONTENTS … ***, *** MESSAGE
 * FILE END … ***). Read-only: a damaged file is reported (exit 65), never
 * moved. Runs as the invoking user; for -q, root becomes mail_owner first.
 * Untrusted input: the queue file (validated by qfile_open); envelope text
 * is escaped, content is printed as stored (it is what the user asked for).
 */
#include "applets.h"
#include "queue_env.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define SHOW_ENV 1
#define SHOW_HDR 2
#define SHOW_BODY 4

/* Where -q looks, in this order (corrupt/ last: postcat can show why). */
static const int searched[] = {QUEUE_INCOMING, QUEUE_ACTIVE,   QUEUE_DEFERRED,
                               QUEUE_HOLD,     QUEUE_MAILDROP, QUEUE_CORRUPT};

static const char *const status_names[] = {
    [QFILE_RCPT_PENDING] = "pending",
    [QFILE_RCPT_DELIVERED] = "delivered",
    [QFILE_RCPT_BOUNCED] = "bounced",
    [QFILE_RCPT_DEFERRED] = "deferred",
};

struct cat {
	unsigned what;
	int in_header; /* content: still inside the header */
	int bol;       /* content: at the start of a line */
	int last;      /* the last byte printed, -1 for none */
};

/* A "name: value" line with the value escaped (one line, no controls). */
static void
field(const char *name, const char *value)
{
	char esc[4 * QFILE_ATTR_MAX + 1];

	str_escape(esc, sizeof esc, value, strlen(value));
	printf("%s: %s\n", name, esc);
}

static void
time_field(const char *name, uint64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[64];

	if (!localtime_r(&tt, &tm) ||
	    !strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm))
		str_copy(buf, sizeof buf, "??");
	printf("%s: %s\n", name, buf);
}

static void
notify_text(char *out, size_t cap, unsigned n)
{
	out[0] = '\0';
	if (n & QFILE_NOTIFY_NEVER)
		str_append(out, cap, ",never");
	if (n & QFILE_NOTIFY_SUCCESS)
		str_append(out, cap, ",success");
	if (n & QFILE_NOTIFY_FAILURE)
		str_append(out, cap, ",failure");
	if (n & QFILE_NOTIFY_DELAY)
		str_append(out, cap, ",delay");
	memmove(out, out + (out[0] == ','), strlen(out) + 1);
}

static void
show_rcpt(const struct qfile_rcpt *rc)
{
	char esc[4 * QFILE_REASON_MAX + 1], n[40];

	field("recipient", rc->addr);
	str_escape(esc, sizeof esc, rc->reason, strlen(rc->reason));
	printf("  status: %s%s%s%s\n", status_names[rc->status],
	       esc[0] ? " (" : "", esc, esc[0] ? ")" : "");
	if (rc->notify) {
		notify_text(n, sizeof n, rc->notify);
		printf("  notify: %s\n", n);
	}
	if (rc->orcpt[0])
		field("  original_recipient", rc->orcpt);
}

static int
show_envelope(const char *label, struct qfile_reader *r)
{
	const struct qfile_info *in = &r->info;
	char name[QFILE_ATTR_NAME_MAX + 1], value[QFILE_ATTR_MAX + 1];
	char esc[4 * QFILE_ATTR_MAX + 1];
	struct qfile_rcpt rc;

	printf("*** ENVELOPE RECORDS %s ***\n", label);
	printf("queue_file_version: %u\n", (unsigned)in->version);
	printf("message_size: %llu\n", (unsigned long long)in->content_size);
	time_field("message_arrival_time", in->arrival);
	if (in->flags & QFILE_FLAG_CLOCK_UNSET)
		printf("clock_unset: yes (arrival time not trustworthy)\n");
	printf("attempts: %u\n", (unsigned)in->attempts);
	if (in->last_attempt)
		time_field("last_attempt_time", in->last_attempt);
	if (in->next_attempt)
		time_field("next_attempt_time", in->next_attempt);
	for (size_t i = 0; i < in->nattr; i++) {
		if (qfile_attr(r, i, name, sizeof name, value, sizeof value) <
		    0)
			return -1;
		str_escape(esc, sizeof esc, value, strlen(value));
		printf("named_attribute: %s=%s\n", name, esc);
	}
	field("sender", in->sender);
	for (size_t i = 0; i < in->nrcpt; i++) {
		if (qfile_rcpt(r, i, &rc) < 0)
			return -1;
		show_rcpt(&rc);
	}
	return 0;
}

/* Print the part of p[0..n) that -h/-b selected; the header ends at the
 * first empty line, which belongs to neither part. */
static void
emit(struct cat *c, const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && c->in_header) {
		size_t start = i;

		/* loop invariant: p[start..i) are header bytes */
		while (i < n && !(c->bol && p[i] == '\n')) {
			c->bol = p[i] == '\n';
			i++;
		}
		if ((c->what & SHOW_HDR) && i > start) {
			fwrite(p + start, 1, i - start, stdout);
			c->last = p[i - 1];
		}
		if (i < n) { /* the empty line */
			c->in_header = 0;
			if ((c->what & SHOW_HDR) && (c->what & SHOW_BODY)) {
				putchar('\n');
				c->last = '\n';
			}
			i++;
		}
	}
	if (i < n && (c->what & SHOW_BODY)) {
		fwrite(p + i, 1, n - i, stdout);
		c->last = p[n - 1];
	}
}

static int
show_content(const char *label, struct qfile_reader *r, unsigned what)
{
	struct cat c = {what, 1, 1, -1};
	unsigned char buf[16384];
	ssize_t n;

	printf("*** MESSAGE CONTENTS %s ***\n", label);
	qfile_content_rewind(r);
	while ((n = qfile_content_read(r, buf, sizeof buf)) > 0)
		emit(&c, buf, (size_t)n);
	if (c.last != -1 && c.last != '\n')
		putchar('\n');
	return n < 0 ? -1 : 0;
}

static int
open_error(const char *label, enum qfile_err e, const char *where)
{
	char text[400];
	int saved = errno;

	qfile_describe(text, sizeof text, e, where, saved);
	if (e == QFILE_ERR_VERSION) {
		log_error("%s: %s (left alone: a newer tinymta reads it)",
		          label, text);
		return EX_DATAERR;
	}
	if (e != QFILE_ERR_IO) {
		log_error("%s: damaged queue file: %s", label, text);
		return EX_DATAERR;
	}
	log_error("%s: %s", label, text);
	if (saved == EACCES || saved == EPERM)
		return EX_NOPERM;
	return saved == ENOENT ? EX_NOINPUT : EX_IOERR;
}

static int
show(const char *label, const char *path, unsigned what)
{
	struct qfile_reader r;
	enum qfile_err e;
	char where[300];
	int bad = 0;

	if (qfile_open(&r, path, 0, &e, where, sizeof where) < 0)
		return open_error(label, e, where);
	if ((what & SHOW_ENV) && show_envelope(label, &r) < 0)
		bad = 1;
	if (!bad && (what & (SHOW_HDR | SHOW_BODY)) &&
	    show_content(label, &r, what) < 0)
		bad = 1;
	if (bad)
		log_error("%s: reading: %s", label, strerror(errno));
	else
		printf("*** MESSAGE FILE END %s ***\n", label);
	qfile_close(&r);
	if (fflush(stdout) == EOF) {
		log_error("writing: %s", strerror(errno));
		return EX_IOERR;
	}
	return bad ? EX_DATAERR : 0;
}

static int
show_id(const struct queue_env *qe, const char *id, unsigned what)
{
	char path[QUEUE_PATH_MAX], label[QFILE_ID_MAX + 16];
	int q = queue_find(qe->dir, id, searched,
	                   sizeof searched / sizeof searched[0]);

	if (q < 0 && errno == ENOENT) {
		log_error("%s: no such message in %s", id, qe->dir);
		return EX_NOINPUT;
	}
	if (q < 0) {
		log_error(
		    "%s: searching %s: %s%s", id, qe->dir, strerror(errno),
		    errno == EACCES ? " (run as root or as the mail_owner)"
		                    : "");
		return errno == EACCES ? EX_NOPERM : EX_TEMPFAIL;
	}
	if (queue_path(path, sizeof path, qe->dir, queue_names[q], id) < 0)
		return EX_SOFTWARE;
	snprintf(label, sizeof label, "%s/%s", queue_names[q], id);
	return show(label, path, what);
}

static int
show_ids(char **ids, int n, unsigned what)
{
	struct queue_env qe;
	int rc, first = 0;

	for (int i = 0; i < n; i++)
		if (!qfile_id_valid(ids[i])) {
			char esc[200];

			str_escape(esc, sizeof esc, ids[i], strlen(ids[i]));
			log_error("invalid queue ID \"%s\"", esc);
			return EX_USAGE;
		}
	if ((rc = queue_env_load(&qe, "postcat")) != 0)
		return rc;
	if (queue_env_drop(&qe) < 0) {
		log_error("cannot become mail_owner: %s", strerror(errno));
		return EX_SOFTWARE;
	}
	for (int i = 0; i < n; i++)
		if ((rc = show_id(&qe, ids[i], what)) != 0 && !first)
			first = rc;
	return first;
}

static int
usage(void)
{
	fprintf(stderr,
	        "usage: postcat [-behv] [-c DIR] -q ID... | FILE...\n"
	        "  -q  the arguments are queue IDs, searched in every queue\n"
	        "  -e  envelope  -h  header  -b  body (any combination; "
	        "default: all)\n");
	return EX_USAGE;
}

int
applet_postcat_main(int argc, char **argv)
{
	unsigned what = 0;
	int opt, byid = 0, rc = 0;

	log_init("postcat", LOG_TO_STDERR);
	optind = 1;
	while ((opt = getopt(argc, argv, "+bc:ehqv")) != -1) {
		switch (opt) {
		case 'b':
			what |= SHOW_BODY;
			break;
		case 'e':
			what |= SHOW_ENV;
			break;
		case 'h':
			what |= SHOW_HDR;
			break;
		case 'q':
			byid = 1;
			break;
		case 'c':
			if (setenv("TINYMTA_CONFIG_DIR", optarg, 1) < 0)
				return EX_SOFTWARE;
			break;
		case 'v':
			log_set_verbose(1);
			break;
		default:
			return usage();
		}
	}
	if (optind >= argc)
		return usage();
	if (what == 0)
		what = SHOW_ENV | SHOW_HDR | SHOW_BODY;
	if (byid)
		return show_ids(argv + optind, argc - optind, what);
	for (int i = optind; i < argc; i++) {
		int r = show(argv[i], argv[i], what);

		if (r && !rc)
			rc = r;
	}
	return rc;
}
