/*
 * test_smtp_parse.c - smtp_parse_cmd: verbs, MAIL/RCPT paths, ESMTP
 * parameters, the errors each bad line gets.
 */
#include "smtp_parse.h"
#include "t.h"

static const struct {
	const char *in;
	unsigned flags;
	enum smtp_perr want;
	enum smtp_verb verb;
	const char *local, *domain; /* MAIL/RCPT when OK */
} cases[] = {
    {"HELO example.com", 0, SMTP_P_OK, SMTP_CMD_HELO, NULL, NULL},
    {"ehlo x", 0, SMTP_P_OK, SMTP_CMD_EHLO, NULL, NULL},
    {"HELO", 0, SMTP_P_SYNTAX, SMTP_CMD_HELO, NULL, NULL},
    {"HELO ", 0, SMTP_P_SYNTAX, SMTP_CMD_HELO, NULL, NULL},
    {"HELOX a", 0, SMTP_P_UNKNOWN, SMTP_CMD_NONE, NULL, NULL},
    {"", 0, SMTP_P_UNKNOWN, SMTP_CMD_NONE, NULL, NULL},
    {"XYZZY", 0, SMTP_P_UNKNOWN, SMTP_CMD_NONE, NULL, NULL},
    {"DATA", 0, SMTP_P_OK, SMTP_CMD_DATA, NULL, NULL},
    {"data", 0, SMTP_P_OK, SMTP_CMD_DATA, NULL, NULL},
    {"DATA x", 0, SMTP_P_SYNTAX, SMTP_CMD_DATA, NULL, NULL},
    {"QUIT", 0, SMTP_P_OK, SMTP_CMD_QUIT, NULL, NULL},
    {"RSET now", 0, SMTP_P_SYNTAX, SMTP_CMD_RSET, NULL, NULL},
    {"NOOP anything", 0, SMTP_P_OK, SMTP_CMD_NOOP, NULL, NULL},
    {"HELP", 0, SMTP_P_OK, SMTP_CMD_HELP, NULL, NULL},
    {"VRFY root", 0, SMTP_P_OK, SMTP_CMD_VRFY, NULL, NULL},
    {"VRFY", 0, SMTP_P_SYNTAX, SMTP_CMD_VRFY, NULL, NULL},
    {"STARTTLS", 0, SMTP_P_OK, SMTP_CMD_STARTTLS, NULL, NULL},
    {"BDAT 0", 0, SMTP_P_OK, SMTP_CMD_BDAT, NULL, NULL},
    {"bdat 12 last", 0, SMTP_P_OK, SMTP_CMD_BDAT, NULL, NULL},
    {"BDAT", 0, SMTP_P_SYNTAX, SMTP_CMD_BDAT, NULL, NULL},
    {"BDAT x", 0, SMTP_P_SYNTAX, SMTP_CMD_BDAT, NULL, NULL},
    {"BDAT 12 LAS", 0, SMTP_P_SYNTAX, SMTP_CMD_BDAT, NULL, NULL},
    {"BDAT 12  LAST", 0, SMTP_P_SYNTAX, SMTP_CMD_BDAT, NULL, NULL},
    {"BDAT 12 LASTX", 0, SMTP_P_SYNTAX, SMTP_CMD_BDAT, NULL, NULL},
    {"BDAT -1", 0, SMTP_P_SYNTAX, SMTP_CMD_BDAT, NULL, NULL},
    {"BDAT 12345678901234567890", 0, SMTP_P_SYNTAX, SMTP_CMD_BDAT, NULL, NULL},
    {"MAIL FROM:<a@b.c>", 0, SMTP_P_OK, SMTP_CMD_MAIL, "a", "b.c"},
    {"mail from:<A@B.C>", 0, SMTP_P_OK, SMTP_CMD_MAIL, "A", "b.c"},
    {"MAIL FROM: <a@b.c>", 0, SMTP_P_OK, SMTP_CMD_MAIL, "a", "b.c"},
    {"MAIL FROM:<>", 0, SMTP_P_OK, SMTP_CMD_MAIL, "", ""},
    {"MAIL FROM:<a@b.c> AUTH=<>", 0, SMTP_P_OK, SMTP_CMD_MAIL, "a", "b.c"},
    {"MAIL FROM:<a@b.c> AUTH=a+40b.c", 0, SMTP_P_OK, SMTP_CMD_MAIL, "a", "b.c"},
    {"MAIL FROM:<a@b.c> AUTH=", 0, SMTP_P_PARAMVAL, SMTP_CMD_MAIL, NULL, NULL},
    {"MAIL FROM:<a@b.c> AUTH", 0, SMTP_P_PARAMVAL, SMTP_CMD_MAIL, NULL, NULL},
    {"RCPT TO:<>", 0, SMTP_P_ADDR, SMTP_CMD_RCPT, NULL, NULL},
    {"MAIL FROM:<Postmaster>", 0, SMTP_P_ADDR, SMTP_CMD_MAIL, NULL, NULL},
    {"RCPT TO:<Postmaster>", 0, SMTP_P_OK, SMTP_CMD_RCPT, "Postmaster", ""},
    {"RCPT TO:<@r1,@r2:u@d.e>", 0, SMTP_P_OK, SMTP_CMD_RCPT, "u", "d.e"},
    {"RCPT TO:<\"a@b\"@d.e>", 0, SMTP_P_OK, SMTP_CMD_RCPT, "a@b", "d.e"},
    {"MAIL FROM", 0, SMTP_P_SYNTAX, SMTP_CMD_MAIL, NULL, NULL},
    {"MAIL", 0, SMTP_P_SYNTAX, SMTP_CMD_MAIL, NULL, NULL},
    {"MAIL TO:<a@b.c>", 0, SMTP_P_SYNTAX, SMTP_CMD_MAIL, NULL, NULL},
    {"RCPT FROM:<a@b.c>", 0, SMTP_P_SYNTAX, SMTP_CMD_RCPT, NULL, NULL},
    {"MAIL FROM:a@b.c", 0, SMTP_P_ADDR, SMTP_CMD_MAIL, NULL, NULL},
    {"MAIL FROM:<a@b.c", 0, SMTP_P_ADDR, SMTP_CMD_MAIL, NULL, NULL},
    {"MAIL FROM:<a@b.c>x", 0, SMTP_P_ADDR, SMTP_CMD_MAIL, NULL, NULL},
    {"MAIL FROM:<a@b.c> SIZE=1000", 0, SMTP_P_OK, SMTP_CMD_MAIL, "a", "b.c"},
    {"MAIL FROM:<a@b.c> size=1000  BODY=8bitmime", 0, SMTP_P_OK, SMTP_CMD_MAIL,
     "a", "b.c"},
    {"MAIL FROM:<a@b.c> BODY=7BIT", 0, SMTP_P_OK, SMTP_CMD_MAIL, "a", "b.c"},
    {"MAIL FROM:<a@b.c> BODY=BINARYMIME", 0, SMTP_P_PARAMVAL, SMTP_CMD_MAIL,
     NULL, NULL},
    {"MAIL FROM:<a@b.c> SIZE=", 0, SMTP_P_PARAMVAL, SMTP_CMD_MAIL, NULL, NULL},
    {"MAIL FROM:<a@b.c> SIZE=-1", 0, SMTP_P_PARAMVAL, SMTP_CMD_MAIL, NULL,
     NULL},
    {"MAIL FROM:<a@b.c> SIZE=99999999999999999999999", 0, SMTP_P_PARAMVAL,
     SMTP_CMD_MAIL, NULL, NULL},
    {"MAIL FROM:<a@b.c> SIZE", 0, SMTP_P_PARAMVAL, SMTP_CMD_MAIL, NULL, NULL},
    {"MAIL FROM:<a@b.c> FOO=bar", 0, SMTP_P_PARAM, SMTP_CMD_MAIL, NULL, NULL},
    {"MAIL FROM:<a@b.c> SMTPUTF8", 0, SMTP_P_PARAM, SMTP_CMD_MAIL, NULL, NULL},
    {"MAIL FROM:<a@b.c> SMTPUTF8", SMTP_PF_UTF8, SMTP_P_OK, SMTP_CMD_MAIL, "a",
     "b.c"},
    {"RCPT TO:<a@b.c> NOTIFY=NEVER", 0, SMTP_P_PARAM, SMTP_CMD_RCPT, NULL,
     NULL},
    {"MAIL FROM:<a@b.c> A B C D E F G H I J K", 0, SMTP_P_PARAM, SMTP_CMD_MAIL,
     NULL, NULL},
    {"RCPT TO:<j\xc3\xb6rg@b.c>", 0, SMTP_P_8BIT, SMTP_CMD_RCPT, NULL, NULL},
    {"RCPT TO:<j\xc3\xb6rg@b.c>", SMTP_PF_UTF8, SMTP_P_OK, SMTP_CMD_RCPT,
     "j\xc3\xb6rg", "b.c"},
    {"RCPT TO:<a\x01@b.c>", 0, SMTP_P_ADDR, SMTP_CMD_RCPT, NULL, NULL},
    {"RCPT TO:<a@b.c.>", 0, SMTP_P_ADDR, SMTP_CMD_RCPT, NULL, NULL},
    {"RCPT TO:<a@[1.2.3.4]>", 0, SMTP_P_OK, SMTP_CMD_RCPT, "a", "[1.2.3.4]"},
};

