/*
 * cmd_passwd.c - `tinymta passwd [--admin] USER` and `tinymta passwd -d
 * USER`: set or remove a user of SMTP AUTH (and POP3) in the source file
 * tinymta_sasl_users (default $config_directory/sasl_users), then rebuild
 * its CDB. The new password is read twice, like passwd(1): from the
 * terminal without echo, or as two lines of standard input when that is
 * not a terminal. It is hashed with SHA-512 crypt ("$6$", 16 salt
 * characters from getrandom). Source lines are "user:HASH" or
 * "user:HASH:admin" (--admin: a web UI administrator); other lines are
 * kept as they are. Both files are replaced atomically (temporary file,
 * fsync, rename, fsync of the directory), mode 0640; run as root they are
 * owned by root with mail_owner's group, so that smtpd (mail_owner) can
 * read them and nobody else can. A lock file (SOURCE.lock) serializes
 * concurrent runs. Runs as the invoking user (root on the device).
 * UNTRUSTED: nothing but the arguments and the typed password.
 *
 * `tinymta relay-password HOST USER` shares all of it for the smtp
 * client's credentials: the line "HOST USER:PASSWORD" (postmap syntax)
 * in the source of smtp_sasl_password_maps (its first table), replacing
 * HOST's line; the password in clear (the client must send it), read
 * once from standard input (twice from a terminal); same mode, owner,
 * lock and atomic rebuild.
 */
#define _GNU_SOURCE /* explicit_bzero in glibc */
#include "cmd_tinymta.h"
#include "conf.h"
#include "map.h"
#include "map_build.h"
#include "sasl_decode.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#define USERS_MODE 0640

#define RELAY_HOST_MAX 300 /* "[name]:port" */

struct passwd_run {
	int del, admin;
	int relay;       /* relay-password: user is the HOST key */
	const char *cmd; /* "passwd" or "relay-password" for messages */
	char login[SASL_USER_MAX + 1]; /* relay-password: USER */
	char user[RELAY_HOST_MAX + 1];
	char spec[CONF_VALUE_MAX];
	char owner[CONF_VALUE_MAX]; /* mail_owner */
	char src[MAP_PATH_MAX];
	char tmp[MAP_PATH_MAX + 32];
	/* the new line: "user:HASH:admin" or "HOST USER:PASSWORD" */
	char entry[RELAY_HOST_MAX + SASL_USER_MAX + SASL_PASS_MAX + 16];
};

static int
usage(const struct passwd_run *p)
{
	if (p->relay)
		fprintf(stderr, "usage: tinymta relay-password HOST USER "
		                "(the password on standard input)\n");
	else
		fprintf(stderr, "usage: tinymta passwd [--admin] USER\n"
		                "       tinymta passwd -d USER\n");
	return EX_USAGE;
}

/* 1 when s has 1..max bytes, none of them white space or control. */
static int
word_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

/* relay-password HOST USER. */
static int
parse_relay_args(struct passwd_run *p, int argc, char **argv)
{
	if (argc != 3)
		return -1;
	if (!word_ok(argv[1], RELAY_HOST_MAX) || argv[1][0] == '#') {
		fprintf(stderr,
		        "tinymta relay-password: bad HOST \"%s\": as in "
		        "relayhost ([smtp.example.com]:587), no white space\n",
		        argv[1]);
		return -1;
	}
	if (sasl_user_check(argv[2], strlen(argv[2])) != SASL_OK ||
	    !word_ok(argv[2], SASL_USER_MAX)) {
		fprintf(stderr,
		        "tinymta relay-password: bad user name \"%s\": 1 to "
		        "%d characters, no white space, control or ':'\n",
		        argv[2], SASL_USER_MAX);
		return -1;
	}
	str_copy(p->user, sizeof p->user, argv[1]);
	map_fold(p->user, strlen(p->user)); /* CDB keys are folded */
	str_copy(p->login, sizeof p->login, argv[2]);
	return 0;
}

static int
parse_args(struct passwd_run *p, int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--admin") == 0)
			p->admin = 1;
		else if (strcmp(argv[i], "-d") == 0)
			p->del = 1;
		else
			return -1;
	}
	if (i != argc - 1 || (p->del && p->admin))
		return -1;
	if (sasl_user_check(argv[i], strlen(argv[i])) != SASL_OK) {
		fprintf(stderr,
		        "tinymta passwd: bad user name \"%s\": 1 to %d "
		        "characters, no white space, control or ':'\n",
		        argv[i], SASL_USER_MAX);
		return -1;
	}
	str_copy(p->user, sizeof p->user, argv[i]);
	map_fold(p->user, strlen(p->user)); /* CDB keys are folded */
	return 0;
}

