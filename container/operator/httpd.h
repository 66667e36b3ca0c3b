/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The operator's own small HTTP endpoint (/healthz, /readyz, /metrics): one thread, poll(), one
 * short request per connection. Not a general server: it answers GETs and closes.
 */
#ifndef KNEXT_OPERATOR_HTTPD_H
#define KNEXT_OPERATOR_HTTPD_H

#include <pthread.h>

/**
 * typedef httpd_handler_fn - answer GET @path.
 * Fill @body with a malloc'd string (or leave it NULL) and return the HTTP status.
 */
typedef int (*httpd_handler_fn)(void *ud, const char *path, char **body);

/**
 * struct httpd - the endpoint; fields are private.
 * @fd:      listening socket
 * @wake:    pipe that stops the thread
 * @port:    the bound port
 * @thread:  the serving thread
 * @running: the thread was started
 * @handler: request handler
 * @ud:      passed to @handler
 */
struct httpd {
	int fd;
	int wake[2];
	int port;
	pthread_t thread;
	int running;
	httpd_handler_fn handler;
	void *ud;
};

/**
 * httpd_init() - bind and listen, and start serving on a thread.
 * @h:       the endpoint
 * @addr:    "HOST:PORT" (IPv4), port 0 for any free port
 * @handler: request handler, called on the serving thread
 * @ud:      passed to @handler
 *
 * Return: 0, -EINVAL for a bad address, or -errno from socket, bind, listen or pthread_create.
 */
int httpd_init(struct httpd *h, const char *addr, httpd_handler_fn handler, void *ud);

/**
 * httpd_close() - stop serving, join the thread and close the socket. Idempotent.
 * @h: the endpoint
 */
void httpd_close(struct httpd *h);

#endif
