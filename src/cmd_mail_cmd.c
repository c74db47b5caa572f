/*
 * cmd_mail_cmd.c - the mail applet's reading session: the header summary
 * (-H), and the commands read from standard input, from a person on a
 * terminal (a "& " prompt) or from a script: a number, p/t, h, n/+, -,
 * d, u, s, r, q, x, ?. Output fits an 80-column serial console; message
 * text sent to a terminal has its control bytes made visible.
 * Runs as the invoking user. Untrusted: the commands (bounded lines) and
 * the mailbox content (see cmd_mail_box.c).
 */
#include "cmd_mail.h"
#include "cmd_sendmail.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RD_BUF 4096

/* Standard input, read in pieces; no byte is read past what is used
 * except into buf, which both commands and reply bodies share. */
struct rd {
	int fd;
	int tty;
	int eof;
	size_t off, len;
	char buf[RD_BUF];
};

struct sess {
	struct mail_box *b;
	struct rd in;
	size_t cur;            /* the current message, 0-based */
	int touched;           /* cur was printed or chosen by the user */
	int tty_out;           /* stdout is a terminal: filter control bytes */
	size_t last_deleted;   /* for `u` without a number; SIZE_MAX: none */
	int quit;              /* 1 q (apply), 2 x (discard) */
	const char *save_file; /* `s`: the target, and how it went */
	int save_new, save_failed;
	char line[MAIL_LINE_MAX];
};

/* The next piece of input: up to and including a LF, or what the buffer
 * holds of a longer line. 1 (*eol set when it ends a line), 0 at the end
 * of input, -1 on a read error. On a terminal, Ctrl-D ends the input only
 * once: the next call reads again. */
static int
rd_piece(struct rd *r, const char **p, size_t *n, int *eol)
{
	for (;;) {
		char *s = r->buf + r->off;
		size_t avail = r->len - r->off;
		char *lf = memchr(s, '\n', avail);
		ssize_t got;

		if (lf || (avail > 0 && (r->eof || avail == RD_BUF))) {
			*n = lf ? (size_t)(lf - s) + 1 : avail;
			*eol = lf != NULL;
			*p = s;
			r->off += *n;
			return 1;
		}
		if (r->eof) {
			r->eof = !r->tty;
			return 0;
		}
		memmove(r->buf, s, avail);
		r->off = 0;
		r->len = avail;
		got = io_read(r->fd, r->buf + r->len, RD_BUF - r->len);
		if (got < 0)
			return -1;
		if (got == 0)
			r->eof = 1;
		r->len += (size_t)got;
	}
}

/* One command line, without its LF, into s->line. 1, 0 at the end of
 * input, -1 for a line too long (skipped). */
static int
rd_line(struct sess *s)
{
	size_t len = 0;
	int over = 0, eol = 0, r;
	const char *p;
	size_t n;

	while (!eol && (r = rd_piece(&s->in, &p, &n, &eol)) > 0) {
		if (eol)
			n--;
		if (n > 0 && eol && p[n - 1] == '\r')
			n--;
		if (over || n >= sizeof s->line - len) {
			over = 1;
			continue;
		}
		memcpy(s->line + len, p, n);
		len += n;
	}
	if (!eol && len == 0 && !over)
		return 0;
	s->line[len] = '\0';
	if (over) {
		log_error("command line longer than %d bytes: ignored",
		          MAIL_LINE_MAX - 1);
		return -1;
	}
	return 1;
}

static char
status_of(const struct mail_msg *m)
{
	if (m->flags & MAIL_F_DELETED)
		return 'D';
	if (m->flags & MAIL_F_READ)
		return 'R';
	return (m->flags & MAIL_F_SEEN) ? ' ' : 'N';
}

static void
summary(struct sess *s, size_t i)
{
	const struct mail_msg *m = &s->b->ix.v[i];
	struct mail_summary sum;
	char line[2 * MAIL_COLS + MAIL_SUM_SUBJ];

	if (mail_box_summary(s->b, i, &sum) < 0)
		return;
	mail_summary_line(line, sizeof line, i == s->cur, status_of(m), i + 1,
	                  &sum, m->lines, m->end - m->start, MAIL_COLS);
	puts(line);
}

/* ---- message lists: "3", "2-5", "*", ".", "$", several ---- */

