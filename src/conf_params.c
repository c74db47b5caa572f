/*
 * conf_params.c - the one table of main.cf parameters (see conf.h). Every
 * consumer reads it: the main.cf parser and checks, the typed getters,
 * `postconf -d`, `postconf --json`, `tinymta check`. Postfix's defaults
 * unless a row says CONF_F_DIFFERS (then .postfix holds Postfix's).
 * Constant data only; no I/O, no untrusted input.
 */
#include "conf.h"

#include <string.h>

#define MIN_ 60LL
#define HOUR_ (60 * MIN_)
#define DAY_ (24 * HOUR_)
#define TB_ (1024LL * 1024 * 1024 * 1024)

/* One macro per type keeps every row on a few lines. */
// clang-format off
#define S(n, d, f, pf, h) {n, CONF_T_STRING, d, NULL, 0, 0, 0, f, h, pf}
#define I(n, d, lo, hi, f, pf, h) {n, CONF_T_INT, d, NULL, lo, hi, 0, f, h, pf}
#define T(n, d, u, lo, hi, f, h) {n, CONF_T_TIME, d, NULL, lo, hi, u, f, h, NULL}
#define Z(n, d, lo, hi, h) {n, CONF_T_SIZE, d, NULL, lo, hi, 0, 0, h, NULL}
#define B(n, d, f, pf, h) {n, CONF_T_BOOL, d, NULL, 0, 0, 0, f, h, pf}
#define L(n, d, v, f, pf, h) {n, CONF_T_LIST, d, v, 0, 0, 0, f, h, pf}
#define M(n, d, f, pf, h) {n, CONF_T_MAP, d, NULL, 0, 0, 0, f, h, pf}
#define E(n, d, v, f, pf, h) {n, CONF_T_ENUM, d, v, 0, 0, 0, f, h, pf}
// clang-format on

#define RESTART CONF_F_RESTART
#define DIFFERS CONF_F_DIFFERS
#define COMPUTED CONF_F_COMPUTED

#define RELAY_RESTRICTIONS                                                     \
	"permit_mynetworks|permit_sasl_authenticated|"                         \
	"reject_unauth_destination|defer_unauth_destination|permit|reject"
#define DELIVERY_SOURCES "alias|forward|include"

