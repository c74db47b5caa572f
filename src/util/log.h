/*
 * log.h - Postfix-style diagnostics. Command-line applets print
 * "NAME: warning: text" on stderr; daemons log "SYSLOG_NAME/NAME[PID]: text"
 * to syslog (facility mail) or to a file (maillog_file, e.g. /dev/stdout).
 * Callers escape untrusted text with str_escape() before logging it.
 */
#ifndef TINYMTA_UTIL_LOG_H
#define TINYMTA_UTIL_LOG_H

#define LOG_TO_STDERR 1 /* interactive: messages to standard error */
#define LOG_TO_SYSLOG 2 /* syslog, facility mail */
#define LOG_TO_FILE 4   /* the file set with log_set_file() */

/* Select the process name (e.g. "sendmail", "smtpd") and the sinks. */
void log_init(const char *name, int sinks);
/* Change only the process name (qmgr logs as "bounce" for DSNs). */
void log_set_name(const char *name);
/* syslog_name (default "tinymta"): the part before the slash. */
void log_set_syslog_name(const char *syslog_name);
/* Log to an already open descriptor (LOG_TO_FILE sink). */
void log_set_fd(int fd);
/* maillog_file; returns -1 with errno when it cannot be opened. */
int log_set_file(const char *path);
void log_set_verbose(int verbose);
int log_verbose(void);
/* Restore the defaults (tests). */
void log_reset(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log "fatal: ..." and exit with the given sysexits code. */
_Noreturn void log_fatal(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
