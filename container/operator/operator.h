/* SPDX-License-Identifier: Apache-2.0 */
/*
 * knext-operator's command line: configuration, JSON logs on stderr, signals, and the controller,
 * /healthz, /readyz and /metrics endpoints it runs until SIGTERM.
 */
#ifndef KNEXT_OPERATOR_H
#define KNEXT_OPERATOR_H

/**
 * operator_cli_main() - run the operator.
 * @argc: argument count
 * @argv: arguments; see `knext-operator --help`
 *
 * Return: exit code: 0 after a clean stop on SIGTERM or SIGINT, 1 when it cannot start, 2 for a
 * usage error.
 */
int operator_cli_main(int argc, char **argv);

#endif
