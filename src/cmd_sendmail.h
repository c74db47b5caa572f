/*
 * cmd_sendmail.h - the parts of the sendmail applet (cmd_sendmail*.c):
 * options (cmd_sendmail_opts.c), the standard-input reader
 * (cmd_sendmail_input.c), headers and recipients (cmd_sendmail_hdr.c) and
 * the submission itself (cmd_sendmail.c).
 */
#ifndef TINYMTA_CMD_SENDMAIL_H
#define TINYMTA_CMD_SENDMAIL_H

#include "addr.h"
#include "qfile.h"

#include <stddef.h>
#include <stdint.h>

#define SM_HEADER_MAX (256 * 1024) /* buffered header section */
#define SM_IN_BUF 65536            /* standard-input buffer */
#define SM_RCPT_MAX 20000   /* recipients of one submission, before dedup */
#define SM_FULLNAME_MAX 256 /* -F, $NAME or the GECOS name */
#define SM_ENVID_MAX 100    /* RFC 3461 4.4 */
#define SM_NAME_MAX 256     /* myhostname, myorigin, user name */

/* Exit codes (sysexits.h; DESIGN.md). */
#define SM_EX_USAGE 64
#define SM_EX_DATAERR 65
#define SM_EX_NOUSER 67
#define SM_EX_SOFTWARE 70
#define SM_EX_CANTCREAT 73
#define SM_EX_TEMPFAIL 75
#define SM_EX_CONFIG 78

enum sm_mode {
	SM_MODE_DELIVER, /* -bm, the default */
	SM_MODE_SMTP,    /* -bs */
	SM_MODE_PRINT,   /* -bp: mailq */
	SM_MODE_ALIASES, /* -bi: newaliases */
	SM_MODE_FLUSH,   /* -q */
};

struct sm_opts {
	enum sm_mode mode;
	int extract;            /* -t */
	int ignore_dots;        /* -i, -oi */
	int verbose;            /* -v */
	const char *sender;     /* -f, -r; NULL when not given */
	const char *fullname;   /* -F */
	const char *body;       /* -B: "7BIT" or "8BITMIME", or NULL */
	const char *ret;        /* -R: "FULL" or "HDRS", or NULL */
	const char *envid;      /* -V */
	const char *config_dir; /* -C */
	unsigned notify;        /* -N: QFILE_NOTIFY_* bits, 0 = not given */
	int first_rcpt;         /* argv index of the first recipient */
};

/* Parse argv with getopt semantics (bundled flags, attached or separate
 * values, "--", stop at the first non-option: no GNU permutation).
 * 0, or SM_EX_USAGE after printing why and the usage on stderr. */
int sm_parse_opts(int argc, char **argv, struct sm_opts *o);
void sm_usage(void);

/* The message on standard input, in canonical form: pieces of at most
 * SM_IN_BUF bytes, a line's CRLF turned into LF, a final line without LF
 * given one; with dots set, a line holding only "." ends it. */
struct sm_in {
	int fd;
	int dots;
	int eof;       /* read(2) returned 0 */
	int ended;     /* the message is over */
	int bol;       /* the next piece starts a line */
	uint64_t line; /* line number of the last piece */
	size_t off, len;
	char buf[SM_IN_BUF + 1]; /* + room for a final LF */
};

enum { SM_IN_END = 0, SM_IN_PIECE = 1, SM_IN_ERR = -1, SM_IN_NUL = -2 };

void sm_in_init(struct sm_in *in, int fd, int dots);
/* SM_IN_PIECE: *p, *n hold the next piece (a whole line with its LF when
 * *eol, else part of a longer line); SM_IN_END at the end of the message;
 * SM_IN_ERR with errno on a read error; SM_IN_NUL when the piece (still
 * given in *p, *n) holds a NUL byte, at line in->line. */
int sm_in_next(struct sm_in *in, const char **p, size_t *n, int *eol);

