/*
 * bounce.h - queue delivery status notifications (RFC 3464) for the
 * message that just finished a round in qmgr (bounce.c). bounce_create
 * (qmgr.h) is bounce_send(q, m, DSN_FAILED).
 */
#ifndef TINYMTA_BOUNCE_H
#define TINYMTA_BOUNCE_H

#include "dsn.h"
#include "qmgr.h"

/* Queue the notification of kind k to the sender for the recipients of m
 * that ended this round as k reports and asked for it (dsn_wants), plus
 * the postmaster's copy when notify_classes holds the class ("bounce",
 * "delay"). A failure of a message from the null sender goes to the
 * postmaster instead (a double bounce); a failed double bounce or
 * postmaster notice is discarded and logged. Nothing ever goes to the
 * null sender. 0 (also when nothing was due), or -1 when a notification
 * that was due could not be queued (errno set, logged). */
int bounce_send(struct qmgr *q, struct qmsg *m, enum dsn_kind k);

#endif
