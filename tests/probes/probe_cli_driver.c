// SPDX-License-Identifier: Apache-2.0
/* `probe-cli ready|live|startup|metrics ...`: runs probe_cli_main() as `knext-init probe` would. */
#include "common/defaults.h"
#include "probes/cli.h"

int main(int argc, char **argv)
{
	argv[0] = "probe";
	return probe_cli_main(argc, argv, KNEXT_DEFAULT_PROBE_PORT);
}
