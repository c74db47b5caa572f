/*
 * clock.h - the "unset clock" rule of DESIGN.md: while the wall clock reads
 * earlier than the build date of the binary, it is not trusted: nothing is
 * bounced for age and ages come from the monotonic clock.
 */
#ifndef TINYMTA_UTIL_CLOCK_H
#define TINYMTA_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Seconds since the epoch of the build (TINYMTA_BUILD_EPOCH). */
int64_t clock_build_epoch(void);
/* 1 when the wall clock reads at or after the build date. */
int clock_is_set(void);
/* Monotonic seconds since boot. */
int64_t clock_mono(void);

#endif
