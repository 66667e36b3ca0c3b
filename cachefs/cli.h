/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `knext-init cache ...`: pack, unpack, inspect, verify. `cache warm` runs the app, so the
 * knext-init binary dispatches it itself (supervisor/warm.h) before reaching this library.
 */
#ifndef KNEXT_CACHEFS_CLI_H
#define KNEXT_CACHEFS_CLI_H

/**
 * cache_cli_main() - run `knext-init cache SUB ...`.
 * @argc: argument count
 * @argv: argv[0] is "cache", argv[1] the subcommand
 *
 * pack DIR -o PACK [--level N] [identity options], unpack PACK -o DIR, inspect PACK [--json],
 * verify PACK.
 *
 * Return: exit code: 0 success, 1 invalid pack or failure, 2 usage.
 */
int cache_cli_main(int argc, char **argv);

#endif
