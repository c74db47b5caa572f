/*
 * test_conf.c - main.cf: syntax, continuation lines, each type at its
 * limits, $name expansion (loops, depth, reference count), bad input (NUL
 * bytes, a 1 MB line, an oversized file), legacy names, cross-field
 * checks, conf_edit_text (postconf -e) and the parameter table itself.
 */
#include "conf.h"
#include "t.h"

#include <stdlib.h>
#include <string.h>

static struct conf_problems ps;

static struct conf *
parse(const char *text, size_t len, int *rc)
{
	struct conf *c = conf_new("/etc/tinymta");

	memset(&ps, 0, sizeof ps);
	*rc = c ? conf_parse_main(c, "main.cf", text, len, &ps) : -2;
	return c;
}

/* The first problem whose message holds sub, or NULL. */
static const struct conf_problem *
problem(const char *sub)
{
	for (size_t i = 0; i < ps.n; i++)
		if (strstr(ps.v[i].message, sub))
			return &ps.v[i];
	return NULL;
}

static const struct {
	const char *text;
	int rc;            /* conf_parse_main() */
	const char *param; /* looked at with conf_raw() */
	const char *raw;   /* NULL: not set */
	unsigned line;     /* of the problem with msg */
	const char *msg;   /* NULL: no problem at all */
} parse_cases[] = {
    {"myhostname = a.example\n", 0, "myhostname", "a.example", 0, NULL},
    {"myhostname=a.example", 0, "myhostname", "a.example", 0, NULL},
    {"myhostname \t=\t a.example \t \n", 0, "myhostname", "a.example", 0, NULL},
    {"myhostname = a.example\r\n", 0, "myhostname", "a.example", 0, NULL},
    {"relayhost =\n", 0, "relayhost", "", 0, NULL},
    {"relayhost =   \n", 0, "relayhost", "", 0, NULL},
    {"# comment\n\n   # indented comment\nrelayhost = [r]:587\n", 0,
     "relayhost", "[r]:587", 0, NULL},
    /* '#' is a comment only at the start of a line, as in Postfix */
    {"smtpd_banner = hi # there\n", 0, "smtpd_banner", "hi # there", 0, NULL},
    {"mydestination = a,\n  b,\n\tc\n", 0, "mydestination", "a, b, c", 0, NULL},
    {"mydestination = a,\n# note\n  b\n", 0, "mydestination", "a, b", 0, NULL},
    {"mydestination = a,\n\n  b\n", 0, "mydestination", "a, b", 0, NULL},
    {"mydestination = a,  \n   b   \n", 0, "mydestination", "a, b", 0, NULL},
    {"mydestination =\n  a\n", 0, "mydestination", "a", 0, NULL},
    {"  stray\nrelayhost = r\n", 0, "relayhost", "r", 1,
     "continuation line without a parameter"},
    {"relayhost = a\nrelayhost = b\n", 0, "relayhost", "b", 0, NULL},
    {"relayhost r\n", -1, "relayhost", NULL, 1, "expected \"name = value\""},
    {"= r\n", -1, "relayhost", NULL, 1, "expected \"name = value\""},
    {"relay-host = r\n", -1, "relayhost", NULL, 1, "expected \"name = value\""},
    {"foo_bar = baz\n", 0, "foo_bar", "baz", 1, "foo_bar: unknown parameter"},
    {"mydestination = a,\n b\nsmtpd_timeout = abc\n", -1, "smtpd_timeout", NULL,
     3, "smtpd_timeout = \"abc\": expected a time like 300s, 5m, 1h, 1d, 1w"},
    {"relayhost = a\001b\n", -1, "relayhost", NULL, 1, "control character"},
    {"smtpd_use_tls = yes\nsmtp_use_tls = yes\nsmtpd_enforce_tls = no\n", 0,
     "smtpd_use_tls", "yes", 0, NULL},
};

static void
test_parse_cases(void)
{
	for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0];
	     i++) {
		const char *text = parse_cases[i].text;
		int rc;
		struct conf *c = parse(text, strlen(text), &rc);
		const char *raw = conf_raw(c, parse_cases[i].param);
		const struct conf_problem *p = NULL;

		T_CHECK(rc == parse_cases[i].rc, "case %zu: rc %d", i, rc);
		if (parse_cases[i].raw)
			T_STREQ(raw, parse_cases[i].raw, text);
		else
			T_CHECK(raw == NULL, "case %zu: set to \"%s\"", i, raw);
		if (parse_cases[i].msg) {
			p = problem(parse_cases[i].msg);
			T_CHECK(p && p->line == parse_cases[i].line &&
			            strcmp(p->file, "main.cf") == 0,
			        "case %zu: no \"%s\" at line %u (%zu problems: "
			        "%s)",
			        i, parse_cases[i].msg, parse_cases[i].line,
			        ps.n, ps.n ? ps.v[0].message : "");
		} else {
			T_CHECK(ps.n == 0, "case %zu: unexpected \"%s\"", i,
			        ps.n ? ps.v[0].message : "");
		}
		conf_free(c);
	}
}

