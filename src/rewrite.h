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
 * unchanged (out holds addr), -1: a map could not be read (the caller
 * defers; why says which map and why). The null sender "" never
 * changes. */
int rewrite_addr(const struct conf *c, enum rewrite_where where,
                 const char *addr, char *out, size_t outlen, char *why,
                 size_t whylen);

/* Header fields, one whole field at a time (name, colon, value, folded
 * continuation lines, LF line ends as in the queue file's content), in
 * the order of the message. Address fields (From, Sender, Reply-To, To,
 * Cc, Bcc, Resent-*) are rewritten for entry (RW_ENTRY_*: the sender
 * maps for From/Sender/Reply-To/Resent-From/Resent-Sender, the recipient
 * maps for the others) or for output (RW_OUT_*); other fields are copied.
 * Returns the length written to out (the field to store or send), or -1
 * when out is too small or the field cannot be parsed — then the caller
 * uses the field unchanged. */
struct rewrite_hdr {
	int out;           /* 1: relaying out (RW_OUT_*), 0: queue entry */
	int saw_reply_to;  /* a Reply-To field was seen */
	int from_replaced; /* tinymta_sender_address replaced From */
	char orig_from[QFILE_ADDR_MAX + 1];
};
void rewrite_hdr_init(struct rewrite_hdr *st, int out);
ssize_t rewrite_header(const struct conf *c, struct rewrite_hdr *st,
                       const char *field, size_t len, char *out,
                       size_t outcap);
/* After the last field: fields to add (LF line ends), e.g. "Reply-To:
 * <original From>" when tinymta_sender_address replaced a local From and
 * the message had no Reply-To. Returns the length (0: nothing). */
ssize_t rewrite_header_end(const struct conf *c, struct rewrite_hdr *st,
                           char *out, size_t outcap);

#endif
