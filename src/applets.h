/*
 * applets.h - entry points of the applets listed in applets.def, and the
 * usage text shared by main.c and `tinymta --help`.
 */
#ifndef TINYMTA_APPLETS_H
#define TINYMTA_APPLETS_H

#include <stdio.h>

#define APPLET(name, fn, help) int fn(int argc, char **argv);
#include "applets.def"
#undef APPLET

struct applet {
	const char *name;
	int (*main)(int, char **);
	const char *help;
};

/* The applet called name, or NULL. */
const struct applet *applets_find(const char *name);
/* Print the list of applets and tinymta commands to f. */
void applets_usage(FILE *f);

#endif
