/*
 * fuzz_x509_names.c - x509_names.c under libFuzzer: the input as a
 * certificate (x509_names) and as a Name (x509_dn_text), with room for
 * the whole text and with a small buffer. The text must be within its
 * buffer, "" on failure, and safe: no control byte, valid UTF-8.
 */
#include "x509_names.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

/* s is NUL-terminated within cap, printable ASCII or valid UTF-8 (no
 * C0, DEL or C1 controls). */
static void
safe(const char *s, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, cap);

	CHECK(n < cap);
	for (size_t i = 0; i < n;) {
		size_t k;

		CHECK(p[i] >= 0x20 && p[i] != 0x7f);
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		k = p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : 2;
		CHECK(p[i] >= 0xc2 && p[i] <= 0xf4 && i + k <= n);
		for (size_t j = 1; j < k; j++)
			CHECK((p[i + j] & 0xc0) == 0x80);
		CHECK(!(p[i] == 0xc2 && p[i + 1] < 0xa0)); /* C1 */
		i += k;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char subj[X509_DN_TEXT_MAX], iss[X509_DN_TEXT_MAX], small[12];
	const char *why = NULL;

	if (x509_names(data, size, subj, sizeof subj, iss, sizeof iss, &why) ==
	    0) {
		safe(subj, sizeof subj);
		safe(iss, sizeof iss);
	} else {
		CHECK(subj[0] == '\0' && iss[0] == '\0' && why && why[0]);
	}
	if (x509_dn_text(data, size, subj, sizeof subj, &why) == 0) {
		safe(subj, sizeof subj);
		CHECK(x509_dn_text(data, size, small, sizeof small, NULL) == 0);
		safe(small, sizeof small);
	} else {
		CHECK(subj[0] == '\0' && why && why[0]);
	}
	return 0;
}
