/*
 * resolve.h - where a recipient address goes: virtual alias expansion
 * (virtual_alias_maps, virtual_alias_domains), local or remote
 * (mydestination), alias expansion (alias_maps: addresses, |command,
 * /file, :include:), local users (mailbox or home_mailbox), luser_relay and
 * tinymta_admin_address — with Postfix's semantics. Runs in qmgr as
 * mail_owner; the address comes from a queue file and the maps from the
 * configuration directory. Expansion is bounded in depth and breadth: a
 * loop bounces, it never spins.
 */
#ifndef TINYMTA_RESOLVE_H
#define TINYMTA_RESOLVE_H

#include <stddef.h>

#include "conf.h"
#include "qfile.h"

#define RESOLVE_MAX 64   /* final destinations of one recipient */
#define RESOLVE_DEPTH 10 /* nested expansions before "loop" */
#define RESOLVE_INCLUDE_MAX 65536

enum resolve_kind {
	RES_MAILBOX, /* target: mailbox path (or Maildir/ path), as user */
	RES_PIPE,    /* target: command, run as user */
	RES_FILE,    /* target: file path, appended to as user */
	RES_REMOTE,  /* addr: deliver by SMTP (relayhost or MX) */
	RES_BOUNCE,  /* dsn/reason: permanent failure */
	RES_DEFER,   /* dsn/reason: try again later */
};

struct resolved {
	enum resolve_kind kind;
	char user[64];                 /* run the delivery as this user */
	char addr[QFILE_ADDR_MAX + 1]; /* final address (Delivered-To) */
	char target[1024];             /* mailbox path, command or file */
	char dsn[8];                   /* "5.1.1" for RES_BOUNCE/RES_DEFER */
	char reason[QFILE_REASON_MAX]; /* why, for bounce and defer */
	/* Envelope sender of this delivery, "" = the message's: owner-NAME@
	 * myorigin when it came from expanding alias NAME and an alias
	 * owner-NAME exists (Postfix aliases(5); the innermost list wins).
	 * Its failures are reported to that owner, not to the sender. */
	char sender[QFILE_ADDR_MAX + 1];
};

/* Resolve rcpt into out[0..*n) (at most cap). Returns 0; every problem
 * (unknown user, loop, map error) is itself a RES_BOUNCE or RES_DEFER
 * entry. A map that cannot be read defers (4.3.0), never bounces. */
int resolve_rcpt(const struct conf *c, const char *rcpt, struct resolved *out,
                 size_t cap, size_t *n);

/* The domain a bare recipient name gets at submission (sendmail's
 * arguments, SMTP's <Postmaster>): myorigin when it is local
 * (mydestination), else myhostname when that is, else "localhost" — so
 * that a bare name never becomes a remote address (DESIGN.md: bare and
 * @localhost recipients never leave the box; the resolver keeps
 * @localhost local whatever mydestination says). Copied into out[cap];
 * 0, or -1 when it does not fit. */
int resolve_bare_domain(const struct conf *c, char *out, size_t cap);

/* 1 when domain is one of mydestination's (case-insensitive). */
int resolve_is_local_domain(const struct conf *c, const char *domain);

#endif