/* Each type at min-1, min, max, max+1 and in bad forms. */
static const struct {
	const char *param, *value;
	int ok;
} type_cases[] = {
    {"smtpd_recipient_limit", "0", 0},
    {"smtpd_recipient_limit", "1", 1},
    {"smtpd_recipient_limit", "100000", 1},
    {"smtpd_recipient_limit", "100001", 0},
    {"smtpd_recipient_limit", "-1", 0},
    {"smtpd_recipient_limit", "+5", 0},
    {"smtpd_recipient_limit", "1e3", 0},
    {"smtpd_recipient_limit", "", 0},
    {"smtpd_recipient_limit", "12 34", 0},
    {"smtpd_recipient_limit", "99999999999999999999999", 0},
    {"smtpd_soft_error_limit", "0", 1},
    {"smtpd_timeout", "0", 0},
    {"smtpd_timeout", "0s", 0},
    {"smtpd_timeout", "1", 1},
    {"smtpd_timeout", "1s", 1},
    {"smtpd_timeout", "5m", 1},
    {"smtpd_timeout", "1h", 1},
    {"smtpd_timeout", "1d", 1},
    {"smtpd_timeout", "86400", 1},
    {"smtpd_timeout", "86401", 0},
    {"smtpd_timeout", "2d", 0},
    {"smtpd_timeout", "1w", 0},
    {"smtpd_timeout", "abc", 0},
    {"smtpd_timeout", "10x", 0},
    {"smtpd_timeout", "s", 0},
    {"smtpd_timeout", "5mm", 0},
    {"smtpd_timeout", "5 m", 0},
    {"smtpd_timeout", "99999999999999999999w", 0},
    {"smtpd_timeout", "9999999999999999w", 0},
    {"maximal_queue_lifetime", "0", 1},
    {"maximal_queue_lifetime", "5", 1},
    {"maximal_queue_lifetime", "100d", 1},
    {"maximal_queue_lifetime", "101d", 0},
    {"maximal_queue_lifetime", "14w", 1},
    {"maximal_queue_lifetime", "15w", 0},
    {"delay_warning_time", "4h", 1},
    {"message_size_limit", "0", 1},
    {"message_size_limit", "10240000", 1},
    {"message_size_limit", "1099511627776", 1},
    {"message_size_limit", "1099511627777", 0},
    {"message_size_limit", "10k", 0},
    {"message_size_limit", "-5", 0},
    {"soft_bounce", "yes", 1},
    {"soft_bounce", "no", 1},
    {"soft_bounce", "YES", 1},
    {"soft_bounce", "No", 1},
    {"soft_bounce", "true", 0},
    {"soft_bounce", "1", 0},
    {"soft_bounce", "", 0},
    {"smtpd_forbid_bare_newline", "normalize", 1},
    {"smtpd_forbid_bare_newline", "reject", 1},
    {"smtpd_forbid_bare_newline", "yes", 1},
    {"smtpd_forbid_bare_newline", "no", 1},
    {"smtpd_forbid_bare_newline", "NORMALIZE", 1},
    {"smtpd_forbid_bare_newline", "maybe", 0},
    {"smtpd_forbid_bare_newline", "", 0},
    {"smtpd_tls_security_level", "", 1},
    {"smtpd_tls_security_level", "may", 1},
    {"smtpd_tls_security_level", "encrypt", 1},
    {"smtpd_tls_security_level", "dane", 0},
    {"smtp_tls_security_level", "secure", 1},
    {"mynetworks_style", "subnet", 1},
    {"mynetworks_style", "everything", 0},
    {"smtpd_relay_restrictions", "permit_mynetworks, reject", 1},
    {"smtpd_relay_restrictions",
     "permit_mynetworks,permit_sasl_authenticated,defer_unauth_destination", 1},
    {"smtpd_relay_restrictions", "", 1},
    {"smtpd_relay_restrictions", "permit_mynetworks check_foo", 0},
    {"inet_protocols", "ipv4", 1},
    {"inet_protocols", "ipv4, ipv6", 1},
    {"inet_protocols", "ipx", 0},
    {"notify_classes", "2bounce, resource", 1},
    {"notify_classes", "all", 0},
    {"alias_maps", "cdb:/etc/aliases", 1},
    {"alias_maps", "hash:/etc/aliases", 1},
    {"alias_maps", "cdb:/a, hash:/b", 1},
    {"alias_maps", "", 1},
    {"alias_maps", "/etc/aliases", 0},
    {"alias_maps", "btree:/etc/aliases", 0},
    {"alias_maps", "cdb:", 0},
    {"local_recipient_maps", "proxy:unix:passwd.byname $alias_maps", 1},
    {"local_recipient_maps", "unix:group.byname", 0},
    {"relayhost", "[smtp.example.com]:587", 1},
    {"smtpd_use_tls", "maybe", 0},
};

