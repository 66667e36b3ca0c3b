/* SPDX-License-Identifier: Apache-2.0 */
/*
 * knext-bench: the cold-start harness. Spawns a server, times it to its first HTTP 200, measures
 * the process tree's CPU time and peak RSS, and splits the time into phases (knext-init's own log
 * when it is the one running). The methods are described in bench/README.md.
 */
#ifndef KNEXT_BENCH_H
#define KNEXT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define BENCH_MAX_PHASES 8
#define BENCH_REASON_LEN 512

/**
 * enum bench_event - knext-init's start-up events, as logged on its stderr.
 * @BENCH_EV_EXEC:      knext-init's exec (its ts_ms origin)
 * @BENCH_EV_SPAWN:     the Node child was spawned
 * @BENCH_EV_LIBNODE:   the child loaded libnode (`libnode_loaded`)
 * @BENCH_EV_SERVER:    server.js started (`server_start`)
 * @BENCH_EV_LISTENING: the HTTP server listens (`listening` or `server_listening`)
 * @BENCH_EV_BOOTSTRAP: Node's heap is there, built in or restored from the app's startup
 *                      snapshot (`bootstrap`, between `libnode_loaded` and `server_start`)
 * @BENCH_EV_FIRST_BYTE: the server began sending its first response (`first_byte`)
 * @BENCH_EV_COUNT:     number of events
 */
enum bench_event {
	BENCH_EV_EXEC,
	BENCH_EV_SPAWN,
	BENCH_EV_LIBNODE,
	BENCH_EV_SERVER,
	BENCH_EV_LISTENING,
	BENCH_EV_BOOTSTRAP,
	BENCH_EV_FIRST_BYTE,
	BENCH_EV_COUNT,
};

/**
 * struct bench_log - start-up events seen in one run's log.
 * @ts_ms: ms since knext-init's exec, per &enum bench_event
 * @seen:  bit (1 << event) set once the event was seen; the first time counts
 */
struct bench_log {
	double ts_ms[BENCH_EV_COUNT];
	unsigned int seen;
};

/**
 * struct bench_phases - one run's time split into consecutive phases.
 * @n:    number of phases
 * @name: static phase names
 * @ms:   duration of each phase; they add up to the run's total
 */
struct bench_phases {
	int n;
	const char *name[BENCH_MAX_PHASES];
	double ms[BENCH_MAX_PHASES];
};

/**
 * struct bench_sample - what one run measured.
 * @total_ms:  spawn to the first HTTP 200 status line
 * @listen_ms: spawn to the first accepted TCP connection
 * @cpu_ms:    user + system CPU time of every process of the tree, until it was killed
 * @maxrss_kb: the largest peak RSS of any process of the tree
 * @harness_cpu_ms: CPU time the harness itself spent on the run (its retry loop), for fairness
 * @phases:    the phase split of @total_ms
 */
struct bench_sample {
	double total_ms;
	double listen_ms;
	double cpu_ms;
	long maxrss_kb;
	double harness_cpu_ms;
	struct bench_phases phases;
};

/**
 * struct bench_spec - how to start one run.
 * @argv:       program (an absolute path) and arguments
 * @envp:       the complete environment of the server
 * @cwd:        its working directory
 * @port:       TCP port on 127.0.0.1 it listens on
 * @path:       HTTP path to GET
 * @timeout_ms: give up after this long without a 200
 */
struct bench_spec {
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int port;
	const char *path;
	int timeout_ms;
};

/**
 * struct bench_stats - order statistics of a set of values.
 * @n:      number of values
 * @median: the median (mean of the middle two for an even count)
 * @p90:    90th percentile, nearest rank
 * @min:    smallest value
 * @max:    largest value
 */
struct bench_stats {
	size_t n;
	double median;
	double p90;
	double min;
	double max;
};

/* run.c */
int bench_run_once(const struct bench_spec *spec, struct bench_sample *out, char *reason,
		   size_t reason_len);
int bench_run_cmd(char *const argv[], char *const envp[], const char *cwd, int timeout_ms,
		  int *exit_code, char *output, size_t output_len);
int bench_warm_server(const struct bench_spec *spec, int term_wait_ms, char *reason,
		      size_t reason_len);
int bench_reap_all(void);
int bench_free_port(int *port);

/* log.c */
int bench_log_parse_line(struct bench_log *log, const char *line, size_t len);
void bench_phases_split(const struct bench_log *log, double total_ms, double listen_ms,
			struct bench_phases *out);

/* evict.c */
int bench_evict_path(const char *path, unsigned int *nfiles);
int bench_warm_path(const char *path, unsigned int *nfiles);

/* stats.c */
int bench_stats_compute(const double *values, size_t n, struct bench_stats *st);
double bench_now_ms(void);

#endif /* KNEXT_BENCH_H */
