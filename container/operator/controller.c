// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "container/operator/controller.h"
#include "container/manifest/manifest.h"
#include "container/operator/render.h"
#include "container/operator/status.h"

#define APPS_PATH "/apis/knext.dev/v1alpha1"
#define SVCS_PATH "/apis/serving.knative.dev/v1"
#define APPLY_QUERY "fieldManager=" CONTROLLER_FIELD_MANAGER "&force=true"
#define APPLY_TYPE "application/apply-patch+yaml"

static bool stopping(struct controller *c)
{
	return atomic_load(c->cfg.stop);
}

static void enqueue(struct controller *c, const char *key)
{
	int r = workqueue_add(&c->queue, key);

	if (r == -ENOSPC)
		atomic_fetch_add(&c->stats.queue_full, 1);
}

static void app_changed_cb(void *ud, const char *key, json_t *obj, bool deleted)
{
	enqueue(ud, key);
}

/* A Service changed (Knative wrote its status, someone edited or deleted it): its owner. */
static void svc_changed_cb(void *ud, const char *key, json_t *obj, bool deleted)
{
	json_t *meta = json_object_get(obj, "metadata"), *ref;
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	char owner[320];
	size_t i;

	json_array_foreach(json_object_get(meta, "ownerReferences"), i, ref) {
		const char *kind = json_string_value(json_object_get(ref, "kind"));
		const char *name = json_string_value(json_object_get(ref, "name"));

		if (kind && name && ns && !strcmp(kind, NEXTAPP_KIND)) {
			snprintf(owner, sizeof(owner), "%s/%s", ns, name);
			enqueue(ud, owner);
			return;
		}
	}
}

/* Server bookkeeping nobody here reads; on a real cluster managedFields alone doubles an object. */
static void trim_common(json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");

	json_object_del(meta, "managedFields");
	json_object_del(json_object_get(meta, "annotations"),
			"kubectl.kubernetes.io/last-applied-configuration");
}

static void trim_app(json_t *obj)
{
	trim_common(obj);
}

/* Of a Service only its metadata (hash annotation, generation, owner) and status are read. */
static void trim_svc(json_t *obj)
{
	trim_common(obj);
	json_object_del(obj, "spec");
}

int controller_init(struct controller *c, const struct controller_config *cfg)
{
	char *apps = NULL, *svcs = NULL;
	const char *ns = cfg->namespace;
	int r;

	memset(c, 0, sizeof(*c));
	if (!cfg->kube || !cfg->stop || !cfg->workers || cfg->workers > CONTROLLER_MAX_WORKERS ||
	    !cfg->queue_cap)
		return -EINVAL;
	c->cfg = *cfg;
	pthread_mutex_init(&c->lock, NULL);
	backoff_init(&c->backoff, 100, 60000, 0);
	c->failures = json_object();
	if (!c->failures)
		goto nomem;
	r = workqueue_init(&c->queue, cfg->queue_cap);
	if (r)
		goto err;
	/* Only Services the manifest library labelled as ours are watched. */
	if (ns ? asprintf(&apps, APPS_PATH "/namespaces/%s/nextapps", ns) < 0 :
		 asprintf(&apps, APPS_PATH "/nextapps") < 0)
		goto nomem;
	if (ns ? asprintf(&svcs, SVCS_PATH "/namespaces/%s/services?labelSelector=knext.dev%%2Fapp",
			  ns) < 0 :
		 asprintf(&svcs, SVCS_PATH "/services?labelSelector=knext.dev%%2Fapp") < 0) {
		svcs = NULL;
		goto nomem;
	}
	r = informer_init(&c->apps, "nextapps", cfg->kube, apps, cfg->stop, cfg->log,
			  app_changed_cb, c);
	if (!r)
		r = informer_init(&c->svcs, "services", cfg->kube, svcs, cfg->stop, cfg->log,
				  svc_changed_cb, c);
	free(apps);
	free(svcs);
	if (r)
		goto err;
	c->apps.trim = trim_app;
	c->svcs.trim = trim_svc;
	if (cfg->list_limit) {
		c->apps.list_limit = cfg->list_limit;
		c->svcs.list_limit = cfg->list_limit;
	}
	if (cfg->watch_timeout_s > 0) {
		c->apps.watch_timeout_s = cfg->watch_timeout_s;
		c->svcs.watch_timeout_s = cfg->watch_timeout_s;
	}
	return 0;
nomem:
	free(apps);
	r = -ENOMEM;
err:
	controller_close(c);
	return r;
}

