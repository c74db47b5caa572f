/*
 * cmd_postqueue.c - `mailq`, `mailq --json`, `postqueue -p` and
 * `postqueue -j`: the queue listing in Postfix's formats (the long queue
 * ID layout of showq, and the JSON objects of postqueue -j, one per line).
 * Runs as the invoking user; as root it becomes mail_owner first. Needs
 * to read the private queue directories: anyone else gets exit 77.
 * Untrusted input: every queue file (maildrop/ files come from any local
 * user), validated by qfile_open; text from them is escaped on output.
 * `postqueue -f`, `-s SITE` and `-i ID` are requests to the master's
 * control socket (the SITE and ID are checked here first: exit 64).
 */
#include "applets.h"
#include "cmd_postqueue.h"
#include "ctl_client.h"
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

/* Postfix's showq_compat layout for long queue IDs. */
#define ID_FORMAT "%-17s %8llu %19.19s "
#define PAD_FORMAT "%-17s %8s %-19s "
#define MAILDROP_REASON "waiting for pickup"
#define SITE_MAX 255 /* a domain name's limit (RFC 1035) */

/* The queues listed, in Postfix's order; corrupt/ is only counted. */
static const int listed[] = {QUEUE_MAILDROP, QUEUE_INCOMING, QUEUE_ACTIVE,
                             QUEUE_DEFERRED, QUEUE_HOLD};

struct listing {
	const char *prog;
	const struct queue_env *qe;
	int json;
	unsigned long count;
	unsigned long long bytes;
};

/* Length of the valid UTF-8 sequence at p (RFC 3629), 0 when invalid. */
static size_t
utf8_len(const unsigned char *p)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* Control bytes and invalid UTF-8 as '?' (Postfix's printable()). */
static void
put_printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_len(p);

		if (n == 0 || *p < 0x20 || *p == 0x7f ||
		    (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			putchar('?'); /* C0, DEL, C1 controls, bad bytes */
			p++;
			continue;
		}
		fwrite(p, 1, n, stdout);
		p += n;
	}
}

/* A JSON string (RFC 8259): quotes, backslashes and controls escaped,
 * invalid UTF-8 as U+FFFD. */
static void
put_json(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putchar('"');
	while (*p) {
		size_t n = utf8_len(p);

		if (n == 0) {
			fputs("\\ufffd", stdout);
			p++;
		} else if (*p == '"' || *p == '\\') {
			printf("\\%c", *p++);
		} else if (*p < 0x20 || *p == 0x7f) {
			printf("\\u%04x", *p++);
		} else {
			fwrite(p, 1, n, stdout);
			p += n;
		}
	}
	putchar('"');
}

static void
format_time(char *out, size_t cap, uint64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm) ||
	    !strftime(out, cap, "%a %b %e %H:%M:%S %Y", &tm))
		str_copy(out, cap, "??");
}

static int
is_done(int status)
{
	return status == QFILE_RCPT_DELIVERED || status == QFILE_RCPT_BOUNCED;
}

/* The reason shown for a recipient: Postfix shows the deferral reason. */
static const char *
why(int q, const struct qfile_rcpt *rc)
{
	if (q == QUEUE_MAILDROP)
		return MAILDROP_REASON;
	return rc->status == QFILE_RCPT_DEFERRED ? rc->reason : "";
}

static void
text_rcpts(int q, struct qfile_reader *r)
{
	static const char none[] = "";
	char saved[QFILE_REASON_MAX + 1] = "";
	struct qfile_rcpt rc;

	for (size_t i = 0; i < r->info.nrcpt; i++) {
		if (qfile_rcpt(r, i, &rc) < 0)
			break;
		if (is_done(rc.status))
			continue;
		if (strcmp(saved, why(q, &rc)) != 0) {
			const char *show;
			int pad;

			str_copy(saved, sizeof saved, why(q, &rc));
			show = saved[0] ? saved : "reason unavailable";
			pad = 76 - (int)strlen(show);
			printf("%*s(", pad > 0 ? pad : 0, none);
			put_printable(show);
			fputs(")\n", stdout);
		}
		printf(PAD_FORMAT, none, none, none);
		put_printable(rc.addr);
		putchar('\n');
	}
}

static void
text_entry(struct listing *L, int q, const char *id, struct qfile_reader *r)
{
	char name[QFILE_ID_MAX + 2], date[64];

	if (L->count == 0)
		printf(PAD_FORMAT "%s\n", "----Queue ID-----", "--Size--",
		       "---Arrival Time----", "--Sender/Recipient------");
	else
		putchar('\n');
	snprintf(name, sizeof name, "%s%s", id,
	         q == QUEUE_ACTIVE ? "*"
	         : q == QUEUE_HOLD ? "!"
	                           : "");
	format_time(date, sizeof date, r->info.arrival);
	printf(ID_FORMAT, name, (unsigned long long)r->info.content_size, date);
	put_printable(r->info.sender[0] ? r->info.sender : "MAILER-DAEMON");
	putchar('\n');
	text_rcpts(q, r);
}

