/*
 * cmd_daemon.c - `tinymta start | start-fg [-v] | stop | reload | status
 * [--json] | flush`: the init-script face of the master. Runs as the
 * invoking user (root on a device; mail_owner for the web UI's reload,
 * flush and status). Exit codes are DESIGN.md's (LSB for status).
 */
#define _GNU_SOURCE /* pipe2, O_TMPFILE */
#include "cmd_tinymta.h"
#include "conf.h"
#include "ctl_client.h"
#include "master.h"
#include "util/io.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX 8192

/* Load main.cf; the queue directory goes to qdir[cap]. strict (start):
 * any error is printed and fails. Otherwise (stop, status, reload: the
 * running master has its own, good, configuration) the queue directory is
 * taken even from a main.cf with errors elsewhere. */
static int
config(char *qdir, size_t cap, int strict)
{
	struct conf_problems *ps = conf_problems_new();
	struct conf *c = conf_new(conf_config_dir());
	int r = -1, ok = ps && c && conf_load(c, ps) == 0;

	if (c && (ok || !strict)) {
		str_copy(qdir, cap, conf_get(c, "queue_directory"));
		r = 0;
	} else if (ps) {
		for (size_t i = 0; i < ps->n; i++)
			if (ps->v[i].severity == CONF_SEV_ERROR)
				fprintf(stderr,
				        "tinymta: error: %s, line %u: %s\n",
				        ps->v[i].file, ps->v[i].line,
				        ps->v[i].message);
		fprintf(stderr, "tinymta: fatal: configuration errors; "
		                "see `tinymta check`\n");
	}
	if (c)
		conf_free(c);
	conf_problems_free(ps);
	return r;
}

static int
verbose_flag(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") != 0) {
			fprintf(stderr, "tinymta: usage: %s [-v]\n", argv[0]);
			return -1;
		}
	}
	return argc > 1;
}

static int
already_running(const char *qdir)
{
	long pid = 0;

	if (ctl_master_running(qdir, &pid) != 1)
		return 0;
	printf("tinymta: the mail system is already running (pid %ld)\n", pid);
	return 1;
}

int
tinymta_start_fg_main(int argc, char **argv)
{
	char qdir[512];
	int v = verbose_flag(argc, argv);

	if (v < 0)
		return 64;
	if (config(qdir, sizeof qdir, 1) < 0)
		return 78;
	if (already_running(qdir))
		return 0;
	return master_run(1, v, -1);
}

/* In the background child: detach and run the master. */
static _Noreturn void
daemon_child(int ready_w, int verbose)
{
	int null = io_open("/dev/null", O_RDWR, 0);

	if (setsid() < 0 || null < 0 || dup2(null, 0) < 0 ||
	    dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(71);
	if (null > 2)
		io_close(null);
	_exit(master_run(0, verbose, ready_w));
}

static int
wait_started(int ready_r, pid_t child)
{
	char buf[16] = "";
	struct pollfd p = {ready_r, POLLIN, 0};
	int status, ready = poll(&p, 1, 15000) > 0;

	if (ready && io_read(ready_r, buf, sizeof buf - 1) > 0) {
		if (strncmp(buf, "ok", 2) == 0) {
			printf("tinymta: starting the mail system\n");
			return 0;
		}
		if (strncmp(buf, "running", 7) == 0) {
			printf("tinymta: the mail system is already running\n");
			return 0;
		}
	}
	/* "failed" or EOF: the master is exiting; wait for its status */
	if (waitpid(child, &status, ready ? 0 : WNOHANG) == child &&
	    WIFEXITED(status)) {
		fprintf(stderr,
		        "tinymta: fatal: the mail system did not start "
		        "(exit %d); see the mail log\n",
		        WEXITSTATUS(status));
		return WEXITSTATUS(status) ? WEXITSTATUS(status) : 70;
	}
	fprintf(stderr, "tinymta: fatal: the mail system did not start in "
	                "time; see the mail log\n");
	return 70;
}

int
tinymta_start_main(int argc, char **argv)
{
	char qdir[512];
	int v = verbose_flag(argc, argv), pfd[2];
	pid_t pid;

	if (v < 0)
		return 64;
	if (config(qdir, sizeof qdir, 1) < 0)
		return 78;
	if (already_running(qdir))
		return 0;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		perror("tinymta: pipe");
		return 71;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("tinymta: fork");
		return 71;
	}
	if (pid == 0) {
		io_close(pfd[0]);
		daemon_child(pfd[1], v);
	}
	io_close(pfd[1]);
	return wait_started(pfd[0], pid);
}

