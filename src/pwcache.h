/*
 * pwcache.h - getpwnam with a memory of its last answers (found or not),
 * good while /etc/passwd is the same file with the same size and times:
 * one stat instead of reading the file for every recipient (smtpd checks
 * each RCPT, qmgr routes each recipient). A changed file (useradd,
 * userdel, an edit) empties the memory.
 */
#ifndef TINYMTA_PWCACHE_H
#define TINYMTA_PWCACHE_H

#include <pwd.h>

#define PWCACHE_ENTRIES 8
#define PWCACHE_PATH "/etc/passwd" /* the file musl's getpwnam reads */

/* As getpwnam(3): the entry, valid until the next call, or NULL (errno 0:
 * no such user). Names and fields too long to keep are looked up every
 * time. */
const struct passwd *pwcache_getpwnam(const char *name);
/* Forget every answer (tests; after a reload nothing needs it). */
void pwcache_reset(void);

#endif
