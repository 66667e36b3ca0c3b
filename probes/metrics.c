// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "probes/metrics.h"

struct out {
	char *buf;
	size_t n;
	size_t len;
	bool full;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (o->full)
		return;
	va_start(ap, fmt);
	r = vsnprintf(o->buf + o->len, o->n - o->len, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= o->n - o->len) {
		o->full = true;
		return;
	}
	o->len += (size_t)r;
}

static void header(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_seconds(struct out *o, const char *name, const char *label, uint64_t ns)
{
	put(o, "%s%s%s%s %" PRIu64 ".%09" PRIu64 "\n", name, *label ? "{" : "", label,
	    *label ? "}" : "", ns / 1000000000u, ns % 1000000000u);
}

static void render_phases(struct out *o, const struct probe_state *st)
{
	char label[64];

	header(o, "knext_startup_phase_seconds", "gauge",
	       "Seconds from knext-init's start until each start-up phase was reached.");
	for (int p = 0; p < PROBE_PHASE_COUNT; p++) {
		uint64_t t = st->phase_ns[p];

		if (!t)
			continue;
		snprintf(label, sizeof(label), "phase=\"%s\"", probe_phase_name(p));
		put_seconds(o, "knext_startup_phase_seconds", label,
			    t > st->t0_ns ? t - st->t0_ns : 0);
	}
}

static void render_state(struct out *o, const struct probe_state *st, uint64_t now_ns)
{
	int code = -1, sig = 0;

	header(o, "knext_child_up", "gauge", "1 while the main child runs.");
	put(o, "knext_child_up %d\n", st->child_alive);
	header(o, "knext_ready", "gauge", "1 while /readyz answers 200.");
	put(o, "knext_ready %d\n", probe_state_is_ready(st));
	header(o, "knext_live", "gauge", "1 while /livez answers 200.");
	put(o, "knext_live %d\n", probe_state_is_live(st, now_ns));
	header(o, "knext_started", "gauge", "1 once the app has been ready once.");
	put(o, "knext_started %d\n", probe_state_is_started(st));
	header(o, "knext_draining", "gauge", "1 once SIGTERM (or STOPPING=1) was seen.");
	put(o, "knext_draining %d\n", st->draining);
	if (st->last_heartbeat_ns && st->heartbeat_seen) {
		uint64_t age = now_ns > st->last_heartbeat_ns ? now_ns - st->last_heartbeat_ns : 0;

		header(o, "knext_heartbeat_age_seconds", "gauge",
		       "Seconds since the child's event loop last heartbeated.");
		put_seconds(o, "knext_heartbeat_age_seconds", "", age);
	}
	if (st->child_exited) {
		if (WIFEXITED(st->child_exit_status))
			code = WEXITSTATUS(st->child_exit_status);
		else if (WIFSIGNALED(st->child_exit_status))
			sig = WTERMSIG(st->child_exit_status);
	}
	header(o, "knext_child_exited", "gauge", "1 once the main child has exited.");
	put(o, "knext_child_exited %d\n", st->child_exited);
	header(o, "knext_child_exit_code", "gauge",
	       "The main child's exit code (-1 while running or when killed by a signal).");
	put(o, "knext_child_exit_code %d\n", code);
	header(o, "knext_child_exit_signal", "gauge",
	       "The signal that killed the main child (0 when none).");
	put(o, "knext_child_exit_signal %d\n", sig);
}

static void render_cache(struct out *o, const struct probe_state *st)
{
	header(o, "knext_cache_hits_total", "counter", "Modules compiled with a code-cache entry.");
	put(o, "knext_cache_hits_total %" PRIu64 "\n", st->cache_hit);
	header(o, "knext_cache_misses_total", "counter", "Modules compiled without an entry.");
	put(o, "knext_cache_misses_total %" PRIu64 "\n", st->cache_miss);
	header(o, "knext_cache_rejected_total", "counter", "Code-cache entries V8 rejected.");
	put(o, "knext_cache_rejected_total %" PRIu64 "\n", st->cache_rejected);
	header(o, "knext_cache_bytes_total", "counter", "Bytes of code cache handed to V8.");
	put(o, "knext_cache_bytes_total %" PRIu64 "\n", st->cache_bytes);
}

static void render_signals(struct out *o, const struct probe_state *st)
{
	header(o, "knext_signals_forwarded_total", "counter",
	       "Signals knext-init forwarded to its child, by signal.");
	for (int s = 1; s < PROBE_MAX_SIGNAL; s++) {
		const char *abbrev;

		if (!st->signals_forwarded[s])
			continue;
		abbrev = sigabbrev_np(s);
		if (abbrev)
			put(o, "knext_signals_forwarded_total{signal=\"SIG%s\"} %" PRIu64 "\n",
			    abbrev, st->signals_forwarded[s]);
		else
			put(o, "knext_signals_forwarded_total{signal=\"%d\"} %" PRIu64 "\n", s,
			    st->signals_forwarded[s]);
	}
}

static void render_requests(struct out *o, const struct probe_state *st)
{
	header(o, "knext_probe_requests_total", "counter",
	       "Requests the probe server answered, by path and status code.");
	for (int p = 0; p < PROBE_PATH_COUNT; p++)
		for (int c = 0; c < PROBE_CODE_COUNT; c++)
			if (st->requests[p][c])
				put(o,
				    "knext_probe_requests_total{path=\"%s\",code=\"%d\"} %" PRIu64
				    "\n",
				    probe_path_name(p), probe_code_status(c), st->requests[p][c]);
}

ssize_t probe_metrics_render(const struct probe_state *st, uint64_t now_ns, char *buf, size_t n)
{
	struct out o = { .buf = buf, .n = n };

	if (!n)
		return -ENOSPC;
	render_phases(&o, st);
	render_state(&o, st, now_ns);
	render_cache(&o, st);
	render_signals(&o, st);
	render_requests(&o, st);
	return o.full ? -ENOSPC : (ssize_t)o.len;
}
