/*
 * local_pipe.c - |command delivery (see local.h). Runs in the local agent
 * as the user the resolver chose (the alias file's owner, default_privs
 * for root's aliases, or the user whose ~/.forward names the command;
 * never root: the master refuses). Untrusted: the message content (only
 * copied to the command) and the command's output (kept bounded, made
 * one printable line before it reaches a log or a bounce).
 */
#define _GNU_SOURCE /* pipe2 */
#include "local.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PIPE_POLL_MS 100 /* how often a running command is checked on */

/* A running command and our ends of its pipes. */
struct run {
	pid_t pid;
	int in, out;   /* its standard input; its standard output and error */
	int reaped;    /* waitpid collected it */
	int wstatus;   /* valid once reaped */
	int timed_out; /* killed at the time limit */
	size_t outlen;
	char output[LOCAL_PIPE_OUTPUT_MAX + 1];
	/* what is still to be written: prefix, then the content */
	char chunk[MBOX_BUF_SIZE];
	size_t clen, coff;
	int content_done;
};

static long long
mono_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0; /* cannot fail for CLOCK_MONOTONIC */
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct env {
	char *v[LOCAL_PIPE_ENV_MAX + 1];
	size_t n;
	char buf[6144];
	size_t used;
};

static void
env_add(struct env *e, const char *name, const char *value, int filter)
{
	char val[1100];
	int n;

	if (e->n >= LOCAL_PIPE_ENV_MAX)
		return;
	if (filter)
		local_env_filter(val, sizeof val, value);
	else
		str_copy(val, sizeof val, value);
	n = snprintf(e->buf + e->used, sizeof e->buf - e->used, "%s=%s", name,
	             val);
	if (n < 0 || (size_t)n >= sizeof e->buf - e->used)
		return; /* left out rather than cut */
	e->v[e->n++] = e->buf + e->used;
	e->used += (size_t)n + 1;
}

/* Postfix's environment for external commands (local(8)). */
static void
env_build(struct env *e, struct local *l, const struct local_item *it,
          const struct passwd *pw)
{
	const char *delim = conf_get(l->role.conf, "recipient_delimiter");
	const char *at = strrchr(it->addr, '@'), *tz = getenv("TZ");
	char local[QFILE_ADDR_MAX + 1], user[QFILE_ADDR_MAX + 1];
	size_t cut;

	memset(e, 0, sizeof *e);
	str_copy_n(local, sizeof local, it->addr,
	           at ? (size_t)(at - it->addr) : strlen(it->addr));
	str_copy(user, sizeof user, local);
	cut = delim && delim[0] ? strcspn(user, delim) : strlen(user);
	user[cut] = '\0';
	env_add(e, "HOME", pw ? pw->pw_dir : "/", 0);
	env_add(e, "SHELL", pw && pw->pw_shell ? pw->pw_shell : "/bin/sh", 0);
	env_add(e, "USER", user, 1);
	env_add(e, "LOGNAME", user, 1);
	env_add(e, "LOCAL", local, 1);
	env_add(e, "DOMAIN", at ? at + 1 : "", 1);
	env_add(e, "EXTENSION", local[cut] ? local + cut + 1 : "", 1);
	env_add(e, "RECIPIENT", it->addr, 1);
	if (qfile_rcpt(&l->q[it->slot], it->idx, &l->rc) == 0)
		env_add(e, "ORIGINAL_RECIPIENT", l->rc.addr, 1);
	env_add(e, "SENDER", local_sender(l, it), 1);
	env_add(e, "PATH", "/usr/bin:/bin", 0);
	if (tz)
		env_add(e, "TZ", tz, 0);
}

static _Noreturn void
child(int in, int out, const char *cmd, const char *home, char **envp)
{
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};

	if (setsid() < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(out, 2) < 0)
		_exit(71);
	for (int fd = 3; fd < 1024; fd++)
		(void)close(
		    fd); /* queue files of other messages: EBADF is fine */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (!home || chdir(home) < 0)
		if (chdir("/") < 0)
			_exit(71);
	execve("/bin/sh", argv, envp);
	_exit(71); /* EX_OSERR: deferred */
}

static int
start(struct run *r, const char *cmd, const char *home, char **envp)
{
	int in[2], out[2];

	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(out, O_CLOEXEC) < 0) {
		io_close(in[0]);
		io_close(in[1]);
		return -1;
	}
	r->pid = fork();
	if (r->pid == 0)
		child(in[0], out[1], cmd, home, envp);
	io_close(in[0]);
	io_close(out[1]);
	if (r->pid < 0) {
		io_close(in[1]);
		io_close(out[0]);
		return -1;
	}
	r->in = in[1];
	r->out = out[0];
	if (fcntl(r->in, F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(r->out, F_SETFL, O_NONBLOCK) < 0)
		log_warn("fcntl O_NONBLOCK: %s", strerror(errno));
	return 0;
}

