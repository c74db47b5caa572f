/*
 * cgi_session.h - the web UI's login session and CSRF tokens: a cookie
 * "USER.EXPIRY.NONCE.MAC" (MAC = HMAC-SHA256 under a random key kept in
 * CONFIG_DIR/webui.key, mode 0600) and a per-session form token derived
 * from it. Stateless: nothing per session is stored.
 */
#ifndef TINYMTA_CGI_SESSION_H
#define TINYMTA_CGI_SESSION_H

#include <stddef.h>
#include <time.h>

#define CGI_KEY_LEN 32
#define CGI_SESSION_TTL 3600 /* seconds a login lasts */
#define CGI_USER_MAX 64
#define CGI_COOKIE_MAX (CGI_USER_MAX + 48 + 65)
#define CGI_TOKEN_LEN 64 /* hex characters of a CSRF token */

/* Read DIR/webui.key, creating it (random, 0600) when missing. 0, or -1
 * with errno. */
int cgi_key_load(const char *dir, unsigned char key[CGI_KEY_LEN]);

/* 1 when user is a plausible login name ([A-Za-z0-9._@+-], 1..64). */
int cgi_user_ok(const char *user);

/* The cookie value for user, valid until now + CGI_SESSION_TTL. 0, or -1
 * when user is not acceptable or cap too small. */
int cgi_session_make(const unsigned char *key, const char *user, time_t now,
                     char *out, size_t cap);

/* 1 when cookie is a valid, unexpired session (user copied to
 * user[cap]), else 0. */
int cgi_session_check(const unsigned char *key, const char *cookie, time_t now,
                      char *user, size_t cap);

/* The CSRF token of a session cookie: CGI_TOKEN_LEN hex + NUL. */
void cgi_csrf_token(const unsigned char *key, const char *cookie,
                    char out[CGI_TOKEN_LEN + 1]);

/* Constant-time comparison of two NUL-terminated strings. */
int cgi_token_eq(const char *a, const char *b);

#endif
