/*
 * resolve.c - recipient resolution (see resolve.h). Runs in qmgr as
 * mail_owner. Untrusted input: the recipient address (from a client or a
 * local user) and the contents of :include: files; the maps are built by
 * the administrator.
 */
#include "resolve.h"
#include "alias_parse.h"
#include "forward.h"
#include "map.h"
#include "pwcache.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct rs {
	const struct conf *c;
	struct resolved *out;
	size_t cap, n;
	char value[MAP_VALUE_MAX];    /* scratch for one map value */
	uid_t fwd[RESOLVE_DEPTH + 1]; /* users whose .forward is open */
	size_t nfwd;
	char owner[QFILE_ADDR_MAX + 1]; /* sender override, "" = none */
	/* Scratch for one map lookup at a time (lookups never nest): here
	 * rather than on the stack of a recursive expansion. */
	char spec[MAP_PATH_MAX];
	struct map m;
};

static struct resolved *
add(struct rs *s, enum resolve_kind kind, const char *addr)
{
	struct resolved *r;

	int by_target = kind == RES_PIPE || kind == RES_FILE;

	for (size_t i = 0; i < s->n; i++)
		if (s->out[i].kind == kind &&
		    strcmp(by_target ? s->out[i].target : s->out[i].addr,
		           addr) == 0)
			return NULL; /* duplicate: delivered once */
	if (s->n >= s->cap) {
		r = &s->out[s->cap - 1];
		r->kind = RES_BOUNCE;
		str_copy(r->dsn, sizeof r->dsn, "5.3.4");
		str_copy(r->reason, sizeof r->reason,
		         "too many recipients after alias expansion");
		str_copy(r->sender, sizeof r->sender, s->owner);
		return NULL;
	}
	r = &s->out[s->n++];
	memset(r, 0, sizeof *r);
	r->kind = kind;
	str_copy(r->addr, sizeof r->addr, addr);
	str_copy(r->sender, sizeof r->sender, s->owner);
	return r;
}

static void fail(struct rs *s, enum resolve_kind kind, const char *addr,
                 const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
fail(struct rs *s, enum resolve_kind kind, const char *addr, const char *dsn,
     const char *fmt, ...)
{
	struct resolved *r = add(s, kind, addr);
	va_list ap;

	if (!r)
		return;
	str_copy(r->dsn, sizeof r->dsn, dsn);
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof r->reason, fmt, ap);
	va_end(ap);
}

/* Split addr into local part and lowercased domain. */
/* noinline: keep this frame off the recursive expansion stack */
__attribute__((noinline)) static void
split(const char *addr, char *local, size_t lcap, char *domain, size_t dcap)
{
	const char *at = strrchr(addr, '@');

	if (!at) {
		str_copy(local, lcap, addr);
		domain[0] = '\0';
		return;
	}
	str_copy_n(local, lcap, addr, (size_t)(at - addr));
	str_copy(domain, dcap, at + 1);
	map_fold(domain, strlen(domain));
}

int
resolve_is_local_domain(const struct conf *c, const char *domain)
{
	const char *cur = conf_get(c, "mydestination");
	char d[300];

	while (cur && conf_list_next(&cur, d, sizeof d))
		if (str_eq_nocase(d, domain))
			return 1;
	return 0;
}

int
resolve_bare_domain(const struct conf *c, char *out, size_t cap)
{
	static const char *const names[] = {"myorigin", "myhostname"};
	char d[300];

	/* conf_get's value lasts until the next conf_* call: copy it. */
	for (size_t i = 0; i < 2; i++)
		if (str_copy(d, sizeof d, conf_get(c, names[i])) >= 0 &&
		    resolve_is_local_domain(c, d))
			return str_copy(out, cap, d) < 0 ? -1 : 0;
	return str_copy(out, cap, "localhost") < 0 ? -1 : 0;
}

