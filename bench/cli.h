/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KNEXT_BENCH_CLI_H
#define KNEXT_BENCH_CLI_H

int bench_cli_main(int argc, char **argv);

#endif /* KNEXT_BENCH_CLI_H */
