/*
 * qmgr_route.h - the next hop of a remote recipient (docs/processes.md
 * "Routing"): transport_maps, then sender_dependent_relayhost_maps, then
 * relayhost, then the recipient's domain (MX). Runs in qmgr as
 * mail_owner; the maps come from the configuration directory.
 */
#ifndef TINYMTA_QMGR_ROUTE_H
#define TINYMTA_QMGR_ROUTE_H

#include <stddef.h>

#include "conf.h"

enum qroute {
	QR_SMTP,   /* nexthop[] holds the destination for `tinymta smtp` */
	QR_BOUNCE, /* transport error:TEXT, or an unusable entry: why[] */
	QR_DEFER,  /* a map could not be read, transport retry:TEXT: why[] */
};

/* Route rcpt (user@domain, from the resolver) sent by sender ("" = null
 * sender). transport_maps as Postfix's transport(5) for the smtp and
 * relay transports: keys user@domain, domain, then .parent domains (and
 * "*"); "smtp:[host]:port" gives the next hop, "smtp:" (empty) the
 * default one, "error:TEXT" bounces, "retry:TEXT" defers; any other
 * transport is deferred as not supported. sender_dependent_relayhost_maps
 * keys: the sender address, then @domain ("<>" for the null sender). */
enum qroute qmgr_route(const struct conf *c, const char *sender,
                       const char *rcpt, char *nexthop, size_t cap, char *why,
                       size_t whycap);

#endif
