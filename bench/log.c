// SPDX-License-Identifier: Apache-2.0
/*
 * knext-init's structured log (one JSON object per line on stderr, "ts_ms" = ms since its exec)
 * and the phase split of a run built from it.
 */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "bench/bench.h"

static const struct {
	const char *name;
	enum bench_event ev;
} event_names[] = {
	{ "exec", BENCH_EV_EXEC },
	{ "spawn", BENCH_EV_SPAWN },
	{ "libnode_loaded", BENCH_EV_LIBNODE },
	{ "server_start", BENCH_EV_SERVER },
	{ "listening", BENCH_EV_LISTENING },
	{ "server_listening", BENCH_EV_LISTENING },
	{ "bootstrap", BENCH_EV_BOOTSTRAP },
	{ "first_byte", BENCH_EV_FIRST_BYTE },
};

/* The events in the order a start reaches them. */
static const enum bench_event event_order[] = {
	BENCH_EV_SPAWN,	 BENCH_EV_LIBNODE,   BENCH_EV_BOOTSTRAP,
	BENCH_EV_SERVER, BENCH_EV_LISTENING, BENCH_EV_FIRST_BYTE,
};

/* The name of the phase that ends at each event, and of the last one. */
static const char *const phase_before[BENCH_EV_COUNT] = {
	[BENCH_EV_EXEC] = "exec",
	[BENCH_EV_SPAWN] = "init",
	[BENCH_EV_LIBNODE] = "libnode",
	[BENCH_EV_SERVER] = "node boot",
	[BENCH_EV_LISTENING] = "server start",
	[BENCH_EV_BOOTSTRAP] = "restore",
	[BENCH_EV_FIRST_BYTE] = "first request",
};

static int event_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
		if (strcmp(name, event_names[i].name) == 0)
			return (int)event_names[i].ev;
	return -ENOENT;
}

/**
 * bench_log_parse_line() - record the start-up event a log line reports, if any.
 * @log:  events seen so far; the first time of each event is kept
 * @line: one line, not necessarily NUL-terminated, without its newline
 * @len:  its length
 *
 * The event's name is the "event" member, or the "phase" member when the line reports a phase
 * (e.g. {"event":"phase","phase":"libnode_loaded"}); its time is the numeric "ts_ms" member.
 *
 * Return: 0 when an event was recorded, -ENOENT for a valid line that reports none (or a repeat),
 * -EINVAL for a line that is not a JSON object with a finite non-negative ts_ms.
 */
int bench_log_parse_line(struct bench_log *log, const char *line, size_t len)
{
	json_t *root, *ts, *name;
	double t;
	int ev = -ENOENT;

	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (!root)
		return -EINVAL;
	if (!json_is_object(root)) {
		json_decref(root);
		return -EINVAL;
	}
	ts = json_object_get(root, "ts_ms");
	if (!json_is_number(ts)) {
		json_decref(root);
		return -EINVAL;
	}
	t = json_number_value(ts);
	if (!(t >= 0 && t < 1e9)) {
		json_decref(root);
		return -EINVAL;
	}
	name = json_object_get(root, "phase");
	if (json_is_string(name))
		ev = event_lookup(json_string_value(name));
	if (ev < 0) {
		name = json_object_get(root, "event");
		if (json_is_string(name))
			ev = event_lookup(json_string_value(name));
	}
	json_decref(root);
	if (ev < 0 || (log->seen & (1u << ev)))
		return -ENOENT;
	log->ts_ms[ev] = t;
	log->seen |= 1u << ev;
	return 0;
}

static void phase_add(struct bench_phases *p, const char *name, double ms)
{
	if (p->n >= BENCH_MAX_PHASES)
		return;
	p->name[p->n] = name;
	p->ms[p->n] = ms > 0 ? ms : 0;
	p->n++;
}

/**
 * bench_phases_split() - split a run's total time into phases.
 * @log:       knext-init's events of the run (none for other runtimes)
 * @total_ms:  spawn to the first 200
 * @listen_ms: spawn to the first accepted connection
 * @out:       the phases; their durations add up to @total_ms
 *
 * With knext-init's events: init (to `spawn`), libnode (to `libnode_loaded`), restore (to
 * `bootstrap`: Node's start, the snapshot's restore), node boot (to `server_start`), server start
 * (to listening), first request (to `first_byte`, else to the 200), response (to the 200),
 * skipping events that were not logged. Without them: start (to the first accepted connection) and first request.
 */
void bench_phases_split(const struct bench_log *log, double total_ms, double listen_ms,
			struct bench_phases *out)
{
	double at = 0;

	memset(out, 0, sizeof(*out));
	if (log->seen & ~(1u << BENCH_EV_EXEC)) {
		for (size_t i = 0; i < sizeof(event_order) / sizeof(event_order[0]); i++) {
			enum bench_event ev = event_order[i];
			double t = log->ts_ms[ev];

			if (!(log->seen & (1u << ev)))
				continue;
			/* Events are in order; clamp a clock mismatch into [at, total]. */
			if (t < at)
				t = at;
			if (t > total_ms)
				t = total_ms;
			phase_add(out, phase_before[ev], t - at);
			at = t;
		}
		/* After the server's first byte, what is left is the answer's way to the client. */
		phase_add(out,
			  log->seen & (1u << BENCH_EV_FIRST_BYTE) ? "response" : "first request",
			  total_ms - at);
		return;
	}
	if (listen_ms > total_ms)
		listen_ms = total_ms;
	phase_add(out, "start", listen_ms);
	phase_add(out, "first request", total_ms - listen_ms);
}
