/*
 * test_dsn.c - the DSN rules (dsn.c): which recipients each kind names
 * under every NOTIFY combination, RET, the once-only delay warning at its
 * threshold (limit-1, limit, limit+1) and on an untrusted clock, reason
 * splitting, durations and notify_classes lookups.
 */
#include "dsn.h"
#include "qfile.h"
#include "t.h"

#define S QFILE_NOTIFY_SUCCESS
#define F QFILE_NOTIFY_FAILURE
#define D QFILE_NOTIFY_DELAY
#define N QFILE_NOTIFY_NEVER

static void
test_wants(void)
{
	static const struct {
		enum dsn_kind k;
		unsigned notify;
		int status, want;
	} cases[] = {
	    {DSN_FAILED, 0, QFILE_RCPT_BOUNCED, 1},
	    {DSN_FAILED, F, QFILE_RCPT_BOUNCED, 1},
	    {DSN_FAILED, S | D, QFILE_RCPT_BOUNCED, 0},
	    {DSN_FAILED, N, QFILE_RCPT_BOUNCED, 0},
	    {DSN_FAILED, 0, QFILE_RCPT_DEFERRED, 0},
	    {DSN_FAILED, F, QFILE_RCPT_DELIVERED, 0},
	    {DSN_DELAYED, 0, QFILE_RCPT_DEFERRED, 1},
	    {DSN_DELAYED, D, QFILE_RCPT_DEFERRED, 1},
	    {DSN_DELAYED, F, QFILE_RCPT_DEFERRED, 0},
	    {DSN_DELAYED, N, QFILE_RCPT_DEFERRED, 0},
	    {DSN_DELAYED, D, QFILE_RCPT_BOUNCED, 0},
	    {DSN_DELIVERED, 0, QFILE_RCPT_DELIVERED, 0},
	    {DSN_DELIVERED, S, QFILE_RCPT_DELIVERED, 1},
	    {DSN_DELIVERED, S | F | D, QFILE_RCPT_DELIVERED, 1},
	    {DSN_DELIVERED, F | D, QFILE_RCPT_DELIVERED, 0},
	    {DSN_DELIVERED, N, QFILE_RCPT_DELIVERED, 0},
	    {DSN_DELIVERED, S, QFILE_RCPT_DEFERRED, 0},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		T_CHECK(dsn_wants(cases[i].k, cases[i].notify,
		                  cases[i].status) == cases[i].want,
		        "case %zu", i);
}

static void
test_ret(void)
{
	T_CHECK(dsn_full_content(DSN_FAILED, NULL) == 1, "failure: full");
	T_CHECK(dsn_full_content(DSN_FAILED, "hdrs") == 0, "RET=HDRS");
	T_CHECK(dsn_full_content(DSN_FAILED, "HDRS") == 0, "RET=HDRS upper");
	T_CHECK(dsn_full_content(DSN_FAILED, "full") == 1, "RET=FULL");
	T_CHECK(dsn_full_content(DSN_DELIVERED, NULL) == 0, "success: hdrs");
	T_CHECK(dsn_full_content(DSN_DELIVERED, "FULL") == 1, "success full");
	T_CHECK(dsn_full_content(DSN_DELAYED, NULL) == 0, "delay: hdrs");
	T_CHECK(dsn_full_content(DSN_DELAYED, "hdrs") == 0, "delay hdrs");
}

static void
test_delay(void)
{
	static const struct {
		int64_t arrival, last, now;
		long long after;
		int trusted, want;
	} cases[] = {
	    {1000, 0, 1099, 100, 1, 0},    /* limit - 1 */
	    {1000, 0, 1100, 100, 1, 1},    /* limit, first round */
	    {1000, 0, 1101, 100, 1, 1},    /* limit + 1 */
	    {1000, 1050, 1100, 100, 1, 1}, /* crossed since the last round */
	    {1000, 1099, 1200, 100, 1, 1}, /* last round at limit - 1 */
	    {1000, 1100, 1200, 100, 1, 0}, /* last round at limit: sent */
	    {1000, 1150, 1300, 100, 1, 0}, /* warned already */
	    {1000, 0, 5000, 0, 1, 0},      /* delay_warning_time = 0: off */
	    {1000, 0, 5000, 100, 0, 0},    /* unset clock: never */
	    {1000, 0, 900, 100, 1, 0},     /* clock went backwards */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		T_CHECK(dsn_delay_due(cases[i].arrival, cases[i].last,
		                      cases[i].now, cases[i].after,
		                      cases[i].trusted) == cases[i].want,
		        "case %zu", i);
}

static void
test_reason(void)
{
	static const struct {
		const char *in, *code, *text;
	} cases[] = {
	    {"5.1.1 unknown user", "5.1.1", "unknown user"},
	    {"4.4.1 no route", "4.4.1", "no route"},
	    {"2.0.0 delivered", "2.0.0", "delivered"},
	    {"5.1.1", "5.1.1", ""},
	    {"5.123.123 x", "X.X.X", "5.123.123 x"}, /* too long for code */
	    {"3.1.1 x", "X.X.X", "3.1.1 x"},
	    {"5.1 x", "X.X.X", "5.1 x"},
	    {"5.1.1x", "X.X.X", "5.1.1x"},
	    {"", "X.X.X", ""},
	    {"unknown", "X.X.X", "unknown"},
	    {"5.12.123 y", "X.X.X", "5.12.123 y"},
	    {"5.12.12 y", "5.12.12", "y"},
	};
	char code[8];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *t = dsn_split_reason(cases[i].in, code, "X.X.X");

		T_STREQ(code, cases[i].code, cases[i].in);
		T_STREQ(t, cases[i].text, cases[i].in);
	}
}

static void
test_duration_class_words(void)
{
	char b[64];

	dsn_duration(b, sizeof b, 14400);
	T_STREQ(b, "4 hour(s)", "4h");
	dsn_duration(b, sizeof b, 432000);
	T_STREQ(b, "5 day(s)", "5d");
	dsn_duration(b, sizeof b, 90);
	T_STREQ(b, "90 second(s)", "90s");
	dsn_duration(b, sizeof b, 120);
	T_STREQ(b, "2 minute(s)", "2m");
	dsn_duration(b, sizeof b, 1);
	T_STREQ(b, "1 second(s)", "1s");
	T_CHECK(dsn_class("resource, software", "bounce") == 0, "default");
	T_CHECK(dsn_class("resource,bounce", "bounce") == 1, "bounce");
	T_CHECK(dsn_class("2bounce", "bounce") == 0, "2bounce is not bounce");
	T_CHECK(dsn_class(" Bounce\tdelay", "delay") == 1, "delay");
	T_CHECK(dsn_class(" BOUNCE ", "bounce") == 1, "case");
	T_CHECK(dsn_class("", "bounce") == 0, "empty");
	T_CHECK(dsn_class(NULL, "bounce") == 0, "NULL");
	T_STREQ(dsn_words(DSN_FAILED, 0)->subject,
	        "Undelivered Mail Returned to Sender", "failed subject");
	T_STREQ(dsn_words(DSN_FAILED, 1)->subject,
	        "Postmaster Copy: Undelivered Mail", "postmaster subject");
	T_STREQ(dsn_words(DSN_DELIVERED, 0)->subject,
	        "Successful Mail Delivery Report", "success subject");
	T_STREQ(dsn_words(DSN_DELAYED, 0)->action, "delayed", "action");
	T_STREQ(dsn_words(DSN_DELAYED, 1)->log, "postmaster delay notification",
	        "log");
}

int
main(void)
{
	test_wants();
	test_ret();
	test_delay();
	test_reason();
	test_duration_class_words();
	return T_DONE();
}
