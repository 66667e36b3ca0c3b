/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reconcile loop: two informers (NextApps, and the Knative Services we own), a work queue of
 * NextApp keys, and worker threads that make each NextApp's Service and status what the manifest
 * library says they should be. A Service is applied (server-side apply, forced, one field manager)
 * only when what renders differs from what the cluster holds, as recorded by its hash annotation.
 */
#ifndef KNEXT_OPERATOR_CONTROLLER_H
#define KNEXT_OPERATOR_CONTROLLER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "container/operator/backoff.h"
#include "container/operator/informer.h"
#include "container/operator/kube.h"
#include "container/operator/oplog.h"
#include "container/operator/workqueue.h"

#define CONTROLLER_MAX_WORKERS 16
#define CONTROLLER_FIELD_MANAGER "knext-operator"

/**
 * struct controller_config - how to run.
 * @kube:            API server and credentials; must outlive the controller
 * @namespace:       watch this namespace only, or NULL for the whole cluster
 * @workers:         reconcile threads, 1..CONTROLLER_MAX_WORKERS
 * @queue_cap:       bound on queued keys
 * @watch_timeout_s: timeoutSeconds of each watch
 * @list_limit:      page size of lists, 0 for the default (500)
 * @stop:            set by the caller to stop everything
 * @log:             log sink, may be NULL
 */
struct controller_config {
	const struct kube_config *kube;
	const char *namespace;
	unsigned int workers;
	size_t queue_cap;
	long watch_timeout_s;
	unsigned int list_limit;
	const atomic_bool *stop;
	const struct oplog *log;
};

/**
 * struct controller_stats - counters for /metrics.
 * @reconciles:      reconciles run
 * @errors:          reconciles that failed and were retried with backoff
 * @applies:         Services applied
 * @applies_skipped: reconciles whose Service was already current
 * @status_updates:  status writes
 * @invalid:         reconciles of a NextApp that cannot render
 * @queue_full:      keys dropped because the queue was full (a resync picks them up)
 */
struct controller_stats {
	atomic_ulong reconciles;
	atomic_ulong errors;
	atomic_ulong applies;
	atomic_ulong applies_skipped;
	atomic_ulong status_updates;
	atomic_ulong invalid;
	atomic_ulong queue_full;
};

/**
 * struct controller - the controller; fields are private but for @stats.
 * @cfg:      configuration, copied
 * @apps:     NextApp informer
 * @svcs:     Knative Service informer (our label only)
 * @queue:    NextApp keys to reconcile
 * @lock:     guards @backoff and @failures
 * @backoff:  retry policy for failed reconciles
 * @failures: key -> consecutive failures
 * @threads:  informer threads, then workers
 * @nthreads: threads started
 * @stats:    counters
 */
struct controller {
	struct controller_config cfg;
	struct informer apps;
	struct informer svcs;
	struct workqueue queue;
	pthread_mutex_t lock;
	struct backoff backoff;
	json_t *failures;
	pthread_t threads[CONTROLLER_MAX_WORKERS + 2];
	unsigned int nthreads;
	struct controller_stats stats;
};

/**
 * controller_init() - set a controller up; nothing runs before controller_start().
 * @c:   the controller
 * @cfg: configuration
 *
 * Return: 0, -EINVAL for a bad configuration, -ENOMEM.
 */
int controller_init(struct controller *c, const struct controller_config *cfg);

/**
 * controller_start() - start the informers and the workers.
 * @c: the controller
 *
 * Workers wait until both informers have listed once, so a restart applies nothing that is
 * already current.
 *
 * Return: 0, or -errno from pthread_create (threads already started keep running until
 * controller_stop()).
 */
int controller_start(struct controller *c);

/**
 * controller_synced() - both informers have completed their first list.
 * @c: the controller
 *
 * Return: true when synced.
 */
bool controller_synced(struct controller *c);

/**
 * controller_resync() - queue every known NextApp again.
 * @c: the controller
 */
void controller_resync(struct controller *c);

/**
 * controller_metrics() - the counters in Prometheus text format.
 * @c:    the controller
 * @text: receives a malloc'd string
 *
 * Return: 0 or -ENOMEM.
 */
int controller_metrics(struct controller *c, char **text);

/**
 * controller_stop() - wait for every thread; the caller has set the stop flag.
 * @c: the controller
 */
void controller_stop(struct controller *c);

/**
 * controller_close() - free the controller. Idempotent; controller_stop() first.
 * @c: the controller
 */
void controller_close(struct controller *c);

#endif
