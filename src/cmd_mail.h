/*
 * cmd_mail.h - the parts of the mail applet, a mailx subset:
 * cmd_mail.c (options, dispatch, usage), cmd_mail_send.c (sending and
 * replies through sendmail's submission path), cmd_mail_index.c (PURE:
 * From_ lines, the index of an mbox, mboxrd unescaping, summary lines),
 * cmd_mail_box.c (the mailbox file: lock, index, print, save, and the
 * rewrite that applies deletions) and cmd_mail_cmd.c (the command loop).
 */
#ifndef TINYMTA_CMD_MAIL_H
#define TINYMTA_CMD_MAIL_H

#include "mbox.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define MAIL_MSG_MAX                                                           \
	20000                  /* messages indexed (40 bytes each); beyond:    \
	                          a warning, the rest kept as it is */
#define MAIL_LINE_MAX 1024     /* one command line */
#define MAIL_HDR_SCAN 16384    /* header bytes read for a summary or reply */
#define MAIL_FROMLINE_MAX 1024 /* bytes of a From_ line looked at */
#define MAIL_COLS 80           /* a serial console */
#define MAIL_SCREEN 20         /* summary lines per `h` page */
#define MAIL_SUBJ_MAX 998      /* the Subject given with -s (RFC 5322 2.1.1) */
#define MAIL_LIST_MAX 8192     /* a To/Cc/Bcc list built from arguments */

/* Exit codes beyond cmd_sendmail.h's (sysexits.h). */
#define MAIL_EX_NOINPUT 66 /* -f FILE cannot be opened */
#define MAIL_EX_IOERR 74

/* Message flags. */
#define MAIL_F_DELETED 1
#define MAIL_F_SEEN 2 /* a Status: field with R: read before */
#define MAIL_F_READ 4 /* printed in this session */

/* One message of an mbox: offsets in the file. */
struct mail_msg {
	uint64_t start; /* its From_ line */
	uint64_t hdr;   /* the header section, after the From_ line */
	uint64_t cend;  /* end of the content: the blank separator line that
	                   precedes the next From_ line is not content */
	uint64_t end;   /* the next From_ line, or the end of the indexed
	                   part */
	uint32_t lines; /* lines of [start, cend) */
	unsigned flags;
	uint32_t name; /* a Maildir's: offset of "new/NAME" in the names */
};

/* The index: bounded by max messages; the part of the file after the last
 * indexed message ([end, file size)) is never interpreted, only kept. */
struct mail_index {
	struct mail_msg *v; /* malloc'd, grows up to max */
	size_t n, cap, max;
	int over;     /* the file holds more than max messages */
	uint64_t end; /* end of the indexed part */
};

void mail_index_init(struct mail_index *ix, size_t max);
void mail_index_free(struct mail_index *ix);

/*
 * The index builder (PURE): feed the file's bytes in order, in pieces of
 * any size. A message starts at a line beginning "From " that is the
 * first line of the file or follows an empty line (mboxrd: a "From " line
 * inside a message is escaped as ">From "). A Status: field of the header
 * section holding R sets MAIL_F_SEEN.
 */
#define MAIL_SCAN_HEAD 7 /* bytes of a line needed to classify it */

struct mail_scan {
	struct mail_index *ix;
	uint64_t off;        /* offset of the next byte */
	uint64_t line_start; /* offset of the current line */
	uint64_t empty_at;   /* offset of the last empty line */
	int bol;             /* the next byte starts a line */
	int decided;         /* the current line is classified */
	int status;          /* the current line is a Status: field */
	int cur_empty;       /* the current line is empty */
	int prev_empty;      /* the line before it was empty */
	int in_hdr;          /* inside the header section */
	int want_hdr;        /* the current line is a From_ line */
	int done;            /* over max, or not an mbox: stop looking */
	int bad;             /* the data does not start with a From_ line */
	int nomem;
	size_t hn;
	char head[MAIL_SCAN_HEAD];
};

enum mail_scan_err {
	MAIL_SCAN_OK = 0,
	MAIL_SCAN_NOT_MBOX, /* does not start with a From_ line */
	MAIL_SCAN_NOMEM,
};

void mail_scan_init(struct mail_scan *s, struct mail_index *ix);
void mail_scan_feed(struct mail_scan *s, const char *p, size_t n);
/* The data ended: completes the last message and ix->end. */
enum mail_scan_err mail_scan_end(struct mail_scan *s);

/* 1 when p[0..n) (a line, or its start) begins "From ". */
int mail_is_from_line(const char *p, size_t n);

/*
 * mboxrd unescaping (PURE), streaming: one '>' is removed from every line
 * that matches ^>+From . Output goes to put(ctx, bytes, len).
 */
typedef void (*mail_put_fn)(void *ctx, const char *p, size_t n);

struct mail_unesc {
	int escape;    /* mail_esc_init: add a '>' instead */
	int bol;       /* at the start of a line */
	size_t gt;     /* '>' held at the start of the line */
	unsigned from; /* bytes of "From " matched after them */
};

void mail_unesc_init(struct mail_unesc *u);
/* The other way (a Maildir message saved to an mbox): one '>' is added to
 * every line that matches ^>*From , as mbox.c writes. */
void mail_esc_init(struct mail_unesc *u);
void mail_unesc_feed(struct mail_unesc *u, const char *p, size_t n,
                     mail_put_fn put, void *ctx);
/* The data ended: release what is held. */
void mail_unesc_end(struct mail_unesc *u, mail_put_fn put, void *ctx);

