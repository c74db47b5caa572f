/*
 * main.c - dispatch only: by the name the binary was called by (a link in
 * build/bin/ or /usr/sbin) or by its first argument (`tinymta sendmail …`).
 * The global option -c DIR (before the applet name) selects the
 * configuration directory by exporting TINYMTA_CONFIG_DIR.
 * Runs as the invoking user; argv is the only input.
 */
#include "applets.h"

#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	const struct applet *a;
	int i = 1;

	base = base ? base + 1 : (argc > 0 ? argv[0] : "tinymta");
	a = applets_find(base);
	if (a && a->main != applet_tinymta_main)
		return a->main(argc, argv);
	/* tinymta [-c DIR] [APPLET|COMMAND] ... */
	while (i < argc && strcmp(argv[i], "-c") == 0) {
		if (i + 1 >= argc) {
			applets_usage(stderr);
			return 64;
		}
		if (setenv("TINYMTA_CONFIG_DIR", argv[i + 1], 1) < 0) {
			perror("tinymta: setenv");
			return 70;
		}
		i += 2;
	}
	if (i < argc && (a = applets_find(argv[i])) &&
	    a->main != applet_tinymta_main)
		return a->main(argc - i, argv + i);
	argv[i - 1] = "tinymta";
	return applet_tinymta_main(argc - i + 1, argv + i - 1);
}