/* Look key up in every map of the list parameter; 1, 0 or -1. */
/* noinline: keep this frame off the recursive expansion stack */
__attribute__((noinline)) static int
maps_lookup(struct rs *s, const char *param, const char *key)
{
	const char *cur = conf_get(s->c, param);

	while (cur && conf_list_next(&cur, s->spec, sizeof s->spec)) {
		int r;

		if (map_open(&s->m, s->spec, 0) < 0) {
			if (errno == ENOENT)
				continue; /* no table built yet: no entries */
			return -1;
		}
		r = map_lookup(&s->m, key, s->value, sizeof s->value, NULL);
		map_close(&s->m);
		if (r != 0)
			return r;
	}
	return 0;
}

/* noinline: keep this frame off the recursive expansion stack */
__attribute__((noinline)) static int
is_virtual_domain(struct rs *s, const char *domain)
{
	const char *cur = conf_get(s->c, "virtual_alias_domains");
	char *item = s->spec;

	while (cur && conf_list_next(&cur, item, sizeof s->spec)) {
		if (!strchr(item, ':') && item[0] != '/') {
			if (str_eq_nocase(item, domain))
				return 1;
			continue;
		}
		if (map_open(&s->m, item, 0) < 0)
			continue;
		int r =
		    map_lookup(&s->m, domain, s->value, sizeof s->value, NULL);
		map_close(&s->m);
		if (r == 1)
			return 1;
	}
	return 0;
}

static void resolve_addr(struct rs *s, const char *addr, int depth);

/* Expand a list value ("a, b c") of addresses, each resolved. */
static void
expand_list(struct rs *s, const char *list, const char *local, int depth)
{
	char item[QFILE_ADDR_MAX + 1], addr[QFILE_ADDR_MAX + 1];

	while (conf_list_next(&list, item, sizeof item)) {
		if (item[0] == '@' && local) { /* @domain @other: keep local */
			if (snprintf(addr, sizeof addr, "%s%s", local, item) >=
			    (int)sizeof addr) {
				fail(s, RES_BOUNCE, item, "5.1.3",
				     "address too long after rewriting");
				continue;
			}
		} else {
			str_copy(addr, sizeof addr, item);
		}
		resolve_addr(s, addr, depth + 1);
	}
}

/* virtual_alias_maps: 1 when rewritten (or bounced), 0 when untouched. */
static int
virtual_step(struct rs *s, const char *addr, const char *local,
             const char *domain, int depth)
{
	char key[QFILE_ADDR_MAX + 2];
	int r;

	if (!conf_get(s->c, "virtual_alias_maps")[0])
		return 0;
	r = maps_lookup(s, "virtual_alias_maps", addr);
	if (r == 0 && domain[0]) {
		snprintf(key, sizeof key, "@%s", domain);
		r = maps_lookup(s, "virtual_alias_maps", key);
	}
	if (r < 0) {
		fail(s, RES_DEFER, addr, "4.3.0", "virtual_alias_maps: %s",
		     strerror(errno));
		return 1;
	}
	if (r == 1) {
		char *v = strdup(s->value);

		if (v) {
			expand_list(s, v, local, depth);
			free(v);
		}
		return 1;
	}
	if (domain[0] && is_virtual_domain(s, domain)) {
		fail(s, RES_BOUNCE, addr, "5.1.1",
		     "User unknown in virtual alias table");
		return 1;
	}
	return 0;
}

/* Where a list of targets comes from: decides whether |command and /file
 * are allowed (allow_mail_to_commands/files) and whose rights they get. */
enum xsrc { XSRC_ALIAS, XSRC_FORWARD, XSRC_INCLUDE };

struct xctx {
	enum xsrc src;
	const char *name; /* alias or user name: "name" in it means itself */
	char user[64];    /* run |command and /file as this user */
};

static const char *const xsrc_words[] = {"alias", "forward", "include"};

/* The user owning uid, unless root (or unknown): then default_privs. */
static void
rights_of(struct rs *s, uid_t uid, char *user, size_t cap)
{
	struct passwd *pw = uid != 0 ? getpwuid(uid) : NULL;

	str_copy(user, cap, pw ? pw->pw_name : conf_get(s->c, "default_privs"));
}

/* The owner of the alias source file: pipes and files run as that user,
 * never root (then default_privs). */
