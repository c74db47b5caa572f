/*
 * ctl_client.h - the client half of the control socket (see master_ctl.c):
 * used by `tinymta stop/reload/status/flush`, `postqueue -f/-s/-i` and
 * `sendmail -q`.
 */
#ifndef TINYMTA_CTL_CLIENT_H
#define TINYMTA_CTL_CLIENT_H

#include <stddef.h>

/* Send one request to QDIR/public/control and read the whole reply into
 * reply[cap]. 0 when the master answered (the reply says OK or ERR),
 * -1 with errno when it could not be reached (ENOENT/ECONNREFUSED: not
 * running). */
int ctl_request(const char *qdir, const char *request, char *reply, size_t cap);

/* Ask the master "WHAT ADDR" (auth-count or auth-fail: the failed logins
 * of client ADDR in the current minute, smtpd_client_auth_rate_limit).
 * The count, or 0 when the master cannot be asked (logged: the limit then
 * does not hold). */
unsigned long ctl_auth_failures(const char *qdir, const char *what,
                                const char *addr);

/* 1 when a master holds QDIR/pid/master.pid, 0 when not, -1 on error. */
int ctl_master_running(const char *qdir, long *pid);

#endif