static void
test_types(void)
{
	char text[200], why[200];

	for (size_t i = 0; i < sizeof type_cases / sizeof type_cases[0]; i++) {
		const struct conf_param *p =
		    conf_param_find(type_cases[i].param);
		int rc, n = snprintf(text, sizeof text, "%s = %s\n",
		                     type_cases[i].param, type_cases[i].value);
		struct conf *c = parse(text, (size_t)n, &rc);

		T_CHECK((rc == 0) == type_cases[i].ok &&
		            (conf_raw(c, type_cases[i].param) != NULL) ==
		                type_cases[i].ok,
		        "%s = \"%s\": rc %d", type_cases[i].param,
		        type_cases[i].value, rc);
		if (!type_cases[i].ok)
			T_CHECK(ps.errors == 1 && ps.v[0].line == 1 &&
			            strcmp(ps.v[0].parameter, p->name) == 0 &&
			            (strstr(ps.v[0].message, "expected") ||
			             strstr(ps.v[0].message, "is not")),
			        "%s = \"%s\": %s", p->name, type_cases[i].value,
			        ps.v[0].message);
		T_CHECK((conf_check_value(c, p, type_cases[i].value, why,
		                          sizeof why) >= 0) == type_cases[i].ok,
		        "conf_check_value %s = \"%s\"", p->name,
		        type_cases[i].value);
		conf_free(c);
	}
}

static void
test_messages(void)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    {"smtpd_timeout = abc\n",
	     "smtpd_timeout = \"abc\": expected a time like 300s, 5m, 1h, "
	     "1d, 1w"},
	    {"smtpd_timeout = 2d\n",
	     "smtpd_timeout = \"2d\": expected a time from 1s to 1d"},
	    {"maximal_queue_lifetime = x\n",
	     "maximal_queue_lifetime = \"x\": expected a time like 300s, "
	     "5m, 1h, 1d, 1w (a number alone counts in d)"},
	    {"smtpd_recipient_limit = 0\n",
	     "smtpd_recipient_limit = \"0\": expected a whole number from 1 "
	     "to 100000"},
	    {"message_size_limit = 1k\n",
	     "message_size_limit = \"1k\": expected a size in bytes from 0 "
	     "to 1099511627776"},
	    {"soft_bounce = maybe\n",
	     "soft_bounce = \"maybe\": expected yes or no"},
	    {"smtpd_tls_security_level = x\n",
	     "smtpd_tls_security_level = \"x\": expected one of: none, may, "
	     "encrypt (or nothing)"},
	    {"alias_maps = /etc/aliases\n",
	     "alias_maps = \"/etc/aliases\": \"/etc/aliases\" is not a lookup "
	     "table: expected type:name with type cdb or hash, like "
	     "cdb:/etc/tinymta/virtual"},
	    {"smtpd_relay_restrictions = permit, foo\n",
	     "smtpd_relay_restrictions = \"permit, foo\": \"foo\" is not one "
	     "of: permit_mynetworks, permit_sasl_authenticated, "
	     "reject_unauth_destination, defer_unauth_destination, permit, "
	     "reject"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc;
		struct conf *c =
		    parse(cases[i].text, strlen(cases[i].text), &rc);

		T_CHECK(rc == -1 && ps.n == 1, "%s: %zu problems",
		        cases[i].text, ps.n);
		T_STREQ(ps.v[0].message, cases[i].msg, cases[i].text);
		conf_free(c);
	}
}

