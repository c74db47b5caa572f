/*
 * fuzz_pem.c - PEM and certificate/key loading under libFuzzer: the input
 * split at its first NUL byte is a certificate file and a key file for
 * tls_creds_parse; the whole input also goes through tls_pem_each. Every
 * object must be within TLS_DER_MAX and the call must return.
 */
#include "tls.h"

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

static int
each(void *arg, const char *name, const unsigned char *der, size_t len)
{
	(void)arg;
	(void)der;
	CHECK(len <= TLS_DER_MAX && strlen(name) < 128);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tls_creds c;
	const char *in = (const char *)data;
	const char *nul = memchr(in, 0, size);
	size_t certlen = nul ? (size_t)(nul - in) : size;
	char err[TLS_ERR_MAX];

	if (size > TLS_PEM_FILE_MAX)
		return 0;
	(void)tls_pem_each(in, size, each, NULL, err, sizeof err);
	if (tls_creds_parse(&c, in, certlen, "cert", nul ? nul + 1 : "",
	                    nul ? size - certlen - 1 : 0, "key", err,
	                    sizeof err) == 0)
		CHECK(c.nchain >= 1 && c.nchain <= TLS_CHAIN_MAX);
	return 0;
}
