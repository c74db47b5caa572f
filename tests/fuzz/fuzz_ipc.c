/*
 * fuzz_ipc.c - ipc_parse over arbitrary frames: never reads out of bounds,
 * and every accepted frame's fields are terminated inside the buffer.
 */
#include "ipc.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct ipc_msg m;

	if (ipc_parse(data, size, &m) == 0) {
		for (size_t i = 0; i < m.nfields; i++)
			if (strlen(m.field[i]) >= size)
				abort();
	}
	return 0;
}
