/*
 * smtpd.c - the SMTP server session: line reader with poll timeouts,
 * replies (buffered so that a pipelining client gets them in order, in
 * as few writes as possible), the DATA stream into the queue file with
 * the Received: header, and the main loop. Runs as mail_owner (the smtpd
 * role) or as the invoking user (sendmail -bs). UNTRUSTED: every byte
 * read from in_fd; HELO names and addresses reach logs only escaped.
 */
#include "smtpd.h"
#include "role.h"
#include "tls.h"
#include "cidr.h"
#include "local.h" /* local_hops, the Received: counter */
#include "wake.h"
#include "util/clock.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void
copy_conf(struct smtpd *s, const struct conf *c)
{
	const char *bl = conf_get(c, "smtpd_forbid_bare_newline");

	/* conf_get values live until the next conf_* call: use at once */
	s->bare_lf_reject = bl && strcmp(bl, "reject") == 0;
	str_copy(s->myhostname, sizeof s->myhostname,
	         conf_get(c, "myhostname"));
	str_copy(s->qdir, sizeof s->qdir, conf_get(c, "queue_directory"));
	s->size_limit = (uint64_t)conf_size(c, "message_size_limit");
	s->minfree = (uint64_t)conf_size(c, "queue_minfree");
	s->rcpt_limit = conf_int(c, "smtpd_recipient_limit");
	s->hard_limit = conf_int(c, "smtpd_hard_error_limit");
	s->soft_limit = conf_int(c, "smtpd_soft_error_limit");
	s->timeout_ms = (int)(conf_time(c, "smtpd_timeout") * 1000);
	s->helo_required = conf_bool(c, "smtpd_helo_required");
	s->vrfy_disabled = conf_bool(c, "disable_vrfy_command");
	s->utf8 = conf_bool(c, "smtputf8_enable");
}

/* mynetworks expanded now (names resolved, files read: cidr_list.c).
 * The list (9 KiB) is static: a malloc'd one cost an mmap/munmap pair
 * per session. */
static int
in_mynetworks(const struct conf *c, const char *ip)
{
	static struct cidr_list l;

	cidr_list_load(&l, conf_get(c, "mynetworks"));
	return cidr_list_has(&l, ip) == 1;
}

int
smtpd_init(struct smtpd *s, const struct conf *c, const struct smtpd_opts *o)
{
	const char *ip = o->client_addr;

	memset(s, 0, sizeof *s);
	s->conf = c;
	s->in_fd = o->in_fd;
	s->out_fd = o->out_fd;
	s->wake_fd = o->wake_fd ? *o->wake_fd : -1;
	s->state = SMTPD_S_CONNECT;
	s->uid = (unsigned long)o->uid;
	if (o->local)
		s->flags |= SMTPD_F_LOCAL;
	copy_conf(s, c);
	if (!ip || !*ip)
		ip = "127.0.0.1";
	str_escape(s->client_addr, sizeof s->client_addr, ip, strlen(ip));
	str_copy(s->client_name, sizeof s->client_name,
	         o->local ? "localhost" : "unknown");
	snprintf(s->client, sizeof s->client, "%s[%s]", s->client_name,
	         s->client_addr);
	s->mynetworks = in_mynetworks(c, ip);
	s->creds = o->creds;
	smtpd_tls_init(s);
	return 0;
}

void
smtpd_reply(struct smtpd *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 3)
		n = (int)(sizeof line - 3);
	if ((line[0] == '4' || line[0] == '5') && line[3] == ' ')
		s->errors++;
	memcpy(line + n, "\r\n", 2);
	n += 2;
	if (s->outlen + (size_t)n > sizeof s->out && smtpd_flush(s) < 0)
		return;
	memcpy(s->out + s->outlen, line, (size_t)n);
	s->outlen += (size_t)n;
}

int
smtpd_flush(struct smtpd *s)
{
	size_t n = s->outlen;

	s->outlen = 0;
	if (n == 0)
		return 0;
	if (s->soft_limit > 0 && s->errors >= (unsigned long)s->soft_limit)
		poll(NULL, 0, SMTPD_SLEEP_MS); /* tarpit a misbehaving client */
	if (s->tls ? tls_write_all(s->tls, s->out, n) < 0
	           : io_write_all(s->out_fd, s->out, n) < 0) {
		s->flags |= SMTPD_F_QUIT;
		return -1;
	}
	return 0;
}

