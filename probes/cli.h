/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `knext-init probe ready|live|startup|metrics [--port N] [--timeout-ms N]`: a client for
 * kubelet exec probes. It asks the probe server on 127.0.0.1, at the port knext-init's
 * configuration names (KNEXT_PROBE_PORT) unless --port says otherwise.
 */
#ifndef KNEXT_PROBES_CLI_H
#define KNEXT_PROBES_CLI_H

#define PROBE_CLI_DEFAULT_TIMEOUT_MS 1000

/**
 * probe_cli_main() - run the probe client.
 * @argc: argument count
 * @argv: argv[0] is the subcommand name ("probe"), argv[1] the check
 * @port: the probe server's port when --port is not given (1-65535; anything else is a usage
 *        error)
 *
 * Prints nothing when healthy (the /metrics body for "metrics"); one line on stderr otherwise.
 *
 * Return: the exit code: 0 when the endpoint answered 200, 1 when it answered anything else or
 * could not be reached in time, 2 on a usage error.
 */
int probe_cli_main(int argc, char **argv, int port);

/**
 * probe_cli_request() - one GET on the probe server, bounded by a timeout (no libuv needed).
 * @port:       the probe server's port on 127.0.0.1
 * @path:       e.g. "/readyz"
 * @timeout_ms: for the whole exchange
 * @body:       receives the response body, NUL-terminated (may be NULL)
 * @body_n:     size of @body
 *
 * Return: the HTTP status code, -ETIMEDOUT, -EBADMSG for a response that is not HTTP, or the
 * negative errno of socket(), connect(), send() or recv().
 */
int probe_cli_request(int port, const char *path, int timeout_ms, char *body, unsigned body_n);

#endif
