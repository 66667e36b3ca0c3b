/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An informer: the local copy of one collection (NextApps, Knative Services), kept current by
 * list-then-watch. Lists come in pages (limit/continue, all from one snapshot; an expired continue
 * token starts the list over). The watch starts at the list's resourceVersion with bookmarks on; an ended or
 * dropped watch resumes from the last resourceVersion seen; "410 Gone" (as a status or as an ERROR
 * event) means that version is compacted away, so it lists again and reports the difference.
 */
#ifndef KNEXT_OPERATOR_INFORMER_H
#define KNEXT_OPERATOR_INFORMER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <jansson.h>

#include "container/operator/backoff.h"
#include "container/operator/kube.h"
#include "container/operator/oplog.h"

/**
 * typedef informer_changed_fn - an object was added or changed, or (@deleted) removed; @obj is
 * the new object, or the last one known for a delete. Called with the store locked: it must not
 * call back into the same informer.
 */
typedef void (*informer_changed_fn)(void *ud, const char *key, json_t *obj, bool deleted);

/**
 * struct informer - one watched collection; fields are private but for the counters.
 * @name:            short name for logs ("nextapps")
 * @path:            the collection's path, e.g. /apis/knext.dev/v1alpha1/nextapps
 * @watch_timeout_s: timeoutSeconds asked of each watch
 * @list_limit:      page size of lists (limit=, then continue= until the last page)
 * @kc:              the informer's own connection
 * @lock:            guards @store, @rv and @synced
 * @store:           key -> object
 * @rv:              resourceVersion to resume from, empty to list
 * @synced:          the first list has completed
 * @stop:            the operator's stop flag
 * @backoff:         retry policy for failed lists and watches
 * @log:             log sink
 * @changed:         change callback
 * @ud:              passed to @changed
 * @trim:            drops what the caller never reads from an object before it is stored (memory
 *                   for thousands of objects), or NULL; set after informer_init()
 * @lists:           lists done (the first one and every relist)
 * @watches:         watches started
 * @events:          watch events applied
 */
struct informer {
	const char *name;
	char *path;
	long watch_timeout_s;
	unsigned int list_limit;
	struct kube_client kc;
	pthread_mutex_t lock;
	json_t *store;
	char rv[64];
	bool synced;
	const atomic_bool *stop;
	struct backoff backoff;
	const struct oplog *log;
	informer_changed_fn changed;
	void *ud;
	void (*trim)(json_t *obj);
	atomic_ulong lists;
	atomic_ulong watches;
	atomic_ulong events;
};

/**
 * informer_init() - set an informer up; nothing is sent before informer_run().
 * @inf:     the informer
 * @name:    short name for logs, a static string
 * @cfg:     the API server; must outlive the informer
 * @path:    collection path, copied
 * @stop:    stop flag: informer_run() returns soon after it becomes true
 * @log:     log sink, may be NULL
 * @changed: change callback
 * @ud:      passed to @changed
 *
 * Return: 0 or -ENOMEM.
 */
int informer_init(struct informer *inf, const char *name, const struct kube_config *cfg,
		  const char *path, const atomic_bool *stop, const struct oplog *log,
		  informer_changed_fn changed, void *ud);

/**
 * informer_run() - list and watch until the stop flag is set. Errors are retried with backoff.
 * @inf: the informer
 *
 * Return: 0.
 */
int informer_run(struct informer *inf);

/**
 * informer_get() - a copy of the object stored under @key.
 * @inf: the informer
 * @key: "namespace/name"
 *
 * Return: a new reference the caller owns, or NULL when absent.
 */
json_t *informer_get(struct informer *inf, const char *key);

/**
 * informer_put() - store an object the caller got straight from the server (an apply's answer),
 * so that decisions made before the watch delivers it see it already.
 * @inf: the informer
 * @key: "namespace/name"
 * @obj: the object, copied
 *
 * Return: 0, or -ENOMEM.
 */
int informer_put(struct informer *inf, const char *key, json_t *obj);

/**
 * informer_keys() - the keys stored now.
 * @inf: the informer
 *
 * Return: a new JSON array of strings, or NULL without memory.
 */
json_t *informer_keys(struct informer *inf);

/**
 * informer_synced() - whether the first list has completed.
 * @inf: the informer
 *
 * Return: true once it has.
 */
bool informer_synced(struct informer *inf);

/**
 * informer_abort() - cut the list or watch in flight, so informer_run() notices the stop flag now.
 * @inf: the informer
 */
void informer_abort(struct informer *inf);

/**
 * informer_close() - free the informer. Idempotent; informer_run() must have returned.
 * @inf: the informer
 */
void informer_close(struct informer *inf);

#endif
