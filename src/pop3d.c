/*
 * pop3d.c - the login phase of the POP3 server (see pop3d.h), run by the
 * master as mail_owner with the connection on descriptors 0 and 1 and its
 * link on 3. UNTRUSTED: every byte from the client (pop3_cmd.c parses
 * commands, sasl_decode.c the AUTH PLAIN message).
 *
 * Plaintext logins (USER/PASS, AUTH PLAIN) are refused without TLS while
 * pop3d_tls_auth_only = yes (the default):
 *   -ERR [SYS/PERM] plaintext login not allowed without TLS
 * TLS (pop3d_tls.c): STLS when a certificate is loaded, the handshake
 * before the greeting with pop3d_tls_wrappermode, and after a login under
 * TLS this process stays as the relay of the session (docs/pop3d.md).
 */
#include "ctl_client.h"
#include "ipc.h"
#include "pop3_cmd.h"
#include "pop3d.h"
#include "role.h"
#include "sasl.h"
#include "sasl_decode.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
pop3d_init(struct pop3d *d, struct conf *c)
{
	const char *ip = getenv("TINYMTA_CLIENT_ADDR");
	long long t = conf_time(c, "pop3d_timeout");

	memset(d, 0, sizeof *d);
	d->conf = c;
	d->ip = ip && *ip ? ip : "unknown";
	if (t <= 0 || t > 86400)
		t = 600;
	pop3_io_init(&d->io, 0, 1, (int)(t * 1000));
	d->io.stopping = role_stopping;
}

int
pop3d_reply(struct pop3d *d, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n > sizeof buf - 3)
		n = (int)sizeof buf - 3;
	buf[n++] = '\r';
	buf[n++] = '\n';
	return pop3_io_put(&d->io, buf, (size_t)n);
}

/* pop3d_tls_wrappermode (POP3S, RFC 8314): the handshake before the
 * greeting. Without a usable certificate the connection is closed
 * unanswered (a POP3S client would not read a plaintext error). 0, or
 * -1. */
static int
tls_wrap(struct pop3d *d)
{
	if (!conf_bool(d->conf, "pop3d_tls_wrappermode"))
		return 0;
	if (!pop3d_tls_available(d)) {
		log_error("pop3d_tls_wrappermode = yes, but no usable "
		          "certificate (pop3d_tls_cert_file); closing the "
		          "connection from %s",
		          d->ip);
		return -1;
	}
	return pop3d_tls_start(d, 0);
}

static int
plaintext_ok(const struct pop3d *d)
{
	return d->tls || !conf_bool(d->conf, "pop3d_tls_auth_only");
}

static void
capa(struct pop3d *d)
{
	pop3d_reply(d, "+OK Capability list follows");
	pop3d_reply(d, "TOP");
	pop3d_reply(d, "UIDL");
	pop3d_reply(d, "RESP-CODES");
	pop3d_reply(d, "AUTH-RESP-CODE");
	if (plaintext_ok(d)) {
		pop3d_reply(d, "USER");
		pop3d_reply(d, "SASL PLAIN");
	}
	if (pop3d_tls_available(d) && !d->tls)
		pop3d_reply(d, "STLS");
	pop3d_reply(d, "IMPLEMENTATION tinymta");
	pop3d_reply(d, ".");
}

/* The failures of this client in the current minute, as the master counts
 * them for smtpd_client_auth_rate_limit ("auth-fail" adds one). 0 when
 * no limit is set or the master cannot be asked (logged). */
static unsigned long
rate(struct pop3d *d, const char *what)
{
	if (conf_int(d->conf, "smtpd_client_auth_rate_limit") <= 0 ||
	    strcmp(d->ip, "unknown") == 0)
		return 0;
	return ctl_auth_failures(conf_get(d->conf, "queue_directory"), what,
	                         d->ip);
}

static int
over_rate(struct pop3d *d, unsigned long n)
{
	long long lim = conf_int(d->conf, "smtpd_client_auth_rate_limit");

	return lim > 0 && n >= (unsigned long long)lim;
}

/* A failed login: logged, counted, slowed. 1 when the session must end. */
static int
failed(struct pop3d *d, const char *user, const char *why)
{
	char esc[2 * SASL_USER_MAX + 8];
	unsigned long n;

	str_escape(esc, sizeof esc, user, strlen(user));
	log_warn("[%s]: POP3 login failed for \"%s\": %s", d->ip, esc, why);
	d->fails++;
	n = rate(d, "auth-fail");
	pop3_io_flush(&d->io);
	poll(NULL, 0, POP3D_FAIL_SLEEP_MS * (int)(d->fails < 4 ? d->fails : 4));
	if (d->fails >= POP3D_FAILS_MAX || over_rate(d, n)) {
		pop3d_reply(d, "-ERR [AUTH] Too many failed logins");
		return 1;
	}
	pop3d_reply(d, "-ERR [AUTH] Authentication failed");
	return 0;
}

