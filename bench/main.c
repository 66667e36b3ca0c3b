// SPDX-License-Identifier: Apache-2.0
/* knext-bench: the cold-start harness (bench/README.md). */
#include "bench/cli.h"

int main(int argc, char **argv)
{
	return bench_cli_main(argc, argv);
}
