/*
 * header.h - RFC 5322 header section parsing (PURE: no I/O, no globals, no
 * logging). Used by sendmail -t, and later by local delivery (the
 * Delivered-To loop check) and the smtp client (address rewriting).
 *
 * Two layers, both over caller-owned text that need not be NUL-terminated:
 *  - fields: header_next() walks a header section one field at a time
 *    (folded lines included, CRLF or LF line ends), bounded per field;
 *  - addresses: header_addr_next() walks an address-list field value
 *    (To, Cc, Bcc, From, Reply-To, Resent-*) one mailbox at a time:
 *    comments (nested, bounded), groups ("team: a@x, b@y;",
 *    "undisclosed-recipients:;"), display names with quoted strings and
 *    encoded words (left intact), angle addresses with obsolete source
 *    routes (dropped), quoted local parts, obsolete white space and
 *    comments between the tokens of an addr-spec.
 * Mailbox syntax is left to addr.c: header_addr_next hands out the addr-spec
 * with comments and folding white space removed.
 */
#ifndef TINYMTA_HEADER_H
#define TINYMTA_HEADER_H

#include <stddef.h>

/* One field, folded, without its final line end: Postfix's
 * header_size_limit. */
#define HEADER_FIELD_MAX 102400
#define HEADER_NAME_MAX 256     /* field name (RFC 5322 sets no limit) */
#define HEADER_FIELDS_MAX 1000  /* fields in header_split's output */
#define HEADER_COMMENT_DEPTH 32 /* nested comments "(a (b (c)))" */
#define HEADER_ADDR_MAX 1024    /* one extracted addr-spec, as text */

enum header_err {
	HEADER_OK = 0,
	HEADER_END,            /* header_next: no more fields */
	HEADER_ERR_FIELD_LONG, /* a field over HEADER_FIELD_MAX */
	HEADER_ERR_NAME_LONG,  /* a field name over HEADER_NAME_MAX */
	HEADER_ERR_TOO_MANY,   /* header_split: over its capacity */
	HEADER_ERR_QUOTE,      /* unbalanced double quote */
	HEADER_ERR_ANGLE,      /* unbalanced '<' or '>' */
	HEADER_ERR_COMMENT,    /* unterminated comment or stray ')' */
	HEADER_ERR_DEPTH,      /* comments nested over HEADER_COMMENT_DEPTH */
	HEADER_ERR_LITERAL,    /* unterminated domain literal '[' */
	HEADER_ERR_EMPTY,      /* empty address "<>" */
	HEADER_ERR_PHRASE,     /* words without '<addr>' ("John Smith") */
	HEADER_ERR_GROUP,      /* nested group, or text after ';' */
	HEADER_ERR_SYNTAX,     /* anything else: text after '>', stray '\' */
	HEADER_ERR_CTRL,       /* NUL or another control byte */
	HEADER_ERR_ADDR_LONG,  /* addr-spec over HEADER_ADDR_MAX */
};

/* Human text for an error ("unbalanced quotes"). */
const char *header_strerror(enum header_err e);

/* One field; offsets into the section given to header_next. The value
 * runs from value to value_end and keeps its folding (CRLF/LF + WSP); the
 * field with its final line end is [start, end). */
struct header_field {
	size_t start;
	size_t name_len; /* the name is [start, start + name_len) */
	size_t value;    /* after the ':' */
	size_t value_end;
	size_t end;
};

/* 1 when the line at p[0..len) starts a header field: a name of printable
 * ASCII other than ':', then optional WSP (obsolete), then ':'. */
int header_is_field(const char *p, size_t len);

/* Next field of the section buf[0..len) at *pos. HEADER_OK fills *f and
 * advances *pos to f->end; HEADER_END when *pos is at the end of buf, at an
 * empty line, or at a line that is not a field (it is left at *pos: the
 * body starts there, after the empty line when there is one). Errors leave
 * *pos at the field and set *errpos to its start. */
enum header_err header_next(const char *buf, size_t len, size_t *pos,
                            struct header_field *f, size_t *errpos);

/* The whole section: up to cap fields into f[], their number in *n, and in
 * *body_off the offset where the section ends. HEADER_ERR_TOO_MANY when it
 * has more than cap fields. */
enum header_err header_split(const char *buf, size_t len,
                             struct header_field *f, size_t cap, size_t *n,
                             size_t *body_off, size_t *errpos);

/* 1 when field f of buf is named name (ASCII case-insensitive). */
int header_name_is(const char *buf, const struct header_field *f,
                   const char *name);

struct header_addr {
	char addr[HEADER_ADDR_MAX + 1]; /* addr-spec, CFWS removed */
	size_t addr_len;
	/* Where the addr-spec stands in the value, raw: inside the angle
	 * brackets, or from its first token to its last (comments around it
	 * excluded); replacing this span rewrites the address and keeps
	 * display name and comments. */
	size_t spec_off, spec_len;
	size_t name_off, name_len;   /* display name, raw, trimmed; 0 length
	                                when none */
	size_t group_off, group_len; /* the group it is in (raw name) */
	int in_group;
};

/* State of one walk over an address list; zero it to start. */
struct header_addr_iter {
	size_t pos;
	int in_group;
	size_t group_off, group_len;
};

/* Next mailbox of the address list v[0..len): HEADER_OK with *a filled,
 * HEADER_END at the end of the list, or an error with *errpos the offset
 * in v of the construct at fault (the opening quote of an unbalanced
 * quoted string, the '<' without '>'). Empty list elements (",,") and
 * empty groups are skipped, as RFC 5322 4.4 obs-addr-list allows. A ';'
 * outside a group is taken as a separator (a common client habit). */
enum header_err header_addr_next(const char *v, size_t len,
                                 struct header_addr_iter *it,
                                 struct header_addr *a, size_t *errpos);

#endif
