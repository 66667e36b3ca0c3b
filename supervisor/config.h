/* SPDX-License-Identifier: Apache-2.0 */
/*
 * knext-init's configuration: tini-compatible flags, TINI_* and KNEXT_* environment, and the
 * defaults shared with the manifests (common/defaults.h). The one place either binary reads its
 * settings: one table in config.c parses them and prints them for `knext-init -h`.
 *
 * PID 1 hands knext-node its settings in one way: config_export_child() writes every setting the
 * child uses, resolved (defaults included), into the environment knext-node inherits, and
 * knext-node reads them back with config_parse(), so both sides see the same values. Besides the
 * table's variables, the child gets HOSTNAME (= KNEXT_HOSTNAME, for server.js), KNEXT_NOTIFY_FD
 * (its end of the notify socket) and KNEXT_CACHE (1 when PID 1 will hand it a pack).
 */
#ifndef KNEXT_CONFIG_H
#define KNEXT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

/**
 * struct knext_zone - the Multi-Zones zone the pod is deployed as (the rendered Service sets both
 * from the NextApp's spec.zone); a build made for other paths is refused at start (zone.h).
 * @base_path:    KNEXT_BASE_PATH, NULL when not set ("" is a zone without basePath)
 * @asset_prefix: KNEXT_ASSET_PREFIX, NULL when not set
 */
struct knext_zone {
	const char *base_path;
	const char *asset_prefix;
};

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
 * @snapshot:       KNEXT_SNAPSHOT (default on; "0" is off): start from the pack's startup snapshot
 * @pack:           KNEXT_PACK, an explicit pack (NULL = the PVC's, then the image's)
 * @cache_dir:      KNEXT_CACHE_DIR, where the PVC holding the pack is mounted
 * @image:          KNEXT_IMAGE, the pinned image reference (NULL = unknown): part of the identity
 *                  of the packs in @cache_dir
 * @cache_writeback: KNEXT_CACHE_WRITEBACK: knext-node writes a fresh pack into @cache_dir
 * @cache_max_bytes: KNEXT_CACHE_MAX_BYTES, the write-back's size budget
 * @cache_wait_ms:  KNEXT_CACHE_WAIT_MS, how long knext-node waits for PID 1's word on the pack
 * @cache_level:    KNEXT_CACHE_LEVEL, zstd level of a pack knext-node writes (0 = its default)
 * @record_pack:    KNEXT_RECORD_PACK, a pack knext-node records at exit (NULL = none)
 * @record_after_ms: KNEXT_RECORD_AFTER_MS, also record this long after start (0 = only at exit)
 * @io_pread:       KNEXT_IO=pread: read the pack with pread, never io_uring
 * @ncc_pack:       KNEXT_NCC_PACK, exec mode: a pack of node's NODE_COMPILE_CACHE (NULL = none)
 * @ncc_writeback:  KNEXT_NCC_WRITEBACK (default on): write @ncc_pack back after the child exits
 * @scratch_dir:    KNEXT_SCRATCH_DIR (NULL = /dev/shm when writable, else the default)
 * @eager_openssl:  KNEXT_EAGER_OPENSSL: knext-node initialises OpenSSL at start
 * @node_options:   NODE_OPTIONS (part of the pack identity), NULL when unset
 * @notify_fd:      knext-node: KNEXT_NOTIFY_FD, its end of the notify socket (-1 = none)
 * @cache_offered:  knext-node: KNEXT_CACHE=1, PID 1 will send a pack
 * @zone:           KNEXT_BASE_PATH, KNEXT_ASSET_PREFIX
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
	bool snapshot;
	const char *pack;
	const char *cache_dir;
	const char *image;
	bool cache_writeback;
	uint64_t cache_max_bytes;
	unsigned cache_wait_ms;
	unsigned cache_level;
	const char *record_pack;
	unsigned record_after_ms;
	bool io_pread;
	const char *ncc_pack;
	bool ncc_writeback;
	const char *scratch_dir;
	bool eager_openssl;
	const char *node_options;
	int notify_fd;
	bool cache_offered;
	struct knext_zone zone;
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
 * config_zone() - the zone variables alone, parsed by the same table (for `cache warm`, which
 * takes its own flags); config_parse() fills @c->zone the same way.
 * @z: receives them
 */
void config_zone(struct knext_zone *z);

/**
 * config_export_child() - write the settings knext-node uses into the environment it inherits.
 * @c:             PID 1's configuration
 * @notify_fd:     the child's end of the notify socket, as numbered in the child
 * @cache_offered: whether PID 1 will send a pack
 *
 * Every variable the table marks as the child's is set to its resolved value, plus HOSTNAME,
 * KNEXT_NOTIFY_FD and KNEXT_CACHE (see the top of this header).
 *
 * Return: 0, or -errno of setenv().
 */
int config_export_child(const struct knext_config *c, int notify_fd, bool cache_offered);

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
 * config_usage() - the usage text, as tini prints it (with our additions), the environment part
 * printed from the table config_parse() reads.
 *
 * Return: text in a static buffer.
 */
const char *config_usage(void);

#endif
