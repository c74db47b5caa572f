/*
 * sasl.h - SMTP AUTH in smtpd (RFC 4954): the PLAIN (RFC 4616) and LOGIN
 * exchanges, password verification against the tinymta_sasl_users CDB
 * (crypt(3) hashes, compared in constant time; an unknown user costs the
 * same hash as a known one), the per-client failure limit
 * (smtpd_client_auth_rate_limit, counted by the master over the control
 * socket) and smtpd_sender_login_maps. The wire decoding is sasl_decode.c.
 */
#ifndef TINYMTA_SASL_H
#define TINYMTA_SASL_H

#include "addr.h"
#include "smtpd.h"

/* 1 when EHLO offers "AUTH PLAIN LOGIN": smtpd_sasl_auth_enable, not
 * sendmail -bs, and TLS when smtpd_tls_auth_only. */
int sasl_offered(const struct smtpd *s);

/* The AUTH verb for smtpd_cmd.c's table: the check (503/538/501/504
 * replies, no side effects) and the exchange. */
int sasl_check(struct smtpd *s, const struct smtp_cmd *c);
void sasl_auth(struct smtpd *s, const struct smtp_cmd *c);

/* MAIL FROM of an authenticated client when smtpd_sender_login_maps is
 * set: the sender must be owned by the login (map: address or @domain ->
 * logins, comma separated). 0 accepted, -1 rejected (replied 553, or 451
 * when a map cannot be read). The null sender is accepted. */
int sasl_sender_check(struct smtpd *s, const struct addr *sender);

/* Check user/pass against the users map spec ("cdb:FILE" or FILE, read
 * from FILE.cdb). 1 good, 0 bad (unknown user, wrong password, no such
 * map), -1 the map could not be read (errno). */
int sasl_verify(const char *spec, const char *user, const char *pass);
/* The same, and the entry must carry the admin flag (tinymta passwd
 * --admin): the web UI's login. */
int sasl_verify_admin(const char *spec, const char *user, const char *pass);

#endif
