/*
 * cgi_form.c - the parsers of untrusted web input for `tinymta cgi`
 * (form bodies, query strings, the Cookie header) and HTML escaping.
 * Everything is bounded by the caller's buffers and the CGI_*_MAX limits;
 * fuzzed by tests/fuzz/fuzz_form.c.
 */
#include "cgi_form.h"

#include <string.h>

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode in[len] into out (room for len + 1). Returns the decoded length
 * or -1 with why set. */
static long
decode(const char *in, size_t len, char *out, const char *what, char *why,
       size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (len - i < 3 || hexval(in[i + 1]) < 0 ||
			    hexval(in[i + 2]) < 0) {
				snprintf(why, cap, "%s: bad %%-escape", what);
				return -1;
			}
			c = (unsigned char)(hexval(in[i + 1]) * 16 +
			                    hexval(in[i + 2]));
			i += 2;
		}
		if (c < 0x20 || c == 0x7f) {
			snprintf(why, cap, "%s: control character", what);
			return -1;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (long)o;
}

static int
name_ok(const char *s, size_t n)
{
	if (n == 0 || n > CGI_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int
add(struct cgi_form *f, const char *p, size_t n, char *why, size_t cap)
{
	const char *eq = memchr(p, '=', n);
	size_t nl = eq ? (size_t)(eq - p) : n;
	const char *v = eq ? eq + 1 : p + n;
	size_t vl = eq ? n - nl - 1 : 0;
	char name[CGI_NAME_MAX + 1];
	long dv;

	if (f->n == CGI_FIELDS_MAX) {
		snprintf(why, cap, "more than %d fields", CGI_FIELDS_MAX);
		return -1;
	}
	/* names are plain: no escapes needed, none accepted */
	if (!name_ok(p, nl)) {
		snprintf(why, cap, "field %zu: bad name", f->n + 1);
		return -1;
	}
	memcpy(name, p, nl);
	name[nl] = '\0';
	if (cgi_form_get(f, name)) {
		snprintf(why, cap, "%s: given twice", name);
		return -1;
	}
	/* buf holds at most CGI_INPUT_MAX + 1 bytes: every value decodes to
	 * no more than its encoding, plus one NUL per field, and the '='
	 * or '&' of each field pays for that NUL */
	dv = decode(v, vl, f->buf + f->used, name, why, cap);
	if (dv < 0)
		return -1;
	if (dv > CGI_VALUE_MAX) {
		snprintf(why, cap, "%s: longer than %d bytes", name,
		         CGI_VALUE_MAX);
		return -1;
	}
	memcpy(f->f[f->n].name, name, nl + 1);
	f->f[f->n].value = f->buf + f->used;
	f->used += (size_t)dv + 1;
	f->n++;
	return 0;
}

int
cgi_form_parse(struct cgi_form *f, const char *in, size_t len, char *why,
               size_t cap)
{
	size_t i = 0;

	f->n = 0;
	f->used = 0;
	if (len > CGI_INPUT_MAX) {
		snprintf(why, cap, "input longer than %d bytes", CGI_INPUT_MAX);
		return -1;
	}
	while (i < len) {
		const char *amp = memchr(in + i, '&', len - i);
		size_t n = amp ? (size_t)(amp - (in + i)) : len - i;

		if (n > 0 && add(f, in + i, n, why, cap) < 0) {
			f->n = 0;
			f->used = 0;
			return -1;
		}
		i += n + 1;
	}
	return 0;
}

const char *
cgi_form_get(const struct cgi_form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->f[i].name, name) == 0)
			return f->f[i].value;
	return NULL;
}

int
cgi_cookie(const char *header, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = header;

	while (p && *p) {
		size_t n;

		while (*p == ' ' || *p == ';')
			p++;
		n = strcspn(p, ";");
		if (n > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			size_t vl = n - nl - 1;

			if (vl >= cap)
				return 0;
			memcpy(out, p + nl + 1, vl);
			out[vl] = '\0';
			return 1;
		}
		p += n;
	}
	return 0;
}

void
cgi_html(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
}