/* Ask the master for the mailbox phase. 0 when it took the connection
 * (it answers the client from now on), -1 when not (replied). Under TLS
 * the mailbox phase gets one end of a socketpair and this process relays
 * between it and the TLS session until the session ends. */
static int
handoff(struct pop3d *d, const char *user)
{
	const char *f[] = {user};
	int fd = 0, sv[2] = {-1, -1};
	unsigned char buf[IPC_FRAME_MAX];
	struct ipc_msg m;
	struct pollfd p = {POP3D_LINK_FD, POLLIN, 0};

	if (pop3_io_flush(&d->io) < 0)
		return -1;
	if (d->tlsc) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) <
		    0) {
			log_error("socketpair for the TLS relay: %s",
			          strerror(errno));
			pop3d_reply(d, "-ERR [SYS/TEMP] Cannot open the "
			               "mailbox now");
			return -1;
		}
		fd = sv[1];
	}
	if (ipc_send(POP3D_LINK_FD, IPC_POP3_LOGIN, f, 1, &fd, 1) < 0) {
		log_error("cannot ask the master for the mailbox of %s: %s",
		          user, strerror(errno));
	} else if (poll(&p, 1, POP3D_HANDOFF_MS) <= 0 ||
	           ipc_recv(POP3D_LINK_FD, buf, &m) <= 0 ||
	           m.type != IPC_REPLY || m.nfields < 1) {
		log_error("no answer from the master for the mailbox of %s",
		          user);
	} else if (strcmp(m.field[0], "ok") == 0) {
		if (d->tlsc) {
			close(sv[1]);
			pop3d_tls_relay(d, sv[0]);
		}
		return 0;
	} else {
		log_warn("master refused the mailbox of %s: %s", user,
		         m.field[0]);
	}
	if (d->tlsc) {
		close(sv[0]);
		close(sv[1]);
	}
	pop3d_reply(d, "-ERR [SYS/TEMP] Cannot open the mailbox now");
	return -1;
}

/* Check user/pass. 1 logged in (connection handed over), 0 failed and
 * the session goes on, -1 the session ends. */
static int
login(struct pop3d *d, const char *user, const char *pass)
{
	int ok;

	if (over_rate(d, rate(d, "auth-count"))) {
		log_warn("[%s]: too many failed logins in a minute", d->ip);
		pop3_io_flush(&d->io);
		poll(NULL, 0, POP3D_FAIL_SLEEP_MS);
		pop3d_reply(d, "-ERR [AUTH] Too many failed logins; try "
		               "later");
		return -1;
	}
	ok = sasl_verify(conf_get(d->conf, "tinymta_sasl_users"), user, pass);
	if (ok < 0) {
		log_error("cannot read %s: %s",
		          conf_get(d->conf, "tinymta_sasl_users"),
		          strerror(errno));
		pop3d_reply(d, "-ERR [SYS/TEMP] Cannot check passwords now");
		return 0;
	}
	if (ok == 0)
		return failed(d, user, "bad user name or password") ? -1 : 0;
	if (!getpwnam(user)) {
		log_warn("[%s]: POP3 login %s has no system account", d->ip,
		         user);
		pop3d_reply(d, "-ERR [SYS/PERM] No mailbox for this login");
		return 0;
	}
	log_info("[%s]: POP3 login user=%s", d->ip, user);
	return handoff(d, user) == 0 ? 1 : -1;
}

