/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configurations the harness compares (bench/README.md lists them) and how each one is
 * prepared, started and, for the cold ones, evicted from the page cache before each run.
 */
#ifndef KNEXT_BENCH_CONFIG_H
#define KNEXT_BENCH_CONFIG_H

#include <stdbool.h>

#include "bench/bench.h"

#define BENCH_MAX_ARGS 8
#define BENCH_MAX_ENV 16
#define BENCH_MAX_EVICT 6
#define BENCH_PATH_LEN 1024

/**
 * struct bench_tools - the programs and places every configuration draws from.
 * @node:       the machine's node (absolute path), or "" when there is none
 * @tini:       Debian's tini, or ""
 * @node22:     the official Node 22 binary, or ""
 * @node24:     the official Node 24 binary (startup snapshots), or ""
 * @knext:      knext-init, or ""
 * @libnode:    its runtime's shared object (evicted for cold knext runs), or ""
 * @knext18:    knext-init built with -Druntime=libnode18, or ""
 * @libnode18:  Debian's libnode 18 it loads, or ""
 * @images:     bench/container.sh, which runs the image configurations with podman, or ""
 * @workdir:    a scratch directory for compile caches and packs
 * @home:       HOME for the servers
 * @timeout_ms: per run, to the first 200
 */
struct bench_tools {
	char node[BENCH_PATH_LEN];
	char tini[BENCH_PATH_LEN];
	char node22[BENCH_PATH_LEN];
	char node24[BENCH_PATH_LEN];
	char knext[BENCH_PATH_LEN];
	char libnode[BENCH_PATH_LEN];
	char knext18[BENCH_PATH_LEN];
	char libnode18[BENCH_PATH_LEN];
	char images[BENCH_PATH_LEN];
	char workdir[BENCH_PATH_LEN];
	char home[BENCH_PATH_LEN];
	int timeout_ms;
};

/**
 * struct bench_job - one configuration prepared for one app.
 * @config:   the configuration's name
 * @app:      the app's name
 * @ready:    prepared; false with @reason when a prerequisite is missing
 * @reason:   why it cannot run
 * @cold:     evict @evict before each run
 * @strings:  storage for @argv and @envp
 * @used:     bytes used in @strings
 * @argv:     the command
 * @envp:     its environment; @port_env and @probe_env are rewritten each run
 * @port_env: the PORT= slot of @envp
 * @probe_env: the KNEXT_PROBE_PORT= slot of @envp
 * @cwd:      the app's standalone directory
 * @evict:    files and directories a cold run evicts
 * @nevict:   how many
 * @teardown: run (untimed, same environment) after each run, or argv[0] NULL: what the process
 *            group's SIGKILL does not reach, a container
 */
struct bench_job {
	const char *config;
	char app[32];
	bool ready;
	char reason[BENCH_REASON_LEN];
	bool cold;
	char strings[8192];
	size_t used;
	char *argv[BENCH_MAX_ARGS + 1];
	char *envp[BENCH_MAX_ENV + 1];
	int port_env;
	int probe_env;
	char cwd[BENCH_PATH_LEN];
	char *evict[BENCH_MAX_EVICT];
	int nevict;
	char *teardown[4];
};

int bench_config_count(void);
const char *bench_config_name(int i);
int bench_config_find(const char *name);
int bench_job_prepare(struct bench_job *job, int config, const char *app, const char *app_dir,
		      const struct bench_tools *tools);
int bench_job_run(struct bench_job *job, struct bench_sample *out, int timeout_ms, const char *path,
		  char *reason, size_t reason_len);

#endif /* KNEXT_BENCH_CONFIG_H */
