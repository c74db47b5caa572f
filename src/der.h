/*
 * der.h - a small DER (ASN.1) writer into a caller's bounded buffer, for
 * the self-signed certificate of `tinymta gencert`. Constructed values
 * are written content first; der_end() then inserts the tag and length
 * in front (one memmove per nesting level: certificates are small). An
 * overflow sets err and the writer ignores the rest. der_read() is the
 * matching bounded reader of one value (x509_names.c walks the names of
 * a server's certificate with it).
 */
#ifndef TINYMTA_DER_H
#define TINYMTA_DER_H

#include <stddef.h>
#include <stdint.h>

#define DER_INTEGER 0x02
#define DER_BIT_STRING 0x03
#define DER_OCTET_STRING 0x04
#define DER_NULL 0x05
#define DER_OID 0x06
#define DER_UTF8STRING 0x0c
#define DER_UTCTIME 0x17
#define DER_GENTIME 0x18
#define DER_SEQUENCE 0x30
#define DER_SET 0x31
#define DER_BOOLEAN 0x01
#define DER_CTX(n) (0xa0 | (n))  /* [n] constructed (EXPLICIT) */
#define DER_CTXP(n) (0x80 | (n)) /* [n] primitive (IMPLICIT) */

struct der {
	unsigned char *buf;
	size_t len, cap;
	int err; /* 1 after an overflow */
};

void der_init(struct der *d, unsigned char *buf, size_t cap);
/* Start a constructed value: returns the mark for der_end. */
size_t der_begin(const struct der *d);
/* Close it: tag and length go in front of everything since mark. */
void der_end(struct der *d, unsigned tag, size_t mark);
/* A primitive value: tag, length, n bytes. */
void der_put(struct der *d, unsigned tag, const void *p, size_t n);
/* Raw bytes (an already encoded value). */
void der_raw(struct der *d, const void *p, size_t n);
/* A non-negative INTEGER from big-endian bytes (leading zeros dropped,
 * a 0x00 added when the top bit is set). */
void der_uint(struct der *d, const unsigned char *be, size_t n);
void der_small(struct der *d, unsigned v);
/* A BIT STRING with no unused bits. */
void der_bits(struct der *d, const void *p, size_t n);
/* UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5). -1 if
 * the time cannot be converted. */
int der_time(struct der *d, int64_t t);

/* ---- reading (UNTRUSTED input) ---- */

struct der_val {
	unsigned tag;           /* the identifier octet */
	const unsigned char *p; /* the contents, inside the buffer */
	size_t len;
	size_t start; /* where the value (its tag) began */
};

/* The value at *pos of buf[0..end): 0 with *pos just past it, or -1 (a
 * high tag number, an indefinite, non-minimal or over 3-byte length, or
 * contents past end). */
int der_read(const unsigned char *buf, size_t end, size_t *pos,
             struct der_val *v);

#endif
