/*
 * cmd_sendmail.c - the sendmail applet: submit one message from standard
 * input into $queue_directory/maildrop/ (DESIGN.md "Mail flow and queue"),
 * exit 0 only after the queue file is committed, then poke pickup.
 * Runs as the invoking user, never set-uid; the daemon need not run.
 * Untrusted: argv, the environment ($NAME) and the whole message; the
 * header section is buffered in bounded memory, the body is streamed.
 */
#include "applets.h"
#include "cmd_sendmail.h"
#include "resolve.h"
#include "smtpd.h"
#include "ctl_client.h"
#include "conf.h"
#include "queue.h"
#include "wake.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The temporary queue file a signal handler removes: the one piece of
 * process state a handler needs; NULL when there is none. */
static const char *volatile tmp_path;

static void
on_signal(int sig)
{
	const char *p = tmp_path;

	if (p)
		unlink(p);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* HUP, INT, QUIT, TERM remove the temporary file (as Postfix's postdrop
 * does); a file size limit makes write(2) fail instead of killing us. */
static void
catch_signals(void)
{
	static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGXFSZ, SIG_IGN);
}

/* Descriptors 0-2 closed by the caller: /dev/null takes their place, so
 * that no queue file is ever opened as standard error. */
static void
std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			_exit(SM_EX_SOFTWARE);
}

_Noreturn void
sm_fail(struct sm *s, int code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (s && s->writing) {
		qfile_abort(&s->w);
		s->writing = 0;
	}
	tmp_path = NULL;
	log_fatal(code, "%s", msg);
}

_Noreturn void
sm_in_fail(struct sm *s, int r)
{
	if (r == SM_IN_NUL)
		sm_fail(s, SM_EX_DATAERR,
		        "message contains a NUL byte at line %llu",
		        (unsigned long long)s->in.line);
	sm_fail(s, SM_EX_TEMPFAIL, "cannot read the message: %s",
	        strerror(errno));
}

/* A failed queue file write: a full spool is temporary (75). */
static _Noreturn void
write_fail(struct sm *s, const char *what)
{
	int e = errno;

	if (e == EINVAL)
		sm_fail(s, SM_EX_DATAERR, "queue file: %s out of bounds", what);
	sm_fail(s, SM_EX_TEMPFAIL,
	        "%scannot write %s to a queue file in %s: %s",
	        e == ENOSPC || e == EDQUOT ? "spool full: " : "", what,
	        s->maildrop, strerror(e));
}

/* Drain the rest of the input to name the real size, then fail. */
static _Noreturn void
oversize(struct sm *s)
{
	const char *p;
	size_t n;
	int eol, r;

	if (s->pend) {
		s->size += s->pend_n;
		s->pend = 0;
	}
	while ((r = sm_in_next(&s->in, &p, &n, &eol)) == SM_IN_PIECE ||
	       r == SM_IN_NUL)
		s->size += n;
	sm_fail(s, SM_EX_DATAERR, "message size %llu exceeds size limit %lld",
	        (unsigned long long)s->size, s->size_limit);
}

void
sm_put(struct sm *s, const char *p, size_t n)
{
	s->size += n;
	if (s->size_limit > 0 && s->size > (uint64_t)s->size_limit)
		oversize(s);
	if (qfile_put_content(&s->w, p, n) < 0)
		write_fail(s, "the message");
}

/* The first error of a broken main.cf. */
static _Noreturn void
conf_fail(struct sm *s, const struct conf_problems *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		const struct conf_problem *p = &ps->v[i];

		if (p->severity != CONF_SEV_ERROR)
			continue;
		if (p->line)
			sm_fail(s, SM_EX_CONFIG, "%s, line %u: %s", p->file,
			        p->line, p->message);
		sm_fail(s, SM_EX_CONFIG, "%s: %s", p->file, p->message);
	}
	sm_fail(s, SM_EX_CONFIG, "configuration error");
}

static void
copy_param(struct sm *s, const struct conf *c, const char *name, char *out,
           size_t cap)
{
	const char *v = conf_get(c, name);

	if (!v || str_copy(out, cap, v) < 0)
		sm_fail(s, SM_EX_CONFIG, "%s: value missing or too long", name);
}

