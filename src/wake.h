/*
 * wake.h - wake-up datagrams: QUEUE/public/pickup (new files in
 * maildrop/) and QUEUE/public/qmgr (new files in incoming/). A wake-up
 * carries no data; the woken process drains its socket and scans its
 * directory, so wake-ups that find a full socket are not lost work.
 */
#ifndef TINYMTA_WAKE_H
#define TINYMTA_WAKE_H

#include <sys/types.h>

/* Bind QDIR/public/NAME (a stale one is replaced) with the given mode:
 * the non-blocking datagram socket, or -1 with errno. */
int wake_bind(const char *qdir, const char *name, mode_t mode);
/* Read and drop every wake-up waiting on fd. */
void wake_drain(int fd);
/* Send one wake-up to QDIR/public/NAME, never blocking, through *fd (a
 * datagram socket made at the first call when *fd < 0; the caller closes
 * it). 0 when sent or when the socket is full (wake-ups are pending);
 * -1 with errno when nobody listens (ENOENT, ECONNREFUSED: the file
 * waits for the next scan). */
int wake_send(int *fd, const char *qdir, const char *name);
/* wake_send with a socket of its own: sendmail, smtpd -bs. */
void wake_pickup(const char *qdir);

#endif
