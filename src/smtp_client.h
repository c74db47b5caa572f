/*
 * smtp_client.h - state of the smtp delivery agent, `tinymta smtp [-r FD]
 * NEXTHOP ITEM…` (protocol in docs/processes.md, "The smtp agent"). The
 * pieces:
 *   cmd_smtp.c             arguments, queue files, result lines, the log
 *   smtp_client.c          next hops in order (fallback relays), addresses,
 *                          what is left undelivered and why
 *   smtp_client_session.c  one connection: greeting, EHLO/HELO, the mail
 *                          transactions (pipelined when offered), QUIT
 *   smtp_client_nexthop.c  NEXTHOP syntax, address literals
 *   smtp_client_mx.c       MX and address lookups (dns.h)
 *   smtp_client_rewrite.c  outbound rewriting of addresses (rewrite.h)
 *   smtp_client_conn.c     the connection, timeouts (STARTTLS hook)
 *   smtp_client_tls.c      STARTTLS, smtp_tls_wrappermode, the levels
 *   smtp_client_auth.c     AUTH PLAIN/LOGIN with smtp_sasl_password_maps
 *   smtp_client_reply.c    server replies (PURE, fuzzed)
 *   smtp_client_data.c     content as DATA text (PURE)
 */
#ifndef TINYMTA_SMTP_CLIENT_H
#define TINYMTA_SMTP_CLIENT_H

#include "ipc.h"
#include "qfile.h"
#include "rewrite.h"
#include "role.h"
#include "smtp_client_conn.h"
#include "smtp_client_reply.h"
#include "tls.h"

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

/* Items per batch: 5 arguments each; the user, "smtp", "-r", FD, NEXTHOP
 * and 5 * SMTP_ITEMS fields of the IPC_DELIVER frame fit IPC_FIELDS_MAX. */
#define SMTP_ITEMS 12
#define SMTP_SLOTS 13 /* queue files: descriptors 3..15 */
/* Addresses tried per next hop (Postfix's smtp_mx_address_limit). */
#define SMTPC_ADDRS_MAX 5
#define SMTPC_HOST_MAX 256
#define SMTPC_TEXT_LINE 600 /* one result or log text */

/* Postfix's defaults for the steps that have no parameter here. */
#define SMTPC_MAIL_TIMEOUT 300
#define SMTPC_RCPT_TIMEOUT 300
#define SMTPC_DATA_INIT_TIMEOUT 120
#define SMTPC_DATA_XFER_TIMEOUT 180
#define SMTPC_RSET_TIMEOUT 20
#define SMTPC_QUIT_TIMEOUT 300 /* sending it; its reply is not awaited */

enum smtpc_status {
	SMTPC_PENDING = 0,
	SMTPC_SENT,
	SMTPC_DEFERRED,
	SMTPC_BOUNCED,
};

struct smtpc_item {
	unsigned slot, idx;
	const char *addr;   /* for RCPT TO, before outbound rewriting */
	const char *sender; /* "" = the message's own sender */
	int txn;            /* index in smtpc.txns */
	int status;         /* enum smtpc_status */
	int accepted;       /* RCPT got 2xx in the running transaction */
	char dsn[16];
	char text[SMTPC_TEXT_LINE];
	char relay[SMTPC_HOST_MAX + 80]; /* host[addr]:port, or "none" */
};

struct smtpc_txn {
	unsigned slot;
	const char *sender; /* envelope sender, before rewriting */
	int has8bit;        /* content has 8-bit bytes */
	int smtputf8;       /* the message came with SMTPUTF8 */
	uint64_t size;      /* content size on the wire */
};

/* One address to connect to. */
struct smtpc_dest {
	char host[SMTPC_HOST_MAX]; /* the name, or the literal */
	char addr[INET6_ADDRSTRLEN];
	unsigned port;
	struct sockaddr_storage sa;
	socklen_t salen;
};

struct smtpc {
	struct role role;
	const char *nexthop;
	const char *hop; /* the next hop being tried (a fallback relay too) */
	struct smtpc_item items[SMTP_ITEMS];
	size_t nitems;
	struct smtpc_txn txns[SMTP_ITEMS];
	size_t ntxn;
	int open[SMTP_SLOTS]; /* 0 not yet, 1 open, -1 unusable */
	int fd[SMTP_SLOTS];   /* the slot's queue file descriptor */
	char id[SMTP_SLOTS][QFILE_ID_MAX];
	struct qfile_reader q[SMTP_SLOTS];
	struct qfile_rcpt rc;
	/* the session */
	struct smtpc_conn conn;
	struct smtpc_reply reply;
	struct smtpc_ext ext;
	const struct smtpc_dest *dest;
	int greeted; /* a server of this destination greeted 2xx */
	int keep;    /* keep a good connection open for the next batch */
	unsigned char frame[IPC_FRAME_MAX]; /* the batch's items point here */
	int dirty;     /* the open connection needs RSET before MAIL */
	int dns_final; /* the DNS said no for good (bounced) */
	char why[SMTPC_TEXT_LINE]; /* why the last attempt failed */
	char why_dsn[16];
	/* TLS (smtp_client_tls.c) */
	int tls_level;              /* enum tls_level in effect */
	int tls_ready;              /* 1 policy loaded, -1 unusable */
	struct tls_anchors anchors; /* smtp_tls_CAfile */
	struct tls_client_policy pol;
	char tls_match[CONF_VALUE_MAX]; /* smtp_tls_fingerprint_cert_match */
	struct tls_client *tls;         /* the running session's, or NULL */
	int tls_on;                     /* this session is encrypted */
	/* "user:password" given directly (test-relay --user: unsaved
	 * credentials); NULL: smtp_sasl_password_maps */
	const char *cred;
};

