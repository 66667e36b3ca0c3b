/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `knext-init cache warm`: run the app once (at image build time), send warm-up requests, and
 * write the compile-cache pack it recorded — so every pod of a revision starts warm, PVC or not.
 */
#ifndef KNEXT_WARM_H
#define KNEXT_WARM_H

/**
 * warm_cli_main() - `knext-init cache warm --app DIR -o PACK [--url PATH]... [--port N]
 * [--timeout-ms N] [-- NODE SCRIPT...]` (the port defaults to a free one).
 * @argc: argument count
 * @argv: argv[0] is "warm"
 *
 * Starts this same knext-init (embedded mode, no probe port) on the app with KNEXT_RECORD_PACK set
 * — or, given `-- NODE SCRIPT...`, in exec mode with KNEXT_NCC_PACK set, so that the pack holds
 * that node's own NODE_COMPILE_CACHE — waits until the first URL answers 200, GETs every URL once more, then SIGTERMs it; the app's
 * graceful exit writes the pack atomically. The pack is verified before success is reported.
 *
 * Return: 0 when a valid pack was written, 1 on failure (with one line saying why), 2 on usage.
 */
int warm_cli_main(int argc, char **argv);

#endif
