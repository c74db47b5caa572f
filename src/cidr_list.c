/*
 * cidr_list.c - a mynetworks value expanded once into a list (see
 * cidr.h): address/prefix entries, "!" exclusions, host names (resolved
 * now, each address a host entry), /file/name pattern files, cidr:/file
 * tables (their patterns; the result column is not used) and other
 * type:table maps (looked up by the client address when matching). Runs
 * where the configuration is read: in smtpd (mail_owner) and in the
 * master (root, anvil exemptions). The value and the files are trusted
 * configuration, read with bounds; a bad entry is logged and counted,
 * never fatal.
 */
#include "cidr.h"
#include "map.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define CIDR_FILE_MAX (256 * 1024) /* a pattern file or cidr: table */
#define CIDR_DEPTH_MAX 3           /* files naming files */
#define SEPS ", \t\r\n"

static int load(struct cidr_list *l, const char *text, int neg, int depth);

static int
full(struct cidr_list *l, const char *what)
{
	if (l->n < CIDR_LIST_MAX)
		return 0;
	log_warn("mynetworks: more than %d entries, \"%s\" ignored",
	         CIDR_LIST_MAX, what);
	l->bad++;
	return 1;
}

static void
bad(struct cidr_list *l, const char *what, const char *why)
{
	char esc[CIDR_ENTRY_MAX * 4];

	str_escape(esc, sizeof esc, what, strlen(what));
	log_warn("mynetworks: \"%s\": %s; it matches nothing", esc, why);
	l->bad++;
}

/* Every address of a host name, as host entries. */
static void
resolve(struct cidr_list *l, const char *name, int neg)
{
	struct addrinfo hints, *res, *ai;
	int r;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(name, NULL, &hints, &res);
	if (r != 0) {
		bad(l, name, gai_strerror(r));
		return;
	}
	for (ai = res; ai && !full(l, name); ai = ai->ai_next) {
		struct cidr *c = &l->net[l->n];

		memset(c, 0, sizeof *c);
		if (ai->ai_family == AF_INET) {
			memcpy(c->addr,
			       &((struct sockaddr_in *)ai->ai_addr)->sin_addr,
			       4);
			c->family = 4;
			c->bits = 32;
		} else if (ai->ai_family == AF_INET6) {
			memcpy(c->addr,
			       &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
			       16);
			c->family = 6;
			c->bits = 128;
		} else {
			continue;
		}
		c->neg = neg;
		c->map = -1;
		l->n++;
	}
	freeaddrinfo(res);
}

/* A file's text with its # comments blanked out (to the line end). */
static char *
read_file(struct cidr_list *l, const char *path, size_t *len)
{
	char *text;
	size_t n;

	if (io_slurp(path, CIDR_FILE_MAX, &text, &n) < 0) {
		bad(l, path, strerror(errno));
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (text[i] == '#')
			for (; i < n && text[i] != '\n'; i++)
				text[i] = ' ';
	*len = n;
	return text;
}

/* cidr:/file: the first word of every line that does not start with
 * white space (Postfix's continuation lines) is a pattern. */
static void
cidr_table(struct cidr_list *l, const char *path, int neg)
{
	size_t len;
	char *text = read_file(l, path, &len);
	const char *p;

	if (!text)
		return;
	/* loop invariant: p is at the start of a line inside text */
	for (p = text; p < text + len;) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t w = strcspn(p, " \t\r\n");
		struct cidr c;

		if (w > 0 && !full(l, path)) {
			if (cidr_parse(p, w, &c) == 0) {
				c.neg = neg;
				l->net[l->n++] = c;
			} else {
				char e[CIDR_ENTRY_MAX];

				str_copy_n(e, sizeof e, p,
				           w < sizeof e - 1 ? w : sizeof e - 1);
				bad(l, e, "not a network in the cidr: table");
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	free(text);
}

static void
entry(struct cidr_list *l, const char *e, size_t n, int neg, int depth)
{
	char item[CIDR_ENTRY_MAX * 4];
	struct cidr c;

	if (n > 0 && e[0] == '!') {
		neg = !neg;
		e++;
		n--;
	}
	if (n == 0 || str_copy_n(item, sizeof item, e, n) < 0) {
		bad(l, n ? "(a long entry)" : "!", n ? "too long" : "empty");
		return;
	}
	if (cidr_parse(item, n, &c) == 0) {
		if (!full(l, item)) {
			c.neg = neg;
			l->net[l->n++] = c;
		}
	} else if (item[0] == '/') {
		size_t len;
		char *text;

		if (depth >= CIDR_DEPTH_MAX) {
			bad(l, item, "files nested too deep");
			return;
		}
		text = read_file(l, item, &len);
		if (text) { /* io_slurp ends it with a NUL */
			load(l, text, neg, depth + 1);
			free(text);
		}
	} else if (strncmp(item, "cidr:", 5) == 0) {
		cidr_table(l, item + 5, neg);
	} else if (strchr(item, ':')) { /* type:table, looked up by address */
		char src[MAP_PATH_MAX];

		if (map_spec_source(item, src, sizeof src) < 0) {
			bad(l, item,
			    "neither a network nor a known table type");
		} else if (l->nmaps >= CIDR_MAPS_MAX) {
			bad(l, item, "too many tables");
		} else if (!full(l, item)) {
			str_copy(l->maps[l->nmaps], sizeof l->maps[0], item);
			memset(&c, 0, sizeof c);
			c.neg = neg;
			c.map = (int)l->nmaps++;
			l->net[l->n++] = c;
		}
	} else if (item[0] == '[' || strchr(item, '/')) {
		bad(l, item, "not a network");
	} else {
		resolve(l, item, neg);
	}
}

/* text: NUL-terminated entries separated by commas and white space. */
static int
load(struct cidr_list *l, const char *text, int neg, int depth)
{
	const char *p = text;

	/* loop invariant: p points into text, before or at its NUL */
	while (*p) {
		size_t n;

		p += strspn(p, SEPS);
		n = strcspn(p, SEPS);
		if (n == 0)
			break;
		entry(l, p, n, neg, depth);
		p += n;
	}
	return 0;
}

size_t
cidr_list_load(struct cidr_list *l, const char *value)
{
	l->n = l->bad = l->nmaps = 0; /* the arrays are filled as used */
	if (value)
		load(l, value, 0, 0);
	return l->bad;
}

/* A type:table entry: the client address text as the key. */
static int
map_has(const struct cidr_list *l, int idx, const char *ip)
{
	struct map m;
	char val[256];
	int r;

	if (map_open(&m, l->maps[idx], 0) < 0) {
		log_warn("mynetworks: %s: %s", l->maps[idx], strerror(errno));
		return 0;
	}
	r = map_lookup(&m, ip, val, sizeof val, NULL);
	if (r < 0 && errno == ERANGE)
		r = 1; /* found; the value does not matter */
	map_close(&m);
	return r == 1;
}

int
cidr_list_has(const struct cidr_list *l, const char *ip)
{
	unsigned char a[16];
	int family;

	if (cidr_parse_addr(ip, &family, a) < 0)
		return -1;
	for (size_t i = 0; i < l->n; i++) {
		const struct cidr *c = &l->net[i];
		int hit;

		if (c->map >= 0) /* the address as the client has it */
			hit = map_has(l, c->map, ip);
		else
			hit = cidr_match(c, family, a);
		if (hit)
			return !c->neg;
	}
	return 0;
}