static int split_key(const char *key, char *ns, char *name, size_t len)
{
	const char *slash = strchr(key, '/');

	if (!slash || (size_t)(slash - key) >= len || strlen(slash + 1) >= len)
		return -EINVAL;
	memcpy(ns, key, (size_t)(slash - key));
	ns[slash - key] = '\0';
	strcpy(name, slash + 1);
	return 0;
}

/* The message of a Status body, or the body itself. */
static void status_message(const struct kube_response *resp, char *buf, size_t len)
{
	json_t *st = json_loadb(resp->body ? resp->body : "", resp->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(st, "message"));

	snprintf(buf, len, "HTTP %ld: %s", resp->status,
		 msg ? msg : (resp->body ? resp->body : ""));
	json_decref(st);
}

static int http_errno(long status)
{
	if (status == 409)
		return -EBUSY;
	if (status == 404)
		return -ENOENT;
	if (status == 429 || status >= 500)
		return -EAGAIN;
	return -EPROTO;
}

/* Server-side apply of the rendered Service; on success the answer replaces the cached one. */
static int apply_service(struct controller *c, struct kube_client *kc, const char *key, json_t *svc,
			 char *reason, size_t len)
{
	json_t *meta = json_object_get(svc, "metadata"), *obj;
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	struct kube_response resp;
	char *path = NULL, *body = NULL;
	int r;

	if (!ns || !name)
		return -EINVAL;
	body = json_dumps(svc, JSON_COMPACT);
	if (!body ||
	    asprintf(&path, SVCS_PATH "/namespaces/%s/services/%s?" APPLY_QUERY, ns, name) < 0) {
		free(body);
		return -ENOMEM;
	}
	r = kube_request(kc, "PATCH", path, APPLY_TYPE, body, &resp, reason, len);
	free(path);
	free(body);
	if (r)
		return r;
	if (resp.status != 200 && resp.status != 201) {
		status_message(&resp, reason, len);
		r = http_errno(resp.status);
	} else {
		obj = json_loadb(resp.body, resp.len, 0, NULL);
		if (obj)
			informer_put(&c->svcs, key, obj);
		json_decref(obj);
	}
	kube_response_close(&resp);
	return r;
}

static int write_status(struct controller *c, struct kube_client *kc, const char *key,
			json_t *status)
{
	struct kube_response resp;
	char ns[256], name[256], reason[256], *path = NULL, *body = NULL;
	json_t *patch, *obj;
	int r;

	r = split_key(key, ns, name, sizeof(ns));
	if (r)
		return r;
	patch = json_pack("{s:s,s:s,s:{s:s,s:s},s:O}", "apiVersion", NEXTAPP_API_VERSION, "kind",
			  NEXTAPP_KIND, "metadata", "name", name, "namespace", ns, "status",
			  status);
	body = patch ? json_dumps(patch, JSON_COMPACT) : NULL;
	json_decref(patch);
	if (!body || asprintf(&path, APPS_PATH "/namespaces/%s/nextapps/%s/status?" APPLY_QUERY, ns,
			      name) < 0) {
		free(body);
		return -ENOMEM;
	}
	r = kube_request(kc, "PATCH", path, APPLY_TYPE, body, &resp, reason, sizeof(reason));
	free(path);
	free(body);
	if (r)
		goto log;
	if (resp.status == 404) {
		/* Deleted meanwhile: nothing left to report on. */
		r = 0;
	} else if (resp.status != 200 && resp.status != 201) {
		status_message(&resp, reason, sizeof(reason));
		r = http_errno(resp.status);
	} else {
		obj = json_loadb(resp.body, resp.len, 0, NULL);
		if (obj)
			informer_put(&c->apps, key, obj);
		json_decref(obj);
		atomic_fetch_add(&c->stats.status_updates, 1);
	}
	kube_response_close(&resp);
log:
	if (r && r != -ECANCELED)
		oplog_emit(c->cfg.log, "warn", "status_failed",
			   json_pack("{s:s,s:i,s:s}", "key", key, "errno", -r, "reason", reason));
	return r;
}

static const char *annotation(json_t *obj, const char *name)
{
	return json_string_value(json_object_get(
		json_object_get(json_object_get(obj, "metadata"), "annotations"), name));
}