/* Parse one word into [*lo, *hi] (0-based). 0, or -1 after saying why. */
static int
list_word(struct sess *s, const char *w, size_t *lo, size_t *hi)
{
	size_t n = s->b->ix.n;
	char a[16], *dash;
	uint32_t x, y;

	if (n == 0) {
		puts("No messages");
		return -1;
	}
	if (strcmp(w, "*") == 0) {
		*lo = 0;
		*hi = n - 1;
		return 0;
	}
	if (strcmp(w, ".") == 0 || strcmp(w, "$") == 0) {
		*lo = *hi = w[0] == '.' ? s->cur : n - 1;
		return 0;
	}
	if (str_copy(a, sizeof a, w) < 0)
		goto bad;
	dash = strchr(a, '-');
	if (dash)
		*dash++ = '\0';
	if (scan_u32(a, &x) < 0 || (dash && scan_u32(dash, &y) < 0))
		goto bad;
	if (!dash)
		y = x;
	if (x < 1 || y < x || y > n) {
		printf("%s: Invalid message number\n", w);
		return -1;
	}
	*lo = x - 1;
	*hi = y - 1;
	return 0;
bad:
	printf("%.40s: not a message number\n", w);
	return -1;
}

/* Apply fn to every message of the list in args (none: the current
 * one). Every word is checked first: nothing is done when one is wrong. */
static int
for_list(struct sess *s, char *args, void (*fn)(struct sess *, size_t))
{
	char copy[MAIL_LINE_MAX], *w, *save = NULL;
	size_t lo, hi;
	int any = 0;

	str_copy(copy, sizeof copy, args);
	for (int pass = 0; pass < 2; pass++) {
		str_copy(copy, sizeof copy, args);
		for (w = strtok_r(copy, " \t", &save); w;
		     w = strtok_r(NULL, " \t", &save)) {
			if (list_word(s, w, &lo, &hi) < 0)
				return -1;
			for (size_t i = lo; pass == 1 && i <= hi; i++)
				fn(s, i);
			any = 1;
		}
	}
	if (!any) {
		if (s->b->ix.n == 0) {
			puts("No messages");
			return -1;
		}
		fn(s, s->cur);
	}
	return 0;
}

/* ---- the commands ---- */

static void
print_one(struct sess *s, size_t i)
{
	struct mail_msg *m = &s->b->ix.v[i];

	if (m->flags & MAIL_F_DELETED) {
		printf("%zu: Inappropriate message\n", i + 1);
		return;
	}
	printf("Message %zu:\n", i + 1);
	mail_box_print(s->b, i, stdout, s->tty_out);
	m->flags |= MAIL_F_READ;
	s->cur = i;
	s->touched = 1;
}

static void
cmd_print(struct sess *s, char *args)
{
	for_list(s, args, print_one);
}

static void
cmd_headers(struct sess *s, char *args)
{
	size_t first, lo, hi;

	if (s->b->ix.n == 0) {
		puts("No messages");
		return;
	}
	lo = s->cur;
	if (*args && list_word(s, args, &lo, &hi) < 0)
		return;
	first = lo / MAIL_SCREEN * MAIL_SCREEN;
	for (size_t i = first; i < s->b->ix.n && i < first + MAIL_SCREEN; i++)
		summary(s, i);
}

/* The next (dir 1) or previous (dir -1) message not deleted from i, i
 * itself included when self; SIZE_MAX when none. */
static size_t
step(const struct sess *s, size_t i, int dir, int self)
{
	const struct mail_index *ix = &s->b->ix;

	if (!self) {
		if ((dir < 0 && i == 0) || (dir > 0 && i + 1 >= ix->n))
			return SIZE_MAX;
		i += (size_t)(ptrdiff_t)dir;
	}
	/* loop invariant: i < ix->n */
	while (i < ix->n && (ix->v[i].flags & MAIL_F_DELETED)) {
		if (dir < 0 && i == 0)
			return SIZE_MAX;
		i += (size_t)(ptrdiff_t)dir;
	}
	return i < ix->n ? i : SIZE_MAX;
}

static void
cmd_next(struct sess *s, char *args)
{
	size_t i;

	(void)args;
	if (s->b->ix.n == 0) {
		puts("No messages");
		return;
	}
	i = step(s, s->cur, 1, !s->touched);
	if (i == SIZE_MAX) {
		puts("At EOF");
		return;
	}
	print_one(s, i);
}

static void
cmd_prev(struct sess *s, char *args)
{
	size_t i;

	(void)args;
	i = s->b->ix.n ? step(s, s->cur, -1, 0) : SIZE_MAX;
	if (i == SIZE_MAX) {
		puts("Referencing before 1");
		return;
	}
	print_one(s, i);
}

static void
delete_one(struct sess *s, size_t i)
{
	s->b->ix.v[i].flags |= MAIL_F_DELETED;
	s->last_deleted = i;
}

static void
cmd_delete(struct sess *s, char *args)
{
	size_t i;

	if (for_list(s, args, delete_one) < 0)
		return;
	if (s->b->ix.v[s->cur].flags & MAIL_F_DELETED) {
		/* mailx: the current message becomes the next one left */
		i = step(s, s->cur, 1, 0);
		if (i == SIZE_MAX)
			i = step(s, s->cur, -1, 0);
		if (i != SIZE_MAX)
			s->cur = i;
		s->touched = 0;
	}
}

