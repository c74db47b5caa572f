/*
 * tls_service.c - what the TLS servers (smtpd, pop3d) share around
 * tls_server.c: the certificate and key from the descriptors the master
 * opened as root (TINYMTA_TLS_CERT / TINYMTA_TLS_KEY = "FD:PATH", see
 * docs/processes.md) or by path, and the session cache the master shares
 * between all sessions (TINYMTA_TLS_CACHE = "FD").
 */
#include "tls.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The descriptor the master passed for path (env = "FD:PATH"), or -1 when
 * it opened another path or none. */
static int
passed_fd(const char *env, const char *path)
{
	const char *v = getenv(env), *colon;
	char *end;
	long fd;

	if (!v || !(colon = strchr(v, ':')))
		return -1;
	fd = strtol(v, &end, 10);
	if (end != colon || fd < 3 || fd > 1023 || strcmp(colon + 1, path))
		return -1;
	return (int)fd;
}

/* Close what the master passed in env, used or not. */
static void
close_passed(const char *env)
{
	const char *v = getenv(env);
	long fd = v ? strtol(v, NULL, 10) : -1;

	if (fd >= 3 && fd <= 1023)
		close((int)fd);
	/* the number may soon name another file (a reused smtpd) */
	unsetenv(env);
}

struct tls_creds *
tls_service_creds(const char *cert, const char *key)
{
	char err[TLS_ERR_MAX];
	struct tls_creds *c = malloc(sizeof *c);

	if (!c) {
		log_warn("TLS disabled: out of memory");
		return NULL;
	}
	if (tls_creds_load(c, passed_fd("TINYMTA_TLS_CERT", cert), cert,
	                   passed_fd("TINYMTA_TLS_KEY", key), key, err,
	                   sizeof err) < 0) {
		log_warn("TLS disabled: %s", err);
		free(c);
		return NULL;
	}
	return c;
}

void
tls_service_close_passed(void)
{
	close_passed("TINYMTA_TLS_CERT");
	close_passed("TINYMTA_TLS_KEY");
}

void
tls_service_free_creds(struct tls_creds *c)
{
	if (!c)
		return;
	tls_creds_wipe(c);
	free(c);
}

/* The shared session cache the master passed, attached at the first
 * handshake; without it, full handshakes only. */
static struct tls_cache the_cache;

static struct tls_cache *
cache(void)
{
	const char *v = getenv("TINYMTA_TLS_CACHE");
	char *end;
	long fd = v ? strtol(v, &end, 10) : -1;

	if (the_cache.shm)
		return &the_cache;
	if (fd < 3 || fd > 1023 || *end ||
	    tls_cache_attach(&the_cache, (int)fd) < 0)
		return NULL;
	return &the_cache;
}

struct tls_conn *
tls_service_accept(const struct tls_creds *c, int fd, int timeout_ms,
                   int (*stopping)(void), char *what, size_t cap)
{
	struct tls_conn *t = malloc(sizeof *t);

	if (!t) {
		str_copy(what, cap, "out of memory");
		return NULL;
	}
	if (tls_server_init(t, c, fd, timeout_ms, stopping) == 0) {
		tls_server_use_cache(t, cache());
		if (tls_handshake(t) == 0) {
			tls_describe(t, what, cap);
			return t;
		}
	}
	tls_error_text(t, what, cap);
	explicit_bzero(t, sizeof *t);
	free(t);
	return NULL;
}

void
tls_service_free(struct tls_conn *t)
{
	if (!t)
		return;
	tls_close(t);
	explicit_bzero(t, sizeof *t);
	free(t);
}

int
tls_service_reused(void)
{
	return the_cache.hits != 0;
}

void
tls_service_end(void)
{
	tls_cache_detach(&the_cache);
}