static int reconcile(struct controller *c, struct kube_client *kc, const char *key)
{
	struct status_input in = { 0 };
	struct render_result rr;
	char reason[512] = "", now[32];
	json_t *app, *live, *status;
	const char *hash;
	int r, apply_err = 0;

	app = informer_get(&c->apps, key);
	if (!app)
		return 0; /* deleted: the ownerReference lets the cluster remove the Service */
	r = render_nextapp(app, &rr);
	if (r == -ENOMEM)
		goto out_app;
	live = informer_get(&c->svcs, key);
	if (rr.service) {
		hash = annotation(live, RENDER_HASH_ANNOTATION);
		if (live && hash && !strcmp(hash, rr.hash)) {
			atomic_fetch_add(&c->stats.applies_skipped, 1);
		} else {
			apply_err = apply_service(c, kc, key, rr.service, reason, sizeof(reason));
			if (!apply_err) {
				atomic_fetch_add(&c->stats.applies, 1);
				json_decref(live);
				live = informer_get(&c->svcs, key);
			}
			if (apply_err != -ECANCELED)
				oplog_emit(c->cfg.log, apply_err ? "warn" : "info",
					   apply_err ? "apply_failed" : "applied",
					   json_pack("{s:s,s:s,s:i,s:s}", "key", key, "hash",
						     rr.hash, "errno", -apply_err, "reason",
						     reason));
		}
	} else {
		atomic_fetch_add(&c->stats.invalid, 1);
		oplog_emit(c->cfg.log, "info", "invalid_nextapp",
			   json_pack("{s:s,s:s,s:s}", "key", key, "reason", rr.reason, "message",
				     rr.message));
	}

	status_now(now, sizeof(now));
	in.generation =
		json_integer_value(json_object_get(json_object_get(app, "metadata"), "generation"));
	in.render = &rr;
	in.apply_err = apply_err;
	in.apply_reason = reason;
	in.service = live;
	in.now = now;
	status = status_build(json_object_get(app, "status"), &in);
	if (!status)
		r = -ENOMEM;
	else if (!json_equal(status, json_object_get(app, "status")))
		r = write_status(c, kc, key, status);
	else
		r = 0;
	json_decref(status);
	json_decref(live);
	render_result_close(&rr);
	if (!r && apply_err)
		r = apply_err;
	if (r == -EINVAL)
		r = 0; /* an invalid NextApp is reported, not retried */
out_app:
	json_decref(app);
	return r;
}

/* Runs one key; failures come back after a jittered exponential delay. */
static void process(struct controller *c, struct kube_client *kc, const char *key)
{
	unsigned int attempt;
	uint32_t delay;
	json_t *n;
	int r;

	atomic_fetch_add(&c->stats.reconciles, 1);
	r = reconcile(c, kc, key);
	/* Cut short by SIGTERM: not a failure, and nothing to retry. */
	if (r && stopping(c))
		return;
	pthread_mutex_lock(&c->lock);
	if (!r) {
		json_object_del(c->failures, key);
		pthread_mutex_unlock(&c->lock);
		return;
	}
	n = json_object_get(c->failures, key);
	attempt = n ? (unsigned int)json_integer_value(n) : 0;
	json_object_set_new(c->failures, key, json_integer(attempt + 1));
	delay = backoff_delay_ms(&c->backoff, attempt);
	pthread_mutex_unlock(&c->lock);
	atomic_fetch_add(&c->stats.errors, 1);
	oplog_emit(c->cfg.log, "warn", "reconcile_retry",
		   json_pack("{s:s,s:i,s:i,s:i}", "key", key, "errno", -r, "attempt",
			     (int)attempt + 1, "delay_ms", (int)delay));
	if (workqueue_add_after(&c->queue, key, delay) == -ENOSPC)
		atomic_fetch_add(&c->stats.queue_full, 1);
}

static void *worker_main(void *arg)
{
	struct controller *c = arg;
	struct timespec nap = { 0, 20 * 1000000L };
	struct kube_client kc;
	char *key;

	if (kube_client_init(&kc, c->cfg.kube, c->cfg.stop))
		return NULL;
	/* Decide nothing before both caches hold the cluster's state. */
	while (!stopping(c) && !controller_synced(c))
		nanosleep(&nap, NULL);
	while (!stopping(c) && !workqueue_get(&c->queue, &key)) {
		process(c, &kc, key);
		workqueue_done(&c->queue, key);
		free(key);
	}
	kube_client_close(&kc);
	return NULL;
}