static void
undelete_one(struct sess *s, size_t i)
{
	s->b->ix.v[i].flags &= ~(unsigned)MAIL_F_DELETED;
	s->cur = i;
	s->touched = 1;
}

static void
cmd_undelete(struct sess *s, char *args)
{
	if (*args == '\0') {
		if (s->last_deleted == SIZE_MAX ||
		    !(s->b->ix.v[s->last_deleted].flags & MAIL_F_DELETED)) {
			puts("No deleted message to undelete");
			return;
		}
		undelete_one(s, s->last_deleted);
		return;
	}
	for_list(s, args, undelete_one);
}

/* Split `s [list] file`: the file is the last word. */
static char *
save_target(char *args, char **list)
{
	char *end = args + strlen(args), *w;

	while (end > args && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (end == args)
		return NULL;
	w = end;
	while (w > args && w[-1] != ' ' && w[-1] != '\t')
		w--;
	*list = w > args ? args : end; /* "s file": the current message */
	if (w > args)
		w[-1] = '\0';
	return w;
}

static void
save_one(struct sess *s, size_t i)
{
	int created = 0;

	if (s->save_failed)
		return;
	if (s->b->ix.v[i].flags & MAIL_F_DELETED) {
		printf("%zu: Inappropriate message\n", i + 1);
		return;
	}
	if (mail_box_save(s->b, i, s->save_file, &created) < 0) {
		s->save_failed = 1;
		return;
	}
	s->save_new |= created;
	printf("\"%s\" [%s] %lu/%llu\n", s->save_file,
	       s->save_new ? "New file" : "Appended",
	       (unsigned long)s->b->ix.v[i].lines,
	       (unsigned long long)(s->b->ix.v[i].end - s->b->ix.v[i].start));
}

static void
cmd_save(struct sess *s, char *args)
{
	char copy[MAIL_LINE_MAX], *list = NULL;

	str_copy(copy, sizeof copy, args);
	s->save_file = save_target(copy, &list);
	if (!s->save_file) {
		puts("usage: s [MESSAGE...] FILE");
		return;
	}
	s->save_new = s->save_failed = 0;
	for_list(s, list, save_one);
}

/* The reply body from standard input into fd, until a line holding only
 * "." or the end of input. 0 or -1. */
static int
read_body(struct sess *s, int fd)
{
	const char *p;
	size_t n;
	int eol, bol = 1, r;

	while ((r = rd_piece(&s->in, &p, &n, &eol)) > 0) {
		if (bol && eol &&
		    ((n == 2 && p[0] == '.') ||
		     (n == 3 && p[0] == '.' && p[1] == '\r')))
			return 0;
		if (io_write_all(fd, p, n) < 0)
			return -1;
		bol = eol;
	}
	return r;
}

/* A temporary file, already unlinked, for a reply body. */
static int
body_file(void)
{
	const char *dir = getenv("TMPDIR");
	char path[512];
	int fd;

	if (!dir || !*dir || strlen(dir) > 400)
		dir = "/tmp";
	snprintf(path, sizeof path, "%s/mail.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		log_error("cannot create a temporary file in %s: %s", dir,
		          strerror(errno));
		return -1;
	}
	unlink(path);
	return fd;
}

static void
reply_one(struct sess *s, size_t i)
{
	char hdr[MAIL_LIST_MAX + 2 * MAIL_SUM_SUBJ + 64];
	char to[MAIL_SUM_SUBJ], subj[MAIL_SUM_SUBJ];
	size_t fln, hn;
	int len, fd, rc;

	if (mail_box_head(s->b, i, s->b->fl, sizeof s->b->fl, &fln, s->b->hbuf,
	                  sizeof s->b->hbuf, &hn) < 0)
		return;
	len = mail_reply_header(s->b->fl, fln, s->b->hbuf, hn, hdr, sizeof hdr,
	                        to, sizeof to, subj, sizeof subj);
	if (len < 0) {
		printf("%zu: no sender address to reply to\n", i + 1);
		return;
	}
	s->cur = i;
	s->touched = 1;
	if (s->in.tty)
		printf("To: %s\nSubject: %s\n(end with a line holding only "
		       "\".\" or with Ctrl-D)\n",
		       to, subj);
	fflush(stdout);
	if ((fd = body_file()) < 0)
		return;
	if (read_body(s, fd) < 0) {
		log_error("reply not sent: cannot keep its text: %s",
		          strerror(errno));
		io_close(fd);
		return;
	}
	rc = mail_submit_child(hdr, (size_t)len, fd);
	io_close(fd);
	if (rc != 0)
		log_error("reply to %s not sent (exit %d)", to, rc);
	else if (s->in.tty)
		puts("EOT");
}

