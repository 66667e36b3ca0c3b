// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "probes/state.h"

#include "common/defaults.h"
#include "common/knative.h"

static const char *const phase_names[PROBE_PHASE_COUNT] = {
	[PROBE_PHASE_EXEC] = "exec",
	[PROBE_PHASE_PREFETCH_DONE] = "prefetch_done",
	[PROBE_PHASE_LIBNODE_LOADED] = "libnode_loaded",
	[PROBE_PHASE_BOOTSTRAP] = "bootstrap",
	[PROBE_PHASE_SERVER_START] = "server_start",
	[PROBE_PHASE_SERVER_LISTENING] = "server_listening",
	[PROBE_PHASE_FIRST_REQUEST] = "first_request",
	[PROBE_PHASE_FIRST_BYTE] = "first_byte",
};

static const char *const path_names[PROBE_PATH_COUNT] = {
	[PROBE_PATH_READYZ] = KNEXT_DEFAULT_READY_PATH,
	[PROBE_PATH_LIVEZ] = KNEXT_DEFAULT_LIVE_PATH,
	[PROBE_PATH_STARTUPZ] = KNEXT_DEFAULT_STARTUP_PATH,
	[PROBE_PATH_METRICS] = KNEXT_DEFAULT_METRICS_PATH,
	[PROBE_PATH_OTHER] = "other",
};

static const int code_status[PROBE_CODE_COUNT] = {
	[PROBE_CODE_200] = 200, [PROBE_CODE_400] = 400, [PROBE_CODE_404] = 404,
	[PROBE_CODE_405] = 405, [PROBE_CODE_408] = 408, [PROBE_CODE_414] = 414,
	[PROBE_CODE_431] = 431, [PROBE_CODE_503] = 503, [PROBE_CODE_505] = 505,
};

uint64_t probe_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int probe_state_init(struct probe_state *st, uint64_t t0_ns, uint32_t heartbeat_ms,
		     uint32_t liveness_timeout_ms)
{
	if (!st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->t0_ns = t0_ns ? t0_ns : probe_now_ns();
	st->heartbeat_ms = heartbeat_ms;
	st->liveness_timeout_ms = liveness_timeout_ms;
	st->child_exit_status = -1;
	return 0;
}

void probe_state_set_child_alive(struct probe_state *st, bool alive, uint64_t now_ns)
{
	st->child_alive = alive;
	if (alive) {
		st->child_exited = false;
		st->heartbeat_seen = false;
		/* The heartbeat clock starts with the child: it gets one full timeout to boot. */
		st->last_heartbeat_ns = now_ns;
		probe_state_mark_phase(st, PROBE_PHASE_EXEC, now_ns);
	} else {
		st->ready = false;
	}
}

void probe_state_set_child_exit(struct probe_state *st, int status)
{
	st->child_exited = true;
	st->child_exit_status = status;
	st->child_alive = false;
	st->ready = false;
}

void probe_state_set_ready(struct probe_state *st, bool ready, uint64_t now_ns)
{
	if (!ready) {
		st->ready = false;
		return;
	}
	if (st->draining || st->ready)
		return;
	st->ready = true;
	st->ready_ns = now_ns;
	st->ever_ready = true;
	probe_state_mark_phase(st, PROBE_PHASE_SERVER_LISTENING, now_ns);
}

void probe_state_set_draining(struct probe_state *st)
{
	st->draining = true;
	st->ready = false;
}

void probe_state_heartbeat(struct probe_state *st, uint64_t now_ns)
{
	st->heartbeat_seen = true;
	st->last_heartbeat_ns = now_ns;
}

int probe_state_mark_phase(struct probe_state *st, enum probe_phase phase, uint64_t now_ns)
{
	if ((unsigned)phase >= PROBE_PHASE_COUNT)
		return -EINVAL;
	if (st->phase_ns[phase])
		return -EALREADY;
	st->phase_ns[phase] = now_ns ? now_ns : 1;
	return 0;
}

void probe_state_signal_forwarded(struct probe_state *st, int sig)
{
	if (sig > 0 && sig < PROBE_MAX_SIGNAL)
		st->signals_forwarded[sig]++;
}

void probe_state_cache(struct probe_state *st, uint64_t hit, uint64_t miss, uint64_t rejected,
		       uint64_t bytes)
{
	st->cache_hit = hit;
	st->cache_miss = miss;
	st->cache_rejected = rejected;
	st->cache_bytes = bytes;
}

bool probe_state_is_ready(const struct probe_state *st)
{
	return st->child_alive && st->ready && !st->draining;
}

bool probe_state_is_live(const struct probe_state *st, uint64_t now_ns)
{
	uint64_t limit;

	if (!st->child_alive)
		return false;
	if (!st->liveness_timeout_ms || !(st->expect_heartbeat || st->heartbeat_seen))
		return true;
	limit = (uint64_t)st->liveness_timeout_ms * 1000000u;
	return now_ns < st->last_heartbeat_ns || now_ns - st->last_heartbeat_ns < limit;
}

bool probe_state_is_started(const struct probe_state *st)
{
	return st->ever_ready;
}

const char *probe_phase_name(enum probe_phase phase)
{
	return (unsigned)phase < PROBE_PHASE_COUNT ? phase_names[phase] : NULL;
}

int probe_phase_from_name(const char *name, size_t len)
{
	for (int i = 0; i < PROBE_PHASE_COUNT; i++)
		if (strlen(phase_names[i]) == len && !memcmp(phase_names[i], name, len))
			return i;
	return -EINVAL;
}

int probe_code_index(int status)
{
	for (int i = 0; i < PROBE_CODE_COUNT; i++)
		if (code_status[i] == status)
			return i;
	return -EINVAL;
}

int probe_code_status(enum probe_code code)
{
	return (unsigned)code < PROBE_CODE_COUNT ? code_status[code] : 0;
}

const char *probe_path_name(enum probe_path path)
{
	return (unsigned)path < PROBE_PATH_COUNT ? path_names[path] : NULL;
}

int probe_port_check(int probe_port, int app_port, char *why, size_t n)
{
	if (probe_port < 1 || probe_port > 65535) {
		if (why && n)
			snprintf(why, n, "probe port %d is outside 1..65535", probe_port);
		return -ERANGE;
	}
	if (probe_port == app_port) {
		if (why && n)
			snprintf(
				why, n,
				"probe port %d is the app port (PORT); pick another KNEXT_PROBE_PORT",
				probe_port);
		return -EADDRINUSE;
	}
	if (knative_port_reserved(probe_port)) {
		if (why && n)
			snprintf(
				why, n,
				"probe port %d is reserved by Knative (" KNATIVE_RESERVED_PORTS_TEXT
				"); pick another KNEXT_PROBE_PORT",
				probe_port);
		return -EADDRINUSE;
	}
	return 0;
}
