/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The truth PID 1 keeps about its child, and that the probe server reads: alive, ready, ever
 * ready, draining, last heartbeat, start-up phases, compile-cache counters, exit status, signals
 * forwarded and probe request counters. The supervisor owns the instance and updates it from the
 * same libuv loop the probe server runs on, so nothing here locks.
 *
 * All timestamps are CLOCK_MONOTONIC nanoseconds (the clock uv_hrtime() reads); 0 means "not yet".
 */
#ifndef KNEXT_PROBES_STATE_H
#define KNEXT_PROBES_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * enum probe_phase - start-up phases, in the order a cold start reaches them.
 * @PROBE_PHASE_EXEC:             the child was exec'd
 * @PROBE_PHASE_PREFETCH_DONE:    the compile-cache pack is in memory (or known absent)
 * @PROBE_PHASE_LIBNODE_LOADED:   the child has libnode loaded and V8 running
 * @PROBE_PHASE_BOOTSTRAP:        Node's heap is there (built in, or restored from the app's
 *                                startup snapshot) and knext's bootstrap starts
 * @PROBE_PHASE_SERVER_START:     the bootstrap hands over to the app's entry (server.js)
 * @PROBE_PHASE_SERVER_LISTENING: the app's HTTP server listens
 * @PROBE_PHASE_FIRST_REQUEST:    the app's server received its first request
 * @PROBE_PHASE_FIRST_BYTE:       the app's server began sending its first response
 * @PROBE_PHASE_COUNT:            number of phases
 */
enum probe_phase {
	PROBE_PHASE_EXEC,
	PROBE_PHASE_PREFETCH_DONE,
	PROBE_PHASE_LIBNODE_LOADED,
	PROBE_PHASE_BOOTSTRAP,
	PROBE_PHASE_SERVER_START,
	PROBE_PHASE_SERVER_LISTENING,
	PROBE_PHASE_FIRST_REQUEST,
	PROBE_PHASE_FIRST_BYTE,
	PROBE_PHASE_COUNT
};

/**
 * enum probe_path - the endpoints counted in the request metrics.
 */
enum probe_path {
	PROBE_PATH_READYZ,
	PROBE_PATH_LIVEZ,
	PROBE_PATH_STARTUPZ,
	PROBE_PATH_METRICS,
	PROBE_PATH_OTHER,
	PROBE_PATH_COUNT
};

/**
 * enum probe_code - the status codes the probe server answers with, as counter indices.
 */
enum probe_code {
	PROBE_CODE_200,
	PROBE_CODE_400,
	PROBE_CODE_404,
	PROBE_CODE_405,
	PROBE_CODE_408,
	PROBE_CODE_414,
	PROBE_CODE_431,
	PROBE_CODE_503,
	PROBE_CODE_505,
	PROBE_CODE_COUNT
};

#define PROBE_MAX_SIGNAL 65 /* signal numbers 1..64 are counted */

/**
 * struct probe_state - what PID 1 knows; read by the probe server, written by the supervisor.
 * @child_alive:          the main child runs
 * @ready:                the app listens and is not draining
 * @ever_ready:           the app has been ready once (startup probe)
 * @draining:             SIGTERM seen (or STOPPING=1): readiness answers 503 from now on
 * @expect_heartbeat:     the child heartbeats from the start (embedded mode); otherwise liveness
 *                        checks heartbeats only once a first WATCHDOG=1 arrived (exec mode)
 * @heartbeat_seen:       at least one WATCHDOG=1 arrived
 * @t0_ns:                knext-init's own start; phases are reported relative to it
 * @last_heartbeat_ns:    last WATCHDOG=1, or the child's start
 * @heartbeat_ms:         period the child heartbeats at (KNEXT_HEARTBEAT_MS)
 * @liveness_timeout_ms:  no heartbeat for this long means not live; 0 disables the check
 * @ready_ns:             when @ready last turned true
 * @phase_ns:             when each &enum probe_phase was reached
 * @cache_hit:            compile-cache entries used
 * @cache_miss:           modules compiled without an entry
 * @cache_rejected:       entries V8 rejected
 * @cache_bytes:          bytes of code cache handed to V8
 * @child_exited:         the main child has exited
 * @child_exit_status:    its raw wait status (decode with WIFEXITED and friends)
 * @signals_forwarded:    per signal number, how many were forwarded to the child
 * @requests:             probe requests by &enum probe_path and &enum probe_code
 */
struct probe_state {
	bool child_alive;
	bool ready;
	bool ever_ready;
	bool draining;
	bool expect_heartbeat;
	bool heartbeat_seen;
	uint64_t t0_ns;
	uint64_t last_heartbeat_ns;
	uint32_t heartbeat_ms;
	uint32_t liveness_timeout_ms;
	uint64_t ready_ns;
	uint64_t phase_ns[PROBE_PHASE_COUNT];
	uint64_t cache_hit;
	uint64_t cache_miss;
	uint64_t cache_rejected;
	uint64_t cache_bytes;
	bool child_exited;
	int child_exit_status;
	uint64_t signals_forwarded[PROBE_MAX_SIGNAL];
	uint64_t requests[PROBE_PATH_COUNT][PROBE_CODE_COUNT];
};

/**
 * probe_now_ns() - the monotonic clock every timestamp in &struct probe_state uses.
 *
 * Return: CLOCK_MONOTONIC in nanoseconds.
 */
uint64_t probe_now_ns(void);