/* From_ line, Return-Path:, Delivered-To: into r->chunk. */
static int
prefix(struct run *r, const char *sender, const char *rcpt)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	if (!localtime_r(&now, &tm) ||
	    strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm) == 0)
		str_copy(date, sizeof date, "Thu Jan  1 00:00:00 1970");
	n = snprintf(r->chunk, sizeof r->chunk,
	             "From %s  %s\nReturn-Path: <%s>\nDelivered-To: %s\n",
	             sender[0] ? sender : "MAILER-DAEMON", date, sender, rcpt);
	if (n < 0 || (size_t)n >= sizeof r->chunk)
		return -1;
	r->clen = (size_t)n;
	r->coff = 0;
	return 0;
}

static void
close_in(struct run *r)
{
	if (r->in >= 0)
		io_close(r->in);
	r->in = -1;
}

/* Standard input is writable: the next piece of the message. */
static void
feed(struct run *r, struct qfile_reader *q)
{
	ssize_t n;

	if (r->coff == r->clen) {
		n = r->content_done
		        ? 0
		        : qfile_content_read(q, r->chunk, sizeof r->chunk);
		if (n <= 0) {
			if (n < 0)
				log_warn("reading the queue file: %s",
				         strerror(errno));
			r->content_done = 1;
			close_in(r); /* end of message: EOF for the command */
			return;
		}
		r->clen = (size_t)n;
		r->coff = 0;
	}
	n = write(r->in, r->chunk + r->coff, r->clen - r->coff);
	if (n > 0)
		r->coff += (size_t)n;
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		close_in(r); /* EPIPE: the command does not want the rest */
}

/* Output is readable: keep the first LOCAL_PIPE_OUTPUT_MAX bytes. */
static void
drain(struct run *r)
{
	char buf[1024];
	ssize_t n;

	while ((n = read(r->out, buf, sizeof buf)) > 0) {
		size_t room = LOCAL_PIPE_OUTPUT_MAX - r->outlen;
		size_t take = (size_t)n < room ? (size_t)n : room;

		memcpy(r->output + r->outlen, buf, take);
		r->outlen += take;
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		io_close(r->out);
		r->out = -1;
	}
}

static void
reap(struct run *r, int options)
{
	pid_t p;

	if (r->reaped)
		return;
	do
		p = waitpid(r->pid, &r->wstatus, options);
	while (p < 0 && errno == EINTR);
	if (p == r->pid || (p < 0 && errno == ECHILD))
		r->reaped = 1;
}

/* Pump input and output until the command exited and its output ended
 * (or it exited and left the output to a background child), or the time
 * limit. */
static void
pump(struct run *r, struct qfile_reader *q, long long limit_ms)
{
	long long deadline = mono_ms() + limit_ms;

	while (!r->reaped || r->out >= 0) {
		struct pollfd p[2] = {{r->in, POLLOUT, 0}, {r->out, POLLIN, 0}};
		long long left = deadline - mono_ms();

		if (left <= 0) {
			r->timed_out = 1;
			break;
		}
		if (poll(p, 2, left < PIPE_POLL_MS ? (int)left : PIPE_POLL_MS) <
		        0 &&
		    errno != EINTR)
			log_warn("poll: %s", strerror(errno));
		if (r->in >= 0 &&
		    (p[0].revents & (POLLOUT | POLLERR | POLLHUP)))
			feed(r, q);
		if (r->out >= 0 &&
		    (p[1].revents & (POLLIN | POLLERR | POLLHUP)))
			drain(r);
		reap(r, WNOHANG);
		if (r->reaped && r->out >= 0) {
			drain(r); /* what it wrote; a background child's more
			             output is not waited for */
			break;
		}
	}
	close_in(r);
	if (r->out >= 0)
		io_close(r->out);
	r->out = -1;
	if (!r->reaped) {
		if (kill(-r->pid, SIGKILL) < 0 && kill(r->pid, SIGKILL) < 0)
			log_warn("kill %ld: %s", (long)r->pid, strerror(errno));
		reap(r, 0);
	}
}

/* command_time_limit in ms: the parameter when the table has it (or
 * main.cf sets it, while the table lacks it), else Postfix's default. */
static long long
time_limit_ms(const struct conf *c)
{
	const char *raw;
	char *end;
	long long v;

	if (conf_param_find("command_time_limit"))
		return conf_time(c, "command_time_limit") * 1000;
	raw = conf_raw(c, "command_time_limit");
	if (!raw)
		return LOCAL_PIPE_TIME_LIMIT * 1000LL;
	errno = 0;
	v = strtoll(raw, &end, 10);
	if (errno || v <= 0 || end == raw || (*end && strcmp(end, "s") != 0))
		return LOCAL_PIPE_TIME_LIMIT * 1000LL;
	return v > 100000 ? 100000000LL : v * 1000;
}

