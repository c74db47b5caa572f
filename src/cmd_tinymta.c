/*
 * cmd_tinymta.c - `tinymta COMMAND …` dispatch (the postfix(1) command).
 * Runs as the invoking user. A table lists the commands; the usage text is
 * generated from it and from applets.def.
 */
#include "applets.h"
#include "cmd_tinymta.h"

#include <stdio.h>
#include <string.h>

static const struct command {
	const char *name;
	int (*main)(int, char **);
	const char *usage;
} commands[] = {
    {"start", tinymta_start_main,
     "start [-v]           start the mail system in the background"},
    {"start-fg", tinymta_start_fg_main,
     "start-fg [-v]        run in the foreground, logging to the console"},
    {"stop", tinymta_stop_main,
     "stop                 stop the mail system (running deliveries end)"},
    {"reload", tinymta_reload_main,
     "reload               re-read the configuration (a broken one: 78)"},
    {"status", tinymta_status_main,
     "status [--json]      is it running? (exit 3 when not)"},
    {"flush", tinymta_flush_main,
     "flush                retry all deferred mail now"},
    {"check", tinymta_check_main,
     "check [--json]       check main.cf and master.cf; exit 78 on errors"},
    {"dnsq", tinymta_dnsq_main,
     "dnsq mx|addr NAME    look up NAME as the smtp client does (diagnostics)"},
    {"passwd", tinymta_passwd_main,
     "passwd [--admin] USER set a password for SMTP AUTH (read twice)\n"
     "  passwd -d USER       remove a user of SMTP AUTH"},
    {"relay-password", tinymta_relay_password_main,
     "relay-password HOST USER\n"
     "                       the relayhost login (password on stdin)"},
    {"test-relay", tinymta_test_relay_main,
     "test-relay [--json] [-o N=V] [--to ADDR] [--data] [--user U]\n"
     "                       try the relay settings now (transcript, verdict)"},
    {"gencert", tinymta_gencert_main,
     "gencert [-f] [-d DAYS] [-n NAME] [CERT KEY]\n"
     "                       a self-signed ECDSA certificate for smtpd"},
    {"cgi", tinymta_cgi_main,
     "cgi                  the web UI (run by BusyBox httpd, as a CGI)"},
    {"pickup", tinymta_pickup_main, NULL},
    {"qmgr", tinymta_qmgr_main, NULL},
    {"local", tinymta_local_main, NULL},
    {"smtpd", tinymta_smtpd_main, NULL},
    {"smtp", tinymta_smtp_main, NULL},
    {"pop3d", tinymta_pop3d_main, NULL},
    {"pop3d-mailbox", tinymta_pop3d_mailbox_main, NULL},
};

static void
usage(FILE *f)
{
	applets_usage(f);
	fprintf(f, "Commands of tinymta (also linked as postfix):\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (commands[i].usage) /* NULL: a role the master starts */
			fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f, "  --version            print the version\n"
	           "Configuration directory: -c DIR, $TINYMTA_CONFIG_DIR, "
	           "$MAIL_CONFIG, else /etc/tinymta.\n");
}

int
applet_tinymta_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 64;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("tinymta %s\n", TINYMTA_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].main(argc - 1, argv + 1);
	fprintf(stderr, "tinymta: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 64;
}