/* Send a request; prints and maps "not running" and "ERR" replies. */
static int
request(const char *req, char *reply, size_t cap, int not_running_exit)
{
	char qdir[512];

	if (config(qdir, sizeof qdir, 0) < 0)
		return 78;
	if (ctl_request(qdir, req, reply, cap) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED) {
			if (not_running_exit >= 0)
				printf("tinymta: the mail system is not "
				       "running\n");
			return not_running_exit >= 0 ? not_running_exit : 3;
		}
		fprintf(stderr, "tinymta: fatal: %s/public/control: %s\n", qdir,
		        strerror(errno));
		return errno == EACCES ? 77 : 75;
	}
	if (strncmp(reply, "ERR ", 4) == 0) {
		char *text = reply + 4;
		int code = (int)strtol(reply + 4, &text, 10);

		fprintf(stderr, "tinymta: fatal: %s",
		        *text == ' ' ? text + 1 : text);
		return code > 0 ? code : 70;
	}
	return 0;
}

int
tinymta_stop_main(int argc, char **argv)
{
	char reply[REPLY_MAX], qdir[512];
	int r;

	(void)argv;
	if (argc > 1)
		return 64;
	r = request("stop", reply, sizeof reply, 0);
	if (r != 0 || strncmp(reply, "OK", 2) != 0)
		return r;
	if (config(qdir, sizeof qdir, 0) < 0)
		return 78;
	for (int i = 0; i < 600 && ctl_master_running(qdir, NULL) == 1; i++)
		poll(NULL, 0, 50);
	if (ctl_master_running(qdir, NULL) == 1) {
		fprintf(stderr,
		        "tinymta: warning: still stopping after 30 s\n");
		return 75;
	}
	printf("tinymta: stopping the mail system\n");
	return 0;
}

int
tinymta_reload_main(int argc, char **argv)
{
	char reply[REPLY_MAX];
	int r;

	(void)argv;
	if (argc > 1)
		return 64;
	r = request("reload", reply, sizeof reply, 1);
	if (r == 0)
		printf("tinymta: refreshing the mail system\n");
	return r;
}

int
tinymta_flush_main(int argc, char **argv)
{
	char reply[REPLY_MAX];

	(void)argv;
	if (argc > 1)
		return 64;
	return request("flush", reply, sizeof reply, 75);
}

/* The number after "key": in the master's status JSON, or -1. */
static long long
json_num(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof pat, "\"%s\": ", key);
	p = strstr(json, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* The JSON string at p (after its opening quote) into out[cap], escapes
 * kept as written; returns the position after the closing quote. */
static const char *
json_str(const char *p, char *out, size_t cap)
{
	size_t n = 0;

	for (; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		if (n + 1 < cap)
			out[n++] = *p;
	}
	out[n] = '\0';
	return *p ? p + 1 : p;
}

/* One line per dead destination of the status JSON (qmgr's layout:
 * docs/processes.md "Scheduling"). */
static void
print_dead(const char *json)
{
	const char *p = strstr(json, "\"destinations\": [");
	time_t now = time(NULL);

	while (p && (p = strstr(p, "{\"name\": \"")) != NULL) {
		char name[320], err[240] = "";
		const char *end, *e, *d;

		p = json_str(p + 10, name, sizeof name);
		end = strchr(p, '}');
		if (!end)
			break;
		e = strstr(p, "\"last_error\": \"");
		if (e && e < end)
			json_str(e + 15, err, sizeof err);
		d = strstr(p, "\"dead_until\": ");
		if (d && d < end && d[14] >= '0' && d[14] <= '9') {
			long long until = strtoll(d + 14, NULL, 10);

			printf("tinymta: destination %s: dead for %lld s more: "
			       "%s\n",
			       name, until > now ? until - (long long)now : 0,
			       err);
		}
		p = end;
	}
}

/* Postfix's "the mail system is running: PID: N", then one line with the
 * queue counts, and the dead destinations (the JSON has the rest). */
static void
print_status(const char *json)
{
	static const char *const q[] = {"maildrop", "incoming", "active",
	                                "deferred", "hold",     "corrupt"};

	printf("tinymta: the mail system is running: PID: %lld\n",
	       json_num(json, "pid"));
	printf("tinymta: queue:");
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
		printf(" %s %lld", q[i], json_num(json, q[i]));
	printf("; oldest %lld s; deliveries %lld%s\n",
	       json_num(json, "oldest_age_s"),
	       json_num(json, "deliveries_active"),
	       strstr(json, "\"clock_set\": false") ? "; clock NOT set" : "");
	print_dead(json);
}

int
tinymta_status_main(int argc, char **argv)
{
	char reply[REPLY_MAX];
	int json = argc > 1 && strcmp(argv[1], "--json") == 0, r;

	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(stderr, "tinymta: usage: status [--json]\n");
		return 64;
	}
	r = request("status", reply, sizeof reply, json ? -1 : 3);
	if (r == 3 && json)
		printf("{\"running\": false}\n");
	if (r != 0)
		return r;
	if (json)
		fputs(reply + 3, stdout);
	else
		print_status(reply + 3);
	return 0;
}