/* AUTH PLAIN [initial-response] (RFC 5034). Returns as login(). */
static int
auth(struct pop3d *d, const struct pop3_cmd *c)
{
	char b64[SASL_B64_MAX + 3], user[SASL_USER_MAX + 1],
	    pass[SASL_PASS_MAX + 1];
	unsigned char msg[SASL_MSG_MAX];
	const char *in;
	size_t inlen, n;
	int r;

	if (c->nargs == 0) {
		pop3d_reply(d, "+OK Mechanisms follow");
		pop3d_reply(d, "PLAIN");
		pop3d_reply(d, ".");
		return 0;
	}
	if (c->arglen[0] != 5 || !str_prefix_nocase(c->arg[0], "PLAIN")) {
		pop3d_reply(d, "-ERR Unsupported authentication mechanism");
		return 0;
	}
	if (c->nargs == 2) {
		in = c->arg[1];
		inlen = c->arglen[1];
		if (inlen == 1 && in[0] == '=')
			inlen = 0;
	} else {
		pop3d_reply(d, "+ ");
		r = pop3_io_line(&d->io, b64, sizeof b64, &n);
		if (r == POP3_IO_LONG) {
			pop3d_reply(d, "-ERR Authentication line too long");
			return 0;
		}
		if (r != POP3_IO_LINE)
			return -1;
		while (n > 0 && (b64[n - 1] == '\n' || b64[n - 1] == '\r'))
			n--;
		if (n == 1 && b64[0] == '*') {
			pop3d_reply(d, "-ERR Authentication cancelled");
			return 0;
		}
		in = b64;
		inlen = n;
	}
	if (sasl_b64_decode(in, inlen, msg, sizeof msg, &n) != SASL_OK ||
	    sasl_plain_parse(msg, n, user, pass) != SASL_OK) {
		explicit_bzero(msg, sizeof msg);
		pop3d_reply(d, "-ERR Cannot decode the PLAIN response");
		return 0;
	}
	explicit_bzero(msg, sizeof msg);
	r = login(d, user, pass);
	explicit_bzero(pass, sizeof pass);
	explicit_bzero(b64, sizeof b64);
	return r;
}

/* One command of the AUTHORIZATION state. 1 handed over, 0 go on, -1
 * end the session. */
static int
command(struct pop3d *d, const struct pop3_cmd *c, char *user)
{
	char pass[POP3_LINE_MAX + 1];
	int r;

	switch (c->verb) {
	case POP3_CAPA:
		capa(d);
		return 0;
	case POP3_QUIT:
		pop3d_reply(d, "+OK Bye");
		return -1;
	case POP3_STLS:
		if (d->tls || !pop3d_tls_available(d)) {
			pop3d_reply(d, "-ERR STLS not available");
			return 0;
		}
		user[0] = '\0'; /* RFC 2595 4: forget what came before */
		return pop3d_tls_start(d, 1) < 0 ? -1 : 0;
	case POP3_USER:
	case POP3_PASS:
	case POP3_AUTH:
		if (!plaintext_ok(d)) {
			pop3d_reply(d, "-ERR [SYS/PERM] plaintext login not "
			               "allowed without TLS");
			return 0;
		}
		break;
	default:
		pop3d_reply(d, "-ERR Not logged in");
		return 0;
	}
	if (c->verb == POP3_AUTH)
		return auth(d, c);
	if (c->verb == POP3_USER) {
		if (sasl_user_check(c->arg[0], c->arglen[0]) != SASL_OK) {
			pop3d_reply(d, "-ERR Bad user name");
			return 0;
		}
		str_copy_n(user, SASL_USER_MAX + 1, c->arg[0], c->arglen[0]);
		pop3d_reply(d, "+OK");
		return 0;
	}
	if (!user[0]) {
		pop3d_reply(d, "-ERR USER first");
		return 0;
	}
	str_copy_n(pass, sizeof pass, c->arg[0], c->arglen[0]);
	r = login(d, user, pass);
	explicit_bzero(pass, sizeof pass);
	user[0] = '\0';
	return r;
}

int
pop3d_login_main(struct pop3d *d)
{
	char line[POP3_LINE_MAX], user[SASL_USER_MAX + 1] = "";
	unsigned bad = 0;

	pop3d_tls_init(d);
	if (tls_wrap(d) < 0) {
		pop3d_tls_end(d);
		return 0;
	}
	d->io.exact = 1; /* the connection may be handed over */
	pop3d_reply(d, "+OK %s POP3 server ready",
	            conf_get(d->conf, "myhostname"));
	for (;;) {
		struct pop3_cmd c;
		size_t n;
		enum pop3_io_res r =
		    pop3_io_line(&d->io, line, sizeof line, &n);
		enum pop3_err e;
		int k;

		if (r == POP3_IO_TIMEOUT || r == POP3_IO_STOP) {
			pop3d_reply(d,
			            r == POP3_IO_STOP
			                ? "-ERR [SYS/TEMP] Server shutting down"
			                : "-ERR Timeout; closing");
			pop3_io_flush(&d->io);
		}
		if (r != POP3_IO_LINE && r != POP3_IO_LONG)
			break;
		e = r == POP3_IO_LONG ? POP3_ERR_TOO_LONG
		                      : pop3_cmd_parse(line, n, &c);
		if (e != POP3_OK) {
			pop3d_reply(d, "-ERR %s", pop3_cmd_strerror(e));
			if (++bad >= 20)
				break;
			continue;
		}
		k = command(d, &c, user);
		explicit_bzero(line, sizeof line);
		if (k != 0)
			break;
	}
	pop3_io_flush(&d->io);
	pop3d_tls_end(d);
	return 0;
}
