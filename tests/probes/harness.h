/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test harness: a probe server on a real libuv loop in a background thread, and blocking
 * loopback clients for the test body. State changes go through harness_call(), which runs a
 * function on the loop thread (the server is single-threaded by design).
 */
#ifndef KNEXT_TESTS_PROBES_HARNESS_H
#define KNEXT_TESTS_PROBES_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "probes/server.h"
#include "probes/state.h"

struct harness {
	uv_loop_t loop;
	uv_async_t async;
	struct probe_state st;
	struct probe_server srv;
	int port;
};

extern struct harness H;

/* Starts the loop thread with a server on 127.0.0.1 (port 0 = any); opts may be NULL. */
void harness_start(const struct probe_server_opts *opts);
/* Closes the server, stops the loop thread and checks every handle was closed. */
void harness_stop(void);
/* Runs fn(arg) on the loop thread and waits for it. */
void harness_call(void (*fn)(void *arg), void *arg);

/* Loop-thread helpers for harness_call(). */
void h_set_alive(void *arg); /* child alive */
void h_set_ready(void *arg); /* listening */
void h_set_drain(void *arg); /* SIGTERM */
void h_heartbeat(void *arg); /* WATCHDOG=1 */
void h_child_exit(void *arg); /* exit status 0 */

/* A connected blocking client socket with a receive timeout of @timeout_ms. */
int client_connect(int port, int timeout_ms);
/* Sends all of @buf. */
void client_send(int fd, const void *buf, size_t len);
/* Reads one response (head + Content-Length body) into @out; returns its status or -1. */
int client_response(int fd, char *out, size_t n, int head_only);
/* Reads until EOF or timeout; returns bytes read, 0 on EOF right away, -1 on timeout/error. */
ssize_t client_drain(int fd, char *out, size_t n);
/* One request on a fresh connection; returns the status, body in @body. */
int client_get(int port, const char *path, char *body, size_t n);

/*
 * Reports a measured figure: on stderr, and appended to $PROBE_FIGURES when set (Criterion
 * drops a test's stderr when it writes TAP to stdout).
 */
void figure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

uint64_t now_ns(void);
double ms_since(uint64_t t0);
int cmp_double(const void *a, const void *b);
/* Raises RLIMIT_NOFILE to at least @n; returns 0 or -1. */
int raise_nofile(unsigned long n);

#endif
