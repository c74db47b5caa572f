/*
 * addr.h - RFC 5321 mailbox and path parsing and normalisation (PURE: no
 * I/O, no globals, no logging). Used by sendmail (command line, -f, the
 * addresses header.c extracts for -t), by smtpd for MAIL FROM/RCPT TO
 * paths, and by the fuzzer.
 *
 * Grammar (RFC 5321 4.1.2, 4.1.3):
 *   Mailbox    = Local-part "@" ( Domain / address-literal )
 *   Local-part = Dot-string / Quoted-string
 *   Domain     = sub-domain *("." sub-domain), LDH labels of 1..63 octets
 *   address-literal = "[" IPv4 "]" / "[IPv6:" IPv6 "]"
 *   Path       = "<" [ A-d-l ":" ] Mailbox ">"   (the source route dropped)
 *
 * The normal form: the local part is kept as decoded text (quotes and
 * quoted-pairs removed; addr_format quotes it again only when it is not a
 * valid Dot-string), the domain is lowercased ("IPv6:" keeps its spelling
 * in literals).
 */
#ifndef TINYMTA_ADDR_H
#define TINYMTA_ADDR_H

#include <stddef.h>

/* RFC 5321 4.5.3.1.1 says 64; it asks servers to accept more, and SRS or
 * VERP addresses need it (DESIGN.md: 256). Counted in decoded octets. */
#define ADDR_LOCAL_MAX 256
#define ADDR_DOMAIN_MAX 255 /* RFC 5321 4.5.3.1.2 */
#define ADDR_LABEL_MAX 63   /* RFC 1035 2.3.4 */
/* addr_format: a quoted local part, '@', the domain and the NUL. */
#define ADDR_TEXT_MAX (2 * ADDR_LOCAL_MAX + 2 + 1 + ADDR_DOMAIN_MAX + 1)

/* Flags for addr_parse and addr_parse_path. */
#define ADDR_F_UTF8 1        /* allow well-formed UTF-8 (RFC 6531) */
#define ADDR_F_BARE 2        /* allow a local part without "@domain" */
#define ADDR_F_OBS 4         /* tolerate "a..b", ".a", "a." (RFC 5322 obs) */
#define ADDR_F_NULL 8        /* path: allow "<>" (MAIL FROM) */
#define ADDR_F_POSTMASTER 16 /* path: allow "<Postmaster>" (RCPT TO) */
#define ADDR_F_NOANGLE 32    /* path: tolerate a missing "<" ">" pair */

enum addr_err {
	ADDR_OK = 0,
	ADDR_ERR_EMPTY,       /* nothing, or "<>" where it is not allowed */
	ADDR_ERR_SYNTAX,      /* a byte the grammar does not allow there */
	ADDR_ERR_CTRL,        /* NUL, a control byte or DEL */
	ADDR_ERR_8BIT,        /* 8-bit byte without ADDR_F_UTF8 */
	ADDR_ERR_UTF8,        /* malformed UTF-8 */
	ADDR_ERR_QUOTE,       /* unterminated quoted string */
	ADDR_ERR_LOCAL_EMPTY, /* "@domain" */
	ADDR_ERR_LOCAL_LONG,  /* local part over ADDR_LOCAL_MAX */
	ADDR_ERR_DOT,         /* leading, trailing or double dot */
	ADDR_ERR_NO_DOMAIN,   /* "user" or "user@" where a domain is needed */
	ADDR_ERR_DOMAIN,      /* bad domain syntax (label, hyphen, dot) */
	ADDR_ERR_LABEL_LONG,  /* a label over ADDR_LABEL_MAX */
	ADDR_ERR_DOMAIN_LONG, /* domain over ADDR_DOMAIN_MAX */
	ADDR_ERR_LITERAL,     /* bad address literal */
	ADDR_ERR_ANGLE,       /* path: missing or unbalanced '<' '>' */
	ADDR_ERR_ROUTE,       /* path: bad source route */
	ADDR_ERR_NULL,        /* path: "<>" without ADDR_F_NULL */
	ADDR_ERR_TRAILING,    /* path: bytes after '>' that are not params */
};

struct addr {
	char local[ADDR_LOCAL_MAX + 1];   /* decoded local part */
	char domain[ADDR_DOMAIN_MAX + 1]; /* lowercased; "" when bare/null */
	int quoted; /* local part needs quoting (not a Dot-string) */
	int null;   /* the null path "<>" */
};

/* Human text for an error ("domain label longer than 63 octets"). */
const char *addr_strerror(enum addr_err e);

/* Parse a whole Mailbox in[0..len) (no angle brackets, no white space).
 * Fills *out on ADDR_OK; on error *errpos (when not NULL) is the offset
 * of the offending byte. */
enum addr_err addr_parse(const char *in, size_t len, unsigned flags,
                         struct addr *out, size_t *errpos);

/* Parse a Path at the start of in[0..len): "<" [route ":"] Mailbox ">",
 * "<>" with ADDR_F_NULL, "<Postmaster>" (any case) with
 * ADDR_F_POSTMASTER. *end (when not NULL) receives the offset after '>'
 * (the ESMTP parameters follow, after a space; anything else there is
 * ADDR_ERR_TRAILING). With ADDR_F_NOANGLE a path without brackets runs to
 * the first space. Errors as addr_parse. */
enum addr_err addr_parse_path(const char *in, size_t len, unsigned flags,
                              struct addr *out, size_t *end, size_t *errpos);

/* Write "local@domain" (the local part quoted when needed; "local" alone
 * when the domain is empty; "" for the null path) into dst[cap].
 * Returns the length, or -1 when it does not fit (cap >= ADDR_TEXT_MAX
 * always fits). */
int addr_format(const struct addr *a, char *dst, size_t cap);

/* 1 when s[0..len) is a valid RFC 5321 Dot-string (needs no quotes). */
int addr_is_dot_string(const char *s, size_t len, unsigned flags);

#endif
