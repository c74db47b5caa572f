/*
 * str.h - bounded string helpers and strict number scanners. No allocation,
 * no I/O. Every function writes only inside the capacity it is given.
 */
#ifndef TINYMTA_UTIL_STR_H
#define TINYMTA_UTIL_STR_H

#include <stddef.h>
#include <stdint.h>

/* Copy src into dst[cap] (NUL-terminated). Returns the length copied, or
 * -1 when src did not fit (dst then holds a truncated copy). */
int str_copy(char *dst, size_t cap, const char *src);

/* Copy len bytes of src (which need not be terminated) into dst[cap]. */
int str_copy_n(char *dst, size_t cap, const char *src, size_t len);

/* Append src to the string in dst[cap]; -1 on truncation. */
int str_append(char *dst, size_t cap, const char *src);

/* Case-insensitive ASCII comparison; 1 when equal. */
int str_eq_nocase(const char *a, const char *b);

/* 1 when s starts with prefix, compared case-insensitively (ASCII). */
int str_prefix_nocase(const char *s, const char *prefix);

/* Parse an unsigned decimal of exactly the whole string into *out.
 * Rejects empty input, signs, white space, trailing bytes and overflow.
 * Returns 0 or -1. */
int scan_u32(const char *s, uint32_t *out);
int scan_u64(const char *s, uint64_t *out);

/* Strip leading and trailing ASCII white space in place; returns s+skip. */
char *str_trim(char *s);

/* Escape untrusted text for one log line: control bytes, DEL and 8-bit
 * bytes become \ooo, backslash becomes \\. Always NUL-terminates dst. */
void str_escape(char *dst, size_t cap, const char *src, size_t len);

#endif