static void
json_entry(int q, const char *id, struct qfile_reader *r)
{
	struct qfile_rcpt rc;
	int first = 1;

	printf("{\"queue_name\": \"%s\", \"queue_id\": \"%s\", "
	       "\"arrival_time\": %llu, \"message_size\": %llu, "
	       "\"forced_expire\": false, \"sender\": ",
	       queue_names[q], id, (unsigned long long)r->info.arrival,
	       (unsigned long long)r->info.content_size);
	put_json(r->info.sender);
	fputs(", \"recipients\": [", stdout);
	for (size_t i = 0; i < r->info.nrcpt; i++) {
		if (qfile_rcpt(r, i, &rc) < 0)
			break;
		if (is_done(rc.status))
			continue;
		fputs(first ? "{\"address\": " : ", {\"address\": ", stdout);
		put_json(rc.addr);
		if (rc.status == QFILE_RCPT_DEFERRED && rc.reason[0]) {
			fputs(", \"delay_reason\": ", stdout);
			put_json(rc.reason);
		}
		putchar('}');
		first = 0;
	}
	fputs("]}\n", stdout);
}

/* Open one queue file: 1 to list it, 0 to skip it (with a warning when
 * it is damaged or of a newer version; silently when it just went away). */
static int
open_entry(struct listing *L, int q, const char *id, struct qfile_reader *r)
{
	char path[QUEUE_PATH_MAX], where[300], text[400];
	enum qfile_err e;

	if (queue_path(path, sizeof path, L->qe->dir, queue_names[q], id) < 0)
		return 0;
	if (qfile_open(r, path, 0, &e, where, sizeof where) == 0)
		return 1;
	if (e == QFILE_ERR_IO && errno == ENOENT)
		return 0; /* delivered or moved since the directory was read */
	qfile_describe(text, sizeof text, e, where, errno);
	log_warn("%s/%s: skipped: %s%s", queue_names[q], id, text,
	         e == QFILE_ERR_VERSION ? " (left alone)" : "");
	return 0;
}

static int
cannot_read(struct listing *L, int q)
{
	int saved = errno;

	log_error("cannot read %s/%s: %s%s", L->qe->dir, queue_names[q],
	          strerror(saved),
	          saved == EACCES ? " (run as root or as the mail_owner)" : "");
	return saved == EACCES || saved == EPERM ? EX_NOPERM : EX_TEMPFAIL;
}

static int
list_queue(struct listing *L, int q)
{
	struct queue_iter it;
	struct qfile_reader r;
	char id[QFILE_ID_MAX];
	int n;

	if (queue_iter_open(&it, L->qe->dir, queue_names[q]) < 0)
		return errno == ENOENT ? 0 : cannot_read(L, q);
	while ((n = queue_iter_next(&it, id)) > 0) {
		if (!open_entry(L, q, id, &r))
			continue;
		if (L->json)
			json_entry(q, id, &r);
		else
			text_entry(L, q, id, &r);
		L->count++;
		L->bytes += r.info.content_size;
		qfile_close(&r);
	}
	queue_iter_close(&it);
	return n < 0 ? cannot_read(L, q) : 0;
}

static void
warn_corrupt(struct listing *L)
{
	struct queue_iter it;
	char id[QFILE_ID_MAX];
	unsigned long n = 0;

	if (queue_iter_open(&it, L->qe->dir, "corrupt") < 0)
		return;
	while (queue_iter_next(&it, id) > 0)
		n++;
	queue_iter_close(&it);
	if (n)
		log_warn("%lu damaged file%s in %s/corrupt (see postcat -q ID)",
		         n, n == 1 ? "" : "s", L->qe->dir);
}

static int
finish(struct listing *L)
{
	if (!L->json && L->count == 0)
		puts("Mail queue is empty");
	else if (!L->json)
		printf("\n-- %llu Kbytes in %lu Request%s.\n", L->bytes / 1024,
		       L->count, L->count == 1 ? "" : "s");
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_error("writing the listing: %s", strerror(errno));
		return EX_IOERR;
	}
	return 0;
}

int
postqueue_show(const char *prog, int json)
{
	struct queue_env qe;
	struct listing L = {prog, &qe, json, 0, 0};
	int rc = queue_env_load(&qe, prog);

	if (rc)
		return rc;
	if (queue_env_exists(&qe) < 0) {
		log_error("queue directory %s: %s", qe.dir, strerror(errno));
		return errno == EACCES ? EX_NOPERM : EX_TEMPFAIL;
	}
	if (queue_env_drop(&qe) < 0) {
		log_error("cannot become mail_owner: %s", strerror(errno));
		return EX_SOFTWARE;
	}
	for (size_t i = 0; i < sizeof listed / sizeof listed[0]; i++)
		if ((rc = list_queue(&L, listed[i])) != 0)
			return rc;
	warn_corrupt(&L);
	return finish(&L);
}

