/*
 * smtpd_relay.h - relay control for smtpd: what kind of destination a
 * recipient is (mydestination, virtual_alias_domains, relay_domains, or
 * elsewhere) and the verdict of smtpd_relay_restrictions (Postfix's
 * permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination,
 * defer_unauth_destination, permit, reject; the end of the list permits).
 */
#ifndef TINYMTA_SMTPD_RELAY_H
#define TINYMTA_SMTPD_RELAY_H

#include <stddef.h>

#include "addr.h"
#include "conf.h"

enum relay_dest {
	RELAY_DEST_LOCAL,   /* mydestination, or "<Postmaster>" */
	RELAY_DEST_VIRTUAL, /* virtual_alias_domains */
	RELAY_DEST_RELAY,   /* relay_domains (or a subdomain) */
	RELAY_DEST_OTHER    /* anything else: needs relay permission */
};

enum relay_verdict {
	RELAY_PERMIT,
	RELAY_REJECT, /* 554 5.7.1 Relay access denied */
	RELAY_DEFER,  /* 454 4.7.1 Relay access denied */
	RELAY_CONFIG  /* 451 4.3.5 Server configuration error */
};

struct relay_client {
	int mynetworks; /* the client address is in mynetworks */
	int sasl;       /* authenticated (the AUTH issue) */
};

/* Classify a parsed recipient. Sender-specified routing never makes a
 * destination authorized: a local part holding '@', '%' or '!' (quoted
 * "a@b"@here, the %-hack, bang paths) and address literals ([1.2.3.4]) are
 * RELAY_DEST_OTHER. *err is set to 1 when a map in a domain list could not
 * be read (the caller defers). */
enum relay_dest smtpd_relay_dest(const struct conf *c, const struct addr *a,
                                 int *err);
/* 1 when domain is in the list value of parameter param: an exact entry,
 * a parent domain (Postfix's parent_domain_matches_subdomains), ".domain"
 * for subdomains only, or a key of a type:table entry. 0 not, -1 error. */
int smtpd_relay_domain_in(const struct conf *c, const char *param,
                          const char *domain);
/* Walk smtpd_relay_restrictions (restrictions) for a recipient whose
 * destination is authorized (auth_dest) or not. An unknown restriction is
 * RELAY_CONFIG, its name copied into bad[cap]. */
enum relay_verdict smtpd_relay_check(const char *restrictions,
                                     const struct relay_client *cl,
                                     int auth_dest, char *bad, size_t cap);

#endif
