/*
 * fuzz_qfile.c - the queue file validator over arbitrary bytes: never
 * reads out of bounds, never crashes, and the streaming parser (the file
 * fed in small pieces, as qfile_open does) agrees with qfile_check_mem on
 * the verdict and on everything it reports about an accepted file.
 */
#include "qfile_check.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void
accepted(const struct qfile_info *in, size_t size)
{
	if (in->nrcpt == 0 || in->ndone > in->nrcpt || in->file_size != size ||
	    in->content_off > in->end_off || in->rcpt_off < QFILE_HEADER_SIZE ||
	    in->content_size > size || in->version != QFILE_VERSION ||
	    strlen(in->sender) > QFILE_ADDR_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct qfile_info a, b;
	struct qcheck q;
	char wa[200], wb[200];
	enum qfile_err ea, eb;
	size_t step = 1 + (size ? data[0] % 13 : 0);

	ea = qfile_check_mem(data, size, &a, wa, sizeof wa);
	if (strlen(wa) >= sizeof wa)
		abort();
	if (ea == QFILE_OK)
		accepted(&a, size);
	qcheck_init(&q, &b, wb, sizeof wb);
	for (size_t o = 0; o < size; o += step)
		qcheck_feed(&q, data + o, size - o < step ? size - o : step);
	eb = qcheck_finish(&q);
	if (ea != eb || strcmp(wa, wb) != 0 ||
	    (ea == QFILE_OK && memcmp(&a, &b, sizeof a) != 0))
		abort();
	return 0;
}
