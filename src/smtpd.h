/*
 * smtpd.h - one SMTP server session (RFC 5321 with PIPELINING, SIZE,
 * 8BITMIME, ENHANCEDSTATUSCODES, CHUNKING) over a pair of descriptors: the
 * smtpd role (a connection the master accepted) and `sendmail -bs` (stdin and
 * stdout of a local user). All session state lives in one struct of fixed
 * arrays (STYLE.md 3.5); nothing is allocated by what the peer sends.
 * smtpd.c holds the I/O (line reader with timeouts, replies, the DATA
 * stream into the queue file), smtpd_cmd.c the command table.
 */
#ifndef TINYMTA_SMTPD_H
#define TINYMTA_SMTPD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "conf.h"
#include "local.h" /* struct local_hops */
#include "qfile.h"
#include "queue.h"
#include "sasl_decode.h"
#include "smtp_data.h"
#include "smtp_parse.h"

#define SMTPD_IN_MAX 8192   /* input buffer (commands and DATA) */
#define SMTPD_OUT_MAX 4096  /* pending replies (PIPELINING) */
#define SMTPD_HELO_MAX 255  /* a HELO/EHLO name, as a domain */
#define SMTPD_SLEEP_MS 1000 /* delay per reply past smtpd_soft_error_limit */

/* Session states: the bit of the state a command is legal in. */
#define SMTPD_S_CONNECT 1 /* no HELO/EHLO yet */
#define SMTPD_S_HELO 2    /* greeted, no transaction */
#define SMTPD_S_MAIL 4    /* MAIL accepted, no recipient yet */
#define SMTPD_S_RCPT 8    /* one recipient or more */
#define SMTPD_S_ANY 15

/* Session flags: what the client did and what the session has. STARTTLS
 * and AUTH set their bits when they arrive (their issue). */
#define SMTPD_F_ESMTP 1 /* EHLO was used */
#define SMTPD_F_TLS 2   /* the connection is encrypted */
#define SMTPD_F_AUTH 4  /* the client authenticated */
#define SMTPD_F_LOCAL 8 /* sendmail -bs: maildrop/, a local uid */
#define SMTPD_F_QUIT 16 /* close after the pending replies */

/* smtpd_tls_security_level */
#define SMTPD_TLS_NONE 0
#define SMTPD_TLS_MAY 1
#define SMTPD_TLS_ENCRYPT 2

struct tls_conn;
struct tls_creds;

struct smtpd_opts {
	int in_fd, out_fd;
	int *wake_fd; /* the process's socket for wake-ups to qmgr (wake.h),
	                 -1 until the first; NULL: one for the session */
	int local;    /* sendmail -bs */
	uid_t uid;    /* -bs: the submitter */
	const char *client_addr; /* NULL: "127.0.0.1" (-bs) */
	const char *client_port; /* may be NULL */
	const char *service;     /* master.cf service name; may be NULL */
	struct tls_creds *creds; /* smtpd_tls_creds(); NULL: no TLS */
};

struct smtpd {
	const struct conf *conf;
	int in_fd, out_fd;
	int wake_fd;    /* wake-ups to qmgr (wake.h): made at the first */
	unsigned state; /* SMTPD_S_* (one bit) */
	unsigned flags; /* SMTPD_F_* */
	unsigned long errors;
	unsigned long uid;
	/* configuration, read once */
	char myhostname[256];
	char qdir[QUEUE_DIR_MAX];
	uint64_t size_limit; /* 0: none */
	uint64_t minfree;    /* queue_minfree: free space kept in the spool */
	long long rcpt_limit, hard_limit, soft_limit;
	int timeout_ms;
	int helo_required, vrfy_disabled, utf8, bare_lf_reject;
	/* the client */
	char client_addr[64];
	char client_name[64];
	char client[160]; /* "name[addr]" for logs */
	int mynetworks;
	char helo[SMTPD_HELO_MAX + 1];
	char last_cmd[16]; /* for "timeout after CMD" */
	/* the transaction */
	char sender[ADDR_TEXT_MAX];
	char first_rcpt[ADDR_TEXT_MAX];
	size_t nrcpt;
	int body, smtputf8;
	struct qfile_writer *w; /* from MAIL to the end of DATA */
	char qid[QFILE_ID_MAX];
	char tls_text[160];  /* Received: "(using TLS…)" slot, "" for now */
	char auth_text[160]; /* Received: "(Authenticated sender: …)" slot */
	char sasl_user[SASL_USER_MAX + 1]; /* the login after AUTH (sasl.c) */
	struct smtp_data data;
	/* TLS (smtpd_tls.c) */
	int tls_level; /* SMTPD_TLS_*; NONE for sendmail -bs */
	int tls_wrapper, tls_received;
	struct tls_creds *creds; /* NULL: no usable certificate */
	struct tls_conn *tls;    /* after STARTTLS or in wrapper mode */
	/* BDAT (RFC 3030): a chunked transaction in progress */
	int bdat;      /* the first chunk came */
	int bdat_cr;   /* a CR ended the last chunk (CRLF may straddle) */
	int bdat_fail; /* what went wrong (smtpd.c's enum data_fail) */
	int bdat_lf;   /* the content so far ends with a line end */
	struct local_hops bdat_hops;
	/* I/O */
	size_t inpos, inlen;
	unsigned char in[SMTPD_IN_MAX];
	unsigned char dout[SMTPD_IN_MAX + SMTP_DATA_SLACK];
	size_t outlen;
	char out[SMTPD_OUT_MAX];
	size_t linelen;
	char line[SMTP_CMD_EXT_MAX + 1];
};