/* tinymta_sasl_users and mail_owner from main.cf. 0 or an exit code. */
static int
load_conf(struct passwd_run *p)
{
	struct conf_problems *ps = conf_problems_new();
	struct conf *c = conf_new(conf_config_dir());
	int rc = 0;

	if (!ps || !c) {
		rc = EX_OSERR;
	} else if (conf_load(c, ps) < 0) {
		conf_problems_print(ps, stderr, "tinymta passwd");
		rc = EX_CONFIG;
	} else if (p->relay) {
		const char *cur = conf_get(c, "smtp_sasl_password_maps");
		char list[CONF_VALUE_MAX];

		/* the first table of the list gets the entry */
		str_copy(list, sizeof list, cur);
		cur = list;
		if (!conf_list_next(&cur, p->spec, sizeof p->spec))
			p->spec[0] = '\0';
		str_copy(p->owner, sizeof p->owner, conf_get(c, "mail_owner"));
	} else {
		str_copy(p->spec, sizeof p->spec,
		         conf_get(c, "tinymta_sasl_users"));
		str_copy(p->owner, sizeof p->owner, conf_get(c, "mail_owner"));
	}
	if (c)
		conf_free(c);
	conf_problems_free(ps);
	if (rc == 0 && (map_spec_source(p->spec, p->src, sizeof p->src) < 0 ||
	                snprintf(p->tmp, sizeof p->tmp, "%s.tmp.%ld", p->src,
	                         (long)getpid()) >= (int)sizeof p->tmp)) {
		fprintf(stderr, "tinymta %s: %s = %s: %s\n", p->cmd,
		        p->relay ? "smtp_sasl_password_maps"
		                 : "tinymta_sasl_users",
		        p->spec, p->spec[0] ? strerror(errno) : "empty");
		rc = EX_CONFIG;
	}
	return rc;
}

/* ---- reading and hashing the password ---- */

/* One line of fd 0 into out[cap] without its line end. 1, 0 at EOF, -1
 * too long. Byte by byte: the second line must stay for the second call
 * and nothing may sit in a stdio buffer afterwards. */
static int
read_line(char *out, size_t cap)
{
	size_t n = 0;
	char ch;
	ssize_t r;

	while ((r = io_read(0, &ch, 1)) == 1 && ch != '\n')
		if (n + 1 < cap)
			out[n++] = ch;
		else
			n = cap; /* keep reading to the end of the line */
	if (r < 0 || (r == 0 && n == 0))
		return 0;
	if (n >= cap)
		return -1;
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	return 1;
}

static int
ask(const char *prompt, int tty, char *out, size_t cap)
{
	struct termios old, quiet;
	int r;

	if (!tty)
		return read_line(out, cap);
	/* Echo off (discarding what was typed before) and only then the
	 * prompt: an answer typed after the prompt is never flushed. */
	if (tcgetattr(0, &old) < 0)
		return 0;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	if (tcsetattr(0, TCSAFLUSH, &quiet) < 0)
		return 0;
	fputs(prompt, stderr);
	fflush(stderr);
	r = read_line(out, cap);
	tcsetattr(0, TCSANOW, &old);
	fputc('\n', stderr);
	return r;
}

/* Read the password twice into pw[SASL_PASS_MAX + 2] (relay-password
 * from a pipe: once). 0 or an exit code. */
static int
read_password(const struct passwd_run *p, char *pw)
{
	char again[SASL_PASS_MAX + 2];
	int tty = isatty(0), a, b, rc = 0;

	a = ask("New password: ", tty, pw, SASL_PASS_MAX + 2);
	if (p->relay && !tty && a == 1)
		str_copy(again, sizeof again, pw);
	b = a == 1 && !(p->relay && !tty)
	        ? ask("Retype new password: ", tty, again, sizeof again)
	        : a;
	if (a < 0 || b < 0) {
		fprintf(stderr,
		        "tinymta %s: password longer than %d "
		        "bytes\n",
		        p->cmd, SASL_PASS_MAX);
		rc = EX_DATAERR;
	} else if (a == 0 || b == 0) {
		fprintf(stderr,
		        "tinymta %s: no password read (two lines "
		        "are needed)\n",
		        p->cmd);
		rc = EX_DATAERR;
	} else if (p->relay && !word_ok(pw, SASL_PASS_MAX) && pw[0] != '\0') {
		fprintf(stderr, "tinymta relay-password: the password has "
		                "white space or control characters\n");
		rc = EX_DATAERR;
	} else if (pw[0] == '\0') {
		fprintf(stderr, "tinymta %s: empty password\n", p->cmd);
		rc = EX_DATAERR;
	} else if (strcmp(pw, again) != 0) {
		fprintf(stderr, "tinymta %s: passwords do not match\n", p->cmd);
		rc = EX_DATAERR;
	}
	explicit_bzero(again, sizeof again);
	return rc;
}