static const struct {
	const char *text, *param;
	const char *want; /* conf_get(); NULL: the value is refused */
	const char *msg;  /* substring of a problem, or NULL */
} expand_cases[] = {
    {"myhostname = h.example.com\n", "myorigin", "h.example.com", NULL},
    {"myhostname = h.example.com\n", "mydomain", "example.com", NULL},
    {"myhostname = test.example\n", "mydomain", "localdomain", NULL},
    {"myhostname = h.example.com\n", "mydestination",
     "h.example.com, localhost.example.com, localhost", NULL},
    {"myhostname = h.x.y\nmyorigin = ${myhostname}\n", "myorigin", "h.x.y",
     NULL},
    {"myhostname = h.x.y\nmyorigin = $(myhostname)!\n", "myorigin", "h.x.y!",
     NULL},
    {"myorigin = a$$b\n", "myorigin", "a$b", NULL},
    {"myorigin = a$\n", "myorigin", "a$", NULL},
    {"myorigin = a$-b\n", "myorigin", "a$-b", NULL},
    {"myorigin = $bar\nbar = x.y\n", "myorigin", "x.y", "bar: unknown"},
    {"myhostname = h.x.y\nmyorigin = ${myhostname?yes}\n", "myorigin", "yes",
     NULL},
    {"myorigin = [${relayhost?relay}]\n", "myorigin", "[]", NULL},
    {"myorigin = ${relayhost:direct}\n", "myorigin", "direct", NULL},
    {"myhostname = h.x.y\nmyorigin = ${relayhost:{${myhostname}}}\n",
     "myorigin", "h.x.y", NULL},
    {"myorigin = ${relayhost?{a b}:{c d}}\n", "myorigin", "c d", NULL},
    {"relayhost = r\nmyorigin = ${relayhost ? {a b} : {c d}}\n", "myorigin",
     NULL, "unexpected \" \""},
    {"relayhost = r\nmyorigin = ${relayhost?{a b} : {c d}}\n", "myorigin",
     "a b", NULL},
    {"myorigin = ${relayhost?{a}x}\n", "myorigin", NULL,
     "expected ${name?{text}:{text}}"},
    {"smtpd_hard_error_limit = $lim\nlim = 7\n", "smtpd_hard_error_limit", "7",
     NULL},
    {"smtpd_timeout = $t\nt = abc\n", "smtpd_timeout", NULL,
     "(it expands to \"abc\")"},
    {"myorigin = $nothing.x\n", "myorigin", ".x",
     "$nothing is not set anywhere"},
    {"myorigin = $myorigin\n", "myorigin", NULL,
     "$myorigin refers back to itself (myorigin -> myorigin)"},
    {"myorigin = $mydomain\nmydomain = $myorigin\n", "myorigin", NULL,
     "refers back to itself"},
    {"mydomain = $myhostname\n", "mydomain", NULL, "refers back"},
    {"myorigin = ${myhostname\n", "myorigin", NULL,
     "unterminated \"${\" (no \"}\")"},
    {"myorigin = ${myhostname?x\n", "myorigin", NULL, "unterminated"},
    {"myorigin = ${}\n", "myorigin", NULL, "without a parameter name"},
    {"myorigin = ${a b}\n", "myorigin", NULL, "unexpected \" \""},
};

static void
test_expand(void)
{
	for (size_t i = 0; i < sizeof expand_cases / sizeof expand_cases[0];
	     i++) {
		const char *text = expand_cases[i].text;
		int rc;
		struct conf *c = parse(text, strlen(text), &rc);
		const char *v = conf_get(c, expand_cases[i].param);

		if (expand_cases[i].want) {
			T_STREQ(v, expand_cases[i].want, text);
			T_CHECK(rc == 0, "%s: rc %d", text, rc);
		} else {
			T_CHECK(rc == -1 && !conf_raw(c, expand_cases[i].param),
			        "%s: accepted", text);
		}
		if (expand_cases[i].msg)
			T_CHECK(problem(expand_cases[i].msg) != NULL,
			        "%s: no \"%s\" (%s)", text, expand_cases[i].msg,
			        ps.n ? ps.v[0].message : "none");
		conf_free(c);
	}
}

/* Bounded work: a chain deeper than CONF_EXPAND_DEPTH, more references
 * than CONF_EXPAND_REFS, an expansion past CONF_VALUE_MAX. */
static void
test_expand_bounds(void)
{
	char *text = malloc(64 * 1024);
	size_t o = 0;
	int rc;
	struct conf *c;

	for (int i = 0; i < 20; i++)
		o += (size_t)snprintf(text + o, 100, "a%d = $a%d\n", i, i + 1);
	o += (size_t)snprintf(text + o, 100, "a20 = x\nmyorigin = $a0\n");
	c = parse(text, o, &rc);
	T_CHECK(rc == -1 && problem("nested more than 16 levels"),
	        "depth: rc %d", rc);
	conf_free(c);

	o = (size_t)snprintf(text, 100, "z =\ny = ");
	for (int i = 0; i < 600; i++)
		o += (size_t)snprintf(text + o, 10, "$z");
	o += (size_t)snprintf(text + o, 100, "\nmyorigin = $y$y\n");
	c = parse(text, o, &rc);
	T_CHECK(rc == -1 && problem("more than 1000 $name references"),
	        "refs: rc %d", rc);
	conf_free(c);

	o = (size_t)snprintf(text, 100, "w = ");
	for (int i = 0; i < 3000; i++)
		text[o++] = 'w';
	o += (size_t)snprintf(text + o, 100, "\nmyorigin = $w$w\n");
	c = parse(text, o, &rc);
	T_CHECK(rc == -1 && problem("expands to more than 4095 bytes"),
	        "long: rc %d", rc);
	conf_free(c);
	free(text);
}

