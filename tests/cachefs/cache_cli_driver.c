// SPDX-License-Identifier: Apache-2.0
/* Stand-in for `knext-init cache ...` until the supervisor dispatches to cache_cli_main. */
#include "cachefs/cli.h"

int main(int argc, char **argv)
{
	return cache_cli_main(argc - 1, argv + 1);
}