static int make_hash_entry(struct passwd_run *p, const char *pw);

/* The new line "user:$6$salt$hash[:admin]" (passwd) or "HOST USER:PASSWORD"
 * (relay-password) into p->entry. 0 or a code. */
static int
make_entry(struct passwd_run *p, const char *pw)
{
	if (p->relay) { /* the client sends it: kept in clear */
		snprintf(p->entry, sizeof p->entry, "%s %s:%s\n", p->user,
		         p->login, pw);
		return 0;
	}
	return make_hash_entry(p, pw);
}

static int
make_hash_entry(struct passwd_run *p, const char *pw)
{
	static const char abc[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                          "abcdefghijklmnopqrstuvwxyz";
	unsigned char rnd[16];
	char setting[3 + sizeof rnd + 2] = "$6$";
	const char *h;

	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		fprintf(stderr, "tinymta %s: getrandom: %s\n", p->cmd,
		        strerror(errno));
		return EX_OSERR;
	}
	for (size_t i = 0; i < sizeof rnd; i++) /* 64 letters: uniform */
		setting[3 + i] = abc[rnd[i] & 63];
	setting[3 + sizeof rnd] = '$';
	setting[4 + sizeof rnd] = '\0';
	h = crypt(pw, setting);
	if (!h || strncmp(h, setting, sizeof setting - 1) != 0 ||
	    strlen(h) > SASL_HASH_MAX) {
		fprintf(stderr,
		        "tinymta %s: crypt: SHA-512 hashing "
		        "failed\n",
		        p->cmd);
		return EX_SOFTWARE;
	}
	snprintf(p->entry, sizeof p->entry, "%s:%s%s\n", p->user, h,
	         p->admin ? ":admin" : "");
	return 0;
}

/* ---- the source file ---- */

/* 1 when line[0..len) is an entry for p->user. */
static int
is_user(const struct passwd_run *p, const char *line, size_t len)
{
	const char *u, *v;
	size_t ulen, vlen;

	if (p->relay) { /* "HOST value": the first word */
		size_t k = strlen(p->user);

		return len > k && strncasecmp(line, p->user, k) == 0 &&
		       (line[k] == ' ' || line[k] == '\t');
	}
	return sasl_users_line(line, len, &u, &ulen, &v, &vlen) == 1 &&
	       ulen == strlen(p->user) && strncasecmp(u, p->user, ulen) == 0;
}

/* Write old with p->user's lines replaced by p->entry (or dropped for
 * -d) to fd. *found counts the user's old lines. 0 or -1 (errno). */
static int
rewrite(const struct passwd_run *p, const char *old, size_t len, int fd,
        int *found)
{
	const char *s = old, *end = old + len;

	*found = 0;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);

		if (is_user(p, s, n)) {
			if ((*found)++ == 0 && !p->del &&
			    io_write_all(fd, p->entry, strlen(p->entry)) < 0)
				return -1;
		} else if (io_write_all(fd, s, n) < 0 ||
		           io_write_all(fd, "\n", 1) < 0) {
			return -1;
		}
		s += n + 1;
	}
	if (!*found && !p->del)
		return io_write_all(fd, p->entry, strlen(p->entry));
	return 0;
}

/* Mode 0640; as root, owner root and mail_owner's group. */
static int
set_owner(const struct passwd_run *p, int fd)
{
	struct passwd *pw;

	if (fchmod(fd, USERS_MODE) < 0)
		return -1;
	if (geteuid() != 0)
		return 0; /* a private instance: the daemon runs as us */
	pw = getpwnam(p->owner);
	if (!pw) {
		errno = ENOENT;
		fprintf(stderr, "tinymta %s: mail_owner %s: no such user\n",
		        p->cmd, p->owner);
		return -1;
	}
	return fchown(fd, 0, pw->pw_gid);
}

static void
dir_of(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		str_copy(dir, cap, ".");
	else
		str_copy_n(dir, cap, path,
		           slash == path ? 1 : (size_t)(slash - path));
}

