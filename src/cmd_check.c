/*
 * cmd_check.c - `tinymta check [--json]`: load main.cf and master.cf from
 * the configuration directory and report every problem with its file,
 * line, parameter and what is accepted; exit 78 when any is an error.
 * Also warns about secret files others can read (conf_secrets.c).
 * Runs as the invoking user (the web UI asks it before a reload). Both
 * files are untrusted; the parsers bound everything they read.
 */
#include "cmd_tinymta.h"
#include "conf.h"
#include "conf_secrets.h"
#include "master_cf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void
print_json(const struct conf_problems *ps)
{
	printf("{\"ok\": %s, \"problems\": [", ps->errors ? "false" : "true");
	for (size_t i = 0; i < ps->n; i++) {
		const struct conf_problem *p = &ps->v[i];

		printf("%s\n{\"file\": ", i ? "," : "");
		conf_json_string(stdout, p->file);
		printf(", \"line\": %u, \"parameter\": ", p->line);
		conf_json_string(stdout, p->parameter);
		printf(", \"severity\": \"%s\", \"message\": ",
		       p->severity == CONF_SEV_ERROR ? "error" : "warning");
		conf_json_string(stdout, p->message);
		printf("}");
	}
	printf("%s]}\n", ps->n ? "\n" : "");
}

/* Load both files into ps; the master.cf -o values are checked against
 * the main.cf just read. */
static int
check_all(struct conf_problems *ps)
{
	struct conf *c = conf_new(NULL);
	struct master_cf *m = malloc(sizeof *m);
	char path[CONF_PATH_MAX + 16];
	struct stat st;
	int n;

	if (!c || !m) {
		conf_free(c);
		free(m);
		return -1;
	}
	/* missing files mean defaults; a missing directory is a mistake */
	if (stat(conf_dir(c), &st) < 0)
		conf_problems_add(ps, conf_dir(c), 0, "", CONF_SEV_ERROR,
		                  "configuration directory: %s",
		                  strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		conf_problems_add(ps, conf_dir(c), 0, "", CONF_SEV_ERROR,
		                  "configuration directory: not a directory");
	(void)conf_load(c, ps);
	conf_check_secrets(c, ps);
	n = snprintf(path, sizeof path, "%s/master.cf", conf_dir(c));
	if (n > 0 && (size_t)n < sizeof path)
		(void)master_cf_load(m, path, c, ps);
	conf_free(c);
	free(m);
	return 0;
}

int
tinymta_check_main(int argc, char **argv)
{
	struct conf_problems *ps;
	int json = argc == 2 && strcmp(argv[1], "--json") == 0, rc;

	if (argc > 2 || (argc == 2 && !json)) {
		fputs("usage: tinymta check [--json]\n", stderr);
		return 64;
	}
	if (!(ps = conf_problems_new()) || check_all(ps) < 0) {
		fputs("tinymta: fatal: out of memory or configuration "
		      "directory name too long\n",
		      stderr);
		conf_problems_free(ps);
		return 70;
	}
	if (json)
		print_json(ps);
	else
		conf_problems_print(ps, stderr, "tinymta");
	rc = ps->errors ? 78 : 0;
	if (fflush(stdout) != 0) {
		perror("tinymta: write");
		rc = 74;
	}
	conf_problems_free(ps);
	return rc;
}