static void
test_table(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct smtp_cmd c;
		enum smtp_perr e = smtp_parse_cmd(
		    cases[i].in, strlen(cases[i].in), cases[i].flags, &c);

		T_CHECK(e == cases[i].want, "%s: got %d want %d", cases[i].in,
		        (int)e, (int)cases[i].want);
		T_CHECK(c.verb == cases[i].verb, "%s: verb %d", cases[i].in,
		        (int)c.verb);
		if (e == SMTP_P_OK && cases[i].local) {
			T_STREQ(c.path.local, cases[i].local, cases[i].in);
			T_STREQ(c.path.domain, cases[i].domain, cases[i].in);
		}
	}
}

static void
test_values(void)
{
	struct smtp_cmd c;
	const char *l = "MAIL FROM:<> SIZE=12345 BODY=8BITMIME";

	T_CHECK(smtp_parse_cmd(l, strlen(l), 0, &c) == SMTP_P_OK, "%s", l);
	T_CHECK(c.path.null && c.has_size && c.size == 12345, "size");
	T_CHECK(c.body == SMTP_BODY_8BITMIME, "body");
	l = "HELO  two spaces";
	T_CHECK(smtp_parse_cmd(l, strlen(l), 0, &c) == SMTP_P_OK, "%s", l);
	T_CHECK(c.arglen == 11 && memcmp(c.arg, " two spaces", 11) == 0, "arg");
	/* a NUL inside the line is a byte like any other: not a verb end */
	T_CHECK(smtp_parse_cmd("QUIT\0x", 6, 0, &c) == SMTP_P_UNKNOWN, "nul");
	T_STREQ(smtp_verb_name(SMTP_CMD_RCPT), "RCPT", "name");
	l = "BDAT 4096 LAST";
	T_CHECK(smtp_parse_cmd(l, strlen(l), 0, &c) == SMTP_P_OK &&
	            c.size == 4096 && c.last,
	        "%s", l);
	l = "BDAT 1234567890123456789";
	T_CHECK(smtp_parse_cmd(l, strlen(l), 0, &c) == SMTP_P_OK &&
	            c.size == 1234567890123456789ULL && !c.last,
	        "%s: 19 digits", l);
}

int
main(void)
{
	test_table();
	test_values();
	return T_DONE();
}