/* Read the configuration and the client into s. 0, or -1 (logged). */
int smtpd_init(struct smtpd *s, const struct conf *c,
               const struct smtpd_opts *o);
/* Greet and serve until QUIT, EOF, a timeout or too many errors. Returns
 * 0 (the exit status of the role). */
int smtpd_run(struct smtpd *s);

/* A whole session on in_fd/out_fd: smtpd (local 0: the client from
 * TINYMTA_CLIENT_ADDR, files into incoming/) or sendmail -bs (local 1:
 * "localhost", uid recorded, files into maildrop/). The exit status. */
int smtpd_session_main(int in_fd, int out_fd, const struct conf *c, int local,
                       uid_t uid);
/* One session as o says (a network client: cmd_smtpd.c), in s (NULL:
 * allocated for it). A process that serves one connection after another
 * passes the same s each time: smtpd_init clears it, and the 28 KiB are
 * not mapped, faulted in and unmapped again per connection. The exit
 * status. */
int smtpd_session(struct smtpd *s, const struct conf *c,
                  const struct smtpd_opts *o);
/* sendmail -bs: load the configuration, then smtpd_session_main on
 * descriptors 0 and 1 for getuid(). The exit status. */
int smtpd_local_main(void);

/* Shared by smtpd.c and smtpd_cmd.c. */
/* Queue one reply line ("250 2.0.0 Ok"); CRLF is added. A 4xx/5xx
 * reply counts as an error. */
void smtpd_reply(struct smtpd *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Write the queued replies. 0, or -1 (the session must end). */
int smtpd_flush(struct smtpd *s);
/* Read one line into s->line/s->linelen (AUTH responses, sasl.c): 1 a
 * line, 2 too long (discarded), 3 bare LF in reject mode, 0 EOF, -1. */
int smtpd_getline(struct smtpd *s);
/* Handle one command line (without its line end). */
void smtpd_dispatch(struct smtpd *s, const char *line, size_t len);
/* Drop the transaction (RSET, HELO, errors): the temporary file goes. */
void smtpd_reset(struct smtpd *s);
/* DATA after 354: stream into the queue file, reply. */
void smtpd_data(struct smtpd *s);
/* One BDAT chunk of size bytes (last: BDAT ... LAST). refuse: the reply
 * when BDAT is not allowed now; the chunk is read and dropped all the
 * same (its bytes are never taken for commands). */
void smtpd_bdat(struct smtpd *s, uint64_t size, int last, const char *refuse);
/* Log a rejected RCPT/MAIL in Postfix's format. */
void smtpd_log_reject(struct smtpd *s, const char *cmd, const char *reply,
                      const char *rcpt);

/* smtpd_tls.c */
/* Read the TLS parameters; load the certificate when TLS may be used. */
void smtpd_tls_init(struct smtpd *s);
/* The certificate and key of a service that may use TLS (from the
 * descriptors the master passed, which are closed either way), loaded
 * once per process. NULL: no TLS (a problem is logged). */
struct tls_creds *smtpd_tls_creds(const struct conf *c);
/* 1 when EHLO offers STARTTLS. */
int smtpd_tls_offered(const struct smtpd *s);
/* The handshake on in_fd (wrapper mode, STARTTLS). 0, or -1 (logged). */
int smtpd_tls_start(struct smtpd *s);
/* The STARTTLS verb. */
void smtpd_starttls(struct smtpd *s);
/* close_notify; free the session and the key. */
void smtpd_tls_end(struct smtpd *s);

#endif