int
applet_mailq_main(int argc, char **argv)
{
	log_init("mailq", LOG_TO_STDERR);
	if (argc == 1)
		return postqueue_show("mailq", 0);
	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		return postqueue_show("mailq", 1);
	fprintf(stderr, "usage: mailq [--json]\n");
	return EX_USAGE;
}

static int
usage(void)
{
	fprintf(stderr, "usage: postqueue [-c DIR] [-v] -p | -j | -f | -s SITE "
	                "| -i ID\n"
	                "  -p  list the queue (as mailq)\n"
	                "  -j  list the queue as JSON, one object per line\n"
	                "  -f  flush: deliver the deferred mail now\n"
	                "  -s  flush the deferred mail for SITE: a recipient "
	                "domain, or a\n"
	                "      next hop as tinymta status names it "
	                "([host]:port)\n"
	                "  -i  deliver the message ID now\n");
	return EX_USAGE;
}

/* A site for -s: a domain, [address] or a next hop as `tinymta status`
 * names it ([host]:port); nothing that could end the request line. NULL
 * when s is one, else what is wrong with it. */
static const char *
site_problem(const char *s, char *why, size_t cap)
{
	size_t n = strlen(s);

	if (n == 0)
		return "empty site";
	if (n > SITE_MAX) {
		snprintf(why, cap, "site longer than %d characters (%zu)",
		         SITE_MAX, n);
		return why;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(".-_:[]", c))
			continue;
		if (c < 0x20 || c == 0x7f)
			snprintf(why, cap,
			         "control character 0x%02x at position %zu", c,
			         i + 1);
		else if (c >= 0x80)
			snprintf(
			    why, cap,
			    "non-ASCII byte 0x%02x at position %zu (use the "
			    "xn-- form of the domain)",
			    c, i + 1);
		else
			snprintf(
			    why, cap,
			    "character '%c' at position %zu is not allowed "
			    "(a domain, [address] or [host]:port)",
			    c, i + 1);
		return why;
	}
	return NULL;
}

/* -f, -s SITE, -i ID: one request to the master's control socket. */
static int
ask_master(int mode, const char *arg)
{
	char req[QFILE_ID_MAX + 300], reply[512];
	struct queue_env qe;
	int rc = queue_env_load(&qe, "postqueue");

	if (rc)
		return rc;
	if (mode == 'f')
		str_copy(req, sizeof req, "flush");
	else
		snprintf(req, sizeof req, "%s %s",
		         mode == 'i' ? "deliver" : "flush", arg);
	if (ctl_request(qe.dir, req, reply, sizeof reply) < 0) {
		rc = errno;
		log_error("cannot %s: %s%s", mode == 'i' ? "deliver" : "flush",
		          strerror(rc),
		          rc == ENOENT || rc == ECONNREFUSED
		              ? " (the mail system is not running)"
		              : "");
		return rc == EACCES || rc == EPERM ? EX_NOPERM : EX_UNAVAILABLE;
	}
	if (strncmp(reply, "OK", 2) == 0)
		return 0;
	reply[strcspn(reply, "\n")] = '\0';
	log_error("the master refused: %.200s", reply);
	return EX_UNAVAILABLE;
}

int
applet_postqueue_main(int argc, char **argv)
{
	int opt, mode = 0;
	const char *arg = NULL, *bad;
	char why[120];

	log_init("postqueue", LOG_TO_STDERR);
	optind = 1;
	while ((opt = getopt(argc, argv, "+c:fi:jps:v")) != -1) {
		switch (opt) {
		case 'c':
			if (setenv("TINYMTA_CONFIG_DIR", optarg, 1) < 0)
				return EX_SOFTWARE;
			break;
		case 'p':
		case 'j':
		case 'f':
		case 'i':
		case 's':
			if (mode && mode != opt)
				return usage();
			mode = opt;
			arg = optarg;
			break;
		case 'v':
			log_set_verbose(1);
			break;
		default:
			return usage();
		}
	}
	if (optind != argc || mode == 0)
		return usage();
	if (mode == 'i' && !qfile_id_valid(arg)) {
		log_error("invalid queue ID for -i");
		return EX_USAGE;
	}
	if (mode == 's' && (bad = site_problem(arg, why, sizeof why))) {
		log_error("invalid site for -s: %s", bad);
		return EX_USAGE;
	}
	if (mode != 'p' && mode != 'j')
		return ask_master(mode, arg);
	return postqueue_show("postqueue", mode == 'j');
}