/* fill() through TLS: the engine may hold decrypted bytes already, so
 * it waits (with the timeout) only when it needs records. */
static int
fill_tls(struct smtpd *s)
{
	ssize_t n = tls_read(s->tls, s->in, sizeof s->in);
	char why[200];

	if (n > 0) {
		s->inpos = 0;
		s->inlen = (size_t)n;
		return 1;
	}
	if (n < 0 && s->tls->ev == TLS_EV_STOP) {
		smtpd_reply(s, "421 4.3.2 %s Service shutting down",
		            s->myhostname);
		smtpd_flush(s);
		return -1;
	}
	if (n < 0 && s->tls->ev == TLS_EV_TIMEOUT) {
		log_info("timeout after %s from %s", s->last_cmd, s->client);
		smtpd_reply(s, "421 4.4.2 %s Error: timeout exceeded",
		            s->myhostname);
		smtpd_flush(s);
		return -1;
	}
	if (n < 0 && s->tls->ev == TLS_EV_NONE) {
		tls_error_text(s->tls, why, sizeof why);
		log_info("TLS error after %s from %s: %s", s->last_cmd,
		         s->client, why);
	}
	log_info("lost connection after %s from %s", s->last_cmd, s->client);
	return n == 0 ? 0 : -1;
}

/* Fill the input buffer: flush the replies first (the client may wait
 * for them), then wait at most smtpd_timeout. 1 data, 0 EOF, -1 error or
 * timeout (logged). */
static int
fill(struct smtpd *s)
{
	struct pollfd p = {s->in_fd, POLLIN, 0};
	ssize_t n;
	int r;

	if (smtpd_flush(s) < 0)
		return -1;
	if (s->tls)
		return fill_tls(s);
	do
		r = poll(&p, 1, s->timeout_ms);
	while (r < 0 && errno == EINTR && !role_stopping());
	if (r < 0 && role_stopping()) { /* SIGTERM: tinymta stop */
		smtpd_reply(s, "421 4.3.2 %s Service shutting down",
		            s->myhostname);
		smtpd_flush(s);
		return -1;
	}
	if (r == 0) {
		log_info("timeout after %s from %s", s->last_cmd, s->client);
		smtpd_reply(s, "421 4.4.2 %s Error: timeout exceeded",
		            s->myhostname);
		smtpd_flush(s);
		return -1;
	}
	n = r < 0 ? -1 : io_read(s->in_fd, s->in, sizeof s->in);
	if (n <= 0) {
		log_info("lost connection after %s from %s", s->last_cmd,
		         s->client);
		return n == 0 ? 0 : -1;
	}
	s->inpos = 0;
	s->inlen = (size_t)n;
	return 1;
}

/* Read one command line into s->line (line end removed). 1 line, 2 too
 * long (discarded up to its LF), 3 bare LF in reject mode, 0 EOF, -1. */
static int
read_line(struct smtpd *s)
{
	int toolong = 0, r;

	s->linelen = 0;
	for (;;) {
		unsigned char *lf;
		size_t n;

		if (s->inpos == s->inlen && (r = fill(s)) <= 0)
			return r;
		lf = memchr(s->in + s->inpos, '\n', s->inlen - s->inpos);
		n = lf ? (size_t)(lf - (s->in + s->inpos))
		       : s->inlen - s->inpos;
		if (s->linelen + n > SMTP_CMD_EXT_MAX - 1)
			toolong = 1;
		if (!toolong) {
			memcpy(s->line + s->linelen, s->in + s->inpos, n);
			s->linelen += n;
		}
		s->inpos += n + (lf != NULL);
		if (lf)
			break;
	}
	if (toolong)
		return 2;
	if (s->linelen > 0 && s->line[s->linelen - 1] == '\r')
		s->linelen--;
	else if (s->bare_lf_reject)
		return 3;
	s->line[s->linelen] = '\0';
	return 1;
}

int
smtpd_getline(struct smtpd *s)
{
	return read_line(s);
}

