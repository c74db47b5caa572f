/*
 * ipc.h - the framed messages that tinymta's processes exchange over
 * SOCK_SEQPACKET socketpairs (master <-> qmgr) and the control socket.
 *
 * A frame is one datagram: u32 type (little-endian), u32 field count,
 * then that many NUL-terminated fields, at most IPC_FRAME_MAX bytes in all;
 * file descriptors ride along as SCM_RIGHTS (at most IPC_FDS_MAX).
 * A short, oversized or unterminated frame is rejected (ipc_parse returns
 * -1) and the receiver drops the link: it never guesses.
 */
#ifndef TINYMTA_IPC_H
#define TINYMTA_IPC_H

#include <stddef.h>
#include <stdint.h>

#define IPC_FRAME_MAX 8192
#define IPC_FIELDS_MAX 232 /* a local agent's 32 items of 7 fields, and 2 */
#define IPC_FDS_MAX 36     /* its result pipe and 32 queue files, and room */

enum ipc_type {
	IPC_STATUS = 1, /* master -> qmgr: report state; reply has JSON */
	IPC_FLUSH,      /* master -> qmgr: retry deferred mail now [site] */
	IPC_WAKEUP,     /* master -> qmgr: scan incoming now */
	IPC_RELOAD,     /* master -> children: configuration changed */
	IPC_DELIVER,    /* qmgr -> master: spawn a delivery agent (fds) */
	IPC_REPLY,      /* any reply: field 0 = "ok" or an error text */
	IPC_DELIVER_ID, /* master -> qmgr: deliver one queue ID now */
	IPC_POP3_LOGIN, /* pop3d -> master: user logged in: start the mailbox
	                   phase (field user; fd the connection) */
	IPC_SMTPD_IDLE, /* smtpd -> master: session over, ready for another */
	IPC_SMTPD_CONN, /* master -> idle smtpd: serve this connection (fields
	                   client addr, client port, server addr, server port;
	                   fd the connection) */
	IPC_SMTP_MORE,  /* qmgr -> idle smtp agent: the next batch (fields
	                   the items, 5 each; fds the queue files by slot) */
};

struct ipc_msg {
	uint32_t type;
	size_t nfields;
	const char *field[IPC_FIELDS_MAX]; /* point into the frame buffer */
	int fds[IPC_FDS_MAX];
	size_t nfds;
};

/* Build a frame into buf[cap]: bytes used, or -1 when it does not fit. */
int ipc_build(unsigned char *buf, size_t cap, uint32_t type,
              const char *const *fields, size_t nfields);
/* PURE: parse a frame held in buf[len] into *m (fields point into buf).
 * 0, or -1 when malformed. Fuzzed. */
int ipc_parse(const unsigned char *buf, size_t len, struct ipc_msg *m);
/* Send one frame with optional descriptors. 0, or -1 with errno. */
int ipc_send(int sock, uint32_t type, const char *const *fields, size_t nfields,
             const int *fds, size_t nfds);
/* The same without descriptors and without waiting for room: -1 with
 * EAGAIN when the peer has not read what it was sent before. */
int ipc_send_nowait(int sock, uint32_t type, const char *const *fields,
                    size_t nfields);
/* Receive one frame into buf[IPC_FRAME_MAX] and parse it. Returns 1 on a
 * frame, 0 at EOF, -1 on error (errno; EBADMSG for a malformed frame —
 * any descriptors that came with it are closed). */
int ipc_recv(int sock, unsigned char *buf, struct ipc_msg *m);

#endif
