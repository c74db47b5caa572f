/*
 * cgi_session.c - session cookies and CSRF tokens for `tinymta cgi` (see
 * cgi_session.h). The cookie comes from the browser: it is parsed with
 * fixed bounds and its MAC compared in constant time.
 */
#include "cgi_session.h"
#include "util/io.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

int
cgi_key_load(const char *dir, unsigned char key[CGI_KEY_LEN])
{
	char path[4200];
	int fd, n = snprintf(path, sizeof path, "%s/webui.key", dir);

	if (n < 0 || (size_t)n >= sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (int tries = 0; tries < 3; tries++) {
		fd = io_open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
		if (fd >= 0) {
			ssize_t r = io_read_full(fd, key, CGI_KEY_LEN);

			io_close(fd);
			if (r == CGI_KEY_LEN)
				return 0;
			errno = EINVAL; /* short: being written, or damaged */
			usleep(100000);
			continue;
		}
		if (errno != ENOENT)
			return -1;
		if (getrandom(key, CGI_KEY_LEN, 0) != CGI_KEY_LEN)
			return -1;
		fd = io_open(
		    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (fd < 0 && errno == EEXIST)
			continue; /* another request made it: read that one */
		if (fd < 0)
			return -1;
		if (io_write_all(fd, key, CGI_KEY_LEN) < 0 ||
		    io_fsync(fd) < 0) {
			int e = errno;

			io_close(fd);
			unlink(path);
			errno = e;
			return -1;
		}
		return io_close(fd);
	}
	return -1;
}

int
cgi_user_ok(const char *u)
{
	size_t n = strlen(u);

	if (n == 0 || n > CGI_USER_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((u[i] >= 'a' && u[i] <= 'z') ||
		      (u[i] >= 'A' && u[i] <= 'Z') ||
		      (u[i] >= '0' && u[i] <= '9') || strchr("._@+-", u[i])))
			return 0;
	return 1;
}

static void
mac_hex(const unsigned char *key, const char *a, const char *b,
        char out[CGI_TOKEN_LEN + 1])
{
	br_hmac_key_context kc;
	br_hmac_context hc;
	unsigned char mac[32];

	br_hmac_key_init(&kc, &br_sha256_vtable, key, CGI_KEY_LEN);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, a, strlen(a) + 1); /* the NUL separates */
	br_hmac_update(&hc, b, strlen(b));
	br_hmac_out(&hc, mac);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

int
cgi_session_make(const unsigned char *key, const char *user, time_t now,
                 char *out, size_t cap)
{
	char body[CGI_USER_MAX + 48], mac[CGI_TOKEN_LEN + 1];
	unsigned char nonce[8];
	int n;

	/* the nonce: two logins in one second get different sessions (and
	 * CSRF tokens) */
	if (!cgi_user_ok(user) ||
	    getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
		return -1;
	n = snprintf(body, sizeof body, "%s.%lld.", user,
	             (long long)now + CGI_SESSION_TTL);
	for (size_t i = 0; i < sizeof nonce; i++)
		n += snprintf(body + n, sizeof body - (size_t)n, "%02x",
		              nonce[i]);
	mac_hex(key, "session", body, mac);
	n = snprintf(out, cap, "%s.%s", body, mac);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int
cgi_session_check(const unsigned char *key, const char *cookie, time_t now,
                  char *user, size_t cap)
{
	char body[CGI_USER_MAX + 48], mac[CGI_TOKEN_LEN + 1], *e;
	const char *m = strrchr(cookie, '.');
	size_t bl;
	char *end;
	long long exp;

	if (!m || strlen(m + 1) != CGI_TOKEN_LEN)
		return 0;
	bl = (size_t)(m - cookie);
	if (bl >= sizeof body)
		return 0;
	memcpy(body, cookie, bl);
	body[bl] = '\0';
	mac_hex(key, "session", body, mac);
	if (!cgi_token_eq(mac, m + 1))
		return 0;
	/* the MAC is ours: the body is as we wrote it, USER.EXPIRY.NONCE */
	if (!(e = strrchr(body, '.')))
		return 0;
	*e = '\0';
	if (!(e = strrchr(body, '.')))
		return 0;
	exp = strtoll(e + 1, &end, 10);
	if (*end || exp <= (long long)now || (size_t)(e - body) >= cap)
		return 0;
	memcpy(user, body, (size_t)(e - body));
	user[e - body] = '\0';
	return 1;
}

void
cgi_csrf_token(const unsigned char *key, const char *cookie,
               char out[CGI_TOKEN_LEN + 1])
{
	mac_hex(key, "csrf", cookie, out);
}

int
cgi_token_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}