/* noinline: keep this frame off the recursive expansion stack */
__attribute__((noinline)) static void
alias_owner(struct rs *s, char *user, size_t cap)
{
	const char *cur = conf_get(s->c, "alias_maps");
	char spec[MAP_PATH_MAX], src[MAP_PATH_MAX];
	struct stat st;

	if (!conf_list_next(&cur, spec, sizeof spec) ||
	    map_spec_source(spec, src, sizeof src) < 0 || stat(src, &st) < 0)
		st.st_uid = 0;
	rights_of(s, st.st_uid, user, cap);
}

static int
allowed(struct rs *s, const char *param, enum xsrc src)
{
	const char *cur = conf_get(s->c, param);
	char item[64];

	while (conf_list_next(&cur, item, sizeof item))
		if (strcmp(item, xsrc_words[src]) == 0)
			return 1;
	return 0;
}

static size_t expand_targets(struct rs *s, const char *addr,
                             const struct xctx *x, char *value, int depth);

/* Read an :include: file: opened once, its owner taken from the same
 * descriptor. 0, or -1 with errno. */
static int
read_include(const char *path, char **text, uid_t *owner)
{
	struct stat st;
	int fd = io_open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0), r = -1;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0) {
		*owner = st.st_uid;
		if (!S_ISREG(st.st_mode))
			errno = EFBIG; /* not a file: unusable, as a huge one */
		else if (forward_slurp_fd(fd, RESOLVE_INCLUDE_MAX, text) == 0)
			r = 0;
	}
	io_close(fd);
	return r;
}

/* noinline: keep this frame off the recursive expansion stack */
__attribute__((noinline)) static void
include_file(struct rs *s, const char *addr, const struct xctx *parent,
             const char *path, int depth)
{
	struct xctx x = {XSRC_INCLUDE, NULL, ""};
	char *text;
	uid_t owner;

	if (read_include(path, &text, &owner) < 0) {
		int perm = errno == ENOENT || errno == EFBIG;

		fail(s, perm ? RES_BOUNCE : RES_DEFER, addr,
		     perm ? "5.3.5" : "4.3.5", ":include: file unusable: %s",
		     path);
		return;
	}
	/* Postfix: a .forward passes on its user's rights; otherwise the
	 * file's owner's, or default_privs for root's files. */
	if (parent->src == XSRC_FORWARD)
		str_copy(x.user, sizeof x.user, parent->user);
	else
		rights_of(s, owner, x.user, sizeof x.user);
	expand_targets(s, addr, &x, text, depth + 1);
	free(text);
}

static void
special_target(struct rs *s, const char *addr, const struct xctx *x,
               const struct alias_target *t, int depth)
{
	struct resolved *r;
	int pipe = t->type == ALIAS_T_PIPE;

	if (t->type == ALIAS_T_INCLUDE) {
		include_file(s, addr, x, t->text, depth);
		return;
	}
	if (!allowed(s, pipe ? "allow_mail_to_commands" : "allow_mail_to_files",
	             x->src)) {
		fail(s, RES_BOUNCE, addr, "5.7.1",
		     "mail to %s is restricted (%s not in %s)",
		     pipe ? "command" : "file", xsrc_words[x->src],
		     pipe ? "allow_mail_to_commands" : "allow_mail_to_files");
		return;
	}
	r = add(s, pipe ? RES_PIPE : RES_FILE, t->text);
	if (!r)
		return;
	str_copy(r->target, sizeof r->target, t->text);
	str_copy(r->addr, sizeof r->addr, addr);
	str_copy(r->user, sizeof r->user, x->user);
}

static void deliver_user(struct rs *s, const char *addr, const char *user,
                         const char *ext, int depth);

/* Files (.forward, :include:) hold one or more targets per line and '#'
 * comment lines: make them one list. */
static void
file_to_list(char *value)
{
	int bol = 1;

	for (char *p = value; *p; p++) {
		if (bol && *p == '#')
			while (*p && *p != '\n')
				*p++ = ' ';
		if (!*p)
			break;
		bol = *p == '\n' || *p == '\r' ||
		      (bol && (*p == ' ' || *p == '\t'));
		if (*p == '\n' || *p == '\r')
			*p = ',';
	}
}

