/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bounded, de-duplicating work queue of object keys ("namespace/name"), with delayed re-adds for
 * backoff. A key is queued at most once; a key added while a worker holds it is handed out again
 * after workqueue_done(), never to two workers at once. Thread-safe.
 */
#ifndef KNEXT_OPERATOR_WORKQUEUE_H
#define KNEXT_OPERATOR_WORKQUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/**
 * struct workqueue - the queue; fields are private.
 * @lock:       guards everything below
 * @cond:       signalled on add and shutdown
 * @ring:       FIFO of ready keys, @cap slots
 * @cap:        bound on keys waiting (ready, delayed or re-added while held)
 * @head:       index of the oldest ready key
 * @len:        number of ready keys
 * @queued:     set of ready keys
 * @processing: set of keys held by workers
 * @dirty:      keys added while held, re-queued on done
 * @delayed:    key -> due time (ms, monotonic)
 * @stopping:   set by workqueue_shutdown()
 */
struct workqueue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char **ring;
	size_t cap;
	size_t head;
	size_t len;
	json_t *queued;
	json_t *processing;
	json_t *dirty;
	json_t *delayed;
	bool stopping;
};

/**
 * workqueue_init() - set a queue up.
 * @q:   the queue
 * @cap: most keys that may wait at once, at least 1
 *
 * Return: 0, -EINVAL or -ENOMEM.
 */
int workqueue_init(struct workqueue *q, size_t cap);

/**
 * workqueue_add() - queue @key now, unless it is already waiting.
 * @q:   the queue
 * @key: the key, copied
 *
 * Return: 0, -ENOSPC when @cap keys already wait, -ESHUTDOWN after shutdown, -ENOMEM.
 */
int workqueue_add(struct workqueue *q, const char *key);

/**
 * workqueue_add_after() - queue @key once @delay_ms have passed.
 * @q:        the queue
 * @key:      the key, copied
 * @delay_ms: how long to wait; an earlier pending time for the same key wins
 *
 * Return: as workqueue_add().
 */
int workqueue_add_after(struct workqueue *q, const char *key, uint32_t delay_ms);

/**
 * workqueue_get() - wait for the next ready key and hold it.
 * @q:   the queue
 * @key: receives the key, which the caller frees after workqueue_done()
 *
 * Return: 0, or -ESHUTDOWN once the queue is shut down.
 */
int workqueue_get(struct workqueue *q, char **key);

/**
 * workqueue_done() - release a key taken with workqueue_get().
 * @q:   the queue
 * @key: the key
 *
 * A key added again while it was held is queued again now.
 */
void workqueue_done(struct workqueue *q, const char *key);

/**
 * workqueue_depth() - keys waiting: ready, delayed, or re-added while held.
 * @q: the queue
 *
 * Return: the count.
 */
size_t workqueue_depth(struct workqueue *q);

/**
 * workqueue_shutdown() - wake every waiter; later gets and adds fail with -ESHUTDOWN.
 * @q: the queue
 */
void workqueue_shutdown(struct workqueue *q);

/**
 * workqueue_close() - free the queue. Idempotent; no thread may still use it.
 * @q: the queue
 */
void workqueue_close(struct workqueue *q);

#endif