/* main.cf: one small file; the values are copied, conf is freed. */
static void
setup_conf(struct sm *s)
{
	struct conf_problems *ps = conf_problems_new();
	struct conf *c = conf_new(s->o->config_dir);
	char qdir[sizeof s->queue_dir];

	if (!ps || !c)
		sm_fail(s, SM_EX_CONFIG, "cannot use configuration directory");
	if (conf_load(c, ps) < 0)
		conf_fail(s, ps);
	if (s->o->verbose)
		conf_problems_print(ps, stderr, "sendmail");
	copy_param(s, c, "myhostname", s->myhostname, sizeof s->myhostname);
	copy_param(s, c, "myorigin", s->myorigin, sizeof s->myorigin);
	if (resolve_bare_domain(c, s->bare_domain, sizeof s->bare_domain) < 0)
		sm_fail(s, SM_EX_CONFIG, "myorigin is too long");
	copy_param(s, c, "queue_directory", qdir, sizeof qdir);
	copy_param(s, c, "mail_owner", s->mail_owner, sizeof s->mail_owner);
	s->size_limit = conf_size(c, "message_size_limit");
	if (conf_bool(c, "smtputf8_enable"))
		s->addr_flags |= ADDR_F_UTF8;
	conf_free(c);
	conf_problems_free(ps);
	str_copy(s->queue_dir, sizeof s->queue_dir, qdir);
	if (snprintf(s->maildrop, sizeof s->maildrop, "%s/maildrop", qdir) >=
	    (int)sizeof s->maildrop)
		sm_fail(s, SM_EX_CONFIG, "queue_directory too long");
}

/* -F, else $NAME; control bytes become spaces (no header injection). */
static void
setup_fullname(struct sm *s)
{
	const char *name = s->o->fullname ? s->o->fullname : getenv("NAME");
	size_t i;

	if (!name)
		return;
	for (i = 0; i < SM_FULLNAME_MAX && name[i]; i++)
		s->fullname[i] =
		    ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
		        ? ' '
		        : name[i];
	s->fullname[i] = '\0';
	memmove(s->fullname, str_trim(s->fullname),
	        strlen(str_trim(s->fullname)) + 1);
}

/* -f/-r, else the invoking user @myorigin. */
static void
setup_sender(struct sm *s)
{
	struct passwd *pw = getpwuid(getuid());
	char why[ADDR_TEXT_MAX + 100];
	struct addr a;

	if (!pw)
		sm_fail(s, SM_EX_NOUSER, "no login name found for user ID %lu",
		        (unsigned long)getuid());
	if (str_copy(s->user, sizeof s->user, pw->pw_name) < 0)
		sm_fail(s, SM_EX_NOUSER, "login name too long");
	if (s->o->sender) {
		if (sm_one_addr(s, s->o->sender, s->sender, why, sizeof why) <
		    0)
			sm_fail(s, SM_EX_USAGE, "-f: %s", why);
		return;
	}
	memset(&a, 0, sizeof a);
	str_copy(a.local, sizeof a.local, s->user);
	str_copy(a.domain, sizeof a.domain, s->myorigin);
	a.quoted = !addr_is_dot_string(a.local, strlen(a.local), ADDR_F_UTF8);
	if (addr_format(&a, s->sender, sizeof s->sender) < 0)
		sm_fail(s, SM_EX_NOUSER, "bad login name");
}

static void
setup_rcpts(struct sm *s, int n, char **args)
{
	char why[ADDR_TEXT_MAX + 100];

	for (int i = 0; i < n; i++)
		if (sm_add_list(s, args[i], strlen(args[i]), why, sizeof why) <
		    0)
			sm_fail(s, SM_EX_USAGE, "recipient: %s", why);
}

/* As root, a missing queue is created (owned by mail_owner) as
 * `tinymta start` would; 0 when it was. */
static int
create_queue(const struct sm *s)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return -1;
	pw = getpwnam(s->mail_owner);
	if (!pw || pw->pw_uid == 0) {
		log_warn("cannot create %s: mail_owner \"%s\" is %s",
		         s->queue_dir, s->mail_owner,
		         pw ? "root" : "not a known user");
		errno = ENOENT;
		return -1;
	}
	return queue_init(s->queue_dir, pw->pw_uid, pw->pw_gid);
}

