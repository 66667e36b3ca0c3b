/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fake Kubernetes API server for knext-operator's tests: HTTP/1.1 on loopback, serving NextApps
 * (knext.dev/v1alpha1) and Knative Services (serving.knative.dev/v1) on the real wire format:
 * lists with a resourceVersion, chunked watch streams with bookmarks, "410 Gone" for compacted
 * versions, server-side apply PATCHes, the /status subresource, ownerReference garbage collection,
 * and Knative's controller reduced to "a new generation becomes Ready with a URL". Faults are
 * scripted: failing requests with any status (409, 500, ...), dropped or ended watches,
 * compaction, and a restart (all connections dropped, nothing listening for a while).
 * KNEXT_FAKE_DEBUG=1 in the environment prints every request line on stderr.
 */
#ifndef KNEXT_TESTS_FAKE_APISERVER_H
#define KNEXT_TESTS_FAKE_APISERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define FAKE_MAX_CONNS 64

struct fake_conn;

/**
 * struct fake - the server; test code uses the functions below, not the fields.
 */
struct fake {
	pthread_mutex_t lock;
	pthread_t thread;
	bool running;
	int lfd;
	int port;
	int wake[2];
	struct fake_conn *conns[FAKE_MAX_CONNS];
	uint64_t rv;
	uint64_t compacted;
	uint64_t uid_seq;
	json_t *apps;
	json_t *svcs;
	json_t *events;
	char fail_match[128];
	int fail_status;
	int fail_count;
	bool gone_as_http;
	bool knative;
	bool stop;
	int restart_ms;
	int drop;
	int bookmark_ms;
	json_t *apply_count;
	json_t *apply_ms;
	unsigned long applies;
	unsigned long status_writes;
	unsigned long watches;
	unsigned long lists;
	unsigned long requests;
	unsigned long bad_requests;
	char *dump_dir;
	unsigned long dumped;
	void *tls;
	unsigned long tls_failures;
	char auth[256];
};

/**
 * fake_init() - start a server on 127.0.0.1, on a free port, serving from its own thread.
 * @f:        the server
 * @dump_dir: directory receiving every applied Service as N.json, or NULL
 *
 * Return: 0 or -errno.
 */
int fake_init(struct fake *f, const char *dump_dir);

/** fake_close() - stop the thread, close every socket, free the state. */
void fake_close(struct fake *f);

/** fake_put_app() - create or update a NextApp; @spec is JSON text. Return: 0 or -EINVAL. */
int fake_put_app(struct fake *f, const char *ns, const char *name, const char *spec);

/** fake_delete_app() - delete a NextApp and, as the garbage collector would, what it owns. */
int fake_delete_app(struct fake *f, const char *ns, const char *name);

/** fake_delete_service() - delete a Knative Service behind the operator's back. */
int fake_delete_service(struct fake *f, const char *ns, const char *name);

/** fake_get_app() - a copy of a NextApp, or NULL. */
json_t *fake_get_app(struct fake *f, const char *ns, const char *name);

/** fake_get_service() - a copy of a Knative Service, or NULL. */
json_t *fake_get_service(struct fake *f, const char *ns, const char *name);

/** fake_service_count() - how many Knative Services exist. */
size_t fake_service_count(struct fake *f);

/** fake_apply_count() - server-side apply requests received for one Service. */
unsigned long fake_apply_count(struct fake *f, const char *ns, const char *name);

/** fake_last_apply_ms() - CLOCK_MONOTONIC time in ms of the last apply to a Service, or 0. */
double fake_last_apply_ms(struct fake *f, const char *ns, const char *name);

/** fake_stats() - totals: applies, status writes, watches started, lists served. */
void fake_stats(struct fake *f, unsigned long *applies, unsigned long *status_writes,
		unsigned long *watches, unsigned long *lists);

/** fake_bad_requests() - requests that broke the protocol (wrong content type, no force, ...). */
unsigned long fake_bad_requests(struct fake *f);

/**
 * fake_fail() - answer the next @count requests whose "METHOD /path" starts with @match with
 * @status, or with no answer at all (the connection dropped) when @status is 0.
 */
void fake_fail(struct fake *f, const char *match, int status, int count);

/** fake_drop_watches() - cut every watch connection without ending its stream. */
void fake_drop_watches(struct fake *f);

/** fake_end_watches() - end every watch stream properly, as timeoutSeconds would. */
void fake_end_watches(struct fake *f);

/** fake_compact() - forget history: a watch from any current version gets 410 Gone. */
void fake_compact(struct fake *f);

/** fake_set_gone_as_http() - send 410 as an HTTP status instead of an ERROR watch event. */
void fake_set_gone_as_http(struct fake *f, bool on);

/** fake_set_knative() - whether Services become Ready with a URL after each apply (default on). */
void fake_set_knative(struct fake *f, bool on);

/** fake_restart() - drop every connection, compact, refuse connections for @down_ms, listen again. */
void fake_restart(struct fake *f, int down_ms);

/**
 * fake_enable_tls() - serve HTTPS from now on, with this certificate chain and key (PEM files).
 * Return: 0, -ENOTSUP when built without OpenSSL, -EINVAL for unusable files.
 */
int fake_enable_tls(struct fake *f, const char *cert, const char *key);

/** fake_tls_failures() - TLS handshakes that failed (a client that does not trust us). */
unsigned long fake_tls_failures(struct fake *f);

/** fake_last_auth() - the Authorization header of the last request. */
void fake_last_auth(struct fake *f, char *buf, size_t len);

/** fake_now_ms() - CLOCK_MONOTONIC in ms. */
double fake_now_ms(void);

#endif
