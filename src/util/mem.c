/*
 * mem.c - page-granular temporary buffers (see mem.h).
 */
#include "util/mem.h"

#include <sys/mman.h>

void *
mem_big_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void
mem_big_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}