void
local_pipe_deliver(struct local *l, const struct local_item *it,
                   struct mbox_result *res)
{
	struct qfile_reader *q = &l->q[it->slot];
	struct passwd *pw = getpwuid(getuid());
	struct run *r = calloc(1, sizeof *r);
	struct env *e = calloc(1, sizeof *e);

	if (!r || !e || prefix(r, local_sender(l, it), it->addr) < 0) {
		mbox_result_set(res, MBOX_TEMP, "4.3.0", r && e ? 0 : ENOMEM,
		                "cannot prepare the command's input");
		goto out;
	}
	env_build(e, l, it, pw);
	qfile_content_rewind(q);
	if (start(r, it->target, pw ? pw->pw_dir : NULL, e->v) < 0) {
		mbox_result_set(res, MBOX_TEMP, "4.3.0", errno,
		                "cannot start the command");
		goto out;
	}
	pump(r, q, time_limit_ms(l->role.conf));
	r->output[r->outlen] = '\0';
	local_pipe_status(r->wstatus, r->timed_out, it->target, r->output,
	                  r->outlen, res);
out:
	free(r);
	free(e);
}

/* Postfix's sys_exits table (global/sys_exits.c): 64 EX_USAGE … 78. */
static const struct {
	const char *dsn, *text;
} sysexits[] = {
    {"5.3.0", "command line usage error"},
    {"5.6.0", "data format error"},
    {"5.3.0", "cannot open input"},
    {"5.1.1", "user unknown"},
    {"5.1.2", "host name unknown"},
    {"5.3.0", "service unavailable"},
    {"5.3.0", "internal software error"},
    {"4.3.0", "system resource problem"},
    {"5.3.0", "critical OS file missing"},
    {"5.2.0", "can't create user output file"},
    {"5.3.0", "input/output error"},
    {"4.3.0", "temporary failure"},
    {"5.5.0", "remote error in protocol"},
    {"5.7.0", "permission denied"},
    {"5.3.5", "local configuration error"},
};

#define SYSEXITS_BASE 64

void
local_env_filter(char *out, size_t cap, const char *s)
{
	static const char ok[] = "1234567890!@%-_=+:,./"
	                         "abcdefghijklmnopqrstuvwxyz"
	                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	size_t i = 0;

	if (cap == 0)
		return;
	for (; s[i] && i + 1 < cap; i++)
		out[i] = strchr(ok, s[i]) ? s[i] : '_';
	out[i] = '\0';
}

/* One printable line: controls and runs of white space become a space. */
static void
one_line(char *out, size_t cap, const char *in, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c < 0x20 || c == 0x7f || c >= 0x80)
			c = c >= 0x80 ? '?' : ' ';
		if (c == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;
		out[o++] = (char)c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

void
local_pipe_status(int wstatus, int timed_out, const char *cmd,
                  const char *output, size_t outlen, struct mbox_result *res)
{
	char c[64], o[MBOX_REASON_MAX], what[96];
	const char *dsn = "5.3.0";
	enum mbox_status st = MBOX_PERM;
	int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;

	one_line(c, sizeof c, cmd, strlen(cmd));
	one_line(o, sizeof o, output, outlen);
	if (!timed_out && code == 0) {
		mbox_result_set(res, MBOX_OK, "2.0.0", 0,
		                "delivered to command: %s", c);
		return;
	}
	if (timed_out) {
		st = MBOX_TEMP;
		dsn = "4.3.0";
		snprintf(what, sizeof what, "Command time limit exceeded");
	} else if (WIFSIGNALED(wstatus)) {
		st = MBOX_TEMP;
		dsn = "4.3.0";
		snprintf(what, sizeof what, "Command died with signal %d",
		         WTERMSIG(wstatus));
	} else if (code >= SYSEXITS_BASE &&
	           code < SYSEXITS_BASE +
	                      (int)(sizeof sysexits / sizeof sysexits[0])) {
		dsn = sysexits[code - SYSEXITS_BASE].dsn;
		st = dsn[0] == '4' ? MBOX_TEMP : MBOX_PERM;
		snprintf(what, sizeof what, "%s (exit %d)",
		         sysexits[code - SYSEXITS_BASE].text, code);
	} else {
		snprintf(what, sizeof what, "Command died with status %d",
		         code);
	}
	mbox_result_set(res, st, dsn, 0, "%s: \"%s\"%s%s", what, c,
	                o[0] ? ". Command output: " : "", o);
}
