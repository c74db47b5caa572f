/*
 * log.c - Postfix-style diagnostics to stderr, syslog or a file (see log.h).
 * The state is one struct that log_reset() restores.
 */
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static struct {
	char name[32];
	char syslog_name[64];
	char ident[100];
	int sinks;
	int verbose;
	int fd;
	int syslog_open;
} L = {"tinymta", "tinymta", "", LOG_TO_STDERR, 0, -1, 0};

void
log_reset(void)
{
	if (L.fd >= 0)
		close(L.fd);
	if (L.syslog_open)
		closelog();
	str_copy(L.name, sizeof L.name, "tinymta");
	str_copy(L.syslog_name, sizeof L.syslog_name, "tinymta");
	L.sinks = LOG_TO_STDERR;
	L.verbose = 0;
	L.fd = -1;
	L.syslog_open = 0;
}

static void
make_ident(void)
{
	if (snprintf(L.ident, sizeof L.ident, "%s/%s", L.syslog_name, L.name) >=
	    (int)sizeof L.ident)
		L.ident[sizeof L.ident - 1] = '\0';
	if (L.syslog_open) {
		closelog();
		L.syslog_open = 0;
	}
}

void
log_init(const char *name, int sinks)
{
	str_copy(L.name, sizeof L.name, name);
	L.sinks = sinks;
	make_ident();
}

void
log_set_name(const char *name)
{
	str_copy(L.name, sizeof L.name, name);
	make_ident();
}

void
log_set_syslog_name(const char *syslog_name)
{
	str_copy(L.syslog_name, sizeof L.syslog_name, syslog_name);
	make_ident();
}

void
log_set_fd(int fd)
{
	if (L.fd > 2 && L.fd != fd)
		close(L.fd);
	L.fd = fd;
}

int
log_set_file(const char *path)
{
	int fd;

	do
		fd =
		    open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -1;
	if (L.fd > 2)
		close(L.fd);
	L.fd = fd;
	return 0;
}

void
log_set_verbose(int verbose)
{
	L.verbose = verbose;
}

int
log_verbose(void)
{
	return L.verbose;
}

static void
write_fd(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere left to report a logging failure */
		s += w;
		n -= (size_t)w;
	}
}

static void
emit(int prio, const char *level, const char *fmt, va_list ap)
{
	char text[LOG_LINE_MAX], line[LOG_LINE_MAX + 200];
	int saved = errno, n;

	n = vsnprintf(text, sizeof text, fmt, ap);
	if (n < 0)
		str_copy(text, sizeof text, "(unformattable message)");
	if (L.sinks & LOG_TO_STDERR) {
		n = snprintf(line, sizeof line, "%s: %s%s\n", L.name, level,
		             text);
		if (n > 0)
			write_fd(2, line, strnlen(line, sizeof line));
	}
	if (L.sinks & LOG_TO_SYSLOG) {
		if (!L.syslog_open) {
			openlog(L.ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
			L.syslog_open = 1;
		}
		syslog(prio, "%s%s", level, text);
	}
	if ((L.sinks & LOG_TO_FILE) && L.fd >= 0) {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;

		if (!localtime_r(&now, &tm) ||
		    !strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm))
			str_copy(stamp, sizeof stamp, "-");
		n = snprintf(line, sizeof line, "%s %s[%ld]: %s%s\n", stamp,
		             L.ident, (long)getpid(), level, text);
		if (n > 0)
			write_fd(L.fd, line, strnlen(line, sizeof line));
	}
	errno = saved;
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!L.verbose)
		return;
	va_start(ap, fmt);
	emit(LOG_DEBUG, "", fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_ERR, "error: ", fmt, ap);
	va_end(ap);
}

void
log_fatal(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_CRIT, "fatal: ", fmt, ap);
	va_end(ap);
	exit(code);
}
