/*
 * conf_default.c - the defaults Postfix computes at run time: myhostname
 * (gethostname()), mydomain (from $myhostname), mynetworks (from
 * mynetworks_style and this host's addresses) and config_directory (see
 * conf.h, CONF_F_COMPUTED). Runs in every role with its privileges; reads
 * the host name and interface list, and main.cf values already checked.
 */
#include "conf_impl.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEF_MYDOMAIN "localdomain"

/* Postfix's check_myhostname(): the kernel's name, with a domain added
 * when it has none ($mydomain when set, else localdomain). */
static void
host_into(const struct conf *c, char *out, size_t cap)
{
	char name[CONF_HOST_MAX];
	const char *dom = c->raw[conf_index(conf_param_find("mydomain"))];

	if (gethostname(name, sizeof name) < 0 || name[0] == '\0')
		(void)str_copy(name, sizeof name, "localhost");
	name[sizeof name - 1] = '\0'; /* POSIX leaves truncation unended */
	if (strchr(name, '.')) {
		(void)str_copy(out, cap, name);
		return;
	}
	if (snprintf(out, cap, "%s.%s", name,
	             dom ? "$mydomain" : DEF_MYDOMAIN) < 0)
		(void)str_copy(out, cap, name);
}

/* Postfix's check_mydomainname(): $myhostname without its first label,
 * unless that leaves fewer than two labels. */
static void
domain_into(const struct conf *c, char *out, size_t cap)
{
	const char *raw = c->raw[conf_index(conf_param_find("myhostname"))];
	char text[CONF_HOST_MAX], host[CONF_HOST_MAX];
	struct conf_xinfo xi;
	const char *dot;

	if (raw)
		(void)str_copy(text, sizeof text, raw);
	else
		host_into(c, text, sizeof text);
	/* mydomain is on the expansion stack: a path back to it fails. */
	if (conf_expand(c, "mydomain", text, host, sizeof host, &xi) < 0 ||
	    !(dot = strchr(host, '.')) || !strchr(dot + 1, '.')) {
		(void)str_copy(out, cap, DEF_MYDOMAIN);
		return;
	}
	(void)str_copy(out, cap, dot + 1);
}

/* Whether word appears in the list value of name (or its default). */
static int
listed(const struct conf *c, const char *name, const char *word)
{
	const struct conf_param *p = conf_param_find(name);
	const char *cur = c->raw[conf_index(p)];
	char elem[128];

	if (!cur)
		cur = p->def;
	while (conf_list_next(&cur, elem, sizeof elem))
		if (str_eq_nocase(elem, word))
			return 1;
	return 0;
}

static void
add_net(char *out, size_t cap, const char *net)
{
	const char *cur = out;
	char elem[INET6_ADDRSTRLEN + 8];
	size_t have = strlen(out);

	while (conf_list_next(&cur, elem, sizeof elem))
		if (strcmp(elem, net) == 0)
			return;
	if (have + 1 + strlen(net) >= cap)
		return; /* a full list stays well-formed */
	if (have)
		(void)str_append(out, cap, " ");
	(void)str_append(out, cap, net);
}

/* Prefix length of the network an address belongs to, by style. */
static int
prefix_of(const struct ifaddrs *ifa, const char *style)
{
	const struct sockaddr *nm = ifa->ifa_netmask;
	int bits = 0;
	const unsigned char *m;
	size_t n;

	if (ifa->ifa_addr->sa_family == AF_INET) {
		if (strcmp(style, "host") == 0)
			return 32;
		if (strcmp(style, "class") == 0) {
			const struct sockaddr_in *a =
			    (const struct sockaddr_in *)ifa->ifa_addr;
			unsigned first = ntohl(a->sin_addr.s_addr) >> 24;

			return first < 128 ? 8 : first < 192 ? 16 : 24;
		}
		m = (const unsigned char *)&((const struct sockaddr_in *)nm)
		        ->sin_addr;
		n = 4;
	} else {
		if (strcmp(style, "host") == 0)
			return 128;
		m = (const unsigned char *)&((const struct sockaddr_in6 *)nm)
		        ->sin6_addr;
		n = 16;
	}
	for (size_t i = 0; i < n; i++)
		bits += __builtin_popcount(m[i]);
	return bits;
}

