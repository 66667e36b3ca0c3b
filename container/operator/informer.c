// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "container/operator/informer.h"

/* What a watch ended with, besides -errno. */
#define WATCH_GONE 1

int informer_init(struct informer *inf, const char *name, const struct kube_config *cfg,
		  const char *path, const atomic_bool *stop, const struct oplog *log,
		  informer_changed_fn changed, void *ud)
{
	int r;

	memset(inf, 0, sizeof(*inf));
	inf->name = name;
	inf->stop = stop;
	inf->log = log;
	inf->changed = changed;
	inf->ud = ud;
	inf->watch_timeout_s = 300;
	inf->list_limit = 500;
	backoff_init(&inf->backoff, 200, 30000, 0);
	pthread_mutex_init(&inf->lock, NULL);
	inf->path = strdup(path);
	inf->store = json_object();
	if (!inf->path || !inf->store) {
		r = -ENOMEM;
		goto err;
	}
	r = kube_client_init(&inf->kc, cfg, stop);
	if (r)
		goto err;
	return 0;
err:
	informer_close(inf);
	return r;
}

void informer_close(struct informer *inf)
{
	if (!inf->store && !inf->path)
		return;
	kube_client_close(&inf->kc);
	json_decref(inf->store);
	free(inf->path);
	pthread_mutex_destroy(&inf->lock);
	memset(inf, 0, sizeof(*inf));
}

static bool stopping(struct informer *inf)
{
	return inf->stop && atomic_load(inf->stop);
}

/* Sleeps @ms, waking early when the operator stops. */
static void nap(struct informer *inf, uint32_t ms)
{
	struct timespec ts = { 0, 50 * 1000000L };

	for (; ms && !stopping(inf); ms = ms > 50 ? ms - 50 : 0)
		nanosleep(&ts, NULL);
}

