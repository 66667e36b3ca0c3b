/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /metrics: the probe state in the Prometheus text exposition format (version 0.0.4).
 * The metric names are listed in probes/PROTOCOL.md.
 */
#ifndef KNEXT_PROBES_METRICS_H
#define KNEXT_PROBES_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probes/state.h"

/* Enough for every metric with every counter set; the server preallocates this much. */
#define PROBE_METRICS_MAX 16384

/**
 * probe_metrics_render() - write the exposition text for @st into @buf.
 * @st:     the state
 * @now_ns: the current time (for liveness)
 * @buf:    where to write (not NUL-terminated)
 * @n:      its size
 *
 * Return: the number of bytes written, or -ENOSPC when @n is too small.
 */
ssize_t probe_metrics_render(const struct probe_state *st, uint64_t now_ns, char *buf, size_t n);

#endif
