/*
 * pop3_mbox.h - the pure parts of reading an mboxrd mailbox (mbox.h) for
 * POP3 (PURE: no I/O, no globals, no logging; used by pop3d, the unit
 * tests and the fuzzer).
 *
 * The index: pop3_scan is fed the mailbox in pieces and reports each
 * message: where its record starts (the From_ line), where its content
 * starts (after the From_ line) and ends (before the blank line that
 * separates records), its size as POP3 sends it (">From " unescaped, LF
 * as CRLF, RFC 1939 section 5 LIST) and a 64-bit FNV-1a hash of the record
 * (From_ line and content) from which pop3d makes the UIDL. A From_ line is
 * any line that starts with "From " (mboxrd: such lines in the content
 * were escaped to ">From " by the writer); bytes before the first one are
 * not a message.
 *
 * The renderer: pop3_render turns stored content into what RETR and TOP
 * send: one '>' removed from lines matching ^>+From  (mbox only), a '.'
 * doubled at the start of a line (RFC 1939 section 3 byte-stuffing), LF
 * as CRLF; for TOP only the header, the blank line and N body lines.
 */
#ifndef TINYMTA_POP3_MBOX_H
#define TINYMTA_POP3_MBOX_H

#include <stddef.h>
#include <stdint.h>

struct pop3_msg {
	uint64_t start; /* offset of the From_ line (mbox; 0 for Maildir) */
	uint64_t body;  /* offset of the content */
	uint64_t end;   /* end of the content */
	uint64_t size;  /* octets as sent by RETR, without the final "." */
	uint64_t hash;  /* FNV-1a 64 of [start, end) */
};

/* Called for each complete message: 0 to go on, -1 to stop the scan. */
typedef int (*pop3_scan_fn)(void *arg, const struct pop3_msg *m);

/* Scanner state; all fields private. */
struct pop3_scan {
	pop3_scan_fn emit;
	void *arg;
	uint64_t off, line_start, pend_off;
	int bol, prefix, in_msg, from_line, nonblank, pend_blank, stopped;
	unsigned gt, match, nheld;
	char held[5];
	struct pop3_msg cur;
};

void pop3_scan_init(struct pop3_scan *s, pop3_scan_fn emit, void *arg);
/* Feed the next len bytes of the mailbox. 0, or -1 when emit stopped. */
int pop3_scan_feed(struct pop3_scan *s, const char *p, size_t len);
/* The end of the mailbox: reports the last message. 0 or -1 as above. */
int pop3_scan_end(struct pop3_scan *s);

/* FNV-1a 64, for callers that hash more (Maildir sizes use none). */
#define POP3_FNV_OFFSET 0xcbf29ce484222325ULL
#define POP3_FNV_PRIME 0x100000001b3ULL

/* The most one input byte can produce: a held '>' and "From" (5), the
 * byte, a stuffed '.', CRLF. */
#define POP3_RENDER_SLACK 16

struct pop3_render {
	int unescape;      /* mboxrd: remove one '>' from ^>+From  lines */
	int64_t top_lines; /* TOP: body lines still to send; -1 all (RETR) */
	int in_hdr;        /* still in the header section */
	int bol, held_gt, nonblank;
	unsigned match;
	uint64_t out_lines; /* lines produced (for tests) */
	int done;           /* TOP has sent what it must */
};

void pop3_render_init(struct pop3_render *r, int unescape, int64_t top_lines);
/* Render in[0..len) into out[cap] (cap >= POP3_RENDER_SLACK): returns the
 * input bytes consumed, *outlen the bytes written. Consumes less than len
 * only when out is nearly full or r->done. */
size_t pop3_render_feed(struct pop3_render *r, const char *in, size_t len,
                        char *out, size_t cap, size_t *outlen);
/* The content ended: a last line without LF gets its CRLF; what was held
 * is written. out[cap >= POP3_RENDER_SLACK]; returns the bytes written. */
size_t pop3_render_end(struct pop3_render *r, char *out, size_t cap);

/* The wire size of content without escaping (Maildir): feed the bytes,
 * then the end. State: *bol (start 1), returns the octets to add. */
uint64_t pop3_wire_size(const char *p, size_t len, int *last_lf);

#endif
