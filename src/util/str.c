/*
 * str.c - bounded string helpers (see str.h). Pure: no I/O, no globals.
 */
#include "util/str.h"

#include <string.h>

int
str_copy(char *dst, size_t cap, const char *src)
{
	return str_copy_n(dst, cap, src, strlen(src));
}

int
str_copy_n(char *dst, size_t cap, const char *src, size_t len)
{
	if (cap == 0)
		return -1;
	if (len >= cap) {
		memcpy(dst, src, cap - 1);
		dst[cap - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
	return (int)len;
}

int
str_append(char *dst, size_t cap, const char *src)
{
	size_t have = strnlen(dst, cap);

	if (have >= cap)
		return -1;
	if (str_copy(dst + have, cap - have, src) < 0)
		return -1;
	return (int)strlen(dst);
}

static int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int
str_eq_nocase(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower((unsigned char)*a) != lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

int
str_prefix_nocase(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++)
		if (!*s ||
		    lower((unsigned char)*s) != lower((unsigned char)*prefix))
			return 0;
	return 1;
}

int
scan_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	/* loop invariant: v is the value of the digits before s */
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
			return -1;
	}
	*out = v;
	return 0;
}

int
scan_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (scan_u64(s, &v) < 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

char *
str_trim(char *s)
{
	size_t n;

	while (is_space((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_space((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

void
str_escape(char *dst, size_t cap, const char *src, size_t len)
{
	static const char oct[] = "01234567";
	size_t o = 0;

	if (cap == 0)
		return;
	/* loop invariant: o < cap, dst[0..o) holds the escaped prefix */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		char tmp[4];
		size_t n = 0;

		if (c < 0x20 || c >= 0x7f) {
			tmp[n++] = '\\';
			tmp[n++] = oct[(c >> 6) & 7];
			tmp[n++] = oct[(c >> 3) & 7];
			tmp[n++] = oct[c & 7];
		} else if (c == '\\') {
			tmp[n++] = '\\';
			tmp[n++] = '\\';
		} else {
			tmp[n++] = (char)c;
		}
		if (o + n >= cap)
			break;
		memcpy(dst + o, tmp, n);
		o += n;
	}
	dst[o] = '\0';
}