static void
test_bad_input(void)
{
	static const char nul1[] = "myhostname = a\0b\nrelayhost = r\n";
	static const char nul2[] = "# a\0b\nrelayhost = r\n";
	static const char nul3[] = "mydestination = a,\n b\0\nrelayhost = r\n";
	size_t big = 1024 * 1024;
	char *text = malloc(big + 100);
	int rc;
	struct conf *c;

	c = parse(nul1, sizeof nul1 - 1, &rc);
	T_CHECK(rc == -1 && problem("NUL byte") &&
	            problem("NUL byte")->line == 1 &&
	            !conf_raw(c, "myhostname") && conf_raw(c, "relayhost"),
	        "NUL in a value");
	conf_free(c);
	c = parse(nul2, sizeof nul2 - 1, &rc);
	T_CHECK(rc == -1 && problem("NUL byte")->line == 1 &&
	            conf_raw(c, "relayhost"),
	        "NUL in a comment");
	conf_free(c);
	c = parse(nul3, sizeof nul3 - 1, &rc);
	T_CHECK(rc == -1 && problem("NUL byte")->line == 2 &&
	            !conf_raw(c, "mydestination"),
	        "NUL in a continuation line");
	conf_free(c);

	/* a 1 MB line: refused with its line number, the rest still read */
	memcpy(text, "relayhost = r\nsmtpd_banner = ", 29);
	memset(text + 29, 'x', big - 29 - 20);
	memcpy(text + big - 20, "\nmyorigin = o.x\n", 16);
	c = parse(text, big - 4, &rc);
	T_CHECK(rc == -1 && problem("smtpd_banner: line longer than") &&
	            problem("line longer")->line == 2 &&
	            conf_raw(c, "relayhost") && conf_raw(c, "myorigin") &&
	            !conf_raw(c, "smtpd_banner"),
	        "1 MB line: %s", ps.n ? ps.v[0].message : "");
	conf_free(c);

	/* a value at CONF_VALUE_MAX - 1 is fine, one more is not */
	for (int extra = 0; extra < 2; extra++) {
		size_t n = 15 + CONF_VALUE_MAX - 1 + (size_t)extra;

		memcpy(text, "smtpd_banner = ", 15);
		memset(text + 15, 'b', n - 15);
		c = parse(text, n, &rc);
		T_CHECK((rc == 0) == !extra, "value of %zu bytes: rc %d",
		        n - 15, rc);
		if (extra)
			T_CHECK(problem("value longer than 4095 bytes") != NULL,
			        "value too long");
		conf_free(c);
	}
	memset(text, '\n', big + 1);
	c = parse(text, big + 1, &rc);
	T_CHECK(rc == -1 && ps.v[0].line == 0 && problem("file larger than"),
	        "file over CONF_FILE_MAX");
	conf_free(c);
	free(text);
}

static void
test_getters(void)
{
	const char *text = "smtpd_use_tls = yes\nsmtp_use_tls = yes\n"
	                   "maximal_queue_lifetime = 2\nmydestination = a, "
	                   "b,,c  d\n";
	char elem[8];
	const char *cur;
	int rc, n = 0;
	struct conf *c = parse(text, strlen(text), &rc);

	T_CHECK(rc == 0, "getters: rc %d", rc);
	T_CHECK(conf_time(c, "maximal_queue_lifetime") == 2 * 86400,
	        "2 means days: %lld", conf_time(c, "maximal_queue_lifetime"));
	T_CHECK(conf_time(c, "bounce_queue_lifetime") == 5 * 86400,
	        "default 5d");
	T_CHECK(conf_time(c, "smtpd_timeout") == 300, "default 300s");
	T_CHECK(conf_size(c, "message_size_limit") == 10240000, "10240000");
	T_CHECK(conf_int(c, "smtpd_recipient_limit") == 1000, "1000");
	T_CHECK(conf_int(c, "initial_destination_concurrency") == 2, "2");
	T_CHECK(conf_bool(c, "smtpd_use_tls") == 1, "bool yes");
	T_CHECK(conf_bool(c, "soft_bounce") == 0, "bool no");
	T_STREQ(conf_smtpd_tls_level(c), "may", "legacy smtpd_use_tls");
	T_STREQ(conf_smtp_tls_level(c), "may", "legacy smtp_use_tls");
	T_CHECK(conf_get(c, "nonexistent") == NULL, "unknown: NULL");
	cur = conf_get(c, "mydestination");
	while (conf_list_next(&cur, elem, sizeof elem))
		n++;
	T_CHECK(n == 4, "list of 4: %d", n);
	T_CHECK(conf_line(c, "maximal_queue_lifetime") == 3, "line");
	T_STREQ(conf_get(c, "alias_maps"), "cdb:/etc/tinymta/aliases",
	        "alias_maps default");
	T_STREQ(conf_get(c, "config_directory"), "/etc/tinymta", "config dir");
	T_STREQ(conf_default(c, "queue_directory"), "/var/spool/tinymta",
	        "queue_directory default");
	conf_free(c);

	text = "smtpd_enforce_tls = yes\nsmtpd_use_tls = yes\n";
	c = parse(text, strlen(text), &rc);
	T_STREQ(conf_smtpd_tls_level(c), "encrypt", "legacy enforce");
	T_STREQ(conf_smtp_tls_level(c), "none", "client default");
	conf_free(c);
	text = "smtpd_enforce_tls = yes\nsmtpd_tls_security_level = may\n";
	c = parse(text, strlen(text), &rc);
	T_STREQ(conf_smtpd_tls_level(c), "may", "level wins");
	conf_free(c);
}

