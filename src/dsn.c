/*
 * dsn.c - rules and texts of delivery status notifications (see dsn.h).
 * PURE: no I/O, no globals, no logging; used by bounce.c in qmgr (as
 * mail_owner) and by tests/unit/test_dsn.c. Inputs come from validated
 * queue files and the configuration; the stored reason may hold any
 * printable text (an SMTP reply), so it is only split, never interpreted.
 */
#include "dsn.h"
#include "qfile.h"
#include "util/str.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SIGNATURE                                                              \
	"For further assistance, please send mail to postmaster.\n\n"          \
	"If you do so, please include this problem report. You can\n"          \
	"delete your own text from the attached returned message.\n\n"         \
	"                   The mail system\n"

/* Postfix's bounce templates (bounce(5)), [kind][postmaster]. */
static const struct dsn_words words[3][2] = {
    [DSN_FAILED] = {{"Undelivered Mail Returned to Sender",
                     "I'm sorry to have to inform you that your message "
                     "could not\nbe delivered to one or more recipients. "
                     "It's attached below.\n\n" SIGNATURE,
                     "", "failed", "5.0.0", "Undelivered Message",
                     "sender non-delivery notification"},
                    {"Postmaster Copy: Undelivered Mail",
                     "I'm sorry to have to inform you that your message "
                     "could not\nbe delivered to one or more recipients. "
                     "It's attached below.\n\n" SIGNATURE,
                     "", "failed", "5.0.0", "Undelivered Message",
                     "postmaster non-delivery notification"}},
    [DSN_DELAYED] = {{"Delayed Mail (still being retried)",
                      "#################################################"
                      "###################\n"
                      "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO "
                      "RESEND YOUR MESSAGE. #\n"
                      "#################################################"
                      "###################\n\n",
                      SIGNATURE, "delayed", "4.0.0", "Delayed Message",
                      "sender delay notification"},
                     {"Postmaster Warning: Delayed Mail", "", SIGNATURE,
                      "delayed", "4.0.0", "Delayed Message",
                      "postmaster delay notification"}},
    [DSN_DELIVERED] = {{"Successful Mail Delivery Report",
                        "Your message was successfully delivered to the "
                        "destination(s)\nlisted below. If the message was "
                        "delivered to mailbox you will\nreceive no further "
                        "notifications. Otherwise you may still receive\n"
                        "notifications of mail delivery errors from other "
                        "systems.\n\n"
                        "                   The mail system\n",
                        "", "delivered", "2.0.0", "Delivered Message",
                        "sender delivery status notification"},
                       {"Successful Mail Delivery Report",
                        "Your message was successfully delivered to the "
                        "destination(s)\nlisted below.\n\n"
                        "                   The mail system\n",
                        "", "delivered", "2.0.0", "Delivered Message",
                        "postmaster delivery status notification"}},
};

const struct dsn_words *
dsn_words(enum dsn_kind k, int postmaster)
{
	if ((unsigned)k > DSN_DELIVERED)
		k = DSN_FAILED;
	return &words[k][postmaster ? 1 : 0];
}

int
dsn_wants(enum dsn_kind k, unsigned notify, int status)
{
	unsigned bit;
	int want;

	if (notify & QFILE_NOTIFY_NEVER)
		return 0;
	switch (k) {
	case DSN_FAILED:
		bit = QFILE_NOTIFY_FAILURE;
		want = QFILE_RCPT_BOUNCED;
		break;
	case DSN_DELAYED:
		bit = QFILE_NOTIFY_DELAY;
		want = QFILE_RCPT_DEFERRED;
		break;
	default:
		/* success is never implied by an absent NOTIFY */
		return status == QFILE_RCPT_DELIVERED &&
		       (notify & QFILE_NOTIFY_SUCCESS);
	}
	return status == want && (notify == 0 || (notify & bit));
}

int
dsn_full_content(enum dsn_kind k, const char *ret)
{
	if (k == DSN_FAILED)
		return !(ret && str_eq_nocase(ret, "hdrs"));
	return ret && str_eq_nocase(ret, "full");
}

int
dsn_delay_due(int64_t arrival, int64_t last_attempt, int64_t now,
              long long warn_after, int trusted)
{
	if (!trusted || warn_after <= 0 || now - arrival < warn_after)
		return 0;
	return last_attempt == 0 || last_attempt - arrival < warn_after;
}

void
dsn_duration(char *out, size_t cap, long long secs)
{
	static const struct {
		long long s;
		const char *name;
	} units[] = {{86400, "day"}, {3600, "hour"}, {60, "minute"}};
	size_t i = 0;

	while (i < 3 && (secs < units[i].s || secs % units[i].s != 0))
		i++;
	if (i < 3)
		snprintf(out, cap, "%lld %s(s)", secs / units[i].s,
		         units[i].name);
	else
		snprintf(out, cap, "%lld second(s)", secs);
}

const char *
dsn_split_reason(const char *reason, char code[8], const char *fallback)
{
	/* "C.S.D " where C is 2, 4 or 5, S and D 1-3 digits (RFC 3463) */
	const char *p = reason;
	size_t n;

	if ((p[0] == '2' || p[0] == '4' || p[0] == '5') && p[1] == '.') {
		p += 2;
		for (n = 0; n < 3 && isdigit((unsigned char)*p); n++)
			p++;
		if (n > 0 && *p == '.') {
			p++;
			for (n = 0; n < 3 && isdigit((unsigned char)*p); n++)
				p++;
			if (n > 0 && (*p == ' ' || *p == '\0') &&
			    str_copy_n(code, 8, reason, (size_t)(p - reason)) >=
			        0)
				return *p ? p + 1 : p;
		}
	}
	str_copy(code, 8, fallback);
	return reason;
}

int
dsn_class(const char *list, const char *cls)
{
	const char *p = list ? list : "";
	size_t n = strlen(cls);

	/* loop invariant: p is at a separator or the start of an element */
	while (*p) {
		size_t len;

		p += strspn(p, ", \t\r\n");
		len = strcspn(p, ", \t\r\n");
		if (len == n && len > 0 && strncasecmp(p, cls, n) == 0)
			return 1;
		p += len;
	}
	return 0;
}
