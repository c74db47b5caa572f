/*
 * test_master_cf.c - master.cf: service names and listen addresses,
 * continuation lines, -o overrides checked against the parameter table,
 * ignored internal services, and every error with its line number.
 */
#include "master_cf.h"
#include "t.h"

#include <stdlib.h>
#include <string.h>

static struct conf_problems ps;
static struct master_cf m;

static int
parse(const char *text, size_t len, const struct conf *c)
{
	memset(&ps, 0, sizeof ps);
	return master_cf_parse(&m, "master.cf", text, len, c, &ps);
}

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
	int rc;
	size_t n, ignored; /* services kept and ignored */
	const char *host;  /* of the first service kept */
	unsigned port;
	int cmd;
	size_t nopts;
	unsigned line; /* of the problem with msg */
	const char *msg;
} cases[] = {
    {"smtp inet n - n - - smtpd\n", 0, 1, 0, "", 25, MASTER_CMD_SMTPD, 0, 0,
     NULL},
    {"smtp      inet  n       -       y       -       -       smtpd", 0, 1, 0,
     "", 25, MASTER_CMD_SMTPD, 0, 0, NULL},
    {"127.0.0.1:2525 inet n - n - - smtpd\n", 0, 1, 0, "127.0.0.1", 2525,
     MASTER_CMD_SMTPD, 0, 0, NULL},
    {"[::1]:2587 inet n - n - - smtpd\n", 0, 1, 0, "::1", 2587,
     MASTER_CMD_SMTPD, 0, 0, NULL},
    {"localhost:smtp inet n - n - - smtpd\n", 0, 1, 0, "localhost", 25,
     MASTER_CMD_SMTPD, 0, 0, NULL},
    {"2525 inet n - n - 10 smtpd\n", 0, 1, 0, "", 2525, MASTER_CMD_SMTPD, 0, 0,
     NULL},
    {"submission inet n - n - - smtpd -o smtpd_tls_security_level=encrypt "
     "-o smtpd_sasl_auth_enable=yes\n",
     0, 1, 0, "", 587, MASTER_CMD_SMTPD, 2, 0, NULL},
    {"smtps inet n - n - - smtpd\n  -o smtpd_tls_wrappermode=yes\n"
     "# between\n\n  -o smtpd_sasl_auth_enable=yes\n",
     0, 1, 0, "", 465, MASTER_CMD_SMTPD, 2, 0, NULL},
    {"submissions inet n - n - - smtpd -o { smtpd_relay_restrictions = "
     "permit_sasl_authenticated, reject }\n",
     0, 1, 0, "", 465, MASTER_CMD_SMTPD, 1, 0, NULL},
    {"pop3 inet n - n - - pop3d\n", 0, 1, 0, "", 110, MASTER_CMD_POP3D, 0, 0,
     NULL},
    {"pop3s inet n - n - - pop3d -o pop3d_tls_wrappermode=yes -v\n", 0, 1, 0,
     "", 995, MASTER_CMD_POP3D, 1, 0, NULL},
    {"smtp inet n - n 60? 1 smtpd -D\n", 0, 1, 0, "", 25, MASTER_CMD_SMTPD, 0,
     0, NULL},
    {"# Postfix's internal services\npickup unix n - y 60 1 pickup\n"
     "qmgr fifo n - n 300 1 qmgr\nsmtp unix - - y - - smtp\n"
     "tlsproxy pass - - n - - tlsproxy\n  -o syslog_name=x\n",
     0, 0, 4, NULL, 0, 0, 0, 0, NULL},
    {"smtp inet n - n - - smtpd -o mua_restrictions=x\n", 0, 1, 0, "", 25,
     MASTER_CMD_SMTPD, 1, 1, "-o mua_restrictions: unknown parameter"},
    {"smtp inet n - n - - smtpd -x\n", 0, 1, 0, "", 25, MASTER_CMD_SMTPD, 0, 1,
     "argument \"-x\" ignored"},
    {"  -o x=y\nsmtp inet n - n - - smtpd\n", 0, 1, 0, "", 25, MASTER_CMD_SMTPD,
     0, 1, "continuation line without a service"},
    /* errors, each with its line */
    {"# c\nsmtp inet n - n - smtpd\n", -1, 0, 0, NULL, 0, 0, 0, 2,
     "expected at least 8 fields"},
    {"smtp tcp n - n - - smtpd\n", -1, 0, 0, NULL, 0, 0, 0, 1,
     "service type \"tcp\": expected inet, unix, fifo or pass"},
    {"smtp inet n - n - x smtpd\n", -1, 0, 0, NULL, 0, 0, 0, 1,
     "maxproc field \"x\""},
    {"smtp inet n - n - -1 smtpd\n", -1, 0, 0, NULL, 0, 0, 0, 1,
     "maxproc field"},
    {"smtp inet n - n ? - smtpd\n", -1, 0, 0, NULL, 0, 0, 0, 1, "wakeup field"},
    {"smtp inet q - n - - smtpd\n", -1, 0, 0, NULL, 0, 0, 0, 1,
     "private field \"q\": expected y, n or -"},
    {"smtp inet n yes n - - smtpd\n", -1, 0, 0, NULL, 0, 0, 0, 1,
     "unpriv field"},
    {"smtp inet n - n - - postscreen\n", -1, 0, 0, NULL, 0, 0, 0, 1,
     "command \"postscreen\" is not supported for inet services"},
    {"mail inet n - n - - smtpd\n", -1, 0, 0, NULL, 0, 0, 0, 1,
     "service \"mail\": expected a port"},
    {"::1:25 inet n - n - - smtpd\n", -1, 0, 0, NULL, 0, 0, 0, 1,
     "service \"::1:25\""},
    {"[::1]25 inet n - n - - smtpd\n", -1, 0, 0, NULL, 0, 0, 0, 1,
     "expected a port"},
    {"[::g]:25 inet n - n - - smtpd\n", -1, 0, 0, NULL, 0, 0, 0, 1,
     "expected a port"},
    {"0 inet n - n - - smtpd\n", -1, 0, 0, NULL, 0, 0, 0, 1, "expected a port"},
    {"65536 inet n - n - - smtpd\n", -1, 0, 0, NULL, 0, 0, 0, 1,
     "expected a port"},
    {"999.1.1.1:25 inet n - n - - smtpd\n", -1, 0, 0, NULL, 0, 0, 0, 1,
     "expected a port"},
    {":25 inet n - n - - smtpd\n", -1, 0, 0, NULL, 0, 0, 0, 1,
     "expected a port"},
    {"smtp inet n - n - - smtpd -o smtpd_timeout=soon\n", -1, 0, 0, NULL, 0, 0,
     0, 1,
     "-o smtpd_timeout=\"soon\": expected a time like 300s, 5m, 1h, 1d, "
     "1w"},
    {"smtp inet n - n - - smtpd\n -o smtpd_tls_wrappermode=maybe\n", -1, 0, 0,
     NULL, 0, 0, 0, 1, "expected yes or no"},
    {"smtp inet n - n - - smtpd -o\n", -1, 0, 0, NULL, 0, 0, 0, 1,
     "-o at the end of the line"},
    {"smtp inet n - n - - smtpd -o smtpd_tls_wrappermode\n", -1, 0, 0, NULL, 0,
     0, 0, 1, "expected -o name=value"},
    {"smtp inet n - n - - smtpd -o a-b=c\n", -1, 0, 0, NULL, 0, 0, 0, 1,
     "not a parameter name"},
    {"smtp inet n - n - - smtpd -o { smtpd_timeout=1s\n", -1, 0, 0, NULL, 0, 0,
     0, 1, "unterminated \"{\""},
    {"smtp inet n - n - - smtpd\n25 inet n - n - - smtpd\n", -1, 1, 0, "", 25,
     MASTER_CMD_SMTPD, 0, 2,
     "service \"25\" listens where the service of line 1 does"},
    {"smtp inet n - n - - smtpd\n127.0.0.1:25 inet n - n - - smtpd\n", 0, 2, 0,
     "", 25, MASTER_CMD_SMTPD, 0, 0, NULL},
};

