/*
 * cmd_cgi_act.c - the web UI's POST actions once the session and the form
 * token are checked: save the settings (postconf -e, then tinymta
 * relay-password, check --json and reload), delete a queued message,
 * flush the queue, and "Send test mail" (tinymta test-relay with the
 * unsaved form values). Every form value is untrusted: checked here by
 * shape, then by postconf against the parameter table; values reach the
 * commands as arguments only.
 */
#define _GNU_SOURCE /* explicit_bzero in glibc */
#include "cmd_cgi.h"
#include "conf.h"
#include "qfile.h"
#include "util/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
say(struct cgi *g, int error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->msg, sizeof g->msg, fmt, ap);
	va_end(ap);
	g->msg_error = error;
}

static int
host_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 253 || h[0] == '-' || h[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		      (h[i] >= 'A' && h[i] <= 'Z') ||
		      (h[i] >= '0' && h[i] <= '9') || h[i] == '.' ||
		      h[i] == '-'))
			return 0;
	return 1;
}

/* "" or 1..65535 */
static int
port_ok(const char *p)
{
	uint32_t v;

	return *p == '\0' || (scan_u32(p, &v) == 0 && v >= 1 && v <= 65535);
}

static const char *
field(const struct cgi *g, const char *name)
{
	const char *v = cgi_form_get(&g->post, name);

	return v ? v : "";
}

/* The relayhost value of the form ("" or "[host]" or "[host]:port") into
 * out; 0, or -1 with the message set. */
static int
relayhost(struct cgi *g, char *out, size_t cap)
{
	const char *h = field(g, "relay_host"), *p = field(g, "relay_port");

	if (*h == '\0' && *p == '\0') {
		out[0] = '\0';
		return 0;
	}
	if (!host_ok(h)) {
		say(g, 1, "relay host: expected a host name or IPv4 address");
		return -1;
	}
	if (!port_ok(p)) {
		say(g, 1, "relay port: expected a number from 1 to 65535");
		return -1;
	}
	snprintf(out, cap, *p ? "[%s]:%s" : "[%s]", h, p);
	return 0;
}

/* name=value into out, a literal '$' doubled so that main.cf keeps it as
 * typed (no $name expansion of form input). -1 when it does not fit. */
static int
assign(const char *name, const char *value, char *out, size_t cap)
{
	size_t o = (size_t)snprintf(out, cap, "%s=", name);

	for (; *value; value++) {
		if (o + 3 >= cap)
			return -1;
		if (*value == '$')
			out[o++] = '$';
		out[o++] = *value;
	}
	out[o] = '\0';
	return 0;
}

static int
one_of(const char *v, const char *a, const char *b)
{
	return strcmp(v, a) == 0 || strcmp(v, b) == 0;
}

static void
save(struct cgi *g)
{
	static const char *const text[][2] = {
	    {"sender_address", "tinymta_sender_address"},
	    {"admin_address", "tinymta_admin_address"},
	    {"tls_level", "smtp_tls_security_level"},
	};
	char rh[300], a[6][CGI_VALUE_MAX * 2 + 64];
	const char *argv[12] = {"postconf", "-e"};
	const char *user = field(g, "relay_user"),
	           *pass = field(g, "relay_pass");
	const char *mail = field(g, "mail_listen"),
	           *web = field(g, "web_listen");
	size_t n = 2;
	int rc;

	if (relayhost(g, rh, sizeof rh) < 0)
		return;
	if (!one_of(mail, "loopback-only", "all") ||
	    !one_of(web, "loopback", "all")) {
		say(g, 1, "listen: expected loopback or all");
		return;
	}
	snprintf(a[0], sizeof a[0], "relayhost=%s", rh);
	argv[n++] = a[0];
	for (size_t i = 0; i < 3; i++) {
		if (assign(text[i][1], field(g, text[i][0]), a[i + 1],
		           sizeof a[i + 1]) < 0) {
			say(g, 1, "%s: too long", text[i][0]);
			return;
		}
		argv[n++] = a[i + 1];
	}
	snprintf(a[4], sizeof a[4], "inet_interfaces=%s", mail);
	argv[n++] = a[4];
	snprintf(a[5], sizeof a[5], "tinymta_webui_listen=%s", web);
	argv[n++] = a[5];
	if (*user)
		argv[n++] = "smtp_sasl_auth_enable=yes";
	argv[n] = NULL;
	if ((rc = cgi_run(argv, NULL, g->out, CGI_OUT_MAX)) != 0) {
		say(g, 1, "not saved: postconf -e refused a value (exit %d)",
		    rc);
		return;
	}
	if (*user || *pass) {
		const char *pw[] = {"tinymta", "relay-password", rh, user,
		                    NULL};
		char in[CGI_VALUE_MAX + 2];

		if (!*rh || !*user || !*pass) {
			say(g, 1,
			    "saved, but the relay password needs the "
			    "relay host, the user and the password");
			return;
		}
		snprintf(in, sizeof in, "%s\n", pass);
		rc = cgi_run(pw, in, g->out, CGI_OUT_MAX);
		explicit_bzero(in, sizeof in);
		if (rc != 0) {
			say(g, 1,
			    "saved, but tinymta relay-password failed "
			    "(exit %d)",
			    rc);
			return;
		}
	}
	{
		const char *ck[] = {"tinymta", "check", "--json", NULL};

		if ((rc = cgi_run(ck, NULL, g->out, CGI_OUT_MAX)) != 0) {
			say(g, 1,
			    "saved, but tinymta check found errors: "
			    "not reloaded");
			return;
		}
	}
	{
		const char *rl[] = {"tinymta", "reload", NULL};

		rc = cgi_run(rl, NULL, g->out, CGI_OUT_MAX);
		if (rc == 0)
			say(g, 0, "saved and reloaded");
		else
			say(g, rc == 1 ? 0 : 1,
			    "saved; reload: exit %d (the mail system %s)", rc,
			    rc == 1 ? "is not running"
			            : "kept the old settings");
	}
}

