/*
 * qfile_check.c - the validating parser of queue files (see qfile_check.h
 * and docs/queue-format.md): structure, record order, every length and
 * bound, the SHA-256 of the end record, truncation, trailing bytes and the
 * version. PURE, fuzzed (tests/fuzz/fuzz_qfile.c). Every byte it sees is
 * untrusted: maildrop/ files are written by any local user.
 */
#include "qfile_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { P_HEADER, P_RECHDR, P_PAYLOAD, P_CONTENT, P_END };
enum { S_ATTR, S_SENDER, S_RCPT, S_CONTENT };

static const char *const errtext[] = {
    [QFILE_OK] = "success",
    [QFILE_ERR_IO] = "system error",
    [QFILE_ERR_MAGIC] = "not a tinymta queue file",
    [QFILE_ERR_VERSION] = "unknown queue file version",
    [QFILE_ERR_TRUNCATED] = "truncated queue file",
    [QFILE_ERR_RECORD] = "malformed record",
    [QFILE_ERR_CHECKSUM] = "checksum mismatch",
    [QFILE_ERR_LIMIT] = "field over its limit",
};

const char *
qfile_strerror(enum qfile_err e)
{
	if ((unsigned)e >= sizeof errtext / sizeof errtext[0])
		return "unknown error";
	return errtext[e];
}

int
qfile_id_valid(const char *id)
{
	size_t n = 0;

	for (; id[n]; n++) {
		if (n >= 30)
			return 0;
		if (!((id[n] >= '0' && id[n] <= '9') ||
		      (id[n] >= 'A' && id[n] <= 'Z')))
			return 0;
	}
	return n >= 8;
}

