/*
 * x509_names.h - the subject and issuer of a DER certificate as text for
 * people, logs and JSON (`tinymta test-relay`): the attributes in their
 * order in the certificate, "CN=mail.example.com, O=Example, C=DE",
 * a multi-valued RDN joined with '+'. Short names for CN, O, OU, C, L,
 * ST, emailAddress, DC and serialNumber, the dotted OID for the others.
 * Escapes: '\\', ',', '+', '"', ';', '<', '>' get a backslash; control
 * characters, bytes that are not text in the string's type, invalid or
 * invisible/bidi code points are written "\xNN" (the certificate's bytes
 * of that character). So the text is printable ASCII and valid UTF-8.
 * A value of a type that is not a string is "#" and its DER in hex
 * (RFC 4514). Longer text is cut after a whole character, with "...".
 * UNTRUSTED input: a server's certificate.
 */
#ifndef TINYMTA_X509_NAMES_H
#define TINYMTA_X509_NAMES_H

#include <stddef.h>

#define X509_DN_TEXT_MAX 512 /* the text of one Name, with its NUL */

/* The Name (DER: a SEQUENCE of SETs of attributes) der[len] as text into
 * out[cap] (cap >= 4). 0, or -1 (malformed: out is "", why says what, when
 * not NULL). */
int x509_dn_text(const unsigned char *der, size_t len, char *out, size_t cap,
                 const char **why);

/* The subject and issuer of the certificate der[len] (either out may be
 * NULL). 0, or -1 (not a certificate we can read: both ""). */
int x509_names(const unsigned char *der, size_t len, char *subject, size_t scap,
               char *issuer, size_t icap, const char **why);

#endif
