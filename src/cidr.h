/*
 * cidr.h - network address lists as mynetworks writes them (PURE: no I/O,
 * no globals, no logging): "127.0.0.0/8 [::1]/128 192.168.1.5, fe80::/10",
 * separated by commas and/or white space; an address without "/len" is a
 * single host; IPv6 may be written in brackets, "[addr]/len" or
 * "[addr/len]". An IPv4-mapped IPv6 client (::ffff:1.2.3.4) matches IPv4
 * entries. Entries that are not networks (host names, type:table maps) are
 * not supported in this version: they match nothing and are counted.
 */
#ifndef TINYMTA_CIDR_H
#define TINYMTA_CIDR_H

#include <stddef.h>

#define CIDR_ENTRY_MAX 64 /* one entry's text, "[v6]/128" fits easily */

struct cidr {
	int family; /* 4 or 6 */
	unsigned char addr[16];
	unsigned bits; /* prefix length */
};

/* Parse one entry s[0..len). 0, or -1 when it is not a network (or the
 * bits under the prefix are not all zero in a way Postfix refuses: we
 * accept them and mask, as most users mean the network). */
int cidr_parse(const char *s, size_t len, struct cidr *out);
/* Parse a client address (dotted quad or IPv6, optionally in brackets)
 * into family/addr. 0 or -1. */
int cidr_parse_addr(const char *s, int *family, unsigned char addr[16]);
/* 1 when the address is inside the network. */
int cidr_match(const struct cidr *n, int family, const unsigned char addr[16]);
/* 1 when client address ip matches an entry of list, 0 when not, -1 when
 * ip is not an address. *bad (may be NULL) counts unusable entries. */
int cidr_list_match(const char *list, const char *ip, size_t *bad);

#endif
