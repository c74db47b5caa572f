/*
 * mem.h - large temporary buffers for long-running roles (pickup, qmgr):
 * taken from and given back to the kernel with mmap/munmap, so that a
 * daemon's memory goes back to its idle size after a big message (malloc
 * keeps freed memory for reuse).
 */
#ifndef TINYMTA_UTIL_MEM_H
#define TINYMTA_UTIL_MEM_H

#include <stddef.h>

/* Zeroed memory of size bytes, or NULL with errno. */
void *mem_big_alloc(size_t size);
/* Give it back; p may be NULL. size must be the size allocated. */
void mem_big_free(void *p, size_t size);

#endif