/* The address of ifa masked to bits, as "a.b.c.d/n" or "[x::y]/n". */
static int
net_text(const struct ifaddrs *ifa, int bits, char *out, size_t cap)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	int fam = ifa->ifa_addr->sa_family;
	size_t n = fam == AF_INET ? 4 : 16;

	if (fam == AF_INET)
		memcpy(a,
		       &((const struct sockaddr_in *)ifa->ifa_addr)->sin_addr,
		       4);
	else
		memcpy(a,
		       &((const struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr,
		       16);
	for (size_t i = 0; i < n; i++) {
		int keep = bits - (int)(8 * i);

		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (unsigned char)(0xff << (8 - keep));
	}
	if (!inet_ntop(fam, a, text, sizeof text))
		return -1;
	return snprintf(out, cap, fam == AF_INET ? "%s/%d" : "[%s]/%d", text,
	                bits) < 0
	           ? -1
	           : 0;
}

/* Whether inet_interfaces lets this address be ours. */
static int
usable(const struct conf *c, const struct ifaddrs *ifa, int v4, int v6)
{
	char text[INET6_ADDRSTRLEN];
	const void *a;
	int fam;

	if (!ifa->ifa_addr || !ifa->ifa_netmask ||
	    (ifa->ifa_flags & IFF_LOOPBACK) || !(ifa->ifa_flags & IFF_UP))
		return 0;
	fam = ifa->ifa_addr->sa_family;
	if (!((fam == AF_INET && v4) || (fam == AF_INET6 && v6)))
		return 0;
	if (fam == AF_INET6 &&
	    IN6_IS_ADDR_LINKLOCAL(
	        &((const struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr))
		return 0;
	if (listed(c, "inet_interfaces", "all"))
		return 1;
	a = fam == AF_INET
	        ? (const void *)&((const struct sockaddr_in *)ifa->ifa_addr)
	              ->sin_addr
	        : (const void *)&((const struct sockaddr_in6 *)ifa->ifa_addr)
	              ->sin6_addr;
	return inet_ntop(fam, a, text, sizeof text) &&
	       listed(c, "inet_interfaces", text);
}

/* Postfix's mynetworks(): the loopback networks, and with any
 * inet_interfaces but loopback-only, this host's addresses per style. */
static void
networks_into(const struct conf *c, char *out, size_t cap)
{
	const char *style =
	    c->raw[conf_index(conf_param_find("mynetworks_style"))];
	int all = listed(c, "inet_protocols", "all");
	int v4 = all || listed(c, "inet_protocols", "ipv4");
	int v6 = all || listed(c, "inet_protocols", "ipv6");
	struct ifaddrs *list, *ifa;
	char net[INET6_ADDRSTRLEN + 8];

	out[0] = '\0';
	if (!style || strchr(style, '$'))
		style = "host";
	if (v4)
		add_net(out, cap, "127.0.0.0/8");
	if (v6) {
		add_net(out, cap, "[::ffff:127.0.0.0]/104");
		add_net(out, cap, "[::1]/128");
	}
	if (listed(c, "inet_interfaces", "loopback-only") ||
	    getifaddrs(&list) < 0)
		return; /* no interface list: the loopback networks only */
	for (ifa = list; ifa; ifa = ifa->ifa_next)
		if (usable(c, ifa, v4, v6) &&
		    net_text(ifa, prefix_of(ifa, style), net, sizeof net) == 0)
			add_net(out, cap, net);
	freeifaddrs(list);
}

const char *
conf_computed(const struct conf *c, size_t idx)
{
	const char *name = conf_params[idx].name;

	if (strcmp(name, "config_directory") == 0)
		return c->dir;
	if (strcmp(name, "myhostname") == 0) {
		host_into(c, c->s->host, sizeof c->s->host);
		return c->s->host;
	}
	if (strcmp(name, "mydomain") == 0) {
		domain_into(c, c->s->domain, sizeof c->s->domain);
		return c->s->domain;
	}
	if (strcmp(name, "mynetworks") == 0) {
		networks_into(c, c->s->nets, sizeof c->s->nets);
		return c->s->nets;
	}
	return conf_params[idx].def;
}
