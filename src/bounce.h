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

/* Queue a failure report to owner (a list's owner-NAME@myorigin, the
 * sender override of resolve.h) about one destination of recipient idx
 * of m: member failed permanently with dsn and text. The report names
 * member as Final-Recipient (Original-Recipient: the list's address) and
 * returns the message as a bounce does (RET). Postfix aliases(5): the
 * owner, not the sender, hears of a list's delivery problems. 0, or -1
 * (errno set, logged) when it could not be queued. */
int bounce_owner(struct qmgr *q, struct qmsg *m, unsigned idx,
                 const char *owner, const char *member, const char *dsn,
                 const char *text);

#endif
