/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The child -> PID 1 channel, in the sd_notify convention: datagrams of newline-separated
 * KEY=VALUE lines (READY=1, STOPPING=1, WATCHDOG=1, STATUS=..., and knext's own X_KNEXT_PHASE=
 * and X_KNEXT_CACHE=). The messages are specified in probes/PROTOCOL.md. Datagrams come from
 * outside PID 1, so the parser is strict, bounded and fuzzed (tests/probes/fuzz_notify.c).
 */
#ifndef KNEXT_PROBES_NOTIFY_H
#define KNEXT_PROBES_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "probes/state.h"

/* Largest datagram accepted; a longer one is rejected whole. */
#define NOTIFY_MAX_DATAGRAM 4096
#define NOTIFY_MAX_KEY 64
/* At most this many datagrams are read per loop turn, so a chatty child cannot starve signals. */
#define NOTIFY_BATCH 64

/**
 * typedef notify_kv_cb - called by notify_parse() for each KEY=VALUE line, in order.
 * @key:    the key (not NUL-terminated)
 * @klen:   its length
 * @val:    the value (not NUL-terminated, may be empty)
 * @vlen:   its length
 * @opaque: the caller's pointer
 *
 * Return: 0 to go on, or a negative errno that stops the parse and is returned by it.
 */
typedef int (*notify_kv_cb)(const char *key, size_t klen, const char *val, size_t vlen,
			    void *opaque);

/**
 * notify_parse() - split a datagram into KEY=VALUE lines, checking all of it first.
 * @buf:    the datagram
 * @len:    its length
 * @cb:     called for each line once the whole datagram was found valid (may be NULL)
 * @opaque: passed to @cb
 *
 * Keys are 1..%NOTIFY_MAX_KEY bytes of [A-Z0-9_]; values hold no NUL or control bytes other than
 * tab; lines end with LF, the last one optionally; empty lines are not allowed except a single
 * trailing LF.
 *
 * Return: the number of lines, -EMSGSIZE when @len is 0 or over %NOTIFY_MAX_DATAGRAM, -EBADMSG
 * on a malformed line (nothing was passed to @cb then), or the first error @cb returned.
 */
int notify_parse(const char *buf, size_t len, notify_kv_cb cb, void *opaque);

/**
 * enum notify_event_type - what a datagram told PID 1.
 */
enum notify_event_type {
	NOTIFY_EV_READY, /* READY=1: the server listens */
	NOTIFY_EV_STOPPING, /* STOPPING=1: the app is shutting down */
	NOTIFY_EV_WATCHDOG, /* WATCHDOG=1: the event loop turned */
	NOTIFY_EV_STATUS, /* STATUS=...: free text */
	NOTIFY_EV_PHASE, /* X_KNEXT_PHASE=<name> */
	NOTIFY_EV_CACHE, /* X_KNEXT_CACHE=hit=N miss=N rejected=N bytes=N */
	NOTIFY_EV_WRITEBACK, /* X_KNEXT_WRITEBACK=written|busy|failed [text] */
	NOTIFY_EV_SNAPSHOT, /* X_KNEXT_SNAPSHOT=...: whether the startup snapshot was used */
	NOTIFY_EV_INVALID, /* a datagram or line that was rejected; see @err */
};

/**
 * struct notify_event - one event, passed to the supervisor's callback.
 * @type:       what happened
 * @at_ns:      when the datagram was read (monotonic ns)
 * @phase:      for %NOTIFY_EV_PHASE
 * @text:       for %NOTIFY_EV_STATUS, %NOTIFY_EV_WRITEBACK and %NOTIFY_EV_SNAPSHOT: the text (not
 *              NUL-terminated, may be empty); for %NOTIFY_EV_INVALID: a
 *              static NUL-terminated reason
 * @text_len:   its length
 * @err:        for %NOTIFY_EV_INVALID: the negative errno; for %NOTIFY_EV_WRITEBACK: 0 written,
 *              -EBUSY another writer held the lock, -EIO failed (@text says why)
 * @hit:        for %NOTIFY_EV_CACHE, and @miss, @rejected, @bytes
 * @miss:       see @hit
 * @rejected:   see @hit
 * @bytes:      see @hit
 */
