// SPDX-License-Identifier: Apache-2.0
/*
 * Test driver for `knext-init manifest` until the supervisor dispatches to it:
 * `manifest-cli manifest ARGS...` runs manifest_cli_main() on "manifest ARGS...".
 */
#include <stdio.h>
#include <string.h>

#include "container/manifest/manifest.h"

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "manifest")) {
		fprintf(stderr, "usage: %s manifest [args...]\n", argv[0]);
		return 2;
	}
	return manifest_cli_main(argc - 1, argv + 1);
}