/* The fields of one summary line, printable ASCII. */
#define MAIL_SUM_FROM 64
#define MAIL_SUM_DATE 16
#define MAIL_SUM_SUBJ 256
struct mail_summary {
	char from[MAIL_SUM_FROM];
	char date[MAIL_SUM_DATE]; /* "Nov 29 16:45" */
	char subject[MAIL_SUM_SUBJ];
};

/* PURE: the summary of one message from its From_ line fl[0..fln) (with
 * or without its LF) and (part of) its header section h[0..hn). From: the
 * From: address, else the From_ sender; date: the From_ line's, else the
 * Date: field's; subject unfolded. Control and 8-bit bytes become '?'. */
void mail_summary_parse(const char *fl, size_t fln, const char *h, size_t hn,
                        struct mail_summary *s);

/* PURE: one summary line, without LF, at most cols - 1 characters:
 * ">N   3 from                 Nov 29 16:45   12/345  subject"
 * cur: '>' for the current message; status: 'N' new, 'R' read in this
 * session, 'D' deleted, ' ' old. out[cap] is always terminated. */
void mail_summary_line(char *out, size_t cap, int cur, char status, size_t num,
                       const struct mail_summary *s, uint32_t lines,
                       uint64_t size, size_t cols);

/* PURE: copy src[0..n) into dst[cap] as one printable line: folding and
 * runs of white space become one space, other control and 8-bit bytes
 * '?', leading and trailing space removed. */
void mail_clean(char *dst, size_t cap, const char *src, size_t n);
/* The same, but 8-bit bytes are kept (text for a header, not a screen). */
void mail_unfold(char *dst, size_t cap, const char *src, size_t n);

/* ---- the mailbox file (cmd_mail_box.c) ---- */

struct mail_box {
	char path[MBOX_PATH_MAX];
	int fd;      /* the mbox file, or the Maildir directory */
	int maildir; /* a Maildir: each message is a file (start 0, end
	                its size, no From_ line, no escaping) */
	char *names; /* a Maildir's "new/NAME" or "cur/NAME", each with a
	                NUL (malloc'd, bounded by the index) */
	size_t names_len, names_cap;
	int rdonly; /* opened read-only: no deletions */
	int system; /* the user's own mailbox (missing = no mail) */
	dev_t dev;  /* the file we indexed */
	ino_t ino;
	uint64_t size; /* its size when indexed */
	struct mail_index ix;
	char buf[MBOX_BUF_SIZE];
	char fl[MAIL_FROMLINE_MAX]; /* mail_box_summary's */
	char hbuf[MAIL_HDR_SCAN];
};

/* Open, lock (dotlock when it can be made, then fcntl), index, unlock. 0,
 * or an exit code after saying why on stderr. A missing system mailbox is
 * an empty one. */
int mail_box_load(struct mail_box *b, const char *path, int system);
/* Print message i (0-based): its From_ line, then its content unescaped;
 * with filter, control bytes other than TAB and LF become '?'. 0 or -1. */
int mail_box_print(struct mail_box *b, size_t i, FILE *out, int filter);
/* Read message i's From_ line and the start of its header section into
 * fl[flcap] and h[hcap]; their lengths in *fln, *hn. 0 or -1. */
int mail_box_head(struct mail_box *b, size_t i, char *fl, size_t flcap,
                  size_t *fln, char *h, size_t hcap, size_t *hn);
int mail_box_summary(struct mail_box *b, size_t i, struct mail_summary *s);
/* Append message i to file in mbox format (locked like a mailbox). 0,
 * or -1 after saying why; *created set when the file is new. */
int mail_box_save(struct mail_box *b, size_t i, const char *file, int *created);
/* Apply the deletions: rewrite the file under the locks delivery uses
 * (new file, fsync, rename), keeping every other byte, including mail
 * delivered since the index was made. 0, or an exit code after saying
 * why (nothing changed then). */
int mail_box_commit(struct mail_box *b);
void mail_box_close(struct mail_box *b);

/* ---- a Maildir (cmd_mail_maildir.c) ---- */

/* Index the files of new/ and cur/ (b->fd: the directory), in delivery
 * order. 0 or an exit code after saying why. */
int mail_md_load(struct mail_box *b);
/* Open message i read-only: a descriptor, or -1 after saying why. */
int mail_md_open(struct mail_box *b, size_t i);
/* Unlink the deleted messages. 0 or an exit code. */
int mail_md_commit(struct mail_box *b);

/* ---- the command loop (cmd_mail_cmd.c) ---- */

/* mode 0: a banner and the first page of headers, then commands; 1 (-H):
 * every summary line, no commands; 2 (-N): commands at once. Returns the
 * exit code. */
int mail_read_main(struct mail_box *b, int mode);

/* ---- sending (cmd_mail_send.c) ---- */

struct mail_send {
	const char *subject; /* NULL: asked for on a terminal */
	const char *from;    /* -r */
	const char *cc[64];
	const char *bcc[64];
	size_t ncc, nbcc;
};

/* mail -s … to…: the body from standard input. Exits on failure with
 * sendmail's codes; 0 on success. */
int mail_send_main(const struct mail_send *m, int nto, char **to);

/* Build the reply header to message i (To: the Reply-To or From
 * address, Subject "Re: …", In-Reply-To and References) into out[cap];
 * its length, or -1 when the message names nobody to reply to. The To
 * text goes to to[tocap], the subject to subj[scap] (for display). */
int mail_reply_header(const char *fl, size_t fln, const char *h, size_t hn,
                      char *out, size_t cap, char *to, size_t tocap, char *subj,
                      size_t scap);
/* Submit a message with header hdr[0..hlen) and the body in fd (read from
 * its start) in a child process; its exit code. */
int mail_submit_child(const char *hdr, size_t hlen, int fd);

#endif