const struct conf_param conf_params[] = {
    /* identity and routing */
    S("config_directory", "", COMPUTED | RESTART, NULL,
      "the configuration directory (tinymta -c DIR, $TINYMTA_CONFIG_DIR, "
      "$MAIL_CONFIG, else /etc/tinymta)"),
    S("mail_name", "tinymta", DIFFERS, "Postfix",
      "the mail system's name in smtpd_banner and in bounces"),
    S("myhostname", "", COMPUTED, NULL,
      "this host's fully qualified name (default: gethostname(), "
      "with .$mydomain added when it has no dot)"),
    S("mydomain", "", COMPUTED, NULL,
      "this host's domain (default: $myhostname without its first "
      "label, or localdomain)"),
    S("myorigin", "$myhostname", 0, NULL,
      "the domain added to unqualified addresses of local senders"),
    L("mydestination", "$myhostname, localhost.$mydomain, localhost", NULL, 0,
      NULL, "domains delivered locally"),
    L("mynetworks", "", NULL, COMPUTED, NULL,
      "trusted clients, address/prefix (default: from mynetworks_style)"),
    E("mynetworks_style", "host", "host|subnet|class", 0, NULL,
      "how the default mynetworks is derived from this host's addresses"),
    L("inet_interfaces", "loopback-only", NULL, DIFFERS | RESTART, "all",
      "addresses to listen on: all, loopback-only, or a list"),
    L("inet_protocols", "all", "all|ipv4|ipv6", RESTART, NULL,
      "address families to use: all, ipv4, ipv6"),
    L("relay_domains", "", NULL, 0, NULL,
      "destinations relayed for any client"),
    S("relayhost", "", 0, NULL,
      "next hop for non-local mail, [host]:port; empty: MX delivery"),
    L("smtp_fallback_relay", "", NULL, 0, NULL,
      "next hops to try when the first one fails"),
    M("transport_maps", "", 0, NULL,
      "lookup tables: recipient domain to transport:nexthop"),
    M("sender_dependent_relayhost_maps", "", 0, NULL,
      "lookup tables: sender address or @domain to a relayhost"),
    S("smtp_helo_name", "$myhostname", 0, NULL,
      "the name the smtp client sends in EHLO"),
    S("smtpd_banner", "$myhostname ESMTP $mail_name", 0, NULL,
      "the text after 220 in the SMTP greeting"),

    /* addresses */
    M("alias_maps", "cdb:$config_directory/aliases", DIFFERS,
      "hash:/etc/aliases, nis:mail.aliases",
      "alias tables used by local delivery"),
    M("alias_database", "cdb:$config_directory/aliases", DIFFERS,
      "hash:/etc/aliases", "alias tables that newaliases builds"),
    L("virtual_alias_domains", "$virtual_alias_maps", NULL, 0, NULL,
      "domains whose every address is a virtual alias"),
    M("virtual_alias_maps", "", 0, NULL,
      "lookup tables: address or @domain to addresses"),
    M("sender_canonical_maps", "", 0, NULL,
      "lookup tables rewriting sender addresses"),
    M("recipient_canonical_maps", "", 0, NULL,
      "lookup tables rewriting recipient addresses"),
    M("smtp_generic_maps", "", 0, NULL,
      "lookup tables rewriting addresses in mail sent out by smtp"),
    L("masquerade_domains", "", NULL, 0, NULL,
      "domains whose subdomains are stripped from addresses"),
    L("masquerade_exceptions", "", NULL, 0, NULL,
      "user names that masquerade_domains leaves alone (root)"),
    M("local_recipient_maps", "unix:passwd.byname $alias_maps", DIFFERS,
      "proxy:unix:passwd.byname $alias_maps",
      "tables of known local users; empty: accept any local name"),
    S("recipient_delimiter", "", 0, NULL,
      "characters that separate user and extension (user+ext)"),
    S("luser_relay", "", 0, NULL,
      "where mail for unknown local users goes; empty: bounce it"),

    /* local delivery */
    S("mail_spool_directory", "/var/mail", 0, NULL,
      "directory of mbox files; a trailing / means Maildir"),
    S("home_mailbox", "", 0, NULL,
      "mailbox relative to the home directory (Maildir/ for Maildir)"),
    Z("mailbox_size_limit", "51200000", 0, TB_,
      "largest mailbox or maildir file in bytes; 0: no limit"),
    T("command_time_limit", "1000s", 's', 1, DAY_, 0,
      "longest time a |command delivery may run before it is killed"),
    S("default_privs", "nobody", 0, NULL,
      "user for deliveries to commands and files of root's aliases"),
    L("allow_mail_to_commands", "alias, forward", DELIVERY_SOURCES, 0, NULL,
      "where |command deliveries are allowed"),
    L("allow_mail_to_files", "alias, forward", DELIVERY_SOURCES, 0, NULL,
      "where /file deliveries are allowed"),

    /* queue and scheduling */
    S("queue_directory", "/var/spool/tinymta", DIFFERS | RESTART,
      "/var/spool/postfix", "the queue's root directory"),
    S("mail_owner", "tinymta", DIFFERS | RESTART, "postfix",
      "the unprivileged user that owns the queue and runs the daemons"),
    T("maximal_queue_lifetime", "5d", 'd', 0, 100 * DAY_, 0,
      "how long a message is retried before it bounces"),
    T("bounce_queue_lifetime", "5d", 'd', 0, 100 * DAY_, 0,
      "how long a bounce message is retried before it is discarded"),
    T("minimal_backoff_time", "300s", 's', 1, 100 * DAY_, 0,
      "the first wait before a failed delivery is retried"),
    T("maximal_backoff_time", "4000s", 's', 1, 100 * DAY_, 0,
      "the longest wait between retries"),
    T("queue_run_delay", "300s", 's', 1, 100 * DAY_, 0,
      "how often the deferred queue is scanned"),
    I("initial_destination_concurrency", "2", 1, 1000, DIFFERS, "5",
      "parallel deliveries to a destination at first (slow start)"),
    I("default_destination_concurrency_limit", "20", 1, 1000, 0, NULL,
      "most parallel deliveries to one destination"),
    I("default_destination_concurrency_failed_cohort_limit", "1", 0, 1000, 0,
      NULL, "failed connections in a row that mark a destination dead"),
    I("qmgr_message_active_limit", "20000", 1, 1000000, 0, NULL,
      "most messages in the active queue (in memory)"),
    I("qmgr_message_recipient_limit", "20000", 1, 1000000, 0, NULL,
      "most recipients of active messages in memory"),
    I("default_process_limit", "100", 1, 10000, 0, NULL,
      "most processes per service (master.cf maxproc -)"),
    I("max_use", "100", 1, 100000, 0, NULL,
      "connections one smtpd process serves before it exits"),
    T("max_idle", "100s", 's', 1, DAY_, 0,
      "how long an idle smtpd process waits for another connection"),
    T("delay_warning_time", "0h", 'h', 0, 100 * DAY_, 0,
      "when to tell the sender mail is delayed; 0: never"),
    B("soft_bounce", "no", 0, NULL, "defer instead of bouncing (for testing)"),
    I("hopcount_limit", "50", 1, 1000, 0, NULL,
      "most Received: headers before mail bounces as a loop"),
    L("notify_classes", "resource, software",
      "bounce|2bounce|data|delay|policy|protocol|resource|software", 0, NULL,
      "problems reported to the postmaster"),
    S("bounce_notice_recipient", "postmaster", 0, NULL,
      "who gets the postmaster copy of a bounce (notify_classes bounce)"),
    S("2bounce_notice_recipient", "postmaster", 0, NULL,
      "who gets undeliverable bounces (double bounces)"),
    S("delay_notice_recipient", "postmaster", 0, NULL,
      "who gets the postmaster copy of a delay warning"),
    Z("queue_minfree", "0", 0, TB_,
      "free bytes the queue file system must keep; 0: no check"),

    /* smtpd */
    L("smtpd_relay_restrictions",
      "permit_mynetworks, permit_sasl_authenticated, "
      "reject_unauth_destination",
      RELAY_RESTRICTIONS, DIFFERS,
      "permit_mynetworks, permit_sasl_authenticated, "
      "defer_unauth_destination",
      "relay access rules in order: the first that matches decides"),
    I("smtpd_recipient_limit", "1000", 1, 100000, 0, NULL,
      "most recipients of one message"),
    T("smtpd_timeout", "300s", 's', 1, DAY_, 0,
      "how long smtpd waits for a client"),
    I("smtpd_hard_error_limit", "20", 1, 1000, 0, NULL,
      "errors after which smtpd disconnects"),
    I("smtpd_soft_error_limit", "10", 0, 1000, 0, NULL,
      "errors after which smtpd slows down"),
    B("smtpd_helo_required", "no", 0, NULL,
      "require HELO or EHLO before MAIL FROM"),
    E("smtpd_forbid_bare_newline", "normalize", "normalize|reject|yes|no",
      DIFFERS, "no",
      "a bare LF in SMTP: normalize to CRLF, or reject (yes); never "
      "ends DATA"),
    I("smtpd_client_connection_count_limit", "50", 0, 10000, 0, NULL,
      "parallel connections per client; 0: no limit"),
    I("smtpd_client_connection_rate_limit", "0", 0, 1000000, 0, NULL,
      "connections per client per minute; 0: no limit"),
    I("smtpd_client_auth_rate_limit", "0", 0, 1000000, 0, NULL,
      "failed AUTH attempts per client per minute; 0: no limit"),
    B("disable_vrfy_command", "no", 0, NULL, "answer VRFY with 502"),
    Z("message_size_limit", "10240000", 0, TB_,
      "largest message in bytes; 0: no limit"),
    B("smtputf8_enable", "no", DIFFERS, "yes",
      "announce SMTPUTF8 (8-bit addresses are not supported yet)"),

    /* smtpd TLS and AUTH */
    S("smtpd_tls_cert_file", "$config_directory/cert.pem", DIFFERS, "",
      "PEM certificate chain of smtpd and pop3d"),
    S("smtpd_tls_key_file", "$config_directory/key.pem", DIFFERS,
      "$smtpd_tls_cert_file", "PEM private key of smtpd_tls_cert_file"),
    S("smtpd_tls_CAfile", "", 0, NULL,
      "PEM CA certificates for client certificates"),
    E("smtpd_tls_security_level", "", "none|may|encrypt", CONF_F_EMPTY, NULL,
      "STARTTLS: none, may (offer), encrypt (require); empty: "
      "smtpd_use_tls/smtpd_enforce_tls decide"),
    B("smtpd_use_tls", "no", 0, NULL,
      "legacy: offer STARTTLS (smtpd_tls_security_level = may)"),
    B("smtpd_enforce_tls", "no", 0, NULL,
      "legacy: require STARTTLS (smtpd_tls_security_level = encrypt)"),
    B("smtpd_tls_wrappermode", "no", 0, NULL,
      "implicit TLS from the first byte (smtps, port 465)"),
    B("smtpd_tls_auth_only", "no", 0, NULL, "offer AUTH only after TLS"),
    B("smtpd_tls_received_header", "no", 0, NULL,
      "record the TLS protocol and cipher in Received:"),
    B("smtpd_sasl_auth_enable", "no", 0, NULL,
      "offer AUTH (users in tinymta_sasl_users)"),
    M("smtpd_sender_login_maps", "", 0, NULL,
      "lookup tables: sender address to the logins allowed to use it"),

    /* smtp client */
    E("smtp_tls_security_level", "",
      "none|may|encrypt|fingerprint|verify|secure", CONF_F_EMPTY, NULL,
      "TLS to the next hop; empty: smtp_use_tls decides"),
    B("smtp_use_tls", "no", 0, NULL,
      "legacy: use STARTTLS when offered (smtp_tls_security_level = "
      "may)"),
    S("smtp_tls_CAfile", "", 0, NULL,
      "PEM CA certificates for the verify and secure levels"),
    B("smtp_tls_wrappermode", "no", 0, NULL,
      "implicit TLS to the next hop (port 465)"),
    E("smtp_tls_fingerprint_digest", "sha256", "md5|sha1|sha256", 0, NULL,
      "digest of smtp_tls_fingerprint_cert_match"),
    L("smtp_tls_fingerprint_cert_match", "", NULL, 0, NULL,
      "certificate fingerprints accepted at the fingerprint level"),
    B("smtp_sasl_auth_enable", "no", 0, NULL,
      "log in to the next hop with AUTH"),
    M("smtp_sasl_password_maps", "cdb:$config_directory/sasl_passwd", DIFFERS,
      "",
      "lookup tables: next hop to user:password (tinymta "
      "relay-password)"),
    T("smtp_connect_timeout", "30s", 's', 0, DAY_, 0,
      "how long a TCP connection may take"),
    T("smtp_helo_timeout", "300s", 's', 1, DAY_, 0,
      "how long to wait for the greeting and the EHLO reply"),
    T("smtp_data_done_timeout", "600s", 's', 1, DAY_, 0,
      "how long to wait for the reply to the final dot"),
    I("smtp_line_length_limit", "998", 0, 1000000, 0, NULL,
      "longer lines are split when relayed; 0: never"),
    T("smtp_connection_cache_time_limit", "2s", 's', 0, 300, 0,
      "how long a connection waits for more mail to its next hop; 0: "
      "one batch per connection"),

    /* logging */
    S("syslog_name", "tinymta", DIFFERS, "postfix",
      "syslog name prefix (postfix makes log analysers happy)"),
    S("maillog_file", "", 0, NULL,
      "log to this file (/dev/stdout on a console); empty: syslog"),

    /* ours: the POP3 server */
    B("pop3d_tls_wrappermode", "no", 0, NULL,
      "implicit TLS from the first byte (pop3s, port 995)"),
    B("pop3d_tls_auth_only", "yes", 0, NULL,
      "accept USER/PASS and AUTH only after STLS or on pop3s"),
    T("pop3d_timeout", "600s", 's', 1, DAY_, 0,
      "how long pop3d waits for a client (RFC 1939: 10 minutes)"),
    S("pop3d_tls_cert_file", "$smtpd_tls_cert_file", 0, NULL,
      "PEM certificate chain of pop3d"),
    S("pop3d_tls_key_file", "$smtpd_tls_key_file", 0, NULL,
      "PEM private key of pop3d_tls_cert_file"),

    /* ours: the rest */
    S("tinymta_sasl_users", "$config_directory/sasl_users", 0, NULL,
      "users and password hashes for AUTH and POP3 (tinymta passwd)"),
    S("tinymta_sender_address", "", 0, NULL,
      "envelope sender (and From, when local) of all mail relayed out; "
      "empty: unchanged"),
    S("tinymta_admin_address", "", 0, NULL,
      "where mail for root, postmaster and MAILER-DAEMON goes when no "
      "alias says otherwise; empty: the aliases decide"),
    I("tinymta_dead_destination_limit", "100", 1, 10000, 0, NULL,
      "most unreachable destinations remembered"),
    T("tinymta_dead_destination_time", "300s", 's', 1, DAY_, 0,
      "how long an unreachable destination is not tried"),
    E("tinymta_webui_listen", "loopback", "loopback|all", RESTART, NULL,
      "where the web UI (BusyBox httpd) listens: loopback (127.0.0.1) or "
      "all (the LAN, plain HTTP)"),
};

const size_t conf_nparams = sizeof conf_params / sizeof conf_params[0];

const struct conf_param *
conf_param_find(const char *name)
{
	/* Comparing the first byte first keeps this cheap enough for the
	 * $name expander, which looks names up often. */
	for (size_t i = 0; i < conf_nparams; i++)
		if (conf_params[i].name[0] == name[0] &&
		    strcmp(conf_params[i].name, name) == 0)
			return &conf_params[i];
	return NULL;
}

const char *
conf_type_name(enum conf_type t)
{
	static const char *const names[] = {
	    [CONF_T_STRING] = "string", [CONF_T_INT] = "int",
	    [CONF_T_TIME] = "time",     [CONF_T_SIZE] = "size",
	    [CONF_T_BOOL] = "bool",     [CONF_T_LIST] = "list",
	    [CONF_T_MAP] = "map",       [CONF_T_ENUM] = "enum",
	};

	if ((unsigned)t >= sizeof names / sizeof names[0])
		return "string";
	return names[t];
}
