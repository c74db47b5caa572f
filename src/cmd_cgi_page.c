/*
 * cmd_cgi_page.c - the web UI's page: the result of the last action,
 * status (tinymta status --json), the queue (mailq --json, with delete
 * and flush buttons), the settings form filled from main.cf, and the
 * problems tinymta check reports. Everything printed from a file or a
 * command passes through cgi_html. No JavaScript; fits a phone screen.
 */
#include "cmd_cgi.h"
#include "conf.h"
#include "qfile.h"
#include "util/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char STYLE[] =
    "body{font-family:sans-serif;max-width:46em;margin:auto;padding:0 .5em}"
    "pre{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;"
    "padding:.4em}label{display:block;margin:.3em 0}"
    "input,select{max-width:100%}table{border-collapse:collapse;width:100%}"
    "td{border-bottom:1px solid #ddd;padding:.2em;word-break:break-all}"
    ".error{color:#a00}.ok{color:#070}";

/* <form method=post> with the action and the CSRF token */
static void
form_open(const struct cgi *g, const char *action)
{
	printf("<form method=\"post\" action=\"");
	cgi_html(stdout, g->script);
	printf("\"><input type=\"hidden\" name=\"csrf\" value=\"%s\">",
	       g->csrf);
	if (action)
		printf("<input type=\"hidden\" name=\"action\" value=\"%s\">",
		       action);
}

/* The string value of "key": "..." in one JSON line into out (escapes
 * kept as written; the result is HTML-escaped when printed). */
static void
json_str(const char *line, const char *key, char *out, size_t cap)
{
	char pat[64];
	const char *p, *e;

	out[0] = '\0';
	snprintf(pat, sizeof pat, "\"%s\": \"", key);
	if (!(p = strstr(line, pat)))
		return;
	p += strlen(pat);
	for (e = p; *e && *e != '"'; e++)
		if (*e == '\\' && e[1])
			e++;
	str_copy_n(out, cap, p, (size_t)(e - p));
}

static void
status(const struct cgi *g, char *buf)
{
	const char *argv[] = {"tinymta", "status", "--json", NULL};
	int rc = cgi_run(argv, NULL, buf, CGI_OUT_MAX);

	printf("<h2>Status</h2><p id=\"running\" class=\"%s\">%s</p><pre "
	       "id=\"status\">",
	       rc == 0 ? "ok" : "error", rc == 0 ? "running" : "not running");
	cgi_html(stdout, buf);
	printf("</pre>");
	(void)g;
}

static void
queue(const struct cgi *g, char *buf)
{
	const char *argv[] = {"mailq", "--json", NULL};
	int rc = cgi_run(argv, NULL, buf, CGI_OUT_MAX), n = 0;

	printf("<h2>Queue</h2>");
	if (rc != 0) {
		printf("<pre class=\"error\">");
		cgi_html(stdout, buf);
		printf("</pre>");
		return;
	}
	printf("<table id=\"queue\">");
	for (char *line = buf, *nl; *line; line = nl) {
		char id[64], q[32], from[512];

		nl = strchr(line, '\n');
		nl = nl ? (*nl = '\0', nl + 1) : line + strlen(line);
		json_str(line, "queue_id", id, sizeof id);
		json_str(line, "queue_name", q, sizeof q);
		json_str(line, "sender", from, sizeof from);
		if (!qfile_id_valid(id))
			continue;
		n++;
		printf("<tr><td>%s</td><td>", id);
		cgi_html(stdout, q);
		printf("</td><td>");
		cgi_html(stdout, from);
		printf("<br><small>");
		cgi_html(stdout, line);
		printf("</small></td><td>");
		form_open(g, "delete");
		printf("<input type=\"hidden\" name=\"id\" value=\"%s\">"
		       "<input type=\"hidden\" name=\"queue\" value=\"",
		       id);
		cgi_html(stdout, q);
		printf("\"><button>Delete</button></form></td></tr>");
	}
	printf("</table><p>%d message%s queued.</p>", n, n == 1 ? "" : "s");
	form_open(g, "flush");
	printf("<button>Flush (retry now)</button></form>");
}

static void
text_input(const char *label, const char *name, const char *value,
           const char *type)
{
	printf("<label>%s <input type=\"%s\" name=\"%s\" value=\"", label, type,
	       name);
	cgi_html(stdout, value);
	printf("\"></label>");
}

