/*
 * cgi_form.h - untrusted web input for `tinymta cgi`: the
 * application/x-www-form-urlencoded parser (POST bodies and query
 * strings), the cookie header, and HTML escaping of output.
 */
#ifndef TINYMTA_CGI_FORM_H
#define TINYMTA_CGI_FORM_H

#include <stddef.h>
#include <stdio.h>

#define CGI_INPUT_MAX 16384 /* encoded bytes of one body or query string */
#define CGI_FIELDS_MAX 32
#define CGI_NAME_MAX 32    /* a field name: [a-z0-9_], 1..32 bytes */
#define CGI_VALUE_MAX 1024 /* a decoded value */

struct cgi_field {
	char name[CGI_NAME_MAX + 1];
	char *value; /* into buf, NUL-terminated */
};

struct cgi_form {
	size_t n;
	struct cgi_field f[CGI_FIELDS_MAX];
	char buf[CGI_INPUT_MAX + 1]; /* decoded values (never longer) */
	size_t used;
};

/* Parse in[len] ("a=1&b=x+y%21") into f. Refused, with the reason in
 * why[cap]: input longer than CGI_INPUT_MAX, more than CGI_FIELDS_MAX
 * fields, a name outside [a-z0-9_] or too long, a name given twice, a
 * bad %-escape, a decoded control byte (NUL, newline ...), a value longer
 * than CGI_VALUE_MAX. Empty pieces ("a=1&&b=2") are skipped; "a" alone
 * means a = "". 0, or -1 (f then holds nothing). */
int cgi_form_parse(struct cgi_form *f, const char *in, size_t len, char *why,
                   size_t cap);

/* The value of name, or NULL. */
const char *cgi_form_get(const struct cgi_form *f, const char *name);

/* The value of cookie name in an HTTP Cookie header ("a=1; b=2") into
 * out[cap]: 1 found (and fits), 0 not. */
int cgi_cookie(const char *header, const char *name, char *out, size_t cap);

/* Write s HTML-escaped (& < > " ') to f. */
void cgi_html(FILE *f, const char *s);

#endif