/* Replace the source file. 0, or an exit code (67: -d of no such user). */
static int
update_source(struct passwd_run *p)
{
	char *old = NULL, dir[MAP_PATH_MAX];
	size_t len = 0;
	int fd, found = 0, rc = 0;

	if (io_slurp(p->src, MAP_SOURCE_MAX, &old, &len) < 0 &&
	    errno != ENOENT) {
		fprintf(stderr, "tinymta %s: read %s: %s\n", p->cmd, p->src,
		        strerror(errno));
		return EX_NOINPUT;
	}
	fd = io_open(p->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		fprintf(stderr, "tinymta %s: create %s: %s\n", p->cmd, p->tmp,
		        strerror(errno));
		free(old);
		return EX_CANTCREAT;
	}
	if (rewrite(p, old ? old : "", len, fd, &found) < 0 ||
	    set_owner(p, fd) < 0 || io_fsync(fd) < 0) {
		fprintf(stderr, "tinymta %s: write %s: %s\n", p->cmd, p->tmp,
		        strerror(errno));
		rc = EX_IOERR;
	}
	free(old);
	if (io_close(fd) < 0 && rc == 0)
		rc = EX_IOERR;
	if (rc == 0 && p->del && !found) {
		fprintf(stderr, "tinymta %s: %s: no such user\n", p->cmd,
		        p->user);
		rc = EX_NOUSER;
	}
	if (rc == 0 && rename(p->tmp, p->src) < 0) {
		fprintf(stderr, "tinymta %s: rename %s: %s\n", p->cmd, p->tmp,
		        strerror(errno));
		rc = EX_CANTCREAT;
	}
	if (rc != 0) {
		unlink(p->tmp);
		return rc;
	}
	dir_of(p->src, dir, sizeof dir);
	if (io_fsync_dir(dir) < 0) {
		fprintf(stderr, "tinymta %s: fsync %s: %s\n", p->cmd, dir,
		        strerror(errno));
		return EX_IOERR;
	}
	return 0;
}

/* Hold SOURCE.lock for the rest of the run. The fd, or -1 (said). */
static int
lock(const struct passwd_run *p)
{
	char path[MAP_PATH_MAX + 8];
	int fd;

	snprintf(path, sizeof path, "%s.lock", p->src);
	fd = io_open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		fprintf(stderr, "tinymta %s: lock %s: %s\n", p->cmd, path,
		        strerror(errno));
		if (fd >= 0)
			io_close(fd);
		return -1;
	}
	return fd;
}

static int
run(struct passwd_run *p)
{
	char pw[SASL_PASS_MAX + 2], err[MAP_ERR_MAX];
	int rc = 0, lk;

	if (!p->del) {
		rc = read_password(p, pw);
		if (rc == 0)
			rc = make_entry(p, pw);
		explicit_bzero(pw, sizeof pw);
		if (rc != 0)
			return rc;
	}
	if ((lk = lock(p)) < 0)
		return EX_CANTCREAT;
	rc = update_source(p);
	if (rc == 0) {
		rc = map_build(
		    p->spec, p->relay ? MAP_SYNTAX_POSTMAP : MAP_SYNTAX_PASSWD,
		    0, NULL, err, sizeof err);
		if (rc != 0)
			fprintf(stderr, "tinymta %s: %s\n", p->cmd, err);
	}
	io_close(lk);
	if (rc == 0)
		printf("tinymta %s: %s %s\n", p->cmd, p->user,
		       p->del ? "removed" : "updated");
	return rc;
}

/* The two commands' common frame: arguments, configuration, run; the
 * entry is wiped either way. */
static int
passwd_command(int argc, char **argv, int relay)
{
	struct passwd_run *p = calloc(1, sizeof *p);
	int rc;

	if (!p)
		return EX_OSERR;
	p->relay = relay;
	p->cmd = relay ? "relay-password" : "passwd";
	log_init("tinymta", LOG_TO_STDERR);
	if ((relay ? parse_relay_args(p, argc, argv)
	           : parse_args(p, argc, argv)) < 0)
		rc = usage(p);
	else if ((rc = load_conf(p)) == 0)
		rc = run(p);
	explicit_bzero(p->entry, sizeof p->entry);
	free(p);
	return rc;
}

int
tinymta_passwd_main(int argc, char **argv)
{
	return passwd_command(argc, argv, 0);
}

int
tinymta_relay_password_main(int argc, char **argv)
{
	return passwd_command(argc, argv, 1);
}
