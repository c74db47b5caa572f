/*
 * cmd_mail.c - the mail applet (a mailx subset, DESIGN.md): options,
 * usage, and the choice between sending (`mail [-s SUBJECT] [-c CC] [-b
 * BCC] [-r FROM] TO…`, cmd_mail_send.c) and reading (`mail`, `mail -f
 * [FILE]`, `mail -H`, cmd_mail_cmd.c over cmd_mail_box.c). The mailbox
 * read is the invoking user's, as local delivery names it: home_mailbox
 * under the home directory when set, else mail_spool_directory/USER.
 * Runs as the invoking user, never set-uid; argv is untrusted.
 */
#include "applets.h"
#include "cmd_mail.h"
#include "cmd_sendmail.h"
#include "conf.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAIL_ADDR_ARGS 64 /* -c and -b given several times */

static void
usage(FILE *f)
{
	fputs("usage: mail [-s SUBJECT] [-c CC] [-b BCC] [-r FROM] TO...\n"
	      "       mail [-H] [-N]            read your mailbox\n"
	      "       mail [-H] [-N] -f [FILE]  read FILE (default ~/mbox)\n"
	      "Sending: the text comes from standard input (on a terminal: "
	      "up to a\nline holding only \".\" or Ctrl-D); it goes the way "
	      "of sendmail.\n"
	      "Reading: -H lists the headers and exits; -N skips the first "
	      "list.\nCommands: N print message N, p/t print, h headers, "
	      "n/+ next, - previous,\nd [N] delete, u N undelete, s [N] FILE "
	      "save (append, mbox), r [N] reply,\nq quit (apply deletions), "
	      "x exit (change nothing), ? help.\n"
	      "Without a terminal the commands are read from standard input.\n",
	      f);
}

struct opts {
	struct mail_send send;
	int file;    /* -f */
	int headers; /* -H */
	int noheads; /* -N */
	int verbose;
};

static int
add_addr(const char **v, size_t *n, const char *a)
{
	if (*n >= MAIL_ADDR_ARGS) {
		log_error("more than %d -c or -b options", MAIL_ADDR_ARGS);
		return -1;
	}
	v[(*n)++] = a;
	return 0;
}

/* getopt semantics, stopping at the first operand (no permutation). */
static int
parse(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof *o);
	opterr = 0;
	while ((c = getopt(argc, argv, "+s:c:b:r:fHNvh")) != -1) {
		switch (c) {
		case 's':
			o->send.subject = optarg;
			break;
		case 'c':
			if (add_addr(o->send.cc, &o->send.ncc, optarg) < 0)
				return SM_EX_USAGE;
			break;
		case 'b':
			if (add_addr(o->send.bcc, &o->send.nbcc, optarg) < 0)
				return SM_EX_USAGE;
			break;
		case 'r':
			o->send.from = optarg;
			break;
		case 'f':
			o->file = 1;
			break;
		case 'H':
			o->headers = 1;
			break;
		case 'N':
			o->noheads = 1;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			log_error("%s option -%c",
			          optopt && strchr("scbr", optopt)
			              ? "missing value for"
			              : "unknown",
			          optopt);
			usage(stderr);
			return SM_EX_USAGE;
		}
	}
	return 0;
}

/* The invoking user's mailbox, named as local delivery names it. */
static int
user_mailbox(char *out, size_t cap, char *user, size_t ucap)
{
	struct passwd *pw = getpwuid(getuid());
	struct conf_problems *ps;
	struct conf *c;
	const char *hm;
	int n = 0, rc = 0;

	if (!pw) {
		log_error("no login name for user ID %lu",
		          (unsigned long)getuid());
		return SM_EX_NOUSER;
	}
	str_copy(user, ucap, pw->pw_name);
	ps = conf_problems_new();
	c = conf_new(NULL);
	if (!ps || !c || conf_load(c, ps) < 0) {
		if (ps)
			conf_problems_print(ps, stderr, "mail");
		log_error("configuration error");
		conf_free(c);
		conf_problems_free(ps);
		return SM_EX_CONFIG;
	}
	hm = conf_get(c, "home_mailbox");
	if (hm[0])
		n = snprintf(out, cap, "%s/%s", pw->pw_dir, hm);
	else
		n = snprintf(out, cap, "%s/%s",
		             conf_get(c, "mail_spool_directory"), pw->pw_name);
	if (rc == 0 && (n < 0 || (size_t)n >= cap)) {
		log_error("mailbox path too long");
		rc = SM_EX_CONFIG;
	}
	conf_free(c);
	conf_problems_free(ps);
	return rc;
}

static int
read_mail(const struct opts *o, int nargs, char **args)
{
	struct mail_box *b;
	char path[MBOX_PATH_MAX], user[SM_NAME_MAX];
	const char *home = getenv("HOME");
	int rc;

	if (nargs > 1 || (nargs == 1 && !o->file)) {
		usage(stderr);
		return SM_EX_USAGE;
	}
	b = calloc(1, sizeof *b);
	if (!b) {
		log_error("out of memory");
		return SM_EX_TEMPFAIL;
	}
	if (o->file && nargs == 1)
		rc = str_copy(path, sizeof path, args[0]) < 0 ? SM_EX_USAGE : 0;
	else if (o->file)
		rc = snprintf(path, sizeof path, "%s/mbox",
		              home ? home : ".") >= (int)sizeof path
		         ? SM_EX_USAGE
		         : 0;
	else
		rc = user_mailbox(path, sizeof path, user, sizeof user);
	if (rc == 0)
		rc = mail_box_load(b, path, !o->file);
	if (rc == 0 && b->ix.n == 0 && !b->ix.over) {
		if (o->file)
			printf("\"%s\": 0 messages\n", path);
		else if (!o->headers)
			printf("No mail for %s\n", user);
	} else if (rc == 0) {
		if (o->noheads && !o->headers)
			printf("\"%s\": %zu messages\n", b->path, b->ix.n);
		rc = mail_read_main(b, o->headers ? 1 : o->noheads ? 2 : 0);
	}
	mail_box_close(b);
	free(b);
	return rc;
}

int
applet_mail_main(int argc, char **argv)
{
	struct opts o;
	int rc;

	log_init("mail", LOG_TO_STDERR);
	for (int i = 1; i < argc && argv[i][0] == '-'; i++)
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
	if ((rc = parse(argc, argv, &o)) != 0)
		return rc;
	log_set_verbose(o.verbose);
	argc -= optind;
	argv += optind;
	if (o.file || o.headers || argc == 0) {
		if (o.send.subject || o.send.ncc || o.send.nbcc ||
		    o.send.from) {
			log_error("-s, -c, -b and -r need a recipient");
			usage(stderr);
			return SM_EX_USAGE;
		}
		return read_mail(&o, argc, argv);
	}
	return mail_send_main(&o.send, argc, argv);
}