uint32_t
qcheck_le16(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

uint32_t
qcheck_le32(const unsigned char *p)
{
	return qcheck_le16(p) | qcheck_le16(p + 2) << 16;
}

uint64_t
qcheck_le64(const unsigned char *p)
{
	return (uint64_t)qcheck_le32(p) | (uint64_t)qcheck_le32(p + 4) << 32;
}

void
qcheck_put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

int
qcheck_text_ok(const unsigned char *p, size_t len, int tab)
{
	for (size_t i = 0; i < len; i++)
		if ((p[i] < 0x20 && !(tab && p[i] == '\t')) || p[i] == 0x7f)
			return 0;
	return 1;
}

int
qcheck_notify_ok(unsigned notify)
{
	return notify <= 7 || notify == QFILE_NOTIFY_NEVER;
}

/* Record the first problem; the text names the byte offset. */
__attribute__((format(printf, 4, 5))) static void
bad(struct qcheck *q, enum qfile_err e, uint64_t off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (q->err != QFILE_OK)
		return;
	q->err = e;
	if (!q->where || q->wcap == 0)
		return;
	n = snprintf(q->where, q->wcap,
	             "offset %llu: ", (unsigned long long)off);
	if (n < 0 || (size_t)n >= q->wcap)
		return;
	va_start(ap, fmt);
	vsnprintf(q->where + n, q->wcap - (size_t)n, fmt, ap);
	va_end(ap);
}

void
qcheck_init(struct qcheck *q, struct qfile_info *info, char *where, size_t wcap)
{
	memset(q, 0, offsetof(struct qcheck, buf));
	q->st = P_HEADER;
	q->stage = S_ATTR;
	q->info = info;
	q->where = where;
	q->wcap = wcap;
	q->err = QFILE_OK;
	memset(info, 0, sizeof *info);
	if (where && wcap)
		where[0] = '\0';
	br_sha256_init(&q->sha);
}

/* Copy up to want - have bytes into buf; the count taken. */
static size_t
gather(struct qcheck *q, const unsigned char *p, size_t n, uint32_t want)
{
	size_t take = want - q->have;

	if (take > n)
		take = n;
	memcpy(q->buf + q->have, p, take);
	q->have += (uint32_t)take;
	q->off += take;
	return take;
}

/* What the first bytes of a header already tell (also when truncated). */
static void
header_early(struct qcheck *q)
{
	size_t m = q->have < 4 ? q->have : 4;
	uint32_t v;

	if (memcmp(q->buf, QFILE_MAGIC, m) != 0) {
		bad(q, QFILE_ERR_MAGIC, 0, "no \"TMQF\" magic");
		return;
	}
	if (q->have < 6)
		return;
	v = qcheck_le16(q->buf + 4);
	q->info->version = v;
	if (v == 0)
		bad(q, QFILE_ERR_RECORD, 4, "version 0 does not exist");
	else if (v != QFILE_VERSION)
		bad(q, QFILE_ERR_VERSION, 4,
		    "queue file version %u, this tinymta reads version %d", v,
		    QFILE_VERSION);
}

static void
start_record(struct qcheck *q)
{
	q->st = P_RECHDR;
	q->have = 0;
	q->rec_off = q->off;
}

static void
header_done(struct qcheck *q)
{
	struct qfile_info *in = q->info;
	const unsigned char *h = q->buf;

	if (qcheck_le16(h + 6) != QFILE_HEADER_SIZE) {
		bad(q, QFILE_ERR_RECORD, 6, "header size %u, want %d",
		    qcheck_le16(h + 6), QFILE_HEADER_SIZE);
		return;
	}
	in->arrival = qcheck_le64(h + 8);
	in->arrival_usec = qcheck_le32(h + 16);
	in->flags = qcheck_le32(h + 20);
	in->attempts = qcheck_le32(h + 24);
	in->next_attempt = qcheck_le64(h + 32);
	in->last_attempt = qcheck_le64(h + 40);
	in->age_base = qcheck_le64(h + 48);
	if (in->arrival_usec >= 1000000) {
		bad(q, QFILE_ERR_RECORD, 16, "arrival microseconds %u",
		    in->arrival_usec);
		return;
	}
	memset(q->buf + QFILE_INPLACE_OFF, 0,
	       QFILE_HEADER_SIZE - QFILE_INPLACE_OFF);
	br_sha256_update(&q->sha, q->buf, QFILE_HEADER_SIZE);
	start_record(q);
}

struct recspec {
	unsigned char type;
	const char *name;
	uint32_t min, max; /* payload length bounds */
	int after;         /* allowed when stage >= after ... */
	int until;         /* ... and stage <= until */
};

static const struct recspec specs[] = {
    {'A', "attribute", 2, QFILE_ATTR_MAX, S_ATTR, S_ATTR},
    {'S', "sender", 0, QFILE_ADDR_MAX, S_ATTR, S_ATTR},
    {'R', "recipient", QFILE_RCPT_FIXED + 3, QFILE_RCPT_PAYLOAD_MAX, S_SENDER,
     S_RCPT},
    {'C', "content", 1, QFILE_CHUNK_MAX, S_RCPT, S_CONTENT},
    {'E', "end", QFILE_HASH_SIZE, QFILE_HASH_SIZE, S_RCPT, S_CONTENT},
};

static const char *const stage_text[] = {
    [S_ATTR] = "before the sender",
    [S_SENDER] = "after the sender, before any recipient",
    [S_RCPT] = "after the recipients",
    [S_CONTENT] = "after the content",
};

static const struct recspec *
spec_find(unsigned char type)
{
	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
		if (specs[i].type == type)
			return &specs[i];
	return NULL;
}

static void payload_done(struct qcheck *q);

static void
rechdr_done(struct qcheck *q)
{
	const struct recspec *s = spec_find(q->buf[0]);
	uint64_t o = q->rec_off;

	q->type = q->buf[0];
	q->len = qcheck_le32(q->buf + 1);
	if (!s) {
		bad(q, QFILE_ERR_RECORD, o, "unknown record type 0x%02x",
		    q->type);
		return;
	}
	if (q->stage < s->after || q->stage > s->until) {
		bad(q, QFILE_ERR_RECORD, o, "%s record %s", s->name,
		    stage_text[q->stage]);
		return;
	}
	if (q->len > s->max) {
		bad(q, QFILE_ERR_LIMIT, o, "%s record of %u bytes, limit %u",
		    s->name, q->len, s->max);
		return;
	}
	if (q->len < s->min) {
		bad(q, QFILE_ERR_RECORD, o, "%s record of %u bytes, minimum %u",
		    s->name, q->len, s->min);
		return;
	}
	if ((q->type == 'C' || q->type == 'E') && q->stage == S_RCPT)
		q->info->content_off = (off_t)o;
	if (q->type != 'E')
		br_sha256_update(&q->sha, q->buf, QFILE_REC_HDR);
	q->have = 0;
	q->st = q->type == 'C' ? P_CONTENT : P_PAYLOAD;
	if (q->type == 'C')
		q->stage = S_CONTENT;
	if (q->len == 0)
		payload_done(q);
}

static void
attr_done(struct qcheck *q)
{
	const unsigned char *p = q->buf, *eq = memchr(p, '=', q->len);
	size_t nlen = eq ? (size_t)(eq - p) : 0;

	if (!eq || nlen == 0 || nlen > QFILE_ATTR_NAME_MAX) {
		bad(q, QFILE_ERR_RECORD, q->rec_off,
		    "attribute without a valid name=value");
		return;
	}
	for (size_t i = 0; i < nlen; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		      (p[i] >= '0' && p[i] <= '9') || p[i] == '_' ||
		      p[i] == '.' || p[i] == '-')) {
			bad(q, QFILE_ERR_RECORD, q->rec_off + 5 + i,
			    "bad byte 0x%02x in an attribute name", p[i]);
			return;
		}
	if (!qcheck_text_ok(eq + 1, q->len - nlen - 1, 1)) {
		bad(q, QFILE_ERR_RECORD, q->rec_off,
		    "control byte in an attribute value");
		return;
	}
	q->info->nattr++;
}

