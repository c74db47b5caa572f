/*
 * fuzz_map.c - the CDB reader (map.c) against hostile images in memory.
 * Input: byte 0 flags (bit 0: bring the header's table positions inside
 * the image so that probes get deep; bit 1: MAP_F_NOFOLD), byte 1 a key
 * length k (mod 65), k key bytes, then the image (zero-padded to the
 * 2048-byte header). Every lookup and the record walk must return.
 */
#include "map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
normalize(unsigned char *img, size_t n)
{
	for (int t = 0; t < 256; t++) {
		unsigned char *p = img + 8 * t;
		uint32_t pos = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		               (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

		pos = (uint32_t)(pos % (n + 1));
		p[0] = (unsigned char)pos;
		p[1] = (unsigned char)(pos >> 8);
		p[2] = (unsigned char)(pos >> 16);
		p[3] = (unsigned char)(pos >> 24);
		p[5] = p[6] = p[7] = 0;
		p[4] %= 16;
	}
}

static void
walk(struct map *m)
{
	char key[MAP_KEY_MAX + 1], val[256];
	uint64_t cur = 0;

	for (int i = 0; i < 1000; i++)
		if (map_next(m, &cur, key, sizeof key, val, sizeof val) != 1)
			break;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {"postmaster", "info@example.com",
	                                   "@example.com", "a"};
	char key[65], val[256];
	unsigned char *img;
	size_t k, n;
	struct map m;

	if (size < 2)
		return 0;
	k = data[1] % 65;
	if (size < 2 + k)
		return 0;
	memcpy(key, data + 2, k);
	n = size - 2 - k;
	img = calloc(1, n < MAP_TOC_SIZE ? MAP_TOC_SIZE : n);
	if (!img)
		return 0;
	memcpy(img, data + 2 + k, n);
	n = n < MAP_TOC_SIZE ? MAP_TOC_SIZE : n;
	if (data[0] & 1)
		normalize(img, n);
	if (map_open_mem(&m, img, n, data[0] & 2 ? MAP_F_NOFOLD : 0) == 0) {
		map_lookup_n(&m, key, k, val, sizeof val, NULL);
		map_lookup_n(&m, key, k, val, 8, NULL);
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			map_lookup(&m, keys[i], val, sizeof val, NULL);
		walk(&m);
		map_close(&m);
	}
	free(img);
	return 0;
}