/* Expand a list of targets (a file's text is changed by file_to_list).
 * Returns the number of targets. */
static size_t
expand_targets(struct rs *s, const char *addr, const struct xctx *x,
               char *value, int depth)
{
	const char *cur = value, *end;
	struct alias_target t;
	enum alias_err err;
	size_t count = 0;
	int r;

	if (x->src != XSRC_ALIAS)
		file_to_list(value);
	end = value + strlen(value);
	while ((r = alias_value_next(&cur, end, &t, &err)) == 1) {
		const char *txt = t.text + (t.text[0] == '\\');

		count++;
		if (t.type != ALIAS_T_ADDR)
			special_target(s, addr, x, &t, depth);
		else if (x->name && str_eq_nocase(txt, x->name))
			deliver_user(s, addr, x->name, "", depth); /* u: u, x */
		else
			resolve_addr(s, txt, depth + 1);
	}
	if (r < 0)
		fail(s, RES_DEFER, addr, "4.3.0", "%s value unusable: %s",
		     xsrc_words[x->src], alias_strerror(err));
	return count;
}

/* The mailbox of a known user, or home_mailbox under the home dir. */
static void
deliver_mailbox(struct rs *s, const char *addr, const char *name,
                const char *dir)
{
	const char *home_mailbox = conf_get(s->c, "home_mailbox");
	struct resolved *r = add(s, RES_MAILBOX, addr);

	if (!r)
		return;
	str_copy(r->user, sizeof r->user, name);
	if (home_mailbox[0])
		snprintf(r->target, sizeof r->target, "%s/%s", dir ? dir : "",
		         home_mailbox);
	else
		snprintf(r->target, sizeof r->target, "%s/%s",
		         conf_get(s->c, "mail_spool_directory"), name);
}

/* 1 when the user's .forward is being expanded right now. */
static int
in_forward(const struct rs *s, uid_t uid)
{
	for (size_t i = 0; i < s->nfwd; i++)
		if (s->fwd[i] == uid)
			return 1;
	return 0;
}

/* The parts of a passwd entry kept across nested lookups. */
struct who {
	char name[64];
	char dir[1024];
	uid_t uid;
};

/* Expand the text of a usable .forward. */
static size_t
expand_forward(struct rs *s, const char *addr, const struct who *w, char *text,
               int depth)
{
	struct xctx x = {XSRC_FORWARD, w->name, ""};
	size_t n;

	str_copy(x.user, sizeof x.user, w->name);
	s->fwd[s->nfwd++] = w->uid;
	n = expand_targets(s, addr, &x, text, depth + 1);
	s->nfwd--;
	return n;
}

/* ~/.forward (forward_path's Postfix default); 1 when it decided where the
 * mail goes, 0 when the mailbox gets it (none, empty, or unsafe: Postfix
 * logs a warning and ignores it). */
static int
try_forward(struct rs *s, const char *addr, const struct who *w,
            const char *ext, int depth)
{
	char path[1024], why[200], esc[1100], *text;

	if (w->dir[0] != '/' || s->nfwd >= RESOLVE_DEPTH ||
	    in_forward(s, w->uid))
		return 0;
	for (int i = 0; i < 2; i++) {
		enum forward_result r;

		if (!forward_path(w->dir, ext, i, path, sizeof path))
			continue;
		r = forward_read(path, w->uid, &text, why, sizeof why);
		if (r == FORWARD_NONE)
			continue;
		str_escape(esc, sizeof esc, path, strlen(path));
		if (r == FORWARD_ERROR) {
			fail(s, RES_DEFER, addr, "4.3.0", "cannot read %s: %s",
			     esc, why);
			return 1;
		}
		if (r == FORWARD_IGNORED) {
			log_warn("file %s %s: ignored, mail for %s goes to the "
			         "mailbox",
			         esc, why, w->name);
			return 0;
		}
		r = expand_forward(s, addr, w, text, depth) > 0;
		free(text);
		return (int)r;
	}
	return 0;
}

