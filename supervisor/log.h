/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Structured log lines: one JSON object per line on stderr,
 *   {"ts_ms":12.345,"level":"info","event":"spawn","pid":42}
 * where ts_ms counts milliseconds since knext-init's exec (its main()).
 */
#ifndef KNEXT_LOG_H
#define KNEXT_LOG_H

#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3, LOG_TRACE = 4 };

/**
 * log_init() - set the time origin and the most verbose level printed.
 * @t0_ns: CLOCK_MONOTONIC at exec, in nanoseconds
 * @level: lines above this level are dropped
 */
void log_init(uint64_t t0_ns, enum log_level level);

/**
 * log_event() - print one line.
 * @level: severity
 * @event: short event name (a JSON-safe identifier)
 * @fields: printf format producing further JSON members without braces, e.g. "\"pid\":%d", or NULL
 *
 * Strings from outside go through log_json_str() first. Never fails; a line that does not fit in
 * 1 KiB is cut.
 */
void log_event(enum log_level level, const char *event, const char *fields, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * log_json_str() - escape @s as a JSON string literal (with quotes) into @buf.
 * @buf: destination
 * @n:   size of @buf; the result is cut to fit and always terminated
 * @s:   NUL-terminated input (any bytes)
 *
 * Return: @buf, for use as a printf argument.
 */
const char *log_json_str(char *buf, unsigned n, const char *s);

/**
 * log_now_ns() - CLOCK_MONOTONIC in nanoseconds.
 *
 * Return: the time.
 */
uint64_t log_now_ns(void);

/**
 * log_ms_since_exec() - milliseconds between exec and @t_ns.
 * @t_ns: a CLOCK_MONOTONIC time in nanoseconds
 *
 * Return: the difference as a double.
 */
double log_ms_since_exec(uint64_t t_ns);

#endif
