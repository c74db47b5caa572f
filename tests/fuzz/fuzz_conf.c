/*
 * fuzz_conf.c - main.cf and master.cf parsers under libFuzzer. The first
 * byte selects: 0 main.cf, 1 master.cf alone, 2 both (master.cf -o values
 * checked against the main.cf from the same bytes), 3 postconf -e's text
 * edit followed by a parse that must see the edited values.
 */
#include "conf.h"
#include "master_cf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static struct conf_problems ps;
static struct master_cf mcf;

/* Every getter answers, within its bound, whatever was parsed. */
static void
read_back(const struct conf *c)
{
	for (size_t i = 0; i < conf_nparams; i++) {
		const struct conf_param *p = &conf_params[i];
		const char *v = conf_get(c, p->name);
		char elem[64];

		CHECK(v && strlen(v) < CONF_VALUE_MAX);
		if (p->type == CONF_T_LIST || p->type == CONF_T_MAP)
			while (conf_list_next(&v, elem, sizeof elem))
				CHECK(strlen(elem) < sizeof elem);
		else if (p->type == CONF_T_TIME)
			CHECK(conf_time(c, p->name) >= p->min);
		else if (p->type == CONF_T_INT || p->type == CONF_T_SIZE)
			CHECK(conf_int(c, p->name) >= p->min);
	}
	(void)conf_smtpd_tls_level(c);
	(void)conf_check(c, &ps);
}

static void
check_master(void)
{
	CHECK(mcf.n <= MASTER_CF_SERVICES_MAX &&
	      mcf.pool_len <= MASTER_CF_POOL);
	for (size_t i = 0; i < mcf.n; i++) {
		CHECK(mcf.v[i].port >= 1 && mcf.v[i].port <= 65535);
		CHECK(mcf.v[i].nopts <= MASTER_CF_OPTS_MAX);
		for (size_t j = 0; j < mcf.v[i].nopts; j++)
			CHECK(mcf.v[i].opts[j].value < mcf.pool_len);
	}
}

static void
edit_then_parse(struct conf *c, const char *text, size_t len)
{
	const char *names[] = {"myhostname", "relayhost"};
	const char *values[] = {"x.example", "[r.example]:587"};
	char *out;
	size_t outlen;

	if (conf_edit_text(text, len, names, values, 2, &out, &outlen) < 0)
		return;
	CHECK(out[outlen] == '\0');
	(void)conf_parse_main(c, "main.cf", out, outlen, &ps);
	if (outlen <= CONF_FILE_MAX) {
		CHECK(conf_raw(c, "myhostname") &&
		      strcmp(conf_raw(c, "myhostname"), "x.example") == 0);
		CHECK(conf_raw(c, "relayhost") &&
		      strcmp(conf_raw(c, "relayhost"), "[r.example]:587") == 0);
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	struct conf *c;
	unsigned sel;

	if (size < 1)
		return 0;
	sel = data[0] & 3;
	size--;
	c = conf_new("/etc/tinymta");
	if (!c)
		return 0;
	memset(&ps, 0, sizeof ps);
	if (sel == 0 || sel == 2)
		(void)conf_parse_main(c, "main.cf", text, size, &ps);
	if (sel == 1 || sel == 2) {
		(void)master_cf_parse(&mcf, "master.cf", text, size,
		                      sel == 2 ? c : NULL, &ps);
		check_master();
		if (sel == 2)
			for (size_t i = 0; i < mcf.n; i++)
				(void)master_cf_apply(&mcf, &mcf.v[i], c, &ps);
	}
	if (sel == 3)
		edit_then_parse(c, text, size);
	CHECK(ps.n <= CONF_PROBLEMS_MAX);
	read_back(c);
	conf_free(c);
	return 0;
}
