// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "container/operator/workqueue.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int workqueue_init(struct workqueue *q, size_t cap)
{
	pthread_condattr_t attr;

	memset(q, 0, sizeof(*q));
	if (!cap)
		return -EINVAL;
	pthread_mutex_init(&q->lock, NULL);
	/* Delayed keys are due on the monotonic clock, so the waits are too. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &attr);
	pthread_condattr_destroy(&attr);
	q->ring = calloc(cap, sizeof(*q->ring));
	q->queued = json_object();
	q->processing = json_object();
	q->dirty = json_object();
	q->delayed = json_object();
	if (!q->ring || !q->queued || !q->processing || !q->dirty || !q->delayed) {
		workqueue_close(q);
		return -ENOMEM;
	}
	q->cap = cap;
	return 0;
}

static size_t tracked(const struct workqueue *q)
{
	return json_object_size(q->queued) + json_object_size(q->dirty) +
	       json_object_size(q->delayed);
}

/* Caller holds the lock and has checked the bound; the key is not in the ring yet. */
static int push_locked(struct workqueue *q, const char *key)
{
	char *copy = strdup(key);

	if (!copy)
		return -ENOMEM;
	if (json_object_set_new(q->queued, key, json_true())) {
		free(copy);
		return -ENOMEM;
	}
	q->ring[(q->head + q->len) % q->cap] = copy;
	q->len++;
	pthread_cond_signal(&q->cond);
	return 0;
}

static int add_locked(struct workqueue *q, const char *key)
{
	if (q->stopping)
		return -ESHUTDOWN;
	if (json_object_get(q->queued, key) || json_object_get(q->dirty, key))
		return 0;
	if (json_object_get(q->processing, key)) {
		if (tracked(q) >= q->cap)
			return -ENOSPC;
		return json_object_set_new(q->dirty, key, json_true()) ? -ENOMEM : 0;
	}
	if (json_object_get(q->delayed, key)) {
		/* Already counted: promote from delayed to ready. */
		json_object_del(q->delayed, key);
		return push_locked(q, key);
	}
	if (tracked(q) >= q->cap)
		return -ENOSPC;
	return push_locked(q, key);
}

int workqueue_add(struct workqueue *q, const char *key)
{
	int r;

	pthread_mutex_lock(&q->lock);
	r = add_locked(q, key);
	pthread_mutex_unlock(&q->lock);
	return r;
}

int workqueue_add_after(struct workqueue *q, const char *key, uint32_t delay_ms)
{
	int64_t due = now_ms() + delay_ms;
	json_t *old;
	int r = 0;

	if (!delay_ms)
		return workqueue_add(q, key);
	pthread_mutex_lock(&q->lock);
	if (q->stopping) {
		r = -ESHUTDOWN;
		goto out;
	}
	if (json_object_get(q->queued, key) || json_object_get(q->dirty, key))
		goto out;
	old = json_object_get(q->delayed, key);
	if (old) {
		if (json_integer_value(old) > due)
			json_integer_set(old, due);
		goto out;
	}
	if (tracked(q) >= q->cap) {
		r = -ENOSPC;
		goto out;
	}
	if (json_object_set_new(q->delayed, key, json_integer(due)))
		r = -ENOMEM;
	else
		pthread_cond_signal(&q->cond);
out:
	pthread_mutex_unlock(&q->lock);
	return r;
}

/* Moves due delayed keys to the ring; returns the earliest due time still pending, or -1. */
static int64_t promote_due_locked(struct workqueue *q, int64_t now)
{
	int64_t next = -1, due;
	const char *key;
	json_t *val;
	void *tmp;

	json_object_foreach_safe(q->delayed, tmp, key, val) {
		due = json_integer_value(val);
		if (due > now) {
			if (next < 0 || due < next)
				next = due;
			continue;
		}
		if (json_object_get(q->processing, key)) {
			/* Never hand a key to two workers: re-queue it when it is done. */
			json_object_set_new(q->dirty, key, json_true());
			json_object_del(q->delayed, key);
			continue;
		}
		/* Delete first so push_locked may reuse the key's slot in the count. */
		char *copy = strdup(key);

		json_object_del(q->delayed, key);
		if (copy) {
			push_locked(q, copy);
			free(copy);
		}
	}
	return next;
}

int workqueue_get(struct workqueue *q, char **key)
{
	struct timespec ts;
	int64_t next;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		if (q->stopping) {
			pthread_mutex_unlock(&q->lock);
			return -ESHUTDOWN;
		}
		next = promote_due_locked(q, now_ms());
		if (q->len)
			break;
		if (next < 0) {
			pthread_cond_wait(&q->cond, &q->lock);
			continue;
		}
		ts.tv_sec = next / 1000;
		ts.tv_nsec = (next % 1000) * 1000000;
		pthread_cond_timedwait(&q->cond, &q->lock, &ts);
	}
	*key = q->ring[q->head];
	q->ring[q->head] = NULL;
	q->head = (q->head + 1) % q->cap;
	q->len--;
	json_object_del(q->queued, *key);
	json_object_set_new(q->processing, *key, json_true());
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void workqueue_done(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	json_object_del(q->processing, key);
	if (json_object_get(q->dirty, key)) {
		json_object_del(q->dirty, key);
		if (!q->stopping)
			push_locked(q, key);
	}
	pthread_mutex_unlock(&q->lock);
}

size_t workqueue_depth(struct workqueue *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = tracked(q);
	pthread_mutex_unlock(&q->lock);
	return n;
}

void workqueue_shutdown(struct workqueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

void workqueue_close(struct workqueue *q)
{
	size_t i;

	if (q->queued) {
		for (i = 0; q->ring && i < q->len; i++)
			free(q->ring[(q->head + i) % q->cap]);
		free(q->ring);
		pthread_mutex_destroy(&q->lock);
		pthread_cond_destroy(&q->cond);
	}
	json_decref(q->queued);
	json_decref(q->processing);
	json_decref(q->dirty);
	json_decref(q->delayed);
	memset(q, 0, sizeof(*q));
}
