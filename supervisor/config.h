/* SPDX-License-Identifier: Apache-2.0 */
/*
 * knext-init's configuration: tini-compatible flags, TINI_* and KNEXT_* environment, and the
 * defaults shared with the manifests (common/defaults.h).
 */
#ifndef KNEXT_CONFIG_H
#define KNEXT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

enum config_mode {
	CONFIG_MODE_EMBEDDED, /* no command: run the Next.js app on embedded Node */
	CONFIG_MODE_EXEC, /* a command after the options: tini-like */
};

/**
 * struct knext_config - everything knext-init decides at start.
 * @mode:           embedded or exec
 * @cmd:            exec mode: NULL-terminated argv of the command (points into the caller's argv)
 * @subreaper:      -s, TINI_SUBREAPER, KNEXT_SUBREAPER
 * @kill_group:     -g, TINI_KILL_PROCESS_GROUP, KNEXT_KILL_PROCESS_GROUP: signal the child's group
 * @warn_reap:      -w: log every zombie reaped that was not the main child
 * @verbosity:      0 errors, 1 warnings, 2 info, 3 debug, 4 trace (-v adds one)
 * @pdeath_sig:     -p: signal to receive when our parent dies, 0 = none
 * @exit_zero:      -e N: bit N set means exit code N is reported as 0
 * @help, @version, @license: -h, --version, -l
 * @app_dir:        KNEXT_APP_DIR
 * @entry:          KNEXT_ENTRY, relative to @app_dir
 * @hostname:       KNEXT_HOSTNAME, exported to the app as HOSTNAME
 * @port:           PORT
 * @probe_port:     KNEXT_PROBE_PORT, 0 = no probe server (exec mode: 0 unless set)
 * @grace_ms:       KNEXT_GRACE_MS, TERM → KILL for remaining descendants
 * @heartbeat_ms:   KNEXT_HEARTBEAT_MS
 * @liveness_timeout_ms: KNEXT_LIVENESS_TIMEOUT_MS
 * @node_helper:    KNEXT_NODE_HELPER, path of knext-node (NULL = beside knext-init)
 * @announce:       KNEXT_ANNOUNCE (default on; "0" is off): one datagram to the default gateway at start
 * @error:          why config_parse() failed
 */
struct knext_config {
	enum config_mode mode;
	char **cmd;
	bool subreaper;
	bool kill_group;
	bool warn_reap;
	int verbosity;
	int pdeath_sig;
	uint8_t exit_zero[32];
	bool help, version, license;
	const char *app_dir;
	const char *entry;
	const char *hostname;
	int port;
	int probe_port;
	unsigned grace_ms;
	unsigned heartbeat_ms;
	unsigned liveness_timeout_ms;
	const char *node_helper;
	bool announce;
	char error[160];
};

/**
 * config_parse() - fill @c from flags and the environment.
 * @c:    configuration to fill (any previous content is overwritten)
 * @argc: argument count, argv[0] included
 * @argv: arguments; options end at "--" or at the first argument that is not an option
 *
 * Return: 0, or -EINVAL with @c->error saying which flag or variable is wrong.
 */
int config_parse(struct knext_config *c, int argc, char **argv);

/**
 * config_exit_code() - the exit code to report for a child's wait status.
 * @c:      configuration (for -e)
 * @status: wait status as returned by waitpid()
 *
 * Return: the exit code (0–255), 128+N for death by signal N, -e remapping applied.
 */
int config_exit_code(const struct knext_config *c, int status);

/**
 * config_signal_from_name() - parse "SIGTERM", "TERM" or "15".
 * @s: text
 *
 * Return: the signal number, or -EINVAL.
 */
int config_signal_from_name(const char *s);

/**
 * config_usage() - the usage text, as tini prints it (with our additions).
 *
 * Return: static text.
 */
const char *config_usage(void);

#endif
