/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small Kubernetes API client on libcurl: one request at a time on a kept-alive connection, and
 * streamed GETs (watches) delivered line by line. One client per thread.
 */
#ifndef KNEXT_OPERATOR_KUBE_H
#define KNEXT_OPERATOR_KUBE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include <curl/curl.h>

#include "container/operator/kubeconfig.h"
#include "container/operator/watch.h"

/**
 * struct kube_client - one connection's worth of client state; fields are private.
 * @cfg:    the server and credentials, borrowed
 * @curl:   the easy handle, reused so the connection stays open
 * @stop:   when it becomes true, transfers in flight are aborted
 * @errbuf: curl's last error text
 * @lock:   guards @sock
 * @sock:   the socket curl has open, -1 when none
 */
struct kube_client {
	const struct kube_config *cfg;
	CURL *curl;
	const atomic_bool *stop;
	char errbuf[CURL_ERROR_SIZE];
	pthread_mutex_t lock;
	int sock;
};

/**
 * struct kube_response - an HTTP response.
 * @status: HTTP status code
 * @body:   the body, NUL-terminated, owned
 * @len:    its length
 */
struct kube_response {
	long status;
	char *body;
	size_t len;
};

/**
 * kube_client_init() - set a client up.
 * @kc:   the client
 * @cfg:  server and credentials; must outlive the client
 * @stop: flag that aborts transfers in flight when set, may be NULL
 *
 * Return: 0 or -ENOMEM.
 */
int kube_client_init(struct kube_client *kc, const struct kube_config *cfg,
		     const atomic_bool *stop);

/**
 * kube_request() - send one request and read the whole response.
 * @kc:     the client
 * @method: "GET", "PATCH", ...
 * @path:   path and query, starting with '/'
 * @ctype:  Content-Type of @body, NULL without a body
 * @body:   the request body, NULL for none
 * @resp:   receives the response; kube_response_close() it
 * @reason: receives the transport error, if any
 * @len:    size of @reason
 *
 * Return: 0 when a response arrived, whatever its status; -ECANCELED when stopped;
 * -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET or -EIO for transport errors; -ENOMEM.
 */
int kube_request(struct kube_client *kc, const char *method, const char *path, const char *ctype,
		 const char *body, struct kube_response *resp, char *reason, size_t len);

/**
 * kube_stream() - GET @path and hand the body to @cb one line at a time (a watch).
 * @kc:        the client
 * @path:      path and query, starting with '/'
 * @timeout_s: give up on the transfer after this long; 0 for never
 * @cb:        called for every complete line; returning non-zero aborts the stream
 * @ud:        passed to @cb
 * @resp:      receives the status, and the body when it is not 200; kube_response_close() it
 * @reason:    receives the transport error, if any
 * @len:       size of @reason
 *
 * Return: 0 when the server ended the stream (or answered with an error status); the non-zero
 * value @cb returned; or a transport error as kube_request().
 */
int kube_stream(struct kube_client *kc, const char *path, long timeout_s, watch_line_fn cb,
		void *ud, struct kube_response *resp, char *reason, size_t len);

/**
 * kube_client_abort() - end the transfer in flight now (from another thread): its socket is shut
 * down, so a watch blocked in recv() returns at once instead of at curl's next progress check.
 * @kc: the client; the caller has set its stop flag, or the transfer is simply retried
 */
void kube_client_abort(struct kube_client *kc);

/**
 * kube_response_close() - free a response. Idempotent.
 * @resp: the response
 */
void kube_response_close(struct kube_response *resp);

/**
 * kube_client_close() - close the connection and free the client. Idempotent.
 * @kc: the client
 */
void kube_client_close(struct kube_client *kc);

#endif