static void
test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *text = cases[i].text;
		int rc = parse(text, strlen(text), NULL);

		T_CHECK(rc == cases[i].rc && m.n == cases[i].n &&
		            m.ignored == cases[i].ignored,
		        "case %zu: rc %d n %zu ignored %zu (%s)", i, rc, m.n,
		        m.ignored, ps.n ? ps.v[0].message : "");
		if (m.n && cases[i].host) {
			T_STREQ(m.v[0].host, cases[i].host, text);
			T_CHECK(m.v[0].port == cases[i].port &&
			            (int)m.v[0].cmd == cases[i].cmd &&
			            m.v[0].nopts == cases[i].nopts,
			        "case %zu: port %u cmd %d nopts %zu", i,
			        m.v[0].port, m.v[0].cmd, m.v[0].nopts);
		}
		if (cases[i].msg)
			T_CHECK(problem(cases[i].msg) &&
			            problem(cases[i].msg)->line ==
			                cases[i].line &&
			            strcmp(problem(cases[i].msg)->file,
			                   "master.cf") == 0,
			        "case %zu: no \"%s\" at line %u (%s)", i,
			        cases[i].msg, cases[i].line,
			        ps.n ? ps.v[0].message : "none");
		else
			T_CHECK(ps.n == 0, "case %zu: unexpected %s", i,
			        ps.v[0].message);
	}
}

