/*
 * rewrite_impl.h - what rewrite.c shares with rewrite_header.c: one parsed
 * address through one lookup table list, with or without masquerading.
 */
#ifndef TINYMTA_REWRITE_IMPL_H
#define TINYMTA_REWRITE_IMPL_H

#include <stddef.h>

#include "addr.h"
#include "conf.h"

#define RW_ADDR_FLAGS (ADDR_F_BARE | ADDR_F_UTF8 | ADDR_F_OBS)

/* in through the maps of parameter maps (NULL: none), then
 * masquerade_domains when masq. *out gets the result. 1 changed, 0 not,
 * -1 a map could not be read or gave a bad result (why says which). */
int rewrite_one(const struct conf *c, const char *maps, int masq,
                const struct addr *in, struct addr *out, char *why,
                size_t whylen);

/* 1 when domain is local for the "user" lookup: $myorigin, one of
 * $mydestination, or "" (a bare address). */
int rewrite_is_local(const struct conf *c, const char *domain);

#endif