/* The "failed_step" of test-relay --json's output into step[cap]: a
 * lower-case word (dns, connect, greeting, ehlo, tls, auth, mail, rcpt,
 * data). 0, or -1 when there is none. */
static int
failed_step(const char *out, char *step, size_t cap)
{
	static const char key[] = "\"failed_step\": \"";
	const char *p = strstr(out, key);
	size_t n = 0;

	if (!p)
		return -1;
	p += sizeof key - 1;
	while (p[n] >= 'a' && p[n] <= 'z' && n + 1 < cap)
		n++;
	if (n == 0 || p[n] != '"')
		return -1;
	str_copy_n(step, cap, p, n);
	return 0;
}

/* "Send test mail": tinymta test-relay with every unsaved value that
 * bears on the test: the relay host and port, the TLS level, the sender
 * and admin (recipient) addresses, and the relay user: with a password,
 * --user and the password on stdin; without, AUTH on with the saved
 * password of smtp_sasl_password_maps. */
static void
test_relay(struct cgi *g)
{
	static const char *const text[][2] = {
	    {"tls_level", "smtp_tls_security_level"},
	    {"sender_address", "tinymta_sender_address"},
	    {"admin_address", "tinymta_admin_address"},
	};
	char rh[300], o[4][CGI_VALUE_MAX * 2 + 64], in[CGI_VALUE_MAX + 2];
	const char *argv[16] = {"tinymta", "test-relay", "--json"};
	const char *user = field(g, "relay_user"),
	           *pass = field(g, "relay_pass");
	char step[16];
	size_t n = 3;
	int rc;

	if (relayhost(g, rh, sizeof rh) < 0)
		return;
	snprintf(o[0], sizeof o[0], "relayhost=%s", rh);
	argv[n++] = "-o";
	argv[n++] = o[0];
	for (size_t i = 0; i < 3; i++) {
		if (assign(text[i][1], field(g, text[i][0]), o[i + 1],
		           sizeof o[i + 1]) < 0) {
			say(g, 1, "%s: too long", text[i][0]);
			return;
		}
		argv[n++] = "-o";
		argv[n++] = o[i + 1];
	}
	in[0] = '\0';
	if (*user && *pass) {
		argv[n++] = "--user";
		argv[n++] = user;
		snprintf(in, sizeof in, "%s\n", pass);
	} else if (*user) {
		argv[n++] = "-o";
		argv[n++] = "smtp_sasl_auth_enable=yes";
	}
	argv[n] = NULL;
	rc = cgi_run(argv, *in ? in : NULL, g->out, CGI_OUT_MAX);
	explicit_bzero(in, sizeof in);
	if (rc == 0)
		say(g, 0, "test mail: ok (exit 0)");
	else if (failed_step(g->out, step, sizeof step) == 0)
		say(g, 1, "test mail: failed at %s (exit %d)", step, rc);
	else
		say(g, 1, "test mail: failed (exit %d)", rc);
}

static int
queue_name_ok(const char *q)
{
	static const char *const names[] = {"maildrop", "incoming", "active",
	                                    "deferred", "hold",     "corrupt"};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(q, names[i]) == 0)
			return 1;
	return 0;
}

void
cgi_action(struct cgi *g, const char *action)
{
	const char *id = field(g, "id");

	if (strcmp(action, "save") == 0) {
		save(g);
	} else if (strcmp(action, "test") == 0) {
		test_relay(g);
	} else if (strcmp(action, "flush") == 0) {
		const char *argv[] = {"postqueue", "-f", NULL};
		int rc = cgi_run(argv, NULL, g->out, CGI_OUT_MAX);

		say(g, rc != 0, rc == 0 ? "queue flushed" : "flush: exit %d",
		    rc);
	} else if (strcmp(action, "delete") == 0) {
		const char *q = field(g, "queue");
		const char *argv[] = {"postsuper", "-d", id, q, NULL};
		int rc;

		if (!qfile_id_valid(id) || !queue_name_ok(q)) {
			say(g, 1, "delete: not a queue ID");
			return;
		}
		rc = cgi_run(argv, NULL, g->out, CGI_OUT_MAX);
		/* postsuper exits 0 also when the message was already gone */
		if (rc == 0 && strstr(g->out, "Deleted: 1 message"))
			say(g, 0, "message %s deleted", id);
		else
			say(g, 1, "delete %s: not deleted (exit %d)", id, rc);
	} else {
		say(g, 1, "unknown action");
	}
}
