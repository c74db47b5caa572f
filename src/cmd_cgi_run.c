/*
 * cmd_cgi_run.c - `tinymta cgi` runs the other commands (postconf -e,
 * check --json, status --json, mailq --json, postsuper -d, relay-password,
 * test-relay) as child processes of its own binary: argv only, no shell,
 * output bounded.
 */
#define _GNU_SOURCE /* pipe2 */
#include "cmd_cgi.h"
#include "util/io.h"
#include "util/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void
child(const char *exe, const char *const *argv, int in, int out)
{
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(71);
	execv(exe, (char *const *)argv);
	dprintf(2, "%s: %s\n", exe, strerror(errno));
	_exit(71);
}

int
cgi_run(const char *const *argv, const char *input, char *out, size_t cap)
{
	char exe[4096];
	int inp[2] = {-1, -1}, outp[2] = {-1, -1}, st;
	size_t got = 0;
	pid_t pid;

	out[0] = '\0';
	if (sys_self_exe(exe, sizeof exe) < 0 || pipe2(inp, O_CLOEXEC) < 0 ||
	    pipe2(outp, O_CLOEXEC) < 0) {
		snprintf(out, cap, "cannot run %s: %s\n", argv[0],
		         strerror(errno));
		goto fail;
	}
	if ((pid = fork()) < 0) {
		snprintf(out, cap, "fork: %s\n", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child(exe, argv, inp[0], outp[1]);
	io_close(inp[0]);
	io_close(outp[1]);
	/* input is small (a password): it fits the pipe buffer */
	if (input)
		(void)io_write_all(inp[1], input, strlen(input));
	io_close(inp[1]);
	for (;;) {
		char buf[4096];
		ssize_t r = io_read(outp[0], buf, sizeof buf);
		size_t take;

		if (r <= 0)
			break;
		take = (size_t)r < cap - 1 - got ? (size_t)r : cap - 1 - got;
		memcpy(out + got, buf, take);
		got += take;
	}
	out[got] = '\0';
	io_close(outp[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
fail:
	for (int i = 0; i < 2; i++) {
		if (inp[i] >= 0)
			io_close(inp[i]);
		if (outp[i] >= 0)
			io_close(outp[i]);
	}
	return -1;
}