/* postconf shows a refused value as written; the getters ignore it. */
static void
test_written(void)
{
	const char *text = "smtpd_timeout = 60s\nsmtpd_timeout = abc\n"
	                   "myorigin = $myorigin\nrelayhost = bad\001\n"
	                   "relayhost = [r]\n";
	int rc;
	struct conf *c = parse(text, strlen(text), &rc);

	T_CHECK(rc == -1, "written: rc %d", rc);
	T_STREQ(conf_written(c, "smtpd_timeout"), "abc", "later refused");
	T_STREQ(conf_raw(c, "smtpd_timeout"), "60s", "earlier kept");
	T_CHECK(conf_time(c, "smtpd_timeout") == 60, "getter: kept value");
	T_STREQ(conf_written(c, "myorigin"), "$myorigin", "refused loop");
	T_CHECK(conf_raw(c, "myorigin") == NULL, "loop not kept");
	T_STREQ(conf_written(c, "relayhost"), "[r]", "later good wins");
	T_CHECK(conf_written(c, "soft_bounce") == NULL, "unset");
	conf_free(c);
}

static void
test_cross(void)
{
	static const struct {
		const char *text, *msg, *param;
		int rc;
	} cases[] = {
	    {"minimal_backoff_time = 5000s\n",
	     "minimal_backoff_time (5000s) is larger than "
	     "maximal_backoff_time (4000s)",
	     "minimal_backoff_time", -1},
	    {"maximal_backoff_time = 60s\n", "is larger than",
	     "maximal_backoff_time", -1},
	    {"queue_directory = spool\n", "expected an absolute path",
	     "queue_directory", -1},
	    {"mailbox_size_limit = 1000\n", "is smaller than",
	     "mailbox_size_limit", -1},
	    {"bounce_queue_lifetime = 6d\n", "is larger than",
	     "bounce_queue_lifetime", 0},
	    {"mailbox_size_limit = 0\nmessage_size_limit = 0\n", NULL, NULL, 0},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc;
		struct conf *c =
		    parse(cases[i].text, strlen(cases[i].text), &rc);

		T_CHECK(rc == 0, "%s: parse", cases[i].text);
		rc = conf_check(c, &ps);
		T_CHECK(rc == cases[i].rc, "%s: check %d", cases[i].text, rc);
		if (cases[i].msg)
			T_CHECK(problem(cases[i].msg) &&
			            strcmp(problem(cases[i].msg)->parameter,
			                   cases[i].param) == 0 &&
			            problem(cases[i].msg)->line == 1,
			        "%s: %s", cases[i].text,
			        ps.n ? ps.v[0].message : "none");
		else
			T_CHECK(ps.n == 0, "%s: %s", cases[i].text,
			        ps.v[0].message);
		conf_free(c);
	}
}

static void
test_set(void)
{
	struct conf *c = conf_new("/x");

	memset(&ps, 0, sizeof ps);
	T_CHECK(conf_set(c, "smtpd_tls_wrappermode", "yes", &ps) == 0, "set");
	T_CHECK(conf_bool(c, "smtpd_tls_wrappermode"), "set applied");
	T_CHECK(conf_set(c, "smtpd_timeout", "soon", &ps) == -1 &&
	            ps.errors == 1,
	        "bad -o");
	T_CHECK(conf_set(c, "smtpd_banner", "$smtpd_banner", &ps) == -1,
	        "-o loop");
	T_CHECK(conf_set(c, "mua_restrictions", "x", &ps) == 0 &&
	            problem("mua_restrictions: unknown parameter"),
	        "unknown -o: warning");
	T_CHECK(conf_set(c, "bad name", "x", &ps) == -1, "bad name");
	T_STREQ(conf_get(c, "tinymta_sasl_users"), "/x/sasl_users",
	        "$config_directory");
	conf_free(c);
}

