/*
 * conf_cross.c - conf_check(): the checks that need more than one value
 * (minimal_backoff_time <= maximal_backoff_time, absolute directories,
 * mailbox_size_limit >= message_size_limit, ...) and the defaults that
 * hold $name (see conf.h). Run by `tinymta check`, postconf and at start
 * and reload; the values come from main.cf and are untrusted, but by now
 * each one has passed its own type check.
 */
#include "conf_impl.h"

#include <string.h>

/* Whichever of the two is set in main.cf carries the problem. */
static const char *
culprit(const struct conf *c, const char *a, const char *b)
{
	return conf_line(c, a) || !conf_line(c, b) ? a : b;
}

static void
add(const struct conf *c, struct conf_problems *ps, const char *param,
    enum conf_severity sev, const char *msg)
{
	conf_problems_add(ps, c->main_path, conf_line(c, param), param, sev,
	                  "%s", msg);
}

/* lo must not be larger than hi. A warning only when lo is set. */
static const struct order {
	const char *lo, *hi;
	int time;
	enum conf_severity sev;
} orders[] = {
    {"minimal_backoff_time", "maximal_backoff_time", 1, CONF_SEV_ERROR},
    {"bounce_queue_lifetime", "maximal_queue_lifetime", 1, CONF_SEV_WARNING},
    {"smtpd_soft_error_limit", "smtpd_hard_error_limit", 0, CONF_SEV_WARNING},
    {"initial_destination_concurrency", "default_destination_concurrency_limit",
     0, CONF_SEV_WARNING},
};

static int
check_orders(const struct conf *c, struct conf_problems *ps)
{
	char msg[300];
	int errors = 0;

	for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
		const struct order *o = &orders[i];
		long long lo =
		    o->time ? conf_time(c, o->lo) : conf_int(c, o->lo);
		long long hi =
		    o->time ? conf_time(c, o->hi) : conf_int(c, o->hi);

		/* a default above a lowered limit is only capped */
		if (lo <= hi ||
		    (o->sev == CONF_SEV_WARNING && !conf_line(c, o->lo)))
			continue;
		(void)snprintf(msg, sizeof msg,
		               "%s (%lld%s) is larger than %s (%lld%s)", o->lo,
		               lo, o->time ? "s" : "", o->hi, hi,
		               o->time ? "s" : "");
		add(c, ps, culprit(c, o->lo, o->hi), o->sev, msg);
		errors += o->sev == CONF_SEV_ERROR;
	}
	return errors;
}

static int
check_sizes(const struct conf *c, struct conf_problems *ps)
{
	long long mbox = conf_size(c, "mailbox_size_limit");
	long long msg = conf_size(c, "message_size_limit");
	char text[300];

	/* Postfix refuses this too: no message could be delivered. */
	if (mbox == 0 || msg == 0 || mbox >= msg)
		return 0;
	(void)snprintf(text, sizeof text,
	               "mailbox_size_limit (%lld) is smaller than "
	               "message_size_limit (%lld)",
	               mbox, msg);
	add(c, ps, culprit(c, "mailbox_size_limit", "message_size_limit"),
	    CONF_SEV_ERROR, text);
	return 1;
}

static int
check_paths(const struct conf *c, struct conf_problems *ps)
{
	static const char *const dirs[] = {"queue_directory",
	                                   "mail_spool_directory"};
	char text[300], q[100];
	int errors = 0;

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		const char *v = conf_get(c, dirs[i]);

		if (v && v[0] == '/')
			continue;
		conf_quote(q, sizeof q, v ? v : "");
		(void)snprintf(text, sizeof text,
		               "%s = %s: expected an absolute path like /var/x",
		               dirs[i], q);
		add(c, ps, dirs[i], CONF_SEV_ERROR, text);
		errors++;
	}
	return errors;
}

/* A default such as cdb:$config_directory/aliases is only as good as
 * the values it refers to. */
static int
check_defaults(const struct conf *c, struct conf_problems *ps)
{
	char why[200], q[100];
	int errors = 0;

	for (size_t i = 0; i < conf_nparams; i++) {
		const char *text;

		if (c->raw[i])
			continue;
		text = conf_text(c, i);
		if (!strchr(text, '$') ||
		    conf_check_value(c, &conf_params[i], text, why,
		                     sizeof why) >= 0)
			continue;
		conf_quote(q, sizeof q, text);
		conf_problems_add(ps, c->main_path, 0, conf_params[i].name,
		                  CONF_SEV_ERROR, "%s = %s (the default): %s",
		                  conf_params[i].name, q, why);
		errors++;
	}
	return errors;
}

/* The smtp client's TLS levels that need another parameter: warnings
 * (the agent defers every delivery and says why). */
static void
check_smtp_tls(const struct conf *c, struct conf_problems *ps)
{
	const char *lv = conf_get(c, "smtp_tls_security_level");
	int verify = strcmp(lv, "verify") == 0 || strcmp(lv, "secure") == 0;
	int fp = strcmp(lv, "fingerprint") == 0;

	if (verify && !*conf_get(c, "smtp_tls_CAfile"))
		add(c, ps, "smtp_tls_security_level", CONF_SEV_WARNING,
		    "verify and secure need smtp_tls_CAfile: outbound mail "
		    "is deferred");
	else if (fp && !*conf_get(c, "smtp_tls_fingerprint_cert_match"))
		add(c, ps, "smtp_tls_security_level", CONF_SEV_WARNING,
		    "fingerprint needs smtp_tls_fingerprint_cert_match: "
		    "outbound mail is deferred");
}

int
conf_check(const struct conf *c, struct conf_problems *ps)
{
	int errors = check_defaults(c, ps);

	check_smtp_tls(c, ps);

	errors += check_orders(c, ps);
	errors += check_sizes(c, ps);
	errors += check_paths(c, ps);
	return errors ? -1 : 0;
}
