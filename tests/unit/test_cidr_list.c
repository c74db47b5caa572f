/*
 * test_cidr_list.c - mynetworks expanded by cidr_list_load: networks and
 * [v6]/prefix, "!" exclusions (first match wins), /file/name pattern files
 * (comments, nesting, a file naming itself), cidr: tables, a host name
 * from /etc/hosts (localhost), unknown table types and missing files
 * counted as bad.
 */
#include "cidr.h"
#include "t.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/test_cidr_list.XXXXXX";

static void
put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	T_CHECK(f != NULL, "create %s", path);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static struct cidr_list l;

int
main(void)
{
	char value[2048], pat2[64], loop[64];
	size_t bad;
	static const struct {
		const char *ip;
		int want;
	} cases[] = {
	    {"10.1.1.1", 1},      {"10.9.1.1", 0},        {"192.0.2.7", 0},
	    {"192.0.2.8", 1},     {"2001:db8:1::1", 1},   {"2001:db9::1", 0},
	    {"198.51.100.9", 1},  {"203.0.113.5", 1},     {"203.0.113.6", 0},
	    {"127.0.0.1", 1},     {"::ffff:10.2.3.4", 1}, {"192.168.0.1", 0},
	    {"[2001:db8::5]", 1}, {"not-an-ip", -1},
	};

	if (!mkdtemp(dir))
		return 1;
	snprintf(pat2, sizeof pat2, "%s/pat2", dir);
	snprintf(loop, sizeof loop, "%s/loop", dir);
	put("pat", "# trusted networks\n10.0.0.0/8, !192.0.2.7\n"
	           "192.0.2.0/24 # the lab\n");
	put("pat2", "[2001:db8::]/32\n");
	put("tab", "198.51.100.0/24  OK\n  a continuation line\n"
	           "# comment\n203.0.113.5 REJECT\n");
	snprintf(value, sizeof value, "%s/loop\n", dir);
	put("loop", value); /* names itself: stops at the depth limit */
	snprintf(value, sizeof value,
	         "!10.9.0.0/16 %s/pat, %s cidr:%s/tab localhost nosuch:/x "
	         "%s/missing %s",
	         dir, pat2, dir, dir, loop);
	bad = cidr_list_load(&l, value);
	T_CHECK(bad == 3, "bad entries: %zu (nosuch:, missing, loop)", bad);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int r = cidr_list_has(&l, cases[i].ip);

		T_CHECK(r == cases[i].want, "%s: got %d, want %d", cases[i].ip,
		        r, cases[i].want);
	}
	bad = cidr_list_load(&l, "");
	T_CHECK(bad == 0 && l.n == 0 && cidr_list_has(&l, "127.0.0.1") == 0,
	        "empty list");
	bad = cidr_list_load(&l, "[2001:db8::]/32 [2001:db8::/32] 1.2.3.4/33");
	T_CHECK(bad == 1 && l.n == 2, "brackets both ways; /33 bad (%zu)", bad);
	for (size_t i = 0; i < 4; i++) {
		static const char *const names[] = {"pat", "pat2", "tab",
		                                    "loop"};

		snprintf(value, sizeof value, "%s/%s", dir, names[i]);
		unlink(value);
	}
	T_CHECK(rmdir(dir) == 0, "cleanup");
	return T_DONE();
}
