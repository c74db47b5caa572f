/*
 * applets.c - the applet table expanded from applets.def: lookup by name
 * for dispatch, and the usage text for `tinymta --help`.
 */
#include "applets.h"

#include <string.h>

static const struct applet applets[] = {
#define APPLET(name, fn, help) {#name, fn, help},
#include "applets.def"
#undef APPLET
};

const struct applet *
applets_find(const char *name)
{
	for (size_t i = 0; i < sizeof applets / sizeof applets[0]; i++)
		if (strcmp(applets[i].name, name) == 0)
			return &applets[i];
	return NULL;
}

void
applets_usage(FILE *f)
{
	fprintf(f, "usage: tinymta [-c DIR] APPLET [ARGS…]\n"
	           "       tinymta [-c DIR] COMMAND [ARGS…]\n"
	           "Applets (also callable through a link of that name):\n");
	for (size_t i = 0; i < sizeof applets / sizeof applets[0]; i++)
		fprintf(f, "  %-12s %s\n", applets[i].name, applets[i].help);
}
