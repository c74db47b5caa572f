/*
 * rewrite_header.c - address rewriting in header fields (see rewrite.h).
 * The field is UNTRUSTED message text: it is parsed with header.c (every
 * scan bounded) and only the addr-spec spans header.c reports are
 * replaced, so display names, comments, groups and folding stay as they
 * were. A field that does not parse is handed back unchanged (-1).
 */
#include "rewrite.h"
#include "addr.h"
#include "header.h"
#include "rewrite_impl.h"
#include "util/str.h"

#include <stdio.h>
#include <string.h>

/* Address fields: 1 sender class (sender_canonical_maps), 0 recipient
 * class (recipient_canonical_maps), as Postfix's cleanup. */
static const struct {
	const char *name;
	int sender;
} addr_fields[] = {
    {"From", 1},
    {"Sender", 1},
    {"Reply-To", 1},
    {"Errors-To", 1},
    {"Return-Receipt-To", 1},
    {"Resent-From", 1},
    {"Resent-Sender", 1},
    {"Resent-Reply-To", 1},
    {"To", 0},
    {"Cc", 0},
    {"Bcc", 0},
    {"Apparently-To", 0},
    {"Resent-To", 0},
    {"Resent-Cc", 0},
    {"Resent-Bcc", 0},
};

void
rewrite_hdr_init(struct rewrite_hdr *st, int out)
{
	memset(st, 0, sizeof *st);
	st->out = out;
}

/* The class of field f: 1 sender, 0 recipient, -1 not an address field. */
static int
field_class(const char *field, const struct header_field *f)
{
	for (size_t i = 0; i < sizeof addr_fields / sizeof addr_fields[0]; i++)
		if (header_name_is(field, f, addr_fields[i].name))
			return addr_fields[i].sender;
	return -1;
}

/* Output under construction: -1 once it would overflow. */
struct obuf {
	char *p;
	size_t len, cap;
	int over;
};

static void
put(struct obuf *o, const char *s, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* Keep the original From value, unfolded and trimmed, for Reply-To; the
 * replaced address alone when the value is too long. */
static void
keep_from(struct rewrite_hdr *st, const char *v, size_t n, const char *addr)
{
	size_t o = 0;

	while (n && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' ||
	             v[n - 1] == '\n'))
		n--;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '\r' || v[i] == '\n')
			continue;
		if (o + 1 >= sizeof st->orig_from) {
			str_copy(st->orig_from, sizeof st->orig_from, addr);
			return;
		}
		st->orig_from[o++] = v[i];
	}
	st->orig_from[o] = '\0';
}

/* The new text of one mailbox into text[ADDR_TEXT_MAX]: 1 replaced, 0
 * unchanged, -1 map error (st->why). */
static int
one_mailbox(const struct conf *c, struct rewrite_hdr *st, int sender,
            int is_from, const struct header_addr *ha, char *text)
{
	struct addr in, o;
	int r;

	if (addr_parse(ha->addr, ha->addr_len, RW_ADDR_FLAGS, &in, NULL) !=
	    ADDR_OK)
		return 0; /* not an address we can judge: left alone */
	if (st->out && is_from && rewrite_is_local(c, in.domain) &&
	    str_copy(text, ADDR_TEXT_MAX,
	             conf_get(c, "tinymta_sender_address")) > 0)
		return 2;
	if (st->out)
		r = rewrite_one(c, "smtp_generic_maps", 0, &in, &o, st->why,
		                sizeof st->why);
	else
		r = rewrite_one(c,
		                sender ? "sender_canonical_maps"
		                       : "recipient_canonical_maps",
		                1, &in, &o, st->why, sizeof st->why);
	if (r <= 0)
		return r;
	return addr_format(&o, text, ADDR_TEXT_MAX) < 0 ? 0 : 1;
}

ssize_t
rewrite_header(const struct conf *c, struct rewrite_hdr *st, const char *field,
               size_t len, char *out, size_t outcap)
{
	struct header_field f;
	struct header_addr_iter it = {0};
	struct header_addr hab, *ha = &hab;
	struct obuf o = {out, 0, outcap, 0};
	char text[ADDR_TEXT_MAX];
	size_t pos = 0, errpos, prev = 0, vlen;
	const char *v;
	enum header_err e;
	int cls, is_from, r, from_now = 0;

	if (header_next(field, len, &pos, &f, &errpos) != HEADER_OK ||
	    f.end != len)
		return -1;
	if (header_name_is(field, &f, "Reply-To"))
		st->saw_reply_to = 1;
	cls = field_class(field, &f);
	if (cls < 0) {
		put(&o, field, len);
		return o.over ? -1 : (ssize_t)o.len;
	}
	is_from = header_name_is(field, &f, "From");
	v = field + f.value;
	vlen = f.value_end - f.value;
	put(&o, field, f.value);
	while ((e = header_addr_next(v, vlen, &it, ha, &errpos)) == HEADER_OK) {
		r = one_mailbox(c, st, cls, is_from, ha, text);
		if (r < 0) {
			st->map_err = 1;
			return -1;
		}
		if (r == 0)
			continue;
		if (r == 2 && !st->from_replaced) {
			keep_from(st, v, vlen, ha->addr);
			from_now = 1;
		}
		put(&o, v + prev, ha->spec_off - prev);
		put(&o, text, strlen(text));
		prev = ha->spec_off + ha->spec_len;
	}
	if (e != HEADER_END || o.over) {
		if (from_now)
			st->orig_from[0] = '\0';
		return -1;
	}
	if (from_now)
		st->from_replaced = 1;
	put(&o, v + prev, vlen - prev);
	put(&o, field + f.value_end, len - f.value_end);
	if (o.over) {
		if (from_now) {
			st->from_replaced = 0;
			st->orig_from[0] = '\0';
		}
		return -1;
	}
	return (ssize_t)o.len;
}

ssize_t
rewrite_header_end(const struct conf *c, struct rewrite_hdr *st, char *out,
                   size_t outcap)
{
	int n;

	(void)c;
	if (!st->out || !st->from_replaced || st->saw_reply_to ||
	    !st->orig_from[0])
		return 0;
	n = snprintf(out, outcap, "Reply-To: %s\n", st->orig_from);
	return n < 0 || (size_t)n >= outcap ? -1 : n;
}