/* A known local user (pw, from the caller's lookup, copied before any
 * other): ~/.forward, else the mailbox. Never root. One passwd lookup per
 * user, where there were three (each reads /etc/passwd). */
/* noinline: keep this frame off the recursive expansion stack */
__attribute__((noinline)) static void
deliver_known(struct rs *s, const char *addr, const struct passwd *pw,
              const char *ext, int depth)
{
	struct who w;
	int copied;

	if (pw->pw_uid == 0) {
		fail(s, RES_DEFER, addr, "4.3.0",
		     "%s: mail for root needs an alias (aliases: root: admin) "
		     "or tinymta_admin_address",
		     addr);
		return;
	}
	w.uid = pw->pw_uid;
	copied =
	    str_copy(w.name, sizeof w.name, pw->pw_name) >= 0 &&
	    str_copy(w.dir, sizeof w.dir, pw->pw_dir ? pw->pw_dir : "") >= 0;
	if (!copied)
		w.dir[0] = '\0'; /* unusable: no .forward */
	if (try_forward(s, addr, &w, ext, depth))
		return;
	if (copied) {
		deliver_mailbox(s, addr, w.name, w.dir);
		return;
	}
	pw = pwcache_getpwnam(w.name); /* the fields did not fit: again */
	if (pw)
		deliver_mailbox(s, addr, pw->pw_name, pw->pw_dir);
	else
		fail(s, RES_DEFER, addr, "4.3.0", "user %s vanished", w.name);
}

static void
deliver_user(struct rs *s, const char *addr, const char *user, const char *ext,
             int depth)
{
	const struct passwd *pw = pwcache_getpwnam(user);

	if (!pw) {
		fail(s, RES_BOUNCE, addr, "5.1.1",
		     "User unknown in local recipient table");
		return;
	}
	deliver_known(s, addr, pw, ext, depth);
}

static int
is_admin_name(const char *user)
{
	return str_eq_nocase(user, "root") ||
	       str_eq_nocase(user, "postmaster") ||
	       str_eq_nocase(user, "mailer-daemon");
}

/* No alias and no such user: admin address, luser_relay, or bounce. */
static void
no_such_user(struct rs *s, const char *addr, const char *user, int depth)
{
	const char *admin = conf_get(s->c, "tinymta_admin_address");
	const char *relay = conf_get(s->c, "luser_relay");

	if (is_admin_name(user) && admin[0] && !is_admin_name(admin))
		resolve_addr(s, admin, depth + 1);
	else if (str_eq_nocase(user, "postmaster") ||
	         str_eq_nocase(user, "mailer-daemon"))
		resolve_addr(s, "root", depth + 1);
	else if (relay[0])
		resolve_addr(s, relay, depth + 1);
	else
		fail(s, RES_BOUNCE, addr, "5.1.1",
		     "User unknown in local recipient table");
}

/* Postfix's owner-NAME rule: 1 when an alias owner-NAME exists (the
 * sender override is then set), 0 when not, -1 on a map error. A name
 * that is itself owner-… has no owner (Postfix's owner_request_special). */
static int
set_owner(struct rs *s, const char *name)
{
	char key[QFILE_ADDR_MAX + 1], owner[QFILE_ADDR_MAX + 1];
	int r;

	if (strncmp(name, "owner-", 6) == 0 ||
	    snprintf(key, sizeof key, "owner-%s", name) >= (int)sizeof key)
		return 0;
	r = maps_lookup(s, "alias_maps", key);
	if (r != 1 || snprintf(owner, sizeof owner, "%s@%s", key,
	                       conf_get(s->c, "myorigin")) >= (int)sizeof owner)
		return r < 0 ? -1 : 0;
	str_copy(s->owner, sizeof s->owner, owner);
	return 1;
}

/* Expand the alias found under key (its value in s->value) for addr; base
 * is the user part ("u: u, x" means u's own mailbox). The destinations
 * get owner-key as their sender when that alias exists. */