/* A growing list of normalised recipient addresses (malloc'd). */
struct sm_rcpts {
	char **v;
	size_t n, cap;
};

/* The submission in progress: one allocation made by the applet. */
struct sm {
	const struct sm_opts *o;
	unsigned addr_flags; /* ADDR_F_* for every address */
	char myorigin[SM_NAME_MAX];
	char bare_domain[SM_NAME_MAX]; /* for bare recipients (resolve.h) */
	char myhostname[SM_NAME_MAX];
	char user[SM_NAME_MAX];
	char fullname[SM_FULLNAME_MAX + 1];
	char sender[ADDR_TEXT_MAX]; /* "" = the null sender */
	char queue_dir[512];
	char mail_owner[SM_NAME_MAX];
	char maildrop[600];
	long long size_limit; /* 0: none */
	uint64_t size;        /* content bytes stored so far */
	struct sm_rcpts rcpts;
	int writing; /* w holds a temporary file */
	struct qfile_writer w;
	struct sm_in in;
	/* the header section: field lines only, canonical */
	unsigned seen; /* SM_H_* fields present */
	size_t hlen;
	int sep;  /* an empty line ended it */
	int pend; /* a first body line is pending in in */
	const char *pend_p;
	size_t pend_n;
	char hdr[SM_HEADER_MAX];
};

/* Fields whose presence matters (sm_read_header sets s->seen). */
#define SM_H_FROM 1
#define SM_H_DATE 2
#define SM_H_MSGID 4
#define SM_H_RFROM 8
#define SM_H_RDATE 16
#define SM_H_RMSGID 32
#define SM_H_RESENT 64 /* any Resent- field */

/* Print "sendmail: fatal: …", remove the temporary file, exit code. */
_Noreturn void sm_fail(struct sm *s, int code, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

/* Add the addresses of list text[0..len) (an address list, as in To:)
 * to the recipients; what says where they came from, for errors. 0, or
 * the header_err/addr_err text in why[cap] and -1. */
int sm_add_list(struct sm *s, const char *text, size_t len, char *why,
                size_t cap);
/* Parse one address (-f, a user name): "" and "<>" give the null sender.
 * Writes the normalised form to out[ADDR_TEXT_MAX]; 0 or -1 (why set). */
int sm_one_addr(const struct sm *s, const char *text, char *out, char *why,
                size_t cap);
/* Read the header section from s->in into s->hdr (fails 65 when over
 * SM_HEADER_MAX or on a NUL). */
void sm_read_header(struct sm *s);
/* Note the fields of s->hdr whose presence matters (s->seen) and check
 * every field (fails 65 on a malformed one). sm_read_header calls it. */
void sm_scan_header(struct sm *s);
/* With -t, add the recipients of To/Cc/Bcc (or Resent-To/Cc/Bcc when a
 * Resent- field is present); fails 65 on a malformed address header. */
void sm_extract(struct sm *s);
/* Write the header section (Bcc and Resent-Bcc removed, missing Date,
 * From and Message-ID added) and the separator line as content. */
void sm_write_header(struct sm *s);
/* Store content, counting it against message_size_limit. */
void sm_put(struct sm *s, const char *p, size_t n);
/* The mail applet's submission: the header section hdr[0..hlen) is given
 * (field lines with LF ends, no empty line), the recipients are taken from
 * its To/Cc/Bcc as with -t, and the body is read from fd (dots: a line
 * holding only "." ends it). Everything else is sendmail's: o->sender (-r),
 * Bcc removed, Date/Message-ID/From added, exit codes. 0, or it exits. */
int sm_submit_header(const struct sm_opts *o, const char *hdr, size_t hlen,
                     int fd, int dots);
/* Fail for a reader result other than SM_IN_PIECE/SM_IN_END. */
_Noreturn void sm_in_fail(struct sm *s, int r) __attribute__((noreturn));

#endif