struct notify_event {
	enum notify_event_type type;
	uint64_t at_ns;
	enum probe_phase phase;
	const char *text;
	size_t text_len;
	int err;
	uint64_t hit, miss, rejected, bytes;
};

struct notify_server;

/**
 * typedef notify_event_cb - the supervisor's hook, e.g. to log phases.
 * @n:  the notify server (its @data is the caller's)
 * @ev: the event; pointers in it are valid during the call only
 */
typedef void (*notify_event_cb)(struct notify_server *n, const struct notify_event *ev);

/**
 * notify_apply() - parse a datagram and apply it to @st, reporting each event.
 * @st:     the state to update
 * @buf:    the datagram
 * @len:    its length
 * @now_ns: when it arrived
 * @cb:     called per event, and once with %NOTIFY_EV_INVALID when the datagram is rejected
 *          (may be NULL)
 * @n:      passed to @cb
 *
 * A datagram is applied whole or not at all. Unknown keys are ignored, as sd_notify wants.
 *
 * Return: the number of lines applied, or a negative errno (-EMSGSIZE, -EBADMSG, -EINVAL).
 */
int notify_apply(struct probe_state *st, const char *buf, size_t len, uint64_t now_ns,
		 notify_event_cb cb, struct notify_server *n);

/**
 * struct notify_server - reads notify datagrams on a libuv loop.
 * @data:     the caller's pointer, for @cb
 * @loop:     the loop
 * @st:       the state updated by each datagram
 * @cb:       event hook (may be NULL)
 * @fd:       the datagram socket
 * @owns_fd:  close @fd on notify_server_close() (set by notify_server_bind())
 * @path:     the bound filesystem path to unlink on close (empty for abstract or inherited)
 * @poll:     the poll handle on @fd
 * @active:   the poll handle is open
 * @received: datagrams read
 * @rejected: datagrams rejected
 * @buf:      receive buffer (one spare byte to detect over-long datagrams)
 */
struct notify_server {
	void *data;
	uv_loop_t *loop;
	struct probe_state *st;
	notify_event_cb cb;
	int fd;
	bool owns_fd;
	char path[108];
	uv_poll_t poll;
	bool active;
	uint64_t received;
	uint64_t rejected;
	char buf[NOTIFY_MAX_DATAGRAM + 1];
};

/**
 * notify_server_init() - read notify datagrams from an already-open socket.
 * @n:    the server to fill (caller-allocated)
 * @loop: the loop to read on
 * @fd:   PID 1's end of a socketpair(AF_UNIX, SOCK_DGRAM); made non-blocking and close-on-exec,
 *        not owned (the caller closes it after notify_server_close())
 * @st:   the state each datagram updates
 * @cb:   event hook (may be NULL)
 *
 * Return: 0, or a negative errno.
 */
int notify_server_init(struct notify_server *n, uv_loop_t *loop, int fd, struct probe_state *st,
		       notify_event_cb cb);

/**
 * notify_server_bind() - bind an AF_UNIX datagram socket to export as NOTIFY_SOCKET (exec mode).
 * @n:    the server to fill (caller-allocated)
 * @loop: the loop to read on
 * @path: a filesystem path, or "@name" for an abstract socket; a stale socket at the path is
 *        replaced
 * @st:   the state each datagram updates
 * @cb:   event hook (may be NULL)
 *
 * SCM_CREDENTIALS are neither required nor requested: plain sendto() works, and so do senders
 * that attach credentials or file descriptors (received descriptors are closed at once).
 *
 * Return: 0, -ENAMETOOLONG, or the negative errno of socket(), bind() or the poll setup.
 */
int notify_server_bind(struct notify_server *n, uv_loop_t *loop, const char *path,
		       struct probe_state *st, notify_event_cb cb);

/**
 * notify_server_drain() - read and apply the datagrams waiting now, without the loop.
 * @n: an initialised server (an inactive one is left alone)
 *
 * For PID 1 when the child exits: what it sent just before is read before its exit is judged.
 */
void notify_server_drain(struct notify_server *n);

/**
 * notify_server_close() - stop reading; closes and unlinks what notify_server_bind() made.
 * @n: the server; closing twice, or a server whose init failed, is harmless
 *
 * The poll handle is closed through the loop: run the loop once more before freeing @n.
 */
void notify_server_close(struct notify_server *n);

#endif
