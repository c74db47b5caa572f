/*
 * test_master_anvil.c - the master's per-client limits: mynetworks
 * exemption (IPv4, IPv6, skipped entries), the rate window (reset after
 * 60 s, per service and client) and the bounded table's eviction.
 */
#include "master_anvil.h"
#include "t.h"

#include <arpa/inet.h>
#include <sys/socket.h>

static struct anvil_addr
addr(const char *s)
{
	struct anvil_addr a;

	memset(&a, 0, sizeof a);
	a.family = strchr(s, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(a.family, s, a.a) != 1)
		a.family = -1;
	return a;
}

static void
test_exempt(void)
{
	static struct anvil_policy p;
	struct anvil_addr a;
	size_t skipped =
	    master_anvil_nets(&p, "127.0.0.0/8, [::1]/128 nosuch:/etc/x "
	                          "192.0.2.0/25 [junk]");

	T_CHECK(skipped == 2 && p.nets.n == 3, "skipped %zu, kept %zu", skipped,
	        p.nets.n);
	a = addr("127.9.9.9");
	T_CHECK(master_anvil_exempt(&p, &a), "127.9.9.9");
	a = addr("::1");
	T_CHECK(master_anvil_exempt(&p, &a), "::1");
	a = addr("::2");
	T_CHECK(!master_anvil_exempt(&p, &a), "::2");
	a = addr("192.0.2.127");
	T_CHECK(master_anvil_exempt(&p, &a), "192.0.2.127");
	a = addr("192.0.2.128");
	T_CHECK(!master_anvil_exempt(&p, &a), "192.0.2.128");
	master_anvil_nets(&p, "");
	a = addr("127.0.0.1");
	T_CHECK(p.nets.n == 0 && !master_anvil_exempt(&p, &a), "empty list");
}

static void
test_rate(void)
{
	static struct anvil_rate t[4];
	struct anvil_addr a = addr("192.0.2.1"), b = addr("2001:db8::1");

	master_anvil_rate_clear(t, 4);
	T_CHECK(master_anvil_rate(t, 4, 0, &a, 1000) == 1, "first");
	T_CHECK(master_anvil_rate(t, 4, 0, &a, 1030) == 2, "second");
	T_CHECK(master_anvil_rate(t, 4, 1, &a, 1030) == 1, "other service");
	T_CHECK(master_anvil_rate(t, 4, 0, &b, 1030) == 1, "other client");
	T_CHECK(master_anvil_rate(t, 4, 0, &a, 1059) == 3, "same window");
	T_CHECK(master_anvil_rate(t, 4, 0, &a, 1060) == 1, "new window");
	/* full table: the oldest pair is dropped, the table stays bounded */
	for (int i = 0; i < 10; i++) {
		struct anvil_addr c = addr("198.51.100.1");

		c.a[3] = (unsigned char)i;
		T_CHECK(master_anvil_rate(t, 4, 0, &c, 1061 + i) == 1, "new %d",
		        i);
	}
	T_CHECK(master_anvil_rate(t, 4, 0, &a, 1071) == 1, "evicted: anew");
}

/* The AUTH failure count: peek does not count (master_ctl auth-count). */
static void
test_peek(void)
{
	static struct anvil_rate t[4];
	struct anvil_addr a = addr("192.0.2.1"), b = addr("192.0.2.2");

	master_anvil_rate_clear(t, 4);
	T_CHECK(master_anvil_peek(t, 4, 0, &a, 1000) == 0, "unknown: 0");
	master_anvil_rate(t, 4, 0, &a, 1000);
	master_anvil_rate(t, 4, 0, &a, 1010);
	T_CHECK(master_anvil_peek(t, 4, 0, &a, 1020) == 2, "two");
	T_CHECK(master_anvil_peek(t, 4, 0, &a, 1020) == 2, "still two");
	T_CHECK(master_anvil_peek(t, 4, 0, &b, 1020) == 0, "other client");
	T_CHECK(master_anvil_peek(t, 4, 0, &a, 1059) == 2, "window end - 1");
	T_CHECK(master_anvil_peek(t, 4, 0, &a, 1060) == 0, "window over");
	T_CHECK(master_anvil_peek(t, 4, 0, &a, 999) == 0, "clock went back");
}

int
main(void)
{
	test_exempt();
	test_rate();
	test_peek();
	return T_DONE();
}
