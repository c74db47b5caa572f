/*
 * master_anvil.h - per-client connection limits kept by the master, with
 * Postfix's anvil semantics: smtpd_client_connection_count_limit (current
 * sessions of one client on one service) and
 * smtpd_client_connection_rate_limit (connections of one client to one
 * service per 60-second window, counted from the window's first
 * connection). Clients in mynetworks are exempt, as Postfix's
 * smtpd_client_event_limit_exceptions = $mynetworks, expanded by
 * cidr_list_load (host names resolved, files and tables read when the
 * configuration is read). The rest: no I/O, no logging.
 */
#ifndef TINYMTA_MASTER_ANVIL_H
#define TINYMTA_MASTER_ANVIL_H

#include <stddef.h>
#include <time.h>

#include "cidr.h"

#define ANVIL_RATE_CLIENTS 512 /* (service, client) pairs tracked */
#define ANVIL_RATE_WINDOW 60   /* seconds: Postfix's anvil_rate_time_unit */

/* A client or network address: family AF_INET (4 bytes used) or AF_INET6. */
struct anvil_addr {
	int family;
	unsigned char a[16];
};

struct anvil_policy {
	long count_limit;      /* 0: none */
	long rate_limit;       /* 0: none */
	struct cidr_list nets; /* mynetworks */
};

struct anvil_rate {
	int svc; /* -1: free slot */
	struct anvil_addr addr;
	time_t start;
	unsigned long count;
};

/* Expand a mynetworks value into p->nets (cidr_list_load: networks, "!",
 * host names, /file/name, cidr: and type:table). Unusable entries are
 * logged and counted in the result. */
size_t master_anvil_nets(struct anvil_policy *p, const char *list);
/* 1 when a is listed in p's mynetworks. */
int master_anvil_exempt(const struct anvil_policy *p,
                        const struct anvil_addr *a);
/* Count one connection of a to service svc at now; returns the number of
 * connections in the current window, this one included. */
unsigned long master_anvil_rate(struct anvil_rate *t, size_t n, int svc,
                                const struct anvil_addr *a, time_t now);
/* The count of (svc, a) in its current window, without counting (0 when
 * unknown or expired). */
unsigned long master_anvil_peek(const struct anvil_rate *t, size_t n, int svc,
                                const struct anvil_addr *a, time_t now);
/* Empty the rate table. */
void master_anvil_rate_clear(struct anvil_rate *t, size_t n);
/* 1 when a and b are the same address. */
int master_anvil_same(const struct anvil_addr *a, const struct anvil_addr *b);

#endif
