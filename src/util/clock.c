/*
 * clock.c - wall and monotonic clocks and the unset-clock rule (clock.h).
 */
#include "util/clock.h"

#ifndef TINYMTA_BUILD_EPOCH
#define TINYMTA_BUILD_EPOCH 0LL
#endif

int64_t
clock_build_epoch(void)
{
	return TINYMTA_BUILD_EPOCH;
}

int
clock_is_set(void)
{
	return (int64_t)time(NULL) >= clock_build_epoch();
}

int64_t
clock_mono(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec;
}
