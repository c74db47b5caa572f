/*
 * cidr.h - network address lists as mynetworks writes them (PURE: no I/O,
 * no globals, no logging): "127.0.0.0/8 [::1]/128 192.168.1.5, fe80::/10",
 * separated by commas and/or white space; an address without "/len" is a
 * single host; IPv6 may be written in brackets, "[addr]/len" or
 * "[addr/len]". An IPv4-mapped IPv6 client (::ffff:1.2.3.4) matches IPv4
 * entries. cidr_list_match takes networks only (other entries match
 * nothing and are counted); cidr_list_load (cidr_list.c, with I/O) also
 * takes "!entry", host names, /file/name, cidr:/file and type:table.
 */
#ifndef TINYMTA_CIDR_H
#define TINYMTA_CIDR_H

#include <stddef.h>

#define CIDR_ENTRY_MAX 64 /* one entry's text, "[v6]/128" fits easily */

struct cidr {
	int family; /* 4 or 6 */
	unsigned char addr[16];
	unsigned bits; /* prefix length */
	int neg;       /* cidr_list: a "!" entry (a match means not listed) */
	int map;       /* cidr_list: index into maps[], or -1 (a network) */
};

#define CIDR_LIST_MAX 256 /* entries after expansion */
#define CIDR_MAPS_MAX 4   /* type:table entries */

/* A mynetworks value expanded (cidr_list.c). */
struct cidr_list {
	size_t n, bad, nmaps;
	struct cidr net[CIDR_LIST_MAX]; /* in order: the first match wins */
	char maps[CIDR_MAPS_MAX][128];  /* "type:name" specs (map.c) */
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

/* Expand value (mynetworks syntax) into l: address/prefix and [v6]/prefix
 * entries; "!entry" excludes; a host name is resolved now (getaddrinfo:
 * every address, /32 or /128); "/file/name" holds more entries (commas,
 * white space, # comments; nested up to 3 deep); "cidr:/file" is a
 * Postfix CIDR table (the pattern column); any other "type:table" is
 * looked up with the client address as the key when matching (found: a
 * match). Unusable entries are logged (log_warn), match nothing and are
 * counted: returns that count. */
size_t cidr_list_load(struct cidr_list *l, const char *value);
/* 1 when ip is listed (the first matching entry decides: a "!" entry
 * says no), 0 when not, -1 when ip is not an address. */
int cidr_list_has(const struct cidr_list *l, const char *ip);

#endif
