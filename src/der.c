/*
 * der.c - the DER writer of der.h and its reader of one value. Lengths
 * up to 0xffffff (three length bytes): more than any certificate we make
 * or read.
 */
#include "der.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void
der_init(struct der *d, unsigned char *buf, size_t cap)
{
	d->buf = buf;
	d->len = 0;
	d->cap = cap;
	d->err = 0;
}

size_t
der_begin(const struct der *d)
{
	return d->len;
}

/* The tag and length header of a value of n bytes into h; its size. */
static size_t
header(unsigned char h[5], unsigned tag, size_t n)
{
	size_t k = 0;

	h[k++] = (unsigned char)tag;
	if (n < 0x80) {
		h[k++] = (unsigned char)n;
	} else if (n <= 0xff) {
		h[k++] = 0x81;
		h[k++] = (unsigned char)n;
	} else if (n <= 0xffff) {
		h[k++] = 0x82;
		h[k++] = (unsigned char)(n >> 8);
		h[k++] = (unsigned char)n;
	} else {
		h[k++] = 0x83;
		h[k++] = (unsigned char)(n >> 16);
		h[k++] = (unsigned char)(n >> 8);
		h[k++] = (unsigned char)n;
	}
	return k;
}

void
der_raw(struct der *d, const void *p, size_t n)
{
	if (d->err || n > d->cap - d->len) {
		d->err = 1;
		return;
	}
	if (n)
		memcpy(d->buf + d->len, p, n);
	d->len += n;
}

void
der_end(struct der *d, unsigned tag, size_t mark)
{
	unsigned char h[5];
	size_t n, k;

	if (d->err || mark > d->len || d->len - mark > 0xffffff) {
		d->err = 1;
		return;
	}
	n = d->len - mark;
	k = header(h, tag, n);
	if (k > d->cap - d->len) {
		d->err = 1;
		return;
	}
	memmove(d->buf + mark + k, d->buf + mark, n);
	memcpy(d->buf + mark, h, k);
	d->len += k;
}

void
der_put(struct der *d, unsigned tag, const void *p, size_t n)
{
	unsigned char h[5];

	size_t k = header(h, tag, n);

	if (n > 0xffffff || k + n < k || k + n > d->cap - d->len) {
		d->err = 1;
		return;
	}
	der_raw(d, h, k);
	der_raw(d, p, n);
}

void
der_uint(struct der *d, const unsigned char *be, size_t n)
{
	size_t mark;

	while (n > 1 && be[0] == 0) {
		be++;
		n--;
	}
	mark = der_begin(d);
	if (n == 0 || be[0] & 0x80)
		der_raw(d, "", 1); /* a zero byte keeps it positive */
	der_raw(d, be, n);
	der_end(d, DER_INTEGER, mark);
}

void
der_small(struct der *d, unsigned v)
{
	unsigned char be[4] = {(unsigned char)(v >> 24),
	                       (unsigned char)(v >> 16),
	                       (unsigned char)(v >> 8), (unsigned char)v};

	der_uint(d, be, sizeof be);
}

void
der_bits(struct der *d, const void *p, size_t n)
{
	size_t mark = der_begin(d);

	der_raw(d, "", 1); /* no unused bits */
	der_raw(d, p, n);
	der_end(d, DER_BIT_STRING, mark);
}

int
der_time(struct der *d, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[20];
	int n;

	if ((int64_t)tt != t || !gmtime_r(&tt, &tm))
		return -1;
	if (tm.tm_year + 1900 < 1950 || tm.tm_year + 1900 > 9999)
		return -1;
	if (tm.tm_year + 1900 < 2050)
		n = snprintf(s, sizeof s, "%02d%02d%02d%02d%02d%02dZ",
		             tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday,
		             tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		n = snprintf(s, sizeof s, "%04d%02d%02d%02d%02d%02dZ",
		             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		             tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= sizeof s)
		return -1;
	der_put(d, tm.tm_year + 1900 < 2050 ? DER_UTCTIME : DER_GENTIME, s,
	        (size_t)n);
	return 0;
}

int
der_read(const unsigned char *buf, size_t end, size_t *pos, struct der_val *v)
{
	size_t i = *pos, n;
	unsigned k;

	/* invariant: i <= end, and every byte read is below end */
	if (i > end || end - i < 2)
		return -1;
	v->start = i;
	v->tag = buf[i++];
	if ((v->tag & 0x1f) == 0x1f)
		return -1; /* high tag numbers: none in what we read */
	n = buf[i++];
	if (n & 0x80) {
		k = n & 0x7f;
		if (k == 0 || k > 3 || k > end - i)
			return -1; /* indefinite, too long, or truncated */
		if (buf[i] == 0)
			return -1; /* a leading zero: not minimal */
		for (n = 0; k > 0; k--)
			n = n << 8 | buf[i++];
		if (n < 0x80)
			return -1; /* the short form was due */
	}
	if (n > end - i)
		return -1;
	v->p = buf + i;
	v->len = n;
	*pos = i + n;
	return 0;
}