static const struct {
	const char *in, *name, *value, *out;
} edit_cases[] = {
    {"", "relayhost", "r", "relayhost = r\n"},
    {"# c\nmyhostname = a\n", "relayhost", "[r]:587",
     "# c\nmyhostname = a\nrelayhost = [r]:587\n"},
    {"myhostname = a", "relayhost", "r", "myhostname = a\nrelayhost = r\n"},
    {"# top\nrelayhost = old\n# keep\nmyhostname = a\n", "relayhost", "new",
     "# top\nrelayhost = new\n# keep\nmyhostname = a\n"},
    {"mydestination = a,\n  b,\n# mid\n  c\nx = y\n", "mydestination", "d",
     "mydestination = d\n# mid\nx = y\n"},
    {"relayhost=old\nrelayhost = older\n", "relayhost", "n",
     "relayhost = n\nrelayhost = n\n"},
    {"relayhost_x = a\n", "relayhost", "b", "relayhost_x = a\nrelayhost = b\n"},
    {"relayhost = a\n", "relayhost", "", "relayhost =\n"},
    {"  stray\nrelayhost = a\n", "relayhost", "b", "  stray\nrelayhost = b\n"},
};

static void
test_edit(void)
{
	for (size_t i = 0; i < sizeof edit_cases / sizeof edit_cases[0]; i++) {
		const char *names[] = {edit_cases[i].name};
		const char *values[] = {edit_cases[i].value};
		char *out = NULL;
		size_t len = 0;
		int rc =
		    conf_edit_text(edit_cases[i].in, strlen(edit_cases[i].in),
		                   names, values, 1, &out, &len);

		T_CHECK(rc == 0 && len == strlen(edit_cases[i].out),
		        "edit %zu: rc %d len %zu", i, rc, len);
		T_STREQ(out, edit_cases[i].out, edit_cases[i].in);
		free(out);
	}
}

/* Every parameter DESIGN.md names is in the table. */
static const char *const design_params[] = {
    "myhostname",
    "mydomain",
    "myorigin",
    "mydestination",
    "mynetworks",
    "mynetworks_style",
    "inet_interfaces",
    "inet_protocols",
    "relay_domains",
    "relayhost",
    "smtp_fallback_relay",
    "transport_maps",
    "sender_dependent_relayhost_maps",
    "smtp_helo_name",
    "smtpd_banner",
    "alias_maps",
    "alias_database",
    "virtual_alias_domains",
    "virtual_alias_maps",
    "sender_canonical_maps",
    "recipient_canonical_maps",
    "smtp_generic_maps",
    "masquerade_domains",
    "local_recipient_maps",
    "recipient_delimiter",
    "luser_relay",
    "mail_spool_directory",
    "home_mailbox",
    "mailbox_size_limit",
    "default_privs",
    "allow_mail_to_commands",
    "allow_mail_to_files",
    "queue_directory",
    "mail_owner",
    "maximal_queue_lifetime",
    "bounce_queue_lifetime",
    "minimal_backoff_time",
    "maximal_backoff_time",
    "queue_run_delay",
    "initial_destination_concurrency",
    "default_destination_concurrency_limit",
    "default_destination_concurrency_failed_cohort_limit",
    "qmgr_message_active_limit",
    "qmgr_message_recipient_limit",
    "default_process_limit",
    "delay_warning_time",
    "soft_bounce",
    "hopcount_limit",
    "notify_classes",
    "queue_minfree",
    "smtpd_relay_restrictions",
    "smtpd_recipient_limit",
    "smtpd_timeout",
    "smtpd_hard_error_limit",
    "smtpd_soft_error_limit",
    "smtpd_helo_required",
    "smtpd_forbid_bare_newline",
    "smtpd_client_connection_count_limit",
    "smtpd_client_connection_rate_limit",
    "smtpd_client_auth_rate_limit",
    "disable_vrfy_command",
    "message_size_limit",
    "smtputf8_enable",
    "smtpd_tls_cert_file",
    "smtpd_tls_key_file",
    "smtpd_tls_CAfile",
    "smtpd_tls_security_level",
    "smtpd_use_tls",
    "smtpd_enforce_tls",
    "smtpd_tls_wrappermode",
    "smtpd_tls_auth_only",
    "smtpd_tls_received_header",
    "smtpd_sasl_auth_enable",
    "smtpd_sender_login_maps",
    "smtp_tls_security_level",
    "smtp_use_tls",
    "smtp_tls_CAfile",
    "smtp_tls_wrappermode",
    "smtp_tls_fingerprint_digest",
    "smtp_tls_fingerprint_cert_match",
    "smtp_sasl_auth_enable",
    "smtp_sasl_password_maps",
    "smtp_connect_timeout",
    "smtp_helo_timeout",
    "smtp_data_done_timeout",
    "smtp_line_length_limit",
    "syslog_name",
    "maillog_file",
    "pop3d_tls_wrappermode",
    "pop3d_tls_auth_only",
    "pop3d_timeout",
    "pop3d_tls_cert_file",
    "pop3d_tls_key_file",
    "tinymta_sasl_users",
    "tinymta_sender_address",
    "tinymta_admin_address",
    "tinymta_dead_destination_limit",
    "tinymta_dead_destination_time",
    "config_directory",
};

