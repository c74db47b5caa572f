/*
 * pop3d.h - the POP3 server (RFC 1939, RFC 2449 CAPA, RFC 5034 AUTH
 * PLAIN) in two processes per connection (DESIGN.md, docs/pop3d.md):
 *   - `tinymta pop3d`, the login phase, as mail_owner: greeting, CAPA,
 *     USER/PASS, AUTH PLAIN against tinymta_sasl_users; after a good
 *     login it hands the connection to the master on descriptor 3
 *     (master_pop3.c) and exits; under TLS (STLS, POP3S: pop3d_tls.c) it
 *     hands over one end of a socketpair and stays as the relay;
 *   - `tinymta pop3d-mailbox USER`, the mailbox phase, as USER: locks and
 *     indexes the mailbox (mbox or Maildir), serves STAT LIST RETR DELE
 *     RSET NOOP TOP UIDL CAPA QUIT and applies deletions at QUIT.
 * Both read the client through pop3_io.h, where TLS plugs in.
 */
#ifndef TINYMTA_POP3D_H
#define TINYMTA_POP3D_H

#include "conf.h"
#include "pop3_io.h"

#define POP3D_FAILS_MAX 3        /* failed logins per connection */
#define POP3D_FAIL_SLEEP_MS 1000 /* the pause before each failure reply */
#define POP3D_LINK_FD 3          /* the login process's link to the master */
#define POP3D_HANDOFF_MS 30000   /* the master's answer to IPC_POP3_LOGIN */

struct tls_conn;
struct tls_creds;

struct pop3d {
	struct conf *conf;
	const char *ip;          /* the client, for logs */
	int tls;                 /* TLS is on for this connection */
	struct tls_creds *creds; /* login phase: NULL without a certificate */
	struct tls_conn *tlsc;   /* after STLS or in wrapper mode */
	unsigned fails;
	struct pop3_io io;
};

/* Logging, TINYMTA_CLIENT_ADDR, the stream on 0/1 with pop3d_timeout. */
void pop3d_init(struct pop3d *d, struct conf *c);
/* One line "+OK text" / "-ERR text" (CRLF added). */
int pop3d_reply(struct pop3d *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* pop3d_tls.c */
/* Load pop3d_tls_cert_file / pop3d_tls_key_file (none when empty). */
void pop3d_tls_init(struct pop3d *d);
/* 1 when a usable certificate is loaded (CAPA offers STLS, POP3S). */
int pop3d_tls_available(const struct pop3d *d);
/* The handshake; with stls, first "+OK Begin TLS negotiation" and the
 * plaintext pipelined after STLS dropped. 0, or -1 (logged). */
int pop3d_tls_start(struct pop3d *d, int stls);
/* Copy between the TLS session and pair (the mailbox phase's end) until
 * either closes, pop3d_timeout passes idle, or SIGTERM. Exit status. */
int pop3d_tls_relay(struct pop3d *d, int pair);
/* close_notify, free the session and the key. */
void pop3d_tls_end(struct pop3d *d);

/* pop3d.c: the login phase. Exit status. */
int pop3d_login_main(struct pop3d *d);
/* pop3d_trans.c: the mailbox phase for user. Exit status. */
int pop3d_mailbox_main(struct pop3d *d, const char *user);

#endif
