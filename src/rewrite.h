/*
 * rewrite.h - address rewriting with Postfix's semantics:
 *   at queue entry (pickup and smtpd, Postfix's cleanup):
 *     sender_canonical_maps, recipient_canonical_maps, masquerade_domains
 *     on the envelope and on the From/To/Cc/... header fields;
 *   when relaying out (the smtp client only):
 *     smtp_generic_maps and tinymta_sender_address on the envelope and on
 *     the header fields.
 * Lookups as Postfix's canonical(5)/generic(5): user@domain, then user
 * (only when domain is local: $myorigin or $mydestination), then @domain;
 * a result "@other" replaces the domain only. Header fields are parsed with
 * header.c/addr.c (bounded); a field that cannot be parsed is passed on
 * unchanged. Pure apart from map lookups (map.c); no global state.
 */
#ifndef TINYMTA_REWRITE_H
#define TINYMTA_REWRITE_H

#include <stddef.h>
#include <sys/types.h>

#include "conf.h"
#include "qfile.h"

enum rewrite_where {
	RW_ENTRY_SENDER, /* sender_canonical_maps, then masquerade_domains */
	RW_ENTRY_RCPT,   /* recipient_canonical_maps (masquerade: not for
	                  * envelope recipients, as Postfix's default
	                  * masquerade_classes) */
	RW_OUT_SENDER,   /* tinymta_sender_address, else smtp_generic_maps */
	RW_OUT_RCPT,     /* smtp_generic_maps */
};

/* Rewrite one envelope address for where into out. 1: rewritten, 0:
 * unchanged (out holds addr), -1: a map could not be read or gave a
 * result that is not an address, or out is too small (the caller defers;
 * why, when not NULL, says which map and why; out holds addr). The null
 * sender "" never changes; an address addr.c cannot parse is left as it
 * is (0). addr and out must not overlap. A map not built yet (no .cdb)
 * has no entries, as in resolve.c. */
int rewrite_addr(const struct conf *c, enum rewrite_where where,
                 const char *addr, char *out, size_t outlen, char *why,
                 size_t whylen);

/* Header fields, one whole field at a time (name, colon, value, folded
 * continuation lines, LF line ends as in the queue file's content), in
 * the order of the message. Address fields are rewritten for entry
 * (st->out 0: sender_canonical_maps for From, Sender, Reply-To,
 * Errors-To, Return-Receipt-To, Resent-From, Resent-Sender,
 * Resent-Reply-To; recipient_canonical_maps for To, Cc, Bcc,
 * Apparently-To, Resent-To, Resent-Cc, Resent-Bcc; then
 * masquerade_domains for all) or for output (st->out 1); other fields
 * are copied. Only the addr-spec is replaced: display names, comments,
 * groups and folding stay (a long line is not refolded). A mailbox
 * addr.c refuses is left alone, the others in the field are rewritten.
 * rewrite_content (below) is the streaming loop around it.
 * Returns the length written to out (the field to store or send), or -1
 * when out is too small or the field cannot be parsed — then the caller
 * uses the field unchanged — or when a map could not be read: then
 * st->map_err is set and st->why says why, and the caller defers the
 * message (check map_err after every -1).
 * When relaying out with tinymta_sender_address set, each local mailbox
 * of From (domain $myorigin, in $mydestination, or none) becomes that
 * address (display name and comments kept); the other address fields
 * and From's other mailboxes go through smtp_generic_maps. */
struct rewrite_hdr {
	int out;           /* 1: relaying out (RW_OUT_*), 0: queue entry */
	int saw_reply_to;  /* a Reply-To field was seen */
	int from_replaced; /* tinymta_sender_address replaced From */
	int map_err;       /* a lookup table could not be read */
	char why[QFILE_REASON_MAX];         /* map_err: which table and why */
	char orig_from[QFILE_ADDR_MAX + 1]; /* From value, unfolded */
};
void rewrite_hdr_init(struct rewrite_hdr *st, int out);
ssize_t rewrite_header(const struct conf *c, struct rewrite_hdr *st,
                       const char *field, size_t len, char *out, size_t outcap);
/* After the last field: fields to add (LF line ends), e.g. "Reply-To:
 * <original From>" when tinymta_sender_address replaced a local From and
 * the message had no Reply-To. Returns the length (0: nothing). */
ssize_t rewrite_header_end(const struct conf *c, struct rewrite_hdr *st,
                           char *out, size_t outcap);

/* The whole content of r (from its start) passed to emit in pieces,
 * with the header fields rewritten for queue entry (out 0) or relaying
 * out (out 1), including rewrite_header_end's fields at the end of the
 * header. emit returns 0, or -1 to stop (errno kept). Buffers: about
 * 400 KB, mmap'd for the call. Returns 0; -1 a read error or emit
 * failed; -2 a lookup table could not be read (why[whylen] says which):
 * defer the message. The content is canonical (LF line ends); the
 * caller converts for the wire. */
typedef int rewrite_emit_fn(void *ctx, const void *p, size_t n);
int rewrite_content(const struct conf *c, int out, struct qfile_reader *r,
                    rewrite_emit_fn *emit, void *ctx, char *why, size_t whylen);

#endif