static void
sender_done(struct qcheck *q)
{
	if (!qcheck_text_ok(q->buf, q->len, 0)) {
		bad(q, QFILE_ERR_RECORD, q->rec_off,
		    "control byte in the sender address");
		return;
	}
	memcpy(q->info->sender, q->buf, q->len);
	q->info->sender[q->len] = '\0';
	q->stage = S_SENDER;
}

/* The in-place part: status, notify, reason (not in the checksum, but
 * still checked: a reader must be able to trust its values). */
static int
rcpt_fixed_ok(struct qcheck *q)
{
	const unsigned char *p = q->buf;
	uint64_t o = q->rec_off + QFILE_REC_HDR;

	if (p[0] > QFILE_RCPT_DEFERRED) {
		bad(q, QFILE_ERR_RECORD, o, "recipient status %u", p[0]);
		return 0;
	}
	if (!qcheck_notify_ok(p[1])) {
		bad(q, QFILE_ERR_RECORD, o + 1, "recipient notify 0x%02x",
		    p[1]);
		return 0;
	}
	if (qcheck_le16(p + 2) > QFILE_REASON_MAX) {
		bad(q, QFILE_ERR_LIMIT, o + 2, "reason of %u bytes, limit %d",
		    qcheck_le16(p + 2), QFILE_REASON_MAX);
		return 0;
	}
	return 1;
}

static int
rcpt_addrs_ok(struct qcheck *q)
{
	const unsigned char *p = q->buf + QFILE_RCPT_FIXED;
	uint64_t o = q->rec_off + QFILE_REC_HDR + QFILE_RCPT_FIXED;
	uint32_t alen = qcheck_le16(p), olen;

	if (alen == 0 || alen > QFILE_ADDR_MAX) {
		bad(q, alen ? QFILE_ERR_LIMIT : QFILE_ERR_RECORD, o,
		    "recipient address of %u bytes (1..%d)", alen,
		    QFILE_ADDR_MAX);
		return 0;
	}
	if (QFILE_RCPT_FIXED + 2 + alen > q->len) {
		bad(q, QFILE_ERR_RECORD, o,
		    "recipient address of %u bytes overruns its record", alen);
		return 0;
	}
	olen = q->len - QFILE_RCPT_FIXED - 2 - alen;
	if (olen > QFILE_ADDR_MAX) {
		bad(q, QFILE_ERR_LIMIT, o, "ORCPT of %u bytes, limit %d", olen,
		    QFILE_ADDR_MAX);
		return 0;
	}
	if (!qcheck_text_ok(p + 2, alen + olen, 0)) {
		bad(q, QFILE_ERR_RECORD, o, "control byte in a recipient");
		return 0;
	}
	return 1;
}

