/*
 * sasl_decode.h - the pure part of SMTP AUTH (RFC 4954) and of the users
 * file: strict bounded base64 (RFC 4648 section 4, padding required, no
 * white space, unused bits zero), the AUTH argument (mechanism and
 * optional initial response), the PLAIN message (RFC 4616), a line of the
 * sasl_users source ("user:$6$...[:admin]") and a comparison whose time
 * does not depend on where two strings differ. PURE: no I/O, no globals,
 * no logging; used by smtpd, by `tinymta passwd`, by the map builder and
 * by the fuzzer.
 */
#ifndef TINYMTA_SASL_DECODE_H
#define TINYMTA_SASL_DECODE_H

#include <stddef.h>

/* A login name: RFC 4616 allows 255 octets of UTF-8 for authcid. */
#define SASL_USER_MAX 255
/* A password: 255 octets (RFC 4616 passwd is 1*SAFE; longer is refused). */
#define SASL_PASS_MAX 255
/* A PLAIN message: authzid NUL authcid NUL passwd. */
#define SASL_MSG_MAX (SASL_USER_MAX * 2 + SASL_PASS_MAX + 2)
/* The base64 text of the largest message, without the terminating NUL. */
#define SASL_B64_MAX (((SASL_MSG_MAX + 2) / 3) * 4)
/* A stored hash ("$6$" 16 salt chars "$" 86 chars, with room to spare). */
#define SASL_HASH_MAX 160

enum sasl_err {
	SASL_OK = 0,
	SASL_ERR_B64,      /* not strict base64 */
	SASL_ERR_TOO_LONG, /* over the bound */
	SASL_ERR_SYNTAX,   /* not "authzid NUL authcid NUL passwd" */
	SASL_ERR_EMPTY,    /* empty authcid or passwd */
	SASL_ERR_AUTHZID,  /* authzid given and different from authcid */
	SASL_ERR_CHARS,    /* a control byte in a login name */
	SASL_ERR_MECH      /* unknown mechanism */
};

enum sasl_mech { SASL_MECH_PLAIN = 1, SASL_MECH_LOGIN };

/* Decode in[0..len) into out[cap]; *outlen gets the length. An empty input
 * decodes to nothing. SASL_ERR_TOO_LONG when it would not fit. */
enum sasl_err sasl_b64_decode(const char *in, size_t len, unsigned char *out,
                              size_t cap, size_t *outlen);

/* "MECH [initial-response]" (the AUTH argument). *ir points into arg (or
 * is NULL when there is none); "=" is an empty initial response (RFC 4954
 * section 4) and gives *ir non-NULL with *irlen 0. */
enum sasl_err sasl_parse_auth(const char *arg, size_t len, enum sasl_mech *m,
                              const char **ir, size_t *irlen);

/* A login name as the users file may hold it: 1..SASL_USER_MAX bytes, no
 * control byte, no white space, no ':'. SASL_OK or the reason. */
enum sasl_err sasl_user_check(const char *user, size_t len);

/* Split a decoded PLAIN message into user[SASL_USER_MAX+1] and
 * pass[SASL_PASS_MAX+1] (NUL-terminated). */
enum sasl_err sasl_plain_parse(const unsigned char *msg, size_t len, char *user,
                               char *pass);

/* One line of the users source (no line end): "user:hash[:flags]".
 * Comments and blank lines give 0 (nothing). For an entry: 1, with *user
 * and *ulen the name, *val and *vlen "hash[:flags]". -1: malformed. */
int sasl_users_line(const char *line, size_t len, const char **user,
                    size_t *ulen, const char **val, size_t *vlen);

/* The hash part of a stored value "hash[:flags]" and whether its flags
 * hold "admin": the length of the hash. */
size_t sasl_value_hash(const char *val, size_t vlen, int *admin);

/* 1 when a[0..alen) equals b[0..blen). The time depends only on blen
 * (pass the secret's known length as b). */
int sasl_const_eq(const char *a, size_t alen, const char *b, size_t blen);

/* A short text for e. */
const char *sasl_strerror(enum sasl_err e);

#endif