static const char *obj_rv(json_t *obj)
{
	return json_string_value(
		json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

/*
 * resourceVersions are opaque to clients, but every apiserver hands out etcd revisions, which are
 * integers. Only when both are, an older one is recognised, so a late watch event cannot undo an
 * object stored by informer_put().
 */
static bool older(const char *a, const char *b)
{
	char *ea, *eb;
	unsigned long long x, y;

	if (!a || !b || !*a || !*b)
		return false;
	x = strtoull(a, &ea, 10);
	y = strtoull(b, &eb, 10);
	return !*ea && !*eb && x < y;
}

/* @obj is the caller's own (a decoded event or list item, or a copy): trimmed in place. */
static void upsert_locked(struct informer *inf, const char *key, json_t *obj)
{
	json_t *old = json_object_get(inf->store, key);

	if (inf->trim)
		inf->trim(obj);

	if (old && older(obj_rv(obj), obj_rv(old)))
		return;
	if (old && json_equal(old, obj))
		return;
	json_object_set(inf->store, key, obj);
	if (inf->changed)
		inf->changed(inf->ud, key, obj, false);
}

static void remove_locked(struct informer *inf, const char *key)
{
	json_t *old = json_incref(json_object_get(inf->store, key));
	/* @key may be the store's own copy, which the delete frees. */
	char *copy = old ? strdup(key) : NULL;

	if (copy) {
		json_object_del(inf->store, copy);
		if (inf->changed)
			inf->changed(inf->ud, copy, old, true);
	}
	free(copy);
	json_decref(old);
}

static void log_http(struct informer *inf, const char *event, long status, int err,
		     const char *reason)
{
	oplog_emit(inf->log, "warn", event,
		   json_pack("{s:s,s:i,s:i,s:s}", "resource", inf->name, "status", (int)status,
			     "errno", -err, "reason", reason ? reason : ""));
}

/* One page of a list: its items go into @fresh; the snapshot version and the next token out. */
static int list_page(struct informer *inf, const char *cont, json_t *fresh, char *rv_out,
		     char **next)
{
	struct kube_response resp;
	struct watch_list page;
	char reason[256] = "", key[320], *path, *esc = NULL;
	json_t *item;
	size_t i;
	int r;

	*next = NULL;
	if (cont) {
		esc = curl_easy_escape(inf->kc.curl, cont, 0);
		if (!esc)
			return -ENOMEM;
	}
	r = asprintf(&path, "%s%climit=%u%s%s", inf->path, strchr(inf->path, '?') ? '&' : '?',
		     inf->list_limit, esc ? "&continue=" : "", esc ? esc : "");
	curl_free(esc);
	if (r < 0)
		return -ENOMEM;
	r = kube_request(&inf->kc, "GET", path, NULL, NULL, &resp, reason, sizeof(reason));
	free(path);
	if (r) {
		log_http(inf, "list_failed", 0, r, reason);
		return r;
	}
	if (resp.status == 410 && cont) {
		/* The continue token outlived its snapshot: the caller starts over. */
		kube_response_close(&resp);
		return -ESTALE;
	}
	if (resp.status != 200) {
		log_http(inf, "list_failed", resp.status, -EPROTO, resp.body);
		kube_response_close(&resp);
		return -EPROTO;
	}
	r = watch_list_parse(resp.body, resp.len, sizeof(inf->rv), &page);
	kube_response_close(&resp);
	if (r) {
		log_http(inf, "list_failed", 200, -EBADMSG, "malformed list");
		return -EBADMSG;
	}
	/* Every page is served from the first page's snapshot; keep its version. */
	if (!rv_out[0])
		strcpy(rv_out, page.rv);
	json_array_foreach(page.items, i, item) {
		if (!watch_object_key(item, key, sizeof(key)))
			json_object_set(fresh, key, item);
	}
	if (page.cont) {
		*next = strdup(page.cont);
		if (!*next)
			r = -ENOMEM;
	}
	watch_list_close(&page);
	return r;
}

/* Lists the collection in pages of list_limit, then replaces the store with the result. */
static int list(struct informer *inf)
{
	char rv[64] = "", *cont = NULL, *next;
	json_t *fresh = json_object(), *val;
	unsigned int restarts = 0;
	const char *k;
	void *tmp;
	size_t n;
	int r;

	if (!fresh)
		return -ENOMEM;
	for (;;) {
		r = list_page(inf, cont, fresh, rv, &next);
		free(cont);
		cont = next;
		if (r == -ESTALE && restarts++ < 3) {
			json_object_clear(fresh);
			rv[0] = '\0';
			continue;
		}
		if (r || !cont || stopping(inf))
			break;
	}
	free(cont);
	if (r || stopping(inf)) {
		json_decref(fresh);
		return r ? r : -ECANCELED;
	}

	pthread_mutex_lock(&inf->lock);
	/* Whatever vanished while we were not watching is a delete. */
	json_object_foreach_safe(inf->store, tmp, k, val) {
		if (!json_object_get(fresh, k))
			remove_locked(inf, k);
	}
	json_object_foreach(fresh, k, val) {
		upsert_locked(inf, k, val);
	}
	memcpy(inf->rv, rv, sizeof(inf->rv));
	inf->synced = true;
	n = json_object_size(fresh);
	json_decref(fresh); /* shares the stored items: dropped under the lock */
	pthread_mutex_unlock(&inf->lock);
	atomic_fetch_add(&inf->lists, 1);
	oplog_emit(inf->log, "info", "listed",
		   json_pack("{s:s,s:i,s:s}", "resource", inf->name, "items", (int)n,
			     "resourceVersion", inf->rv));
	return 0;
}

struct watch_ctx {
	struct informer *inf;
	unsigned long events;
};

static int event_cb(void *ud, char *line, size_t len)
{
	struct watch_ctx *w = ud;
	struct informer *inf = w->inf;
	struct watch_event ev;
	int r = 0;

	if (stopping(inf))
		return -ECANCELED;
	if (watch_event_parse(line, len, &ev)) {
		oplog_emit(inf->log, "warn", "watch_bad_event",
			   json_pack("{s:s,s:s%}", "resource", inf->name, "line", line,
				     len > 200 ? (size_t)200 : len));
		return 0;
	}
	if (ev.type == WATCH_ERROR) {
		r = ev.code == 410 ? WATCH_GONE : -EPROTO;
		oplog_emit(inf->log, ev.code == 410 ? "info" : "warn", "watch_error",
			   json_pack("{s:s,s:i,s:O}", "resource", inf->name, "code", (int)ev.code,
				     "status", ev.object));
		watch_event_close(&ev);
		return r;
	}
	pthread_mutex_lock(&inf->lock);
	if (ev.type == WATCH_DELETED)
		remove_locked(inf, ev.key);
	else if (ev.type != WATCH_BOOKMARK)
		upsert_locked(inf, ev.key, ev.object);
	if (ev.rv[0])
		memcpy(inf->rv, ev.rv, sizeof(inf->rv));
	/* The store may share this object: every reference count change on stored objects
	 * happens under the lock (jansson's are not safe to race). */
	watch_event_close(&ev);
	pthread_mutex_unlock(&inf->lock);
	w->events++;
	atomic_fetch_add(&inf->events, 1);
	return 0;
}

static int watch(struct informer *inf, unsigned long *events)
{
	struct watch_ctx w = { .inf = inf };
	struct kube_response resp;
	char reason[256] = "", *path;
	long code;
	int r;

	pthread_mutex_lock(&inf->lock);
	r = asprintf(&path,
		     "%s%cwatch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%ld",
		     inf->path, strchr(inf->path, '?') ? '&' : '?', inf->rv, inf->watch_timeout_s);
	pthread_mutex_unlock(&inf->lock);
	if (r < 0)
		return -ENOMEM;
	atomic_fetch_add(&inf->watches, 1);
	/* The server ends the watch after timeoutSeconds; the margin only catches a silent peer. */
	r = kube_stream(&inf->kc, path, inf->watch_timeout_s + 30, event_cb, &w, &resp, reason,
			sizeof(reason));
	free(path);
	*events = w.events;
	code = resp.status;
	if (r == 0 && code == 410)
		r = WATCH_GONE;
	else if (r == 0 && code != 200) {
		log_http(inf, "watch_failed", code, -EPROTO, resp.body);
		r = -EPROTO;
	} else if (r < 0 && r != -ECANCELED && !stopping(inf)) {
		log_http(inf, "watch_dropped", code, r, reason);
	}
	kube_response_close(&resp);
	return r;
}

int informer_run(struct informer *inf)
{
	unsigned int attempt = 0;
	unsigned long events = 0;
	struct timespec t0, t1;
	int r;

	while (!stopping(inf)) {
		if (!inf->rv[0]) {
			r = list(inf);
			if (r) {
				nap(inf, backoff_delay_ms(&inf->backoff, attempt++));
				continue;
			}
			attempt = 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = watch(inf, &events);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (stopping(inf))
			break;
		if (r == WATCH_GONE) {
			/* Our version is compacted away: list again, report the difference. */
			pthread_mutex_lock(&inf->lock);
			inf->rv[0] = '\0';
			pthread_mutex_unlock(&inf->lock);
			oplog_emit(inf->log, "info", "relist",
				   json_pack("{s:s}", "resource", inf->name));
			continue;
		}
		if (events)
			attempt = 0;
		/* A watch that ends on time resumes at once; an error, or a watch that keeps
		 * ending at once, waits out a backoff so a sick server is not hammered. */
		if (r || (!events && t1.tv_sec - t0.tv_sec < 1))
			nap(inf, backoff_delay_ms(&inf->backoff, attempt++));
	}
	return 0;
}

void informer_abort(struct informer *inf)
{
	kube_client_abort(&inf->kc);
}

json_t *informer_get(struct informer *inf, const char *key)
{
	json_t *obj;

	pthread_mutex_lock(&inf->lock);
	obj = json_deep_copy(json_object_get(inf->store, key));
	pthread_mutex_unlock(&inf->lock);
	return obj;
}

int informer_put(struct informer *inf, const char *key, json_t *obj)
{
	json_t *copy = json_deep_copy(obj), *old;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	if (inf->trim)
		inf->trim(copy);
	pthread_mutex_lock(&inf->lock);
	old = json_object_get(inf->store, key);
	if (!old || !older(obj_rv(copy), obj_rv(old)))
		r = json_object_set_new(inf->store, key, copy) ? -ENOMEM : 0;
	else
		json_decref(copy);
	pthread_mutex_unlock(&inf->lock);
	return r;
}

json_t *informer_keys(struct informer *inf)
{
	json_t *keys = json_array(), *val;
	const char *k;

	if (!keys)
		return NULL;
	pthread_mutex_lock(&inf->lock);
	json_object_foreach(inf->store, k, val) {
		json_array_append_new(keys, json_string(k));
	}
	pthread_mutex_unlock(&inf->lock);
	return keys;
}

bool informer_synced(struct informer *inf)
{
	bool s;

	pthread_mutex_lock(&inf->lock);
	s = inf->synced;
	pthread_mutex_unlock(&inf->lock);
	return s;
}