static void
rcpt_done(struct qcheck *q)
{
	if (!rcpt_fixed_ok(q) || !rcpt_addrs_ok(q))
		return;
	if (q->info->nrcpt == 0)
		q->info->rcpt_off = (off_t)q->rec_off;
	q->info->nrcpt++;
	if (q->buf[0] == QFILE_RCPT_DELIVERED ||
	    q->buf[0] == QFILE_RCPT_BOUNCED)
		q->info->ndone++;
	q->stage = S_RCPT;
}

static void
end_done(struct qcheck *q)
{
	unsigned char sum[QFILE_HASH_SIZE];

	br_sha256_out(&q->sha, sum);
	if (memcmp(sum, q->buf, sizeof sum) != 0) {
		bad(q, QFILE_ERR_CHECKSUM, q->rec_off,
		    "the end record's SHA-256 does not match the contents");
		return;
	}
	/* Only now is an unknown flag known not to be damage. */
	if (q->info->flags & ~(uint32_t)QFILE_FLAGS_KNOWN) {
		bad(q, QFILE_ERR_VERSION, 20,
		    "flags 0x%x unknown to this version", q->info->flags);
		return;
	}
	q->info->end_off = (off_t)q->rec_off;
	q->st = P_END;
}

static void
payload_done(struct qcheck *q)
{
	switch (q->type) {
	case 'A':
		attr_done(q);
		break;
	case 'S':
		sender_done(q);
		break;
	case 'R':
		rcpt_done(q);
		/* the checksum sees the in-place bytes as zero */
		q->buf[0] = 0;
		memset(q->buf + 2, 0, QFILE_RCPT_FIXED - 2);
		break;
	default:
		end_done(q);
		return;
	}
	br_sha256_update(&q->sha, q->buf, q->len);
	start_record(q);
}

static size_t
content(struct qcheck *q, const unsigned char *p, size_t n)
{
	size_t take = q->len - q->have;

	if (take > n)
		take = n;
	br_sha256_update(&q->sha, p, take);
	q->have += (uint32_t)take;
	q->off += take;
	q->info->content_size += take;
	if (q->have == q->len)
		start_record(q);
	return take;
}

void
qcheck_feed(struct qcheck *q, const unsigned char *p, size_t n)
{
	/* loop invariant: p[0..n) are the bytes at offset q->off */
	while (n > 0 && q->err == QFILE_OK) {
		size_t used = 0;

		switch (q->st) {
		case P_HEADER:
			used = gather(q, p, n, QFILE_HEADER_SIZE);
			header_early(q);
			if (q->err == QFILE_OK && q->have == QFILE_HEADER_SIZE)
				header_done(q);
			break;
		case P_RECHDR:
			used = gather(q, p, n, QFILE_REC_HDR);
			if (q->have == QFILE_REC_HDR)
				rechdr_done(q);
			break;
		case P_PAYLOAD:
			used = gather(q, p, n, q->len);
			if (q->have == q->len)
				payload_done(q);
			break;
		case P_CONTENT:
			used = content(q, p, n);
			break;
		default:
			bad(q, QFILE_ERR_RECORD, q->off,
			    "bytes after the end record");
			return;
		}
		p += used;
		n -= used;
	}
}

enum qfile_err
qcheck_finish(struct qcheck *q)
{
	if (q->err != QFILE_OK)
		return q->err;
	q->info->file_size = q->off;
	if (q->st == P_HEADER)
		bad(q, QFILE_ERR_TRUNCATED, q->off,
		    "the file ends inside the %d-byte header",
		    QFILE_HEADER_SIZE);
	else if (q->st == P_RECHDR && q->have == 0)
		bad(q, QFILE_ERR_TRUNCATED, q->off,
		    "the file ends before the end record");
	else if (q->st != P_END)
		bad(q, QFILE_ERR_TRUNCATED, q->off,
		    "the file ends inside the record at offset %llu",
		    (unsigned long long)q->rec_off);
	return q->err;
}

enum qfile_err
qfile_check_mem(const unsigned char *p, size_t len, struct qfile_info *info,
                char *where, size_t wherecap)
{
	struct qcheck q;

	qcheck_init(&q, info, where, wherecap);
	qcheck_feed(&q, p, len);
	return qcheck_finish(&q);
}
