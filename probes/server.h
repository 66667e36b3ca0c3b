/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The probe server: HTTP/1.1 GET/HEAD on /readyz /livez /startupz /metrics, served from PID 1's
 * libuv loop. That loop also reaps children and handles signals, so nothing here blocks: every
 * socket is non-blocking, connection slots and their buffers are allocated once at init, the
 * number of connections is capped, idle or slow clients are timed out, and one connection answers
 * at most a small budget of pipelined requests per loop turn. Specified in probes/PROTOCOL.md.
 *
 * Responses go out with MSG_NOSIGNAL; only a response too large for the socket buffer is left
 * to libuv, whose write can raise SIGPIPE when the client has gone: the process must block or
 * ignore SIGPIPE (PID 1 blocks every signal and reads them from a signalfd).
 */
#ifndef KNEXT_PROBES_SERVER_H
#define KNEXT_PROBES_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "probes/http.h"
#include "probes/state.h"

#define PROBE_DEFAULT_MAX_CONNS 1024
#define PROBE_DEFAULT_IDLE_TIMEOUT_MS 30000
#define PROBE_DEFAULT_REQUEST_TIMEOUT_MS 5000
/* After a final response, unread input is drained this long before the socket closes. */
#define PROBE_LINGER_MS 1000

/**
 * struct probe_server_opts - where and how the server listens.
 * @host:               address to bind ("0.0.0.0", "127.0.0.1", "::"; NULL: "0.0.0.0")
 * @port:               TCP port (0: any free port, for tests; see &probe_server.port)
 * @max_conns:          connection cap (0: %PROBE_DEFAULT_MAX_CONNS)
 * @idle_timeout_ms:    a connection with no request in progress is closed after this long
 *                      (0: %PROBE_DEFAULT_IDLE_TIMEOUT_MS)
 * @request_timeout_ms: a request must arrive, and its response be taken, within this long
 *                      (0: %PROBE_DEFAULT_REQUEST_TIMEOUT_MS)
 */
struct probe_server_opts {
	const char *host;
	int port;
	unsigned max_conns;
	unsigned idle_timeout_ms;
	unsigned request_timeout_ms;
};

struct probe_conn;
struct probe_server;

/**
 * typedef probe_server_close_cb - called once every handle of the server is closed.
 * @s: the server, which may be freed now
 */
typedef void (*probe_server_close_cb)(struct probe_server *s);

/**
 * struct probe_server - one listening probe server.
 * @data:          the caller's pointer
 * @loop:          the loop
 * @st:            the state the endpoints read (request counters are written)
 * @opts:          the options in effect
 * @port:          the port actually bound
 * @listener:      the listening socket
 * @sweep:         timer that enforces the timeouts; runs only while connections exist
 * @resume:        idle handle that resumes connections that ran out of their per-turn budget
 * @deferred:      those connections
 * @slab:          @opts.max_conns connection slots, allocated once
 * @free_list:     slots used before and free again
 * @slab_used:     slots [0, @slab_used) have been used; the rest were never touched
 * @lru:           open connections, least recently active first
 * @nconns:        open connections
 * @handles:       open libuv handles (closing completes at 0)
 * @accept_pending: a connection waits in libuv for a free slot
 * @closing:       probe_server_close() was called
 * @close_cb:      its callback
 * @accepted:      connections accepted
 * @evicted:       idle connections closed to make room under the cap
 * @timed_out:     connections closed by a timeout
 * @why:           on init failure, a one-line reason for the log
 */
struct probe_server {
	void *data;
	uv_loop_t *loop;
	struct probe_state *st;
	struct probe_server_opts opts;
	int port;
	uv_tcp_t listener;
	uv_timer_t sweep;
	uv_idle_t resume;
	struct probe_conn *deferred;
	struct probe_conn *slab;
	struct probe_conn *free_list;
	unsigned slab_used;
	struct probe_conn *lru_head, *lru_tail;
	unsigned nconns;
	unsigned handles;
	bool accept_pending;
	bool closing;
	probe_server_close_cb close_cb;
	uint64_t accepted;
	uint64_t evicted;
	uint64_t timed_out;
	char why[160];
};

/**
 * probe_server_init() - listen on @host:@port with default limits.
 * @s:    the server (caller-allocated)
 * @loop: PID 1's loop
 * @st:   the state the endpoints report
 * @host: address to bind (NULL: "0.0.0.0")
 * @port: TCP port
 *
 * Return: 0, or a negative errno (-EADDRINUSE, -ENOMEM, ...) with @s->why filled.
 */
int probe_server_init(struct probe_server *s, uv_loop_t *loop, struct probe_state *st,
		      const char *host, int port);

/**
 * probe_server_init_opts() - probe_server_init() with explicit limits and timeouts.
 * @s:    the server (caller-allocated)
 * @loop: the loop
 * @st:   the state
 * @opts: where to listen and the limits (zeros pick the defaults)
 *
 * On failure, the handles already opened are closing: run the loop once before freeing @s.
 *
 * Return: 0, or a negative errno with @s->why filled.
 */
int probe_server_init_opts(struct probe_server *s, uv_loop_t *loop, struct probe_state *st,
			   const struct probe_server_opts *opts);

/**
 * probe_server_close() - stop listening and close every connection.
 * @s:        the server; closing twice is harmless
 * @close_cb: called once everything is closed (may be NULL); run the loop until then
 */
void probe_server_close(struct probe_server *s, probe_server_close_cb close_cb);

#endif
