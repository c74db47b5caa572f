/*
 * cmd_cgi.c - `tinymta cgi`: the reference web UI, run by BusyBox httpd as
 * a CGI (as mail_owner, never root; the image's /www/cgi-bin/tinymta only
 * execs it). Reads the request from the CGI environment (REQUEST_METHOD,
 * QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH, HTTP_COOKIE, SCRIPT_NAME)
 * and stdin, all untrusted: parsed by cgi_form.c within fixed bounds.
 * Login: an admin of tinymta_sasl_users (tinymta passwd --admin) gets a
 * session cookie (HttpOnly, SameSite=Strict, one hour); every POST but
 * the login carries the session's CSRF token. The page itself is in
 * cmd_cgi_page.c, the actions in cmd_cgi_act.c.
 */
#include "cmd_cgi.h"
#include "cmd_tinymta.h"
#include "conf.h"
#include "sasl.h"
#include "util/io.h"
#include "util/sys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
headers(const char *status, const char *extra)
{
	printf("Status: %s\r\n"
	       "Content-Type: text/html; charset=utf-8\r\n"
	       "Cache-Control: no-store\r\n"
	       "X-Frame-Options: DENY\r\n"
	       "X-Content-Type-Options: nosniff\r\n"
	       "Referrer-Policy: no-referrer\r\n"
	       "Content-Security-Policy: default-src 'none'; "
	       "style-src 'unsafe-inline'; form-action 'self'; "
	       "frame-ancestors 'none'\r\n"
	       "%s\r\n",
	       status, extra ? extra : "");
}

/* A page without a session: the login form, with a message. */
static void
login_page(const struct cgi *g, const char *status, const char *msg)
{
	headers(status, NULL);
	printf("<!doctype html><html><head><meta charset=\"utf-8\">"
	       "<meta name=\"viewport\" content=\"width=device-width\">"
	       "<title>tinymta: log in</title></head><body "
	       "style=\"font-family:sans-serif;max-width:30em;margin:auto\">"
	       "<h1>tinymta</h1>");
	if (msg) {
		printf("<p class=\"error\" style=\"color:#a00\">");
		cgi_html(stdout, msg);
		printf("</p>");
	}
	printf("<form method=\"post\" action=\"");
	cgi_html(stdout, g->script);
	printf("\"><input type=\"hidden\" name=\"action\" value=\"login\">"
	       "<p><label>User <input name=\"user\" "
	       "autocomplete=\"username\"></label></p>"
	       "<p><label>Password <input type=\"password\" name=\"pass\" "
	       "autocomplete=\"current-password\"></label></p>"
	       "<p><button>Log in</button></p></form>"
	       "<p><small>Plain HTTP: on the LAN the password crosses the "
	       "network in the clear (tinymta_webui_listen).</small></p>"
	       "</body></html>\n");
}

/* The body of a POST, parsed into g->post. 0, or -1 with why. */
static int
read_body(struct cgi *g, char *why, size_t cap)
{
	const char *ct = getenv("CONTENT_TYPE"), *cl = getenv("CONTENT_LENGTH");
	static char body[CGI_INPUT_MAX];
	char *end;
	long n;

	if (!ct || strncmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		snprintf(why, cap,
		         "expected a form "
		         "(application/x-www-form-urlencoded)");
		return -1;
	}
	n = cl ? strtol(cl, &end, 10) : -1;
	if (!cl || *cl == '\0' || *end || n < 0 || n > CGI_INPUT_MAX) {
		snprintf(why, cap, "bad or too large CONTENT_LENGTH");
		return -1;
	}
	if (io_read_full(0, body, (size_t)n) != n) {
		snprintf(why, cap, "short request body");
		return -1;
	}
	return cgi_form_parse(&g->post, body, (size_t)n, why, cap);
}