static void
expand_alias(struct rs *s, const char *addr, const char *key, const char *base,
             int depth)
{
	char *v = strdup(s->value), saved[QFILE_ADDR_MAX + 1];
	struct xctx x = {XSRC_ALIAS, base, ""};

	if (!v) {
		fail(s, RES_DEFER, addr, "4.3.0", "out of memory");
		return;
	}
	str_copy(saved, sizeof saved, s->owner);
	if (set_owner(s, key) < 0) {
		fail(s, RES_DEFER, addr, "4.3.0", "alias_maps: %s",
		     strerror(errno));
		free(v);
		return;
	}
	alias_owner(s, x.user, sizeof x.user);
	expand_targets(s, addr, &x, v, depth);
	str_copy(s->owner, sizeof s->owner, saved);
	free(v);
}

static void
resolve_local(struct rs *s, const char *addr, const char *local0, int depth)
{
	const char *delim = conf_get(s->c, "recipient_delimiter");
	char local[QFILE_ADDR_MAX + 1], base[QFILE_ADDR_MAX + 1];
	const char *ext = "";
	const struct passwd *pw;
	int r, r2 = 0;

	str_copy(local, sizeof local, local0);
	map_fold(local, strlen(local));
	str_copy(base, sizeof base, local);
	if (delim[0]) { /* user+tag: the user is "user" */
		base[strcspn(base, delim)] = '\0';
		ext = local + strlen(base); /* "+tag" or "" */
	}
	r = maps_lookup(s, "alias_maps", local);
	if (r == 0 && strcmp(base, local) != 0) {
		r = maps_lookup(s, "alias_maps", base);
		r2 = 1;
	}
	if (r < 0) {
		fail(s, RES_DEFER, addr, "4.3.0", "alias_maps: %s",
		     strerror(errno));
		return;
	}
	if (r == 1) {
		expand_alias(s, addr, r2 ? base : local, base, depth);
		return;
	}
	errno = 0;
	pw = pwcache_getpwnam(base);
	if (pw)
		deliver_known(s, addr, pw, ext, depth);
	else
		no_such_user(s, addr, base, depth);
}

static void
resolve_addr(struct rs *s, const char *addr0, int depth)
{
	char addr[QFILE_ADDR_MAX + 1], local[QFILE_ADDR_MAX + 1], domain[300];

	if (depth > RESOLVE_DEPTH) {
		fail(s, RES_BOUNCE, addr0, "5.4.6",
		     "mail forwarding loop for %s", addr0);
		return;
	}
	split(addr0, local, sizeof local, domain, sizeof domain);
	/* A bare name or @localhost never leaves the box (DESIGN.md): it
	 * resolves locally, whatever myorigin and mydestination say. */
	int stay = !domain[0] || str_eq_nocase(domain, "localhost");

	if (!domain[0]) /* a bare name: append_at_myorigin */
		str_copy(domain, sizeof domain, conf_get(s->c, "myorigin"));
	if (snprintf(addr, sizeof addr, "%s@%s", local, domain) >=
	    (int)sizeof addr) {
		fail(s, RES_BOUNCE, addr0, "5.1.3", "address too long");
		return;
	}
	if (virtual_step(s, addr, local, domain, depth))
		return;
	if (stay || resolve_is_local_domain(s->c, domain)) {
		resolve_local(s, addr, local, depth);
		return;
	}
	add(s, RES_REMOTE, addr);
}

int
resolve_rcpt(const struct conf *c, const char *rcpt, struct resolved *out,
             size_t cap, size_t *n)
{
	/* In BSS, not malloc'd: these 74 KiB cost an mmap, page faults and
	 * a munmap per recipient (musl hands large blocks back at once);
	 * only the pages a lookup fills become resident. Each call starts
	 * it afresh: nothing is carried from one call to the next. */
	static struct rs space;
	struct rs *s = &space;

	*n = 0;
	if (cap == 0)
		return -1;
	s->c = c;
	s->out = out;
	s->cap = cap;
	s->n = 0;
	s->nfwd = 0;
	s->owner[0] = '\0';
	s->spec[0] = '\0';
	resolve_addr(s, rcpt, 0);
	*n = s->n;
	return 0;
}
