/*
 * conf_secrets.h - warnings about files holding secrets that others than
 * root and mail_owner can read (tinymta check).
 */
#ifndef TINYMTA_CONF_SECRETS_H
#define TINYMTA_CONF_SECRETS_H

#include "conf.h"

/* Add a warning to ps for each such file named by c. */
void conf_check_secrets(const struct conf *c, struct conf_problems *ps);

#endif
