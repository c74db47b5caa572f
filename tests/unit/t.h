/*
 * t.h - the whole unit-test framework: checks count passes and failures,
 * T_DONE() prints "N passed, M failed" and returns the exit status.
 */
#ifndef TINYMTA_T_H
#define TINYMTA_T_H

#include <stdio.h>
#include <string.h>

static int t_pass, t_fail;

#define T_CHECK(cond, ...)                                                     \
	do {                                                                   \
		if (cond) {                                                    \
			t_pass++;                                              \
		} else {                                                       \
			t_fail++;                                              \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__,          \
			        __LINE__, #cond);                              \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
		}                                                              \
	} while (0)

#define T_STREQ(got, want, ctx)                                                \
	do {                                                                   \
		const char *t_g = (got), *t_w = (want);                        \
		T_CHECK(t_g &&t_w &&strcmp(t_g, t_w) == 0,                     \
		        "%s: got \"%s\", want \"%s\"", (ctx),                  \
		        t_g ? t_g : "(null)", t_w ? t_w : "(null)");           \
	} while (0)

#define T_DONE()                                                               \
	(printf("%d passed, %d failed\n", t_pass, t_fail), t_fail ? 1 : 0)

#endif