static void *informer_main(void *arg)
{
	informer_run(arg);
	return NULL;
}

int controller_start(struct controller *c)
{
	unsigned int i;
	int r;

	r = pthread_create(&c->threads[c->nthreads], NULL, informer_main, &c->apps);
	if (r)
		return -r;
	c->nthreads++;
	r = pthread_create(&c->threads[c->nthreads], NULL, informer_main, &c->svcs);
	if (r)
		return -r;
	c->nthreads++;
	for (i = 0; i < c->cfg.workers; i++) {
		r = pthread_create(&c->threads[c->nthreads], NULL, worker_main, c);
		if (r)
			return -r;
		c->nthreads++;
	}
	return 0;
}

bool controller_synced(struct controller *c)
{
	return informer_synced(&c->apps) && informer_synced(&c->svcs);
}

void controller_resync(struct controller *c)
{
	json_t *keys = informer_keys(&c->apps), *k;
	size_t i;

	json_array_foreach(keys, i, k) {
		enqueue(c, json_string_value(k));
	}
	json_decref(keys);
}

int controller_metrics(struct controller *c, char **text)
{
	struct controller_stats *s = &c->stats;
	json_t *keys = informer_keys(&c->apps);
	size_t apps = keys ? json_array_size(keys) : 0;
	int n;

	json_decref(keys);
	n = asprintf(text,
		     "# TYPE knext_operator_reconciles_total counter\n"
		     "knext_operator_reconciles_total %lu\n"
		     "# TYPE knext_operator_reconcile_errors_total counter\n"
		     "knext_operator_reconcile_errors_total %lu\n"
		     "# TYPE knext_operator_applies_total counter\n"
		     "knext_operator_applies_total %lu\n"
		     "# TYPE knext_operator_applies_skipped_total counter\n"
		     "knext_operator_applies_skipped_total %lu\n"
		     "# TYPE knext_operator_status_updates_total counter\n"
		     "knext_operator_status_updates_total %lu\n"
		     "# TYPE knext_operator_invalid_total counter\n"
		     "knext_operator_invalid_total %lu\n"
		     "# TYPE knext_operator_queue_full_total counter\n"
		     "knext_operator_queue_full_total %lu\n"
		     "# TYPE knext_operator_queue_depth gauge\n"
		     "knext_operator_queue_depth %zu\n"
		     "# TYPE knext_operator_nextapps gauge\n"
		     "knext_operator_nextapps %zu\n"
		     "# TYPE knext_operator_lists_total counter\n"
		     "knext_operator_lists_total{resource=\"nextapps\"} %lu\n"
		     "knext_operator_lists_total{resource=\"services\"} %lu\n"
		     "# TYPE knext_operator_watches_total counter\n"
		     "knext_operator_watches_total{resource=\"nextapps\"} %lu\n"
		     "knext_operator_watches_total{resource=\"services\"} %lu\n"
		     "# TYPE knext_operator_watch_events_total counter\n"
		     "knext_operator_watch_events_total{resource=\"nextapps\"} %lu\n"
		     "knext_operator_watch_events_total{resource=\"services\"} %lu\n",
		     atomic_load(&s->reconciles), atomic_load(&s->errors), atomic_load(&s->applies),
		     atomic_load(&s->applies_skipped), atomic_load(&s->status_updates),
		     atomic_load(&s->invalid), atomic_load(&s->queue_full),
		     workqueue_depth(&c->queue), apps, atomic_load(&c->apps.lists),
		     atomic_load(&c->svcs.lists), atomic_load(&c->apps.watches),
		     atomic_load(&c->svcs.watches), atomic_load(&c->apps.events),
		     atomic_load(&c->svcs.events));
	if (n < 0) {
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}

void controller_stop(struct controller *c)
{
	unsigned int i;

	workqueue_shutdown(&c->queue);
	if (c->nthreads) {
		informer_abort(&c->apps);
		informer_abort(&c->svcs);
	}
	for (i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	c->nthreads = 0;
}

void controller_close(struct controller *c)
{
	if (!c->failures)
		return;
	informer_close(&c->apps);
	informer_close(&c->svcs);
	workqueue_close(&c->queue);
	json_decref(c->failures);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
}