/* smtp_client.c: deliver every usable item, leaving a result in each. */
void smtpc_deliver(struct smtpc *s);
/* smtp_client.c: item i's final status and text. */
void smtpc_item_set(struct smtpc_item *it, int status, const char *dsn,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* smtp_client.c: snprintf that cuts long texts quietly (they are
 * messages; a cut one is still right). */
void smtpc_fmt(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* smtp_client.c: 1 while transaction t has items without a result. */
int smtpc_txn_pending(const struct smtpc *s, size_t t);

/* smtp_client_session.c: one connection to dest: runs every pending
 * transaction it can; sets s->greeted, s->why. 0 when the server was
 * reached and the session ran, -1 when it was not (try another). */
int smtpc_session(struct smtpc *s, const struct smtpc_dest *dest);

/* smtp_client_session.c: the pending transactions on the connection
 * kept open from an earlier batch (s->keep), unless the server has
 * closed it or said something unasked meanwhile (then it is closed).
 * 0 when it ran, -1 when there was no usable connection. */
int smtpc_session_again(struct smtpc *s);
/* smtp_client_session.c: QUIT and close a connection kept open. */
void smtpc_session_end(struct smtpc *s);

/* smtp_client_tls.c: the level in effect (smtp_tls_security_level, or
 * smtp_use_tls when it is empty) and the CA file: 0, or -1 with s->why
 * (a configuration error: the items are deferred). Once per agent. */
int smtpc_tls_setup(struct smtpc *s);
/* smtp_client_tls.c: TLS on the connection now (after the 220 to
 * STARTTLS, or right after connect for smtp_tls_wrappermode: wrapper
 * = 1): checks
 * for injected plaintext, runs the handshake, checks the certificate by
 * the level, logs the TLS line. 0, or -1 with s->why (deferred). */
int smtpc_tls_start(struct smtpc *s, int wrapper);
/* smtp_client_tls.c: close_notify and free (smtpc_conn_close's hook). */
void smtpc_tls_end(struct smtpc *s);

/* smtp_client_auth.c: AUTH when smtp_sasl_auth_enable and the map has
 * credentials for this next hop. 0 (done, or not needed), -1 with s->why
 * (deferred: no TLS, failed, or the map unreadable). */
int smtpc_auth(struct smtpc *s);

/* smtp_client_nexthop.c: NEXTHOP into host (brackets removed), port
 * (default 25) and whether MX records apply (no brackets). 0 or -1. */
int smtpc_nexthop_parse(const char *nexthop, char *host, size_t cap,
                        unsigned *port, int *mx);
/* smtp_client_nexthop.c: a literal IPv4/IPv6 address into d (port set);
 * 1 when host is one, 0 when not. */
int smtpc_literal(const char *host, unsigned port, struct smtpc_dest *d);

enum smtpc_lookup {
	SMTPC_LK_OK = 0,
	SMTPC_LK_DEFER,  /* try again later (4.4.3) */
	SMTPC_LK_BOUNCE, /* no such domain, null MX: dsn/why say */
};
/* smtp_client_mx.c: the addresses of NEXTHOP, in the order to try (MX
 * preference; the host's own A/AAAA when it has no MX; none for
 * brackets), at most cap. dsn and why get the reason when not OK. */
enum smtpc_lookup smtpc_lookup(const struct conf *c, const char *nexthop,
                               struct smtpc_dest *out, size_t cap, size_t *n,
                               char *dsn, size_t dsncap, char *why,
                               size_t whylen);

/* smtp_client_rewrite.c: outbound rewriting (smtp_generic_maps,
 * tinymta_sender_address) of the envelope addresses. 0, or -1 with why
 * (a map could not be read: the caller defers). */
int smtpc_rewrite_sender(const struct smtpc *s, const char *addr, char *out,
                         size_t cap, char *why, size_t whylen);
int smtpc_rewrite_rcpt(const struct smtpc *s, const char *addr, char *out,
                       size_t cap, char *why, size_t whylen);
/* smtp_client_rewrite.c: send the content of the transaction's queue
 * file as DATA text (header fields rewritten for output), with its
 * final dot. 0; -1 with s->conn.err (connection or queue file); -2 with
 * s->why when a lookup table could not be read (defer: not the
 * server's fault). Either way the final dot was not sent. */
int smtpc_send_content(struct smtpc *s, struct qfile_reader *q);

#endif
