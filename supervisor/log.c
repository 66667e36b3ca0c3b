// SPDX-License-Identifier: Apache-2.0
#include "supervisor/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t t0;
static enum log_level max_level = LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug", "trace" };

void log_init(uint64_t t0_ns, enum log_level level)
{
	t0 = t0_ns;
	max_level = level;
}

uint64_t log_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double log_ms_since_exec(uint64_t t_ns)
{
	return t_ns >= t0 ? (double)(t_ns - t0) / 1e6 : 0.0;
}

void log_event(enum log_level level, const char *event, const char *fields, ...)
{
	char line[4096];
	int n, m = 0;
	va_list ap;

	if (level > max_level)
		return;
	n = snprintf(line, sizeof(line), "{\"ts_ms\":%.3f,\"level\":\"%s\",\"event\":\"%s\"",
		     log_ms_since_exec(log_now_ns()), level_names[level], event);
	if (n < 0 || (size_t)n >= sizeof(line) - 3)
		return;
	if (fields) {
		line[n++] = ',';
		va_start(ap, fields);
		m = vsnprintf(line + n, sizeof(line) - n - 2, fields, ap);
		va_end(ap);
		if (m < 0)
			m = 0;
		if ((size_t)m >= sizeof(line) - n - 2)
			m = sizeof(line) - n - 3;
	}
	n += m;
	line[n++] = '}';
	line[n++] = '\n';
	/* One write per line, so lines from PID 1 and the child never interleave mid-line. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

const char *log_json_str(char *buf, unsigned n, const char *s)
{
	unsigned o = 0;

	if (n < 3) {
		if (n)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (; *s && o + 8 < n; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += snprintf(buf + o, n - o, "\\u%04x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