/**
 * probe_state_init() - reset @st to "nothing happened yet".
 * @st:                  the state to fill
 * @t0_ns:               knext-init's start (0: now)
 * @heartbeat_ms:        the child's heartbeat period
 * @liveness_timeout_ms: silence that makes /livez fail (0: never)
 *
 * Return: 0, or -EINVAL when @st is NULL.
 */
int probe_state_init(struct probe_state *st, uint64_t t0_ns, uint32_t heartbeat_ms,
		     uint32_t liveness_timeout_ms);

/**
 * probe_state_set_child_alive() - the main child was started or has exited.
 * @st:     the state
 * @alive:  true when started (also marks %PROBE_PHASE_EXEC and starts the heartbeat clock)
 * @now_ns: the time of the event
 *
 * A child that stops being alive is neither ready nor live.
 */
void probe_state_set_child_alive(struct probe_state *st, bool alive, uint64_t now_ns);

/**
 * probe_state_set_child_exit() - record the main child's wait status.
 * @st:     the state
 * @status: raw status from waitpid()
 */
void probe_state_set_child_exit(struct probe_state *st, int status);

/**
 * probe_state_set_ready() - the app listens (or stopped listening).
 * @st:     the state
 * @ready:  true when the app's server listens
 * @now_ns: the time of the event
 *
 * Readiness never comes back once draining; the first ready also marks @ever_ready and
 * %PROBE_PHASE_SERVER_LISTENING.
 */
void probe_state_set_ready(struct probe_state *st, bool ready, uint64_t now_ns);

/**
 * probe_state_set_draining() - SIGTERM arrived (or the app said STOPPING=1): readiness is 503 now.
 * @st: the state
 */
void probe_state_set_draining(struct probe_state *st);

/**
 * probe_state_heartbeat() - the child's event loop turned (WATCHDOG=1).
 * @st:     the state
 * @now_ns: the time it arrived
 */
void probe_state_heartbeat(struct probe_state *st, uint64_t now_ns);

/**
 * probe_state_mark_phase() - record the first time a start-up phase was reached.
 * @st:     the state
 * @phase:  which phase
 * @now_ns: when; a phase already marked keeps its first time
 *
 * Return: 0, -EALREADY when the phase was marked before, -EINVAL for an unknown phase.
 */
int probe_state_mark_phase(struct probe_state *st, enum probe_phase phase, uint64_t now_ns);

/**
 * probe_state_signal_forwarded() - count one signal forwarded to the child.
 * @st:  the state
 * @sig: the signal number (out-of-range numbers are ignored)
 */
void probe_state_signal_forwarded(struct probe_state *st, int sig);

/**
 * probe_state_cache() - replace the compile-cache counters with the child's latest report.
 * @st:       the state
 * @hit:      entries used
 * @miss:     modules compiled without an entry
 * @rejected: entries V8 rejected
 * @bytes:    bytes of code cache handed to V8
 */
void probe_state_cache(struct probe_state *st, uint64_t hit, uint64_t miss, uint64_t rejected,
		       uint64_t bytes);

/**
 * probe_state_is_ready() - what /readyz answers.
 * @st: the state
 *
 * Return: true when the child lives, listens and is not draining.
 */
bool probe_state_is_ready(const struct probe_state *st);

/**
 * probe_state_is_live() - what /livez answers.
 * @st:     the state
 * @now_ns: the current time
 *
 * Return: true while the child lives and (when heartbeats are checked) heartbeated within
 * @liveness_timeout_ms.
 */
bool probe_state_is_live(const struct probe_state *st, uint64_t now_ns);

/**
 * probe_state_is_started() - what /startupz answers.
 * @st: the state
 *
 * Return: true once the app has been ready once.
 */
bool probe_state_is_started(const struct probe_state *st);

/**
 * probe_phase_name() - the phase's name in notify messages and metrics.
 * @phase: the phase
 *
 * Return: a static string, or NULL for an unknown phase.
 */
const char *probe_phase_name(enum probe_phase phase);

/**
 * probe_phase_from_name() - look a phase up by its name.
 * @name: the name (not NUL-terminated)
 * @len:  its length
 *
 * Return: the phase, or -EINVAL when unknown.
 */
int probe_phase_from_name(const char *name, size_t len);

/**
 * probe_code_index() - map an HTTP status code to its counter index.
 * @status: 200, 400, 404, ...
 *
 * Return: the &enum probe_code, or -EINVAL for a code the server never sends.
 */
int probe_code_index(int status);

/**
 * probe_code_status() - the HTTP status code of a counter index.
 * @code: the index
 *
 * Return: the status code, or 0 for an unknown index.
 */
int probe_code_status(enum probe_code code);

/**
 * probe_path_name() - the URL path of a counted endpoint ("other" for the rest).
 * @path: the endpoint
 *
 * Return: a static string, or NULL for an unknown value.
 */
const char *probe_path_name(enum probe_path path);

/**
 * probe_port_check() - refuse a probe port that clashes with the app's or Knative's ports.
 * @probe_port: the port the probe server would listen on
 * @app_port:   the app's traffic port (PORT)
 * @why:        filled with a one-line reason on failure (may be NULL)
 * @n:          size of @why
 *
 * Knative reserves 8012 8013 8022 9090 9091 8008 for queue-proxy and its metrics.
 *
 * Return: 0 when usable, -ERANGE when outside 1..65535, -EADDRINUSE on a clash.
 */
int probe_port_check(int probe_port, int app_port, char *why, size_t n);

#endif
