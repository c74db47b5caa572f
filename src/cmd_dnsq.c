/*
 * cmd_dnsq.c - `tinymta dnsq [-v] mx|addr NAME`: look NAME up as the smtp
 * client does (dns.h) and print one line per record, "mx PREF HOST" or
 * "addr IP". Exit 0 found, 67 not found ("notfound nxdomain" or
 * "notfound nodata" for mx, "notfound" for addr), 69 null MX ("nullmx"),
 * 75 temporary failure ("tempfail"); the reason goes to standard error.
 * Diagnostics for people and the integration tests; runs as the invoking
 * user; the DNS replies are untrusted (parsed by dns_parse.c).
 */
#include "cmd_tinymta.h"
#include "conf.h"
#include "dns.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static int
status_exit(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return 0;
	case DNS_NOTFOUND:
		return 67;
	case DNS_NULLMX:
		return 69;
	default:
		return 75;
	}
}

static int
do_mx(const char *name)
{
	struct dns_mx mx[DNS_MX_MAX];
	size_t n = 0;
	int nx = 0;
	char why[512] = "";
	enum dns_status st =
	    dns_mx(name, mx, DNS_MX_MAX, &n, &nx, why, sizeof why);

	for (size_t i = 0; st == DNS_OK && i < n; i++)
		printf("mx %u %s\n", mx[i].pref, mx[i].host);
	if (st == DNS_NOTFOUND)
		printf("notfound %s\n", nx ? "nxdomain" : "nodata");
	else if (st == DNS_NULLMX)
		printf("nullmx\n");
	else if (st == DNS_TEMPFAIL)
		printf("tempfail\n");
	if (st != DNS_OK)
		fprintf(stderr, "dnsq: %s\n", why);
	return status_exit(st);
}

/* inet_protocols from main.cf (defaults when it cannot be read). */
static void
protocols(char *out, size_t cap)
{
	struct conf *c = conf_new(NULL);
	struct conf_problems *ps = conf_problems_new();
	const char *v = NULL;

	if (c && ps) {
		(void)conf_load(c, ps); /* refused values keep their default */
		v = conf_get(c, "inet_protocols");
	}
	snprintf(out, cap, "%s", v ? v : "all");
	conf_problems_free(ps);
	conf_free(c);
}

static int
do_addr(const char *name)
{
	struct dns_addr a[DNS_ADDR_MAX];
	size_t n = 0;
	char why[512] = "", protos[64], text[INET6_ADDRSTRLEN];
	enum dns_status st;

	protocols(protos, sizeof protos);
	st = dns_addrs(name, protos, a, DNS_ADDR_MAX, &n, why, sizeof why);
	for (size_t i = 0; st == DNS_OK && i < n; i++) {
		const void *p =
		    a[i].sa.ss_family == AF_INET
		        ? (const void *)&(
		              (struct sockaddr_in *)(void *)&a[i].sa)
		              ->sin_addr
		        : (const void *)&(
		              (struct sockaddr_in6 *)(void *)&a[i].sa)
		              ->sin6_addr;

		if (inet_ntop(a[i].sa.ss_family, p, text, sizeof text))
			printf("addr %s\n", text);
	}
	if (st != DNS_OK) {
		printf("%s\n", st == DNS_NOTFOUND ? "notfound" : "tempfail");
		fprintf(stderr, "dnsq: %s\n", why);
	}
	return status_exit(st);
}

int
tinymta_dnsq_main(int argc, char **argv)
{
	int i = 1;

	log_init("dnsq", LOG_TO_STDERR);
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		log_set_verbose(1);
		i++;
	}
	if (argc - i != 2) {
		fputs("usage: tinymta dnsq [-v] mx|addr NAME\n", stderr);
		return 64;
	}
	if (strcmp(argv[i], "mx") == 0)
		return do_mx(argv[i + 1]);
	if (strcmp(argv[i], "addr") == 0)
		return do_addr(argv[i + 1]);
	fputs("usage: tinymta dnsq [-v] mx|addr NAME\n", stderr);
	return 64;
}
