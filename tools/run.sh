#!/bin/sh
# make run: a development instance under ./run/ in the foreground, logging
# every step to the console (tinymta start-fg -v). Ctrl-C stops it.
#   run/etc   configuration (main.cf, master.cf, aliases), made once
#   SMTP on 127.0.0.1:2525 (smtp) and 127.0.0.1:2587 (submission)
#   run/spool queue        run/mail  mailboxes (mail_spool_directory)
# As root, the mail_owner user "tinymta" is created when missing; as any
# other user everything runs as that user. Try, from another terminal:
#   echo hello | build/bin/sendmail -C run/etc $(id -un)
#   TINYMTA_CONFIG_DIR=run/etc build/bin/mailq
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
R=$TOP/run
mkdir -p "$R/etc" "$R/mail"
chmod 1777 "$R/mail"
if [ "$(id -u)" = 0 ] && ! id tinymta >/dev/null 2>&1; then
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin tinymta
fi
if [ ! -f "$R/etc/main.cf" ]; then
	cat >"$R/etc/main.cf" <<CF
# Development configuration written by tools/run.sh (make run).
queue_directory = $R/spool
mail_spool_directory = $R/mail
myhostname = localhost.localdomain
alias_maps = cdb:\$config_directory/aliases
alias_database = cdb:\$config_directory/aliases
minimal_backoff_time = 10s
maximal_backoff_time = 60s
queue_run_delay = 10s
CF
	me=${SUDO_USER:-$(id -un)}
	# Mail for root goes to the developer (never delivered as root).
	{ cat conf/aliases; [ "$me" = root ] || echo "root: $me"; } \
		>"$R/etc/aliases"
fi
# The listeners of DESIGN.md's "make run" ports on 127.0.0.1. Written when
# missing, or when it is still the device copy of an older make run (whose
# port 25 needs root and is the host's own). POP3 comes with its issue.
if [ ! -f "$R/etc/master.cf" ] || cmp -s conf/master.cf "$R/etc/master.cf"; then
	cat >"$R/etc/master.cf" <<'CF'
# Development listeners written by tools/run.sh (make run); see
# conf/master.cf for the device's services.
127.0.0.1:2525 inet n - n - - smtpd
127.0.0.1:2587 inet n - n - - smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
CF
fi
chmod 755 "$TOP" "$R" "$R/etc" 2>/dev/null || true
build/tinymta -c "$R/etc" newaliases
echo "tinymta: development instance; config $R/etc, queue $R/spool, mail $R/mail"
echo "tinymta: try: echo hi | TINYMTA_CONFIG_DIR=$R/etc $TOP/build/bin/sendmail \$(id -un)"
echo "tinymta: SMTP on 127.0.0.1:2525 (smtp) and 127.0.0.1:2587 (submission)"
exec build/tinymta -c "$R/etc" start-fg -v