static void
select_input(const char *label, const char *name, const char *values,
             const char *cur)
{
	printf("<label>%s <select name=\"%s\">", label, name);
	for (const char *v = values; *v;) {
		size_t n = strcspn(v, "|");
		char opt[64];

		str_copy_n(opt, sizeof opt, v, n);
		printf("<option value=\"%s\"%s>%s</option>", opt,
		       strcmp(opt, cur) == 0 ? " selected" : "",
		       *opt ? opt : "(default)");
		v += n + (v[n] == '|');
		if (v[-1] == '|' && !*v) /* a trailing "|": the empty value */
			printf("<option value=\"\"%s>(default)</option>",
			       *cur ? "" : " selected");
	}
	printf("</select></label>");
}

static void
settings(const struct cgi *g, const struct conf *c)
{
	const char *rh = conf_get(c, "relayhost");
	const struct conf_param *tp =
	    conf_param_find("smtp_tls_security_level");
	char host[300] = "", port[16] = "", tls[64], values[200];
	const char *p = rh ? rh : "", *e;

	/* relayhost: [host]:port, host:port or host */
	if (*p == '[' && (e = strchr(p, ']'))) {
		str_copy_n(host, sizeof host, p + 1, (size_t)(e - p - 1));
		if (e[1] == ':')
			str_copy(port, sizeof port, e + 2);
	} else if ((e = strrchr(p, ':'))) {
		str_copy_n(host, sizeof host, p, (size_t)(e - p));
		str_copy(port, sizeof port, e + 1);
	} else {
		str_copy(host, sizeof host, p);
	}
	str_copy(tls, sizeof tls,
	         conf_raw(c, "smtp_tls_security_level")
	             ? conf_get(c, "smtp_tls_security_level")
	             : "");
	snprintf(values, sizeof values, "%s|", tp ? tp->values : "");
	printf("<h2>Settings</h2>");
	form_open(g, NULL);
	text_input("Relay host", "relay_host", host, "text");
	text_input("Relay port", "relay_port", port, "text");
	select_input("TLS to the relay", "tls_level", values, tls);
	text_input("Relay user (empty: unchanged)", "relay_user", "", "text");
	text_input("Relay password (empty: unchanged)", "relay_pass", "",
	           "password");
	text_input("Sender address (all relayed mail)", "sender_address",
	           conf_get(c, "tinymta_sender_address"), "text");
	text_input("Admin address (alerts)", "admin_address",
	           conf_get(c, "tinymta_admin_address"), "text");
	select_input("Mail: listen on", "mail_listen", "loopback-only|all",
	             strcmp(conf_get(c, "inet_interfaces"), "all") == 0
	                 ? "all"
	                 : "loopback-only");
	select_input("Web UI: listen on (next boot)", "web_listen",
	             "loopback|all", conf_get(c, "tinymta_webui_listen"));
	printf("<p><small>Plain HTTP: with the web UI on the LAN, passwords "
	       "cross the network in the clear.</small></p>"
	       "<p><button name=\"action\" value=\"save\">Save</button> "
	       "<button name=\"action\" value=\"test\">Send test "
	       "mail</button></p></form>");
}

static void
problems(char *buf)
{
	const char *argv[] = {"tinymta", "check", "--json", NULL};
	int rc = cgi_run(argv, NULL, buf, CGI_OUT_MAX);

	printf("<h2>Check</h2><pre id=\"check\" class=\"%s\">",
	       rc == 0 ? "ok" : "error");
	cgi_html(stdout, buf);
	printf("</pre>");
}

void
cgi_page(struct cgi *g)
{
	char *buf = malloc(CGI_OUT_MAX);
	struct conf_problems *ps = conf_problems_new();
	struct conf *c = conf_new(NULL);

	printf("<!doctype html><html><head><meta charset=\"utf-8\">"
	       "<meta name=\"viewport\" content=\"width=device-width\">"
	       "<title>tinymta</title><style>%s</style></head><body>"
	       "<h1>tinymta</h1><p>Logged in as ",
	       STYLE);
	cgi_html(stdout, g->user);
	printf("</p>");
	form_open(g, "logout");
	printf("<button>Log out</button></form>");
	if (g->msg[0]) {
		printf("<p id=\"msg\" class=\"%s\">",
		       g->msg_error ? "error" : "ok");
		cgi_html(stdout, g->msg);
		printf("</p>");
	}
	if (g->out[0]) {
		printf("<pre id=\"out\">");
		cgi_html(stdout, g->out);
		printf("</pre>");
	}
	if (!buf || !ps || !c) {
		printf("<p class=\"error\">out of memory</p>");
	} else {
		(void)conf_load(c, ps); /* fresh: after a save */
		status(g, buf);
		queue(g, buf);
		settings(g, c);
		problems(buf);
	}
	printf("</body></html>\n");
	free(buf);
	conf_problems_free(ps);
	conf_free(c);
}