static void
cmd_reply(struct sess *s, char *args)
{
	size_t lo, hi;

	if (s->b->ix.n == 0) {
		puts("No messages");
		return;
	}
	lo = s->cur;
	if (*args && list_word(s, args, &lo, &hi) < 0)
		return;
	if (s->b->ix.v[lo].flags & MAIL_F_DELETED) {
		printf("%zu: Inappropriate message\n", lo + 1);
		return;
	}
	reply_one(s, lo);
}

static void
cmd_quit(struct sess *s, char *args)
{
	(void)args;
	s->quit = 1;
}

static void
cmd_exit(struct sess *s, char *args)
{
	(void)args;
	s->quit = 2;
}

static void
cmd_help(struct sess *s, char *args)
{
	(void)s;
	(void)args;
	fputs("N          print message N (also p N, t N; p alone: the "
	      "current one)\n"
	      "h [N]      headers (the page with N)\n"
	      "n, +, Enter  next message    -  previous message\n"
	      "d [N…]     delete (N, N-M, *, $)   u [N…]  undelete\n"
	      "s [N…] FILE  append to FILE (mbox); the message stays here\n"
	      "r [N]      reply to the sender; text up to a \".\" line\n"
	      "q          quit, applying deletions   x  quit, changing "
	      "nothing\n",
	      stdout);
}

static const struct cmd {
	const char *name;
	void (*fn)(struct sess *, char *);
} cmds[] = {
    {"p", cmd_print},    {"print", cmd_print},
    {"t", cmd_print},    {"type", cmd_print},
    {"h", cmd_headers},  {"headers", cmd_headers},
    {"n", cmd_next},     {"next", cmd_next},
    {"+", cmd_next},     {"-", cmd_prev},
    {"d", cmd_delete},   {"delete", cmd_delete},
    {"u", cmd_undelete}, {"undelete", cmd_undelete},
    {"s", cmd_save},     {"save", cmd_save},
    {"r", cmd_reply},    {"reply", cmd_reply},
    {"R", cmd_reply},    {"Reply", cmd_reply},
    {"q", cmd_quit},     {"quit", cmd_quit},
    {"x", cmd_exit},     {"ex", cmd_exit},
    {"exit", cmd_exit},  {"xit", cmd_exit},
    {"?", cmd_help},     {"help", cmd_help},
};

static void
run_line(struct sess *s, char *line)
{
	char *p = line, *args;
	char name[16];
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		cmd_next(s, p);
		return;
	}
	if (*p >= '0' && *p <= '9') {
		cmd_print(s, p);
		return;
	}
	n = (*p == '+' || *p == '-' || *p == '?') ? 1
	                                          : strcspn(p, " \t0123456789");
	args = p + n;
	while (*args == ' ' || *args == '\t')
		args++;
	if (str_copy_n(name, sizeof name, p, n) >= 0)
		for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
			if (strcmp(name, cmds[i].name) == 0) {
				cmds[i].fn(s, args);
				return;
			}
	printf("Unknown command: \"%.*s\" (? for help)\n", n > 40 ? 40 : (int)n,
	       p);
}

/* The first message not read before, else the first one. */
static size_t
first_current(const struct mail_index *ix)
{
	for (size_t i = 0; i < ix->n; i++)
		if (!(ix->v[i].flags & MAIL_F_SEEN))
			return i;
	return 0;
}

static void
banner(struct sess *s)
{
	size_t fresh = 0;

	for (size_t i = 0; i < s->b->ix.n; i++)
		fresh += !(s->b->ix.v[i].flags & MAIL_F_SEEN);
	printf("\"%s\": %zu message%s %zu new\n", s->b->path, s->b->ix.n,
	       s->b->ix.n == 1 ? "" : "s", fresh);
	cmd_headers(s, "");
}

int
mail_read_main(struct mail_box *b, int mode)
{
	struct sess *s = calloc(1, sizeof *s);
	int r, rc = 0;

	if (!s) {
		log_error("out of memory");
		return SM_EX_TEMPFAIL;
	}
	s->b = b;
	s->in.fd = 0;
	s->in.tty = isatty(0);
	s->tty_out = isatty(1);
	s->last_deleted = SIZE_MAX;
	s->cur = first_current(&b->ix);
	if (mode == 1) {
		for (size_t i = 0; i < b->ix.n; i++)
			summary(s, i);
		free(s);
		return 0;
	}
	if (mode == 0)
		banner(s);
	while (!s->quit) {
		if (s->in.tty) {
			fputs("& ", stdout);
			fflush(stdout);
		}
		fflush(stdout);
		r = rd_line(s);
		if (r == 0) {
			if (s->in.tty)
				putchar('\n');
			s->quit = 1; /* the end of input: as q */
			break;
		}
		if (r > 0)
			run_line(s, s->line);
	}
	fflush(stdout);
	if (s->quit == 1)
		rc = mail_box_commit(b);
	free(s);
	return rc;
}