void
smtpd_log_reject(struct smtpd *s, const char *cmd, const char *reply,
                 const char *rcpt)
{
	char from[ADDR_TEXT_MAX * 4], to[ADDR_TEXT_MAX * 4], helo[1024];

	str_escape(from, sizeof from, s->sender, strlen(s->sender));
	str_escape(to, sizeof to, rcpt, strlen(rcpt));
	str_escape(helo, sizeof helo, s->helo, strlen(s->helo));
	log_info("%s: reject: %s from %s: %s; from=<%s> to=<%s> proto=%s "
	         "helo=<%s>",
	         s->w ? s->qid : "NOQUEUE", cmd, s->client, reply, from, to,
	         s->flags & SMTPD_F_ESMTP ? "ESMTP" : "SMTP", helo);
}

/* ---- DATA ---- */

static void
rfc5322_date(char *out, size_t cap)
{
	time_t now = time(NULL);
	struct tm tm;

	if (!localtime_r(&now, &tm) ||
	    strftime(out, cap, "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm) == 0)
		str_copy(out, cap, "Thu, 01 Jan 1970 00:00:00 +0000 (UTC)");
}

/* The Received: header, Postfix's layout, with the TLS and AUTH slots. */
static int
received(struct smtpd *s)
{
	char hdr[2048], helo[SMTPD_HELO_MAX * 4 + 1], date[64], by[96],
	    forr[ADDR_TEXT_MAX + 16] = "";
	const char *proto = s->flags & SMTPD_F_ESMTP ? "ESMTP" : "SMTP";
	int n;

	str_escape(helo, sizeof helo, s->helo, strlen(s->helo));
	rfc5322_date(date, sizeof date);
	if (s->flags & SMTPD_F_LOCAL)
		snprintf(by, sizeof by, "(tinymta, from userid %lu)", s->uid);
	else
		str_copy(by, sizeof by, "(tinymta)");
	if (s->nrcpt == 1)
		snprintf(forr, sizeof forr, "\n\tfor <%s>", s->first_rcpt);
	n = snprintf(hdr, sizeof hdr,
	             "Received: from %s (%s [%s])%s%s\n\tby %s %s with %s%s%s "
	             "id %s%s; %s\n",
	             helo[0] ? helo : s->client_addr, s->client_name,
	             s->client_addr, s->tls_text[0] ? "\n\t" : "", s->tls_text,
	             s->myhostname, by, proto,
	             s->flags & SMTPD_F_TLS ? "S" : "",
	             s->flags & SMTPD_F_AUTH ? "A" : "", s->qid, forr, date);
	if (n < 0 || (size_t)n >= sizeof hdr)
		return -1;
	s->data.size += (uint64_t)n;
	return qfile_put_content(s->w, hdr, (size_t)n);
}

/* Wake whoever takes the new file with a datagram: qmgr (incoming/),
 * pickup (maildrop/, -bs). Neither running is fine: the file waits for
 * its scan at start. */
static void
wake(struct smtpd *s)
{
	if (!(s->flags & SMTPD_F_LOCAL)) {
		if (wake_send(&s->wake_fd, s->qdir, "qmgr") < 0)
			log_debug("qmgr not woken: %s", strerror(errno));
		return;
	}
	wake_pickup(s->qdir);
}

enum data_fail { DF_NONE, DF_WRITE, DF_SIZE, DF_HOPS };

/* Stream until CRLF.CRLF. Returns 1 at the end, 0 on EOF/timeout/bare
 * LF rejection (the session ends), with *fail saying what went wrong.
 * h counts the Received: fields of the client's header (hopcount_limit:
 * past it nothing more is written). */
static int
stream(struct smtpd *s, struct local_hops *h, enum data_fail *fail)
{
	unsigned hop_limit = (unsigned)conf_int(s->conf, "hopcount_limit");

	for (;;) {
		size_t got, used;
		enum smtp_data_ret r;

		if (s->inpos == s->inlen && fill(s) <= 0)
			return 0;
		r = smtp_data_feed(&s->data, s->in + s->inpos,
		                   s->inlen - s->inpos, s->dout, &got, &used);
		s->inpos += used;
		if (s->bare_lf_reject && s->data.bare_lf > 0) {
			smtpd_reply(s, "521 5.5.2 %s Error: bare <LF> received",
			            s->myhostname);
			return 0;
		}
		if (s->size_limit && s->data.size > s->size_limit)
			*fail = DF_SIZE;
		local_hops_feed(h, (const char *)s->dout, got);
		if (*fail == DF_NONE && h->count > hop_limit)
			*fail = DF_HOPS;
		if (*fail == DF_NONE &&
		    qfile_put_content(s->w, s->dout, got) < 0)
			*fail = DF_WRITE;
		if (r == SMTP_DATA_END)
			return 1;
	}
}

static void
data_done(struct smtpd *s, enum data_fail fail, unsigned hops)
{
	char id[QFILE_ID_MAX];

	if (fail == DF_SIZE) {
		log_info("%s: reject: message size exceeds limit from %s",
		         s->qid, s->client);
		smtpd_reply(s, "552 5.3.4 Error: message file too big");
	} else if (fail == DF_HOPS) {
		log_info("%s: reject: too many hops (%u Received: header "
		         "fields, hopcount_limit = %lld) from %s",
		         s->qid, hops, conf_int(s->conf, "hopcount_limit"),
		         s->client);
		smtpd_reply(s, "554 5.4.6 Error: too many hops");
	} else if (s->data.nul > 0) {
		log_info("%s: reject: NUL character in message from %s", s->qid,
		         s->client);
		smtpd_reply(s, "554 5.6.0 Error: message contains NUL "
		               "characters");
	} else if (fail == DF_WRITE || qfile_commit(s->w, id) < 0) {
		log_error("%s: queue file write error: %s", s->qid,
		          strerror(errno));
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
	} else {
		smtpd_reply(s, "250 2.0.0 Ok: queued as %s", id);
		smtpd_flush(s);
		wake(s);
	}
	smtpd_reset(s);
}

void
smtpd_data(struct smtpd *s)
{
	enum data_fail fail = DF_NONE;
	struct local_hops h;

	smtp_data_init(&s->data);
	local_hops_init(&h, SIZE_MAX); /* bounded by the header's end */
	if (received(s) < 0)
		fail = DF_WRITE;
	smtpd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	if (!stream(s, &h, &fail)) {
		smtpd_reset(s);
		s->flags |= SMTPD_F_QUIT;
		return;
	}
	data_done(s, fail, h.count);
}

/* ---- BDAT (RFC 3030) ---- */

/* A chunk's bytes as canonical content (lines end in LF alone): CRLF is
 * a line end, also across chunks; a bare CR is data; a bare LF is a line
 * end and counted, as in DATA; no dot-stuffing. out holds n + 1. */
static size_t
bdat_canon(struct smtpd *s, const unsigned char *in, size_t n,
           unsigned char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = in[i];

		if (s->bdat_cr) {
			s->bdat_cr = 0;
			if (c == '\n') {
				out[o++] = '\n';
				continue;
			}
			out[o++] = '\r';
		}
		if (c == '\r') {
			s->bdat_cr = 1;
			continue;
		}
		if (c == '\n')
			s->data.bare_lf++;
		else if (c == '\0')
			s->data.nul++;
		out[o++] = c;
	}
	return o;
}

/* Store canonical bytes under the limits (size, hops); write errors. */
static void
bdat_put(struct smtpd *s, const unsigned char *p, size_t n)
{
	unsigned hop_limit = (unsigned)conf_int(s->conf, "hopcount_limit");

	if (n == 0)
		return;
	s->data.size += n;
	s->bdat_lf = p[n - 1] == '\n';
	local_hops_feed(&s->bdat_hops, (const char *)p, n);
	if (s->bdat_fail == DF_NONE && s->size_limit &&
	    s->data.size > s->size_limit)
		s->bdat_fail = DF_SIZE;
	if (s->bdat_fail == DF_NONE && s->bdat_hops.count > hop_limit)
		s->bdat_fail = DF_HOPS;
	if (s->bdat_fail == DF_NONE && qfile_put_content(s->w, p, n) < 0)
		s->bdat_fail = DF_WRITE;
}

/* Read exactly size bytes; keep: into the message. 1, or 0 on EOF or
 * timeout (the session ends). */
static int
bdat_read(struct smtpd *s, uint64_t size, int keep)
{
	while (size > 0) {
		size_t n;

		if (s->inpos == s->inlen && fill(s) <= 0)
			return 0;
		n = s->inlen - s->inpos;
		if ((uint64_t)n > size)
			n = (size_t)size;
		if (keep)
			bdat_put(s, s->dout,
			         bdat_canon(s, s->in + s->inpos, n, s->dout));
		s->inpos += n;
		size -= n;
	}
	return 1;
}

void
smtpd_bdat(struct smtpd *s, uint64_t size, int last, const char *refuse)
{
	if (refuse) {
		if (!bdat_read(s, size, 0))
			s->flags |= SMTPD_F_QUIT;
		else
			smtpd_reply(s, "%s", refuse);
		return;
	}
	if (!s->bdat) {
		s->bdat = 1;
		s->bdat_cr = 0;
		s->bdat_fail = DF_NONE;
		smtp_data_init(&s->data);
		local_hops_init(&s->bdat_hops, SIZE_MAX);
		if (received(s) < 0)
			s->bdat_fail = DF_WRITE;
		s->bdat_lf = 1;
	}
	if (!bdat_read(s, size, 1)) {
		smtpd_reset(s);
		s->flags |= SMTPD_F_QUIT;
		return;
	}
	if (!last) {
		/* errors are told at LAST: the client sends its chunks anyway
		 */
		smtpd_reply(s, "250 2.0.0 Ok: %llu bytes",
		            (unsigned long long)size);
		return;
	}
	if (s->bdat_cr) { /* a CR at the very end is data */
		s->bdat_cr = 0;
		bdat_put(s, (const unsigned char *)"\r", 1);
	}
	if (!s->bdat_lf) /* the content ends with a line end, as DATA's */
		bdat_put(s, (const unsigned char *)"\n", 1);
	if (s->bare_lf_reject && s->data.bare_lf > 0) {
		smtpd_reply(s, "521 5.5.2 %s Error: bare <LF> received",
		            s->myhostname);
		smtpd_reset(s);
		s->flags |= SMTPD_F_QUIT;
		return;
	}
	data_done(s, (enum data_fail)s->bdat_fail, s->bdat_hops.count);
}

int
smtpd_session(struct smtpd *s, const struct conf *c, const struct smtpd_opts *o)
{
	struct smtpd *own = s ? NULL : malloc(sizeof *s);
	int rc = 75;

	if (!s)
		s = own;
	if (s && smtpd_init(s, c, o) == 0) {
		rc = smtpd_run(s);
		if (o->wake_fd)
			*o->wake_fd = s->wake_fd;
		else if (s->wake_fd >= 0)
			io_close(s->wake_fd);
	}
	free(own);
	return rc;
}

int
smtpd_session_main(int in_fd, int out_fd, const struct conf *c, int local,
                   uid_t uid)
{
	struct smtpd_opts o = {
	    .in_fd = in_fd,
	    .out_fd = out_fd,
	    .local = local,
	    .uid = uid,
	    .client_addr = local ? NULL : getenv("TINYMTA_CLIENT_ADDR"),
	    .client_port = local ? NULL : getenv("TINYMTA_CLIENT_PORT"),
	    .service = local ? NULL : getenv("TINYMTA_SERVICE"),
	};

	return smtpd_session(NULL, c, &o);
}

/* ---- the loop ---- */

static void
greet(struct smtpd *s)
{
	char banner[CONF_VALUE_MAX];

	str_copy(banner, sizeof banner, conf_get(s->conf, "smtpd_banner"));
	smtpd_reply(s, "220 %s", banner);
	log_info("connect from %s", s->client);
}

int
smtpd_run(struct smtpd *s)
{
	if (s->tls_wrapper && smtpd_tls_start(s) < 0) {
		smtpd_tls_end(s);
		return 0;
	}
	greet(s);
	str_copy(s->last_cmd, sizeof s->last_cmd, "CONNECT");
	while (!(s->flags & SMTPD_F_QUIT)) {
		int r = read_line(s);

		if (r <= 0)
			break;
		if (r == 2) {
			smtpd_reply(s, "500 5.5.2 Error: line too long");
		} else if (r == 3) {
			smtpd_reply(s, "521 5.5.2 %s Error: bare <LF> received",
			            s->myhostname);
			break;
		} else {
			smtpd_dispatch(s, s->line, s->linelen);
		}
		if (!(s->flags & SMTPD_F_QUIT) && s->hard_limit > 0 &&
		    s->errors >= (unsigned long)s->hard_limit) {
			log_info("too many errors after %s from %s",
			         s->last_cmd, s->client);
			smtpd_reply(s, "421 4.7.0 %s Error: too many errors",
			            s->myhostname);
			break;
		}
	}
	smtpd_flush(s);
	smtpd_reset(s);
	smtpd_tls_end(s);
	log_info("disconnect from %s", s->client);
	return 0;
}
