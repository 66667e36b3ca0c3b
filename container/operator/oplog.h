/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How the operator's library code reports what happens without printing: it hands an event name and
 * a JSON object of fields to a sink the binary provides (main.c writes one JSON line to stderr).
 */
#ifndef KNEXT_OPERATOR_OPLOG_H
#define KNEXT_OPERATOR_OPLOG_H

#include <jansson.h>

/**
 * struct oplog - a log sink.
 * @emit: receives level ("debug", "info", "warn", "error"), event name and fields (a reference
 *        the sink owns, may be NULL); must be thread-safe
 * @ud:   passed to @emit
 */
struct oplog {
	void (*emit)(void *ud, const char *level, const char *event, json_t *fields);
	void *ud;
};

/**
 * oplog_emit() - send one event to a sink, or drop it when there is none.
 * @log:    the sink, may be NULL
 * @level:  severity
 * @event:  short snake_case name
 * @fields: a new reference to a JSON object, or NULL; always consumed
 */
static inline void oplog_emit(const struct oplog *log, const char *level, const char *event,
			      json_t *fields)
{
	if (log && log->emit)
		log->emit(log->ud, level, event, fields);
	else
		json_decref(fields);
}

#endif