static void
test_table(void)
{
	struct conf *c = conf_new("/etc/tinymta");
	char why[200];
	int differs = 0;

	for (size_t i = 0; i < sizeof design_params / sizeof design_params[0];
	     i++)
		T_CHECK(conf_param_find(design_params[i]) != NULL, "%s missing",
		        design_params[i]);
	for (size_t i = 0; i < conf_nparams; i++) {
		const struct conf_param *p = &conf_params[i];

		T_CHECK(strlen(p->name) < CONF_NAME_MAX && p->help && *p->help,
		        "%s: name or help", p->name);
		T_CHECK(conf_param_find(p->name) == p, "%s: duplicate",
		        p->name);
		T_CHECK(conf_check_value(c, p, conf_default(c, p->name), why,
		                         sizeof why) == 0,
		        "%s: default fails its own check: %s", p->name, why);
		T_CHECK(!(p->flags & CONF_F_DIFFERS) == !p->postfix,
		        "%s: Postfix's default documented", p->name);
		T_CHECK((p->type == CONF_T_ENUM) == (p->values != NULL) ||
		            p->type == CONF_T_LIST,
		        "%s: values", p->name);
		differs += (p->flags & CONF_F_DIFFERS) != 0;
	}
	T_CHECK(differs >= 8, "DESIGN.md's differences flagged: %d", differs);
	memset(&ps, 0, sizeof ps);
	T_CHECK(conf_check(c, &ps) == 0, "defaults pass conf_check: %s",
	        ps.n ? ps.v[0].message : "");
	conf_free(c);
}

static void
test_config_dir(void)
{
	unsetenv("TINYMTA_CONFIG_DIR");
	unsetenv("MAIL_CONFIG");
	T_STREQ(conf_config_dir(), "/etc/tinymta", "default dir");
	setenv("MAIL_CONFIG", "/m", 1);
	T_STREQ(conf_config_dir(), "/m", "MAIL_CONFIG");
	setenv("TINYMTA_CONFIG_DIR", "/t", 1);
	T_STREQ(conf_config_dir(), "/t", "TINYMTA_CONFIG_DIR first");
	setenv("TINYMTA_CONFIG_DIR", "", 1);
	T_STREQ(conf_config_dir(), "/m", "empty is unset");
	unsetenv("TINYMTA_CONFIG_DIR");
	unsetenv("MAIL_CONFIG");
}

static void
test_problems_cap(void)
{
	size_t n = 300 * 4;
	char *text = malloc(n);
	int rc;
	struct conf *c;

	for (size_t i = 0; i < 300; i++)
		memcpy(text + 4 * i, "bad\n", 4);
	c = parse(text, n, &rc);
	T_CHECK(rc == -1 && ps.n == CONF_PROBLEMS_MAX && ps.dropped == 100 &&
	            ps.errors == 300,
	        "problems cap: n %zu dropped %zu errors %zu", ps.n, ps.dropped,
	        ps.errors);
	conf_free(c);
	free(text);
}

static void
test_json(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	conf_json_string(f, "a\"b\\c\n\001\x7f é \xff\xc3(");
	fclose(f);
	T_STREQ(buf, "\"a\\\"b\\\\c\\u000a\\u0001\\u007f é \\ufffd\\ufffd(\"",
	        "json escaping");
	free(buf);
}

int
main(void)
{
	test_parse_cases();
	test_types();
	test_messages();
	test_expand();
	test_expand_bounds();
	test_bad_input();
	test_getters();
	test_written();
	test_cross();
	test_set();
	test_edit();
	test_table();
	test_config_dir();
	test_problems_cap();
	test_json();
	return T_DONE();
}