static void
login(struct cgi *g, const unsigned char *key, const struct conf *c)
{
	const char *u = cgi_form_get(&g->post, "user");
	const char *p = cgi_form_get(&g->post, "pass");
	char cookie[CGI_COOKIE_MAX], hdr[CGI_COOKIE_MAX + 160];

	if (!u || !p || !cgi_user_ok(u) ||
	    sasl_verify_admin(conf_get(c, "tinymta_sasl_users"), u, p) != 1 ||
	    cgi_session_make(key, u, time(NULL), cookie, sizeof cookie) < 0) {
		login_page(g, "403 Forbidden", "wrong user or password");
		return;
	}
	snprintf(hdr, sizeof hdr,
	         "Set-Cookie: tmsid=%s; Path=/; HttpOnly; SameSite=Strict; "
	         "Max-Age=%d\r\nLocation: %s\r\n",
	         cookie, CGI_SESSION_TTL, g->script);
	headers("303 See Other", hdr);
}

static int
run(struct cgi *g, const struct conf *c)
{
	const char *qs = getenv("QUERY_STRING"), *hc = getenv("HTTP_COOKIE");
	const char *action;
	unsigned char key[CGI_KEY_LEN];
	char why[256];

	if (cgi_form_parse(&g->query, qs ? qs : "", qs ? strlen(qs) : 0, why,
	                   sizeof why) < 0) {
		login_page(g, "400 Bad Request", why);
		return 0;
	}
	if (g->is_post && read_body(g, why, sizeof why) < 0) {
		login_page(g, "400 Bad Request", why);
		return 0;
	}
	if (cgi_key_load(conf_dir(c), key) < 0) {
		snprintf(why, sizeof why, "%s/webui.key: %s", conf_dir(c),
		         strerror(errno));
		login_page(g, "500 Internal Server Error", why);
		return 0;
	}
	action = g->is_post ? cgi_form_get(&g->post, "action") : NULL;
	if (action && strcmp(action, "login") == 0) {
		login(g, key, c);
		return 0;
	}
	if (!hc || !cgi_cookie(hc, "tmsid", g->cookie, sizeof g->cookie) ||
	    !cgi_session_check(key, g->cookie, time(NULL), g->user,
	                       sizeof g->user)) {
		login_page(g, g->is_post ? "403 Forbidden" : "200 OK",
		           g->is_post ? "log in first" : NULL);
		return 0;
	}
	cgi_csrf_token(key, g->cookie, g->csrf);
	if (g->is_post) {
		const char *t = cgi_form_get(&g->post, "csrf");

		if (!t || !cgi_token_eq(t, g->csrf)) {
			headers("403 Forbidden", NULL);
			printf("<!doctype html><p>Bad or missing form token: "
			       "reload the page and try again.</p>\n");
			return 0;
		}
		if (action && strcmp(action, "logout") == 0) {
			headers(
			    "303 See Other",
			    "Set-Cookie: tmsid=; Path=/; HttpOnly; "
			    "SameSite=Strict; Max-Age=0\r\nLocation: /\r\n");
			return 0;
		}
		cgi_action(g, action ? action : "");
	}
	headers("200 OK", NULL);
	cgi_page(g);
	return 0;
}

int
tinymta_cgi_main(int argc, char **argv)
{
	const char *m = getenv("REQUEST_METHOD"), *s = getenv("SCRIPT_NAME");
	struct cgi *g;
	struct conf *c;
	int rc;

	(void)argv;
	if (argc != 1 || !m) {
		fputs("usage: tinymta cgi (run by a web server: "
		      "REQUEST_METHOD and the other CGI variables)\n",
		      stderr);
		return 64;
	}
	sys_default_signals();
	g = calloc(1, sizeof *g);
	c = conf_new(NULL);
	if (!g || !c || !(g->out = calloc(1, CGI_OUT_MAX))) {
		fputs("tinymta cgi: out of memory\n", stderr);
		conf_free(c);
		free(g);
		return 70;
	}
	g->script = s && *s == '/' && !strpbrk(s, "\"<>' \r\n") ? s
	                                                        : "/cgi-bin/"
	                                                          "tinymta";
	g->is_post = strcmp(m, "POST") == 0;
	if (!g->is_post && strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
		headers("405 Method Not Allowed", NULL);
		rc = 0;
		goto out;
	}
	{
		struct conf_problems *ps = conf_problems_new();

		/* errors are shown by check on the page; defaults meanwhile */
		if (ps)
			(void)conf_load(c, ps);
		conf_problems_free(ps);
	}
	rc = run(g, c);
out:
	fflush(stdout);
	conf_free(c);
	free(g->out);
	free(g);
	return rc;
}