/* Create the temporary file in maildrop/ (as root: the queue too). */
static void
open_queue(struct sm *s)
{
	uint32_t flags = clock_is_set() ? 0 : QFILE_FLAG_CLOCK_UNSET;
	sigset_t block, old;
	int e, ok;

	catch_signals();
	/* a signal between the file's creation and tmp_path naming it would
	 * leave the file behind: held until the handler can remove it */
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	ok = qfile_create(&s->w, s->maildrop, flags) == 0 ||
	     (errno == ENOENT && create_queue(s) == 0 &&
	      qfile_create(&s->w, s->maildrop, flags) == 0);
	e = errno;
	if (ok) {
		s->writing = 1;
		tmp_path = s->w.tmp;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (ok)
		return;
	sm_fail(s,
	        e == ENOSPC || e == EDQUOT ? SM_EX_TEMPFAIL : SM_EX_CANTCREAT,
	        "%scannot create file in %s: %s",
	        e == ENOSPC || e == EDQUOT ? "spool full: " : "", s->maildrop,
	        strerror(e));
}

struct rcpt_ix {
	const char *a;
	size_t i;
};

static int
cmp_rcpt(const void *x, const void *y)
{
	const struct rcpt_ix *a = x, *b = y;
	int c = strcmp(a->a, b->a);

	return c ? c : (a->i > b->i) - (a->i < b->i);
}

/* Drop repeated recipients, keeping the first of each (Postfix's
 * duplicate filter); freed entries become NULL. */
static void
dedup(struct sm *s)
{
	struct rcpt_ix *ix = calloc(s->rcpts.n + 1, sizeof *ix);

	if (!ix)
		sm_fail(s, SM_EX_TEMPFAIL, "out of memory");
	for (size_t i = 0; i < s->rcpts.n; i++)
		ix[i] = (struct rcpt_ix){s->rcpts.v[i], i};
	qsort(ix, s->rcpts.n, sizeof *ix, cmp_rcpt);
	/* loop invariant: keep is the first (kept) entry of the current run */
	for (size_t i = 1, keep = 0; i < s->rcpts.n; i++) {
		if (strcmp(ix[i].a, ix[keep].a) != 0) {
			keep = i;
			continue;
		}
		free(s->rcpts.v[ix[i].i]);
		s->rcpts.v[ix[i].i] = NULL;
	}
	free(ix);
}

static void
put_attr(struct sm *s, const char *name, const char *value)
{
	if (value && qfile_put_attr(&s->w, name, value) < 0)
		write_fail(s, name);
}

static void
write_envelope(struct sm *s)
{
	char uid[32];

	snprintf(uid, sizeof uid, "%lu", (unsigned long)getuid());
	put_attr(s, "uid", uid);
	put_attr(s, "fullname", s->fullname[0] ? s->fullname : NULL);
	put_attr(s, "ret", s->o->ret);
	put_attr(s, "envid", s->o->envid);
	put_attr(s, "body", s->o->body);
	put_attr(s, "origin", "sendmail");
	if (qfile_put_sender(&s->w, s->sender) < 0)
		write_fail(s, "the sender");
	dedup(s);
	for (size_t i = 0; i < s->rcpts.n; i++)
		if (s->rcpts.v[i] && qfile_put_rcpt(&s->w, s->rcpts.v[i], NULL,
		                                    s->o->notify) < 0)
			write_fail(s, "a recipient");
}

static void
copy_body(struct sm *s)
{
	const char *p;
	size_t n;
	int eol, r;

	if (s->pend) {
		s->pend = 0;
		sm_put(s, s->pend_p, s->pend_n);
	}
	while ((r = sm_in_next(&s->in, &p, &n, &eol)) == SM_IN_PIECE)
		sm_put(s, p, n);
	if (r != SM_IN_END)
		sm_in_fail(s, r);
}

static void
sm_free(struct sm *s)
{
	for (size_t i = 0; i < s->rcpts.n; i++)
		free(s->rcpts.v[i]);
	free(s->rcpts.v);
	free(s);
}

/* The envelope, the header section, the body, the commit. */
static int
finish(struct sm *s)
{
	char id[QFILE_ID_MAX];

	write_envelope(s);
	sm_write_header(s);
	copy_body(s);
	if (qfile_commit(&s->w, id) < 0)
		write_fail(s, "the end");
	s->writing = 0;
	tmp_path = NULL;
	log_debug("%s: queued in %s, %llu bytes", id, s->maildrop,
	          (unsigned long long)s->size);
	wake_pickup(s->queue_dir);
	sm_free(s);
	return 0;
}

static int
submit(const struct sm_opts *o, int nargs, char **args)
{
	struct sm *s = calloc(1, sizeof *s);

	if (!s)
		sm_fail(NULL, SM_EX_TEMPFAIL, "out of memory");
	s->o = o;
	setup_conf(s);
	setup_sender(s);
	setup_fullname(s);
	setup_rcpts(s, nargs, args);
	if (!o->extract && s->rcpts.n == 0)
		sm_fail(s, SM_EX_DATAERR, "no recipients specified");
	open_queue(s);
	sm_in_init(&s->in, 0, !o->ignore_dots);
	sm_read_header(s);
	if (o->extract)
		sm_extract(s);
	if (s->rcpts.n == 0)
		sm_fail(s, SM_EX_DATAERR,
		        "no recipients specified: no recipient addresses "
		        "found in message header");
	return finish(s);
}

/* see cmd_sendmail.h */
int
sm_submit_header(const struct sm_opts *o, const char *hdr, size_t hlen, int fd,
                 int dots)
{
	struct sm *s = calloc(1, sizeof *s);

	std_fds();
	if (!s)
		sm_fail(NULL, SM_EX_TEMPFAIL, "out of memory");
	s->o = o;
	setup_conf(s);
	setup_sender(s);
	setup_fullname(s);
	if (hlen > sizeof s->hdr)
		sm_fail(s, SM_EX_DATAERR, "message header section too long");
	memcpy(s->hdr, hdr, hlen);
	s->hlen = hlen;
	s->sep = 1;
	sm_scan_header(s);
	sm_extract(s);
	if (s->rcpts.n == 0)
		sm_fail(s, SM_EX_DATAERR, "no recipients specified");
	open_queue(s);
	sm_in_init(&s->in, fd, dots);
	return finish(s);
}

/* -q: pick up maildrop and retry deferred mail now (postqueue -f). The
 * daemon may be down: then there is nothing to flush, and that is fine. */
static int
flush(const struct sm_opts *o)
{
	struct sm *s = calloc(1, sizeof *s);
	char reply[256];

	if (!s)
		sm_fail(NULL, SM_EX_TEMPFAIL, "out of memory");
	s->o = o;
	setup_conf(s);
	wake_pickup(s->queue_dir);
	if (ctl_request(s->queue_dir, "flush", reply, sizeof reply) < 0)
		log_debug("flush not requested: %s", strerror(errno));
	sm_free(s);
	return 0;
}

/* -bp and -bi are mailq and newaliases (their applets, as Postfix's
 * sendmail runs them); -bs comes with the SMTP server. */
static int
other_mode(const char *flag, int (*fn)(int, char **), const char *name)
{
	char argv0[32];
	char *argv[2] = {argv0, NULL};

	if (!fn) {
		log_error("%s: not available in this version", flag);
		return SM_EX_USAGE;
	}
	str_copy(argv0, sizeof argv0, name);
	return fn(1, argv);
}

int
applet_sendmail_main(int argc, char **argv)
{
	struct sm_opts o;
	int rc;

	std_fds();
	log_init("sendmail", LOG_TO_STDERR);
	if ((rc = sm_parse_opts(argc, argv, &o)) != 0)
		return rc;
	log_set_verbose(o.verbose);
	if (o.config_dir && setenv("TINYMTA_CONFIG_DIR", o.config_dir, 1) < 0)
		log_fatal(SM_EX_SOFTWARE, "setenv: %s", strerror(errno));
	switch (o.mode) {
	case SM_MODE_SMTP:
		return smtpd_local_main(); /* SMTP on stdin/stdout */
	case SM_MODE_PRINT:
		return other_mode("-bp", applet_mailq_main, "mailq");
	case SM_MODE_ALIASES:
		return other_mode("-bi", applet_newaliases_main, "newaliases");
	case SM_MODE_FLUSH:
		return flush(&o);
	case SM_MODE_DELIVER:
		break;
	}
	return submit(&o, argc - o.first_rcpt, argv + o.first_rcpt);
}