static void
test_fields(void)
{
	const char *text = "smtp inet n y n 60? 7 smtpd\n"
	                   "  -o smtpd_sasl_auth_enable=yes\n"
	                   "  -o { smtpd_banner = $myhostname hi }\n";

	T_CHECK(parse(text, strlen(text), NULL) == 0, "fields parse");
	T_CHECK(m.v[0].private_ == 0 && m.v[0].unpriv == 1 &&
	            m.v[0].chroot == 0 && m.v[0].wakeup == 60 &&
	            m.v[0].maxproc == 7 && m.v[0].line == 1,
	        "fields");
	T_STREQ(master_cf_str(&m, m.v[0].opts[0].name),
	        "smtpd_sasl_auth_enable", "opt name");
	T_STREQ(master_cf_str(&m, m.v[0].opts[1].value), "$myhostname hi",
	        "braced opt value");
	T_STREQ(master_cf_str(&m, 99999), "", "bad offset");
	T_CHECK(master_cf_port("pop3s") == 995 && master_cf_port("x") == 0 &&
	            master_cf_port("65535") == 65535,
	        "ports");
}

/* -o values are checked with $name expansion against main.cf. */
static void
test_with_conf(void)
{
	struct conf *c = conf_new("/etc/tinymta");
	const char *main_cf = "limit = abc\nhours = 2h\n";
	const char *bad = "smtp inet n - n - - smtpd -o smtpd_timeout=$limit\n";
	const char *good = "smtp inet n - n - - smtpd -o smtpd_timeout=$hours"
	                   " -o smtpd_tls_wrappermode=yes\n";

	memset(&ps, 0, sizeof ps);
	(void)conf_parse_main(c, "main.cf", main_cf, strlen(main_cf), &ps);
	T_CHECK(parse(bad, strlen(bad), c) == -1 && problem("expands to"),
	        "-o $name checked: %s", ps.n ? ps.v[0].message : "");
	T_CHECK(parse(bad, strlen(bad), NULL) == 0, "no conf: not checked");
	T_CHECK(parse(good, strlen(good), c) == 0 && m.n == 1, "good -o");
	T_CHECK(master_cf_apply(&m, &m.v[0], c, &ps) == 0, "apply");
	T_CHECK(conf_time(c, "smtpd_timeout") == 7200 &&
	            conf_bool(c, "smtpd_tls_wrappermode"),
	        "applied: %lld", conf_time(c, "smtpd_timeout"));
	conf_free(c);
}

static void
test_limits(void)
{
	size_t cap = 64 * 1024, o = 0;
	char *text = malloc(cap);
	static const char nul[] = "smtp inet n - n - - smtpd\0\n";

	for (int i = 1; i <= MASTER_CF_SERVICES_MAX + 1; i++)
		o += (size_t)snprintf(text + o, cap - o,
		                      "%d inet n - n - - smtpd\n", 1000 + i);
	T_CHECK(parse(text, o, NULL) == -1 && m.n == MASTER_CF_SERVICES_MAX &&
	            problem("more than 32 inet services")->line == 33,
	        "33 services");
	o = (size_t)snprintf(text, cap, "smtp inet n - n - - smtpd");
	for (int i = 0; i <= MASTER_CF_OPTS_MAX; i++)
		o += (size_t)snprintf(text + o, cap - o, " -o soft_bounce=no");
	T_CHECK(parse(text, o, NULL) == -1 && m.n == 0 &&
	            problem("more than 16 -o options"),
	        "17 -o");
	T_CHECK(parse(nul, sizeof nul - 1, NULL) == -1 && m.n == 0 &&
	            problem("NUL byte")->line == 1,
	        "NUL byte");
	memcpy(text, "smtp inet n - n - - smtpd -o smtpd_banner=", 42);
	memset(text + 42, 'x', cap - 42);
	T_CHECK(parse(text, cap, NULL) == -1 && problem("line longer than"),
	        "long line");
	o = 0;
	for (int i = 0; i < 70; i++)
		o += (size_t)snprintf(text + o, cap - o, "a ");
	T_CHECK(parse(text, o, NULL) == -1 && problem("more than 64 fields"),
	        "too many fields");
	free(text);
	text = malloc(CONF_FILE_MAX + 2);
	memset(text, '#', CONF_FILE_MAX + 1);
	T_CHECK(parse(text, CONF_FILE_MAX + 1, NULL) == -1 &&
	            problem("file larger than"),
	        "big file");
	free(text);
}

int
main(void)
{
	test_cases();
	test_fields();
	test_with_conf();
	test_limits();
	return T_DONE();
}
