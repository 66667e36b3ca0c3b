/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The watch wire format: a chunked HTTP body of newline-delimited JSON events
 * {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}. Splitting the byte stream into
 * lines and decoding one event are kept apart from the transport so they can be fuzzed.
 */
#ifndef KNEXT_OPERATOR_WATCH_H
#define KNEXT_OPERATOR_WATCH_H

#include <stddef.h>

#include <jansson.h>

/* A line longer than this is a broken server, not an object: the stream is abandoned. */
#define WATCH_MAX_LINE (16u << 20)

/**
 * typedef watch_line_fn - receives one complete line, without its newline, NUL-terminated.
 * Return non-zero to stop.
 */
typedef int (*watch_line_fn)(void *ud, char *line, size_t len);

/**
 * struct watch_lines - a line splitter; fields are private.
 * @buf: bytes of the unfinished line
 * @len: their count
 * @cap: size of @buf
 */
struct watch_lines {
	char *buf;
	size_t len;
	size_t cap;
};

enum watch_type {
	WATCH_ADDED,
	WATCH_MODIFIED,
	WATCH_DELETED,
	WATCH_BOOKMARK,
	WATCH_ERROR,
};

/**
 * struct watch_event - one decoded event.
 * @type:    what happened
 * @object:  the object (a Status for WATCH_ERROR), a new reference
 * @key:     "namespace/name" (or "name"), empty for bookmarks and errors
 * @rv:      the object's metadata.resourceVersion, empty when absent
 * @code:    for WATCH_ERROR, the Status code (410 means the resourceVersion is too old)
 */
struct watch_event {
	enum watch_type type;
	json_t *object;
	char key[320];
	char rv[64];
	long code;
};

/**
 * watch_lines_init() - set a splitter up.
 * @wl: the splitter
 */
void watch_lines_init(struct watch_lines *wl);

/**
 * watch_lines_feed() - take some bytes of the stream; call @cb for every line they complete.
 * @wl:   the splitter
 * @data: the bytes
 * @len:  their count
 * @cb:   receives each line; empty lines are skipped
 * @ud:   passed to @cb
 *
 * Return: 0, what @cb returned when non-zero, -E2BIG for a line over WATCH_MAX_LINE, -ENOMEM.
 */
int watch_lines_feed(struct watch_lines *wl, const char *data, size_t len, watch_line_fn cb,
		     void *ud);

/**
 * watch_lines_close() - free the splitter. Idempotent.
 * @wl: the splitter
 */
void watch_lines_close(struct watch_lines *wl);

/**
 * watch_event_parse() - decode one event line.
 * @line: the JSON text
 * @len:  its length
 * @ev:   receives the event; watch_event_close() it on success
 *
 * Return: 0, or -EBADMSG when the line is not a well-formed event.
 */
int watch_event_parse(const char *line, size_t len, struct watch_event *ev);

/**
 * watch_event_close() - drop the event's object reference. Idempotent.
 * @ev: the event
 */
void watch_event_close(struct watch_event *ev);

/**
 * watch_object_key() - "namespace/name" of an object ("name" when cluster-scoped).
 * @obj: the object
 * @key: receives the key
 * @len: size of @key
 *
 * Return: 0, or -EINVAL when the object has no name or the key does not fit.
 */
int watch_object_key(json_t *obj, char *key, size_t len);

/**
 * struct watch_list - one page of a list response.
 * @root:  the decoded body (owns everything below)
 * @items: its items (a JSON array)
 * @rv:    metadata.resourceVersion, non-empty
 * @cont:  metadata.continue, or NULL on the last page
 */
struct watch_list {
	json_t *root;
	json_t *items;
	const char *rv;
	const char *cont;
};

/**
 * watch_list_parse() - decode a list response body. Strings may hold U+0000: the objects are
 * taken as they are, and what the manifest library cannot take is each object's own error.
 * @body: the JSON text
 * @len:  its length
 * @max_rv: longest resourceVersion accepted
 * @l:    receives the page; watch_list_close() it on success
 *
 * Return: 0, or -EBADMSG when the body is not a list with items and a resourceVersion.
 */
int watch_list_parse(const char *body, size_t len, size_t max_rv, struct watch_list *l);

/**
 * watch_list_close() - free a page. Idempotent.
 * @l: the page
 */
void watch_list_close(struct watch_list *l);

#endif
