/*
 * dsn.h - the rules and texts of delivery status notifications (RFC 3461,
 * RFC 3464), PURE: which recipients a notification names, when a delay
 * warning is due, whether the whole message goes back (RET), and the
 * Postfix wording of each kind. bounce.c writes the notifications.
 */
#ifndef TINYMTA_DSN_H
#define TINYMTA_DSN_H

#include <stddef.h>
#include <stdint.h>

enum dsn_kind {
	DSN_FAILED,    /* recipients bounced: "Undelivered Mail…" */
	DSN_DELAYED,   /* recipients still deferred: a delay warning */
	DSN_DELIVERED, /* recipients delivered with NOTIFY=SUCCESS */
};

/* The words of one kind, for the sender or for the postmaster. */
struct dsn_words {
	const char *subject;
	const char *intro; /* the human part after "This is the mail system…" */
	const char *outro;  /* after the delay lines (DSN_DELAYED), else "" */
	const char *action; /* RFC 3464 2.3.3 */
	const char *status; /* RFC 3463 code when the reason holds none */
	const char *part;   /* Content-Description of the returned message */
	const char *log;    /* "sender non-delivery notification" … */
};

/* Never NULL. postmaster: the copy for the postmaster (notify_classes, or
 * a double bounce). */
const struct dsn_words *dsn_words(enum dsn_kind k, int postmaster);

/* 1 when a recipient whose round ended with status (QFILE_RCPT_*), and
 * whose NOTIFY bits are notify (QFILE_NOTIFY_*; 0 = not given, which
 * means FAILURE,DELAY: RFC 3461 4.1), belongs in a notification of kind
 * k. NEVER excludes it from every kind. */
int dsn_wants(enum dsn_kind k, unsigned notify, int status);

/* 1 when the notification returns the whole message, 0 for the header
 * only. ret: the "ret" attribute (NULL when not given; case is ignored).
 * A failure returns the message unless RET=HDRS; success and delay
 * notices return it only with RET=FULL (RFC 3461 4.3). */
int dsn_full_content(enum dsn_kind k, const char *ret);

/* 1 when a delay warning is due at the end of this round: the message
 * has waited at least warn_after seconds (0 or less: never), and had not
 * at the end of its previous round (last_attempt; 0 = none), so that
 * each message is warned once without a flag of its own. trusted: 0 when
 * the clock is unset or the arrival time was taken while it was. */
int dsn_delay_due(int64_t arrival, int64_t last_attempt, int64_t now,
                  long long warn_after, int trusted);

/* "4 hour(s)", "30 minute(s)", "2 day(s)", "10 second(s)": the largest
 * unit that divides secs (Postfix's delay template speaks of hours). */
void dsn_duration(char *out, size_t cap, long long secs);

/* The RFC 3463 code at the start of a stored reason ("5.1.1 unknown"),
 * copied into code[8]; else fallback. Returns the text after the code. */
const char *dsn_split_reason(const char *reason, char code[8],
                             const char *fallback);

/* 1 when the notify_classes list value holds cls ("bounce", "2bounce",
 * "delay"…; case is ignored). */
int dsn_class(const char *list, const char *cls);

#endif
