// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/operator/fake_internal.h"

double fake_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void fake_wake(struct fake *f)
{
	ssize_t n = write(f->wake[1], "x", 1);

	(void)n;
}

unsigned long fake_tls_failures(struct fake *f)
{
	unsigned long n;

	pthread_mutex_lock(&f->lock);
	n = f->tls_failures;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void fake_last_auth(struct fake *f, char *buf, size_t len)
{
	pthread_mutex_lock(&f->lock);
	snprintf(buf, len, "%s", f->auth);
	pthread_mutex_unlock(&f->lock);
}

static const char *reason_phrase(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 415:
		return "Unsupported Media Type";
	case 500:
		return "Internal Server Error";
	default:
		return "Error";
	}
}

int fake_respond(struct fake_conn *c, int code, json_t *body)
{
	char head[256], *text = json_dumps(body, JSON_COMPACT);
	size_t len = text ? strlen(text) : 0;
	int n, r;

	n = snprintf(
		head, sizeof(head),
		"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		code, reason_phrase(code), len);
	r = fake_send_all(c, head, (size_t)n);
	if (!r && text)
		r = fake_send_all(c, text, len);
	free(text);
	json_decref(body);
	return r;
}

json_t *fake_status_obj(int code, const char *reason, const char *msg)
{
	return json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status", "apiVersion", "v1",
			 "metadata", "status", "Failure", "message", msg, "reason", reason, "code",
			 code);
}

int fake_respond_status(struct fake_conn *c, int code, const char *reason, const char *msg)
{
	return fake_respond(c, code, fake_status_obj(code, reason, msg));
}

json_t *fake_store(struct fake *f, enum res res)
{
	return res == RES_APPS ? f->apps : f->svcs;
}

void fake_set_rv(json_t *obj, uint64_t rv)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rv);
	json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string(buf));
}

/* Records an event; the object is copied as it is now. Caller holds the lock. */
void fake_emit(struct fake *f, enum res res, const char *type, json_t *obj)
{
	json_array_append_new(f->events,
			      json_pack("{s:I,s:i,s:s,s:o}", "rv", (json_int_t)f->rv, "res",
					(int)res, "type", type, "object", json_deep_copy(obj)));
	fake_wake(f);
}

void fake_put_locked(struct fake *f, enum res res, const char *key, json_t *obj, bool created)
{
	f->rv++;
	fake_set_rv(obj, f->rv);
	json_object_set(fake_store(f, res), key, obj);
	fake_emit(f, res, created ? "ADDED" : "MODIFIED", obj);
}

void fake_delete_locked(struct fake *f, enum res res, const char *key)
{
	json_t *obj = json_incref(json_object_get(fake_store(f, res), key));

	if (!obj)
		return;
	json_object_del(fake_store(f, res), key);
	f->rv++;
	fake_set_rv(obj, f->rv);
	fake_emit(f, res, "DELETED", obj);
	json_decref(obj);
}

json_t *fake_new_meta(struct fake *f, const char *ns, const char *name)
{
	char uid[64];

	snprintf(uid, sizeof(uid), "00000000-0000-4000-8000-%012llx",
		 (unsigned long long)++f->uid_seq);
	return json_pack("{s:s,s:s,s:s,s:I,s:s}", "name", name, "namespace", ns, "uid", uid,
			 "generation", (json_int_t)1, "creationTimestamp", "2026-01-01T00:00:00Z");
}

int fake_put_app(struct fake *f, const char *ns, const char *name, const char *spec_text)
{
	json_t *spec = json_loads(spec_text, JSON_ALLOW_NUL, NULL), *old, *obj, *meta;
	char key[320];

	if (!spec)
		return -EINVAL;
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	pthread_mutex_lock(&f->lock);
	old = json_object_get(f->apps, key);
	if (old) {
		obj = json_deep_copy(old);
		meta = json_object_get(obj, "metadata");
		if (!json_equal(json_object_get(obj, "spec"), spec))
			json_object_set_new(meta, "generation",
					    json_integer(json_integer_value(json_object_get(
								 meta, "generation")) +
							 1));
		json_object_set(obj, "spec", spec);
	} else {
		obj = json_pack("{s:s,s:s,s:o,s:O}", "apiVersion", "knext.dev/v1alpha1", "kind",
				"NextApp", "metadata", fake_new_meta(f, ns, name), "spec", spec);
	}
	fake_put_locked(f, RES_APPS, key, obj, !old);
	pthread_mutex_unlock(&f->lock);
	json_decref(obj);
	json_decref(spec);
	return 0;
}

static const char *uid_of(json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
}

int fake_delete_app(struct fake *f, const char *ns, const char *name)
{
	char key[320], uid[64] = "";
	const char *k, *u;
	json_t *svc, *ref;
	void *tmp;
	size_t i;

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	pthread_mutex_lock(&f->lock);
	u = uid_of(json_object_get(f->apps, key));
	if (u)
		snprintf(uid, sizeof(uid), "%s", u);
	fake_delete_locked(f, RES_APPS, key);
	/* Garbage collection: whatever names the deleted object as owner goes too. */
	json_object_foreach_safe(f->svcs, tmp, k, svc) {
		json_array_foreach(
			json_object_get(json_object_get(svc, "metadata"), "ownerReferences"), i,
			ref) {
			const char *ru = json_string_value(json_object_get(ref, "uid"));

			if (uid[0] && ru && !strcmp(ru, uid)) {
				fake_delete_locked(f, RES_SVCS, k);
				break;
			}
		}
	}
	pthread_mutex_unlock(&f->lock);
	return 0;
}

int fake_delete_service(struct fake *f, const char *ns, const char *name)
{
	char key[320];

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	pthread_mutex_lock(&f->lock);
	fake_delete_locked(f, RES_SVCS, key);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static json_t *get_copy(struct fake *f, enum res res, const char *ns, const char *name)
{
	char key[320];
	json_t *obj;

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	pthread_mutex_lock(&f->lock);
	obj = json_deep_copy(json_object_get(fake_store(f, res), key));
	pthread_mutex_unlock(&f->lock);
	return obj;
}

json_t *fake_get_app(struct fake *f, const char *ns, const char *name)
{
	return get_copy(f, RES_APPS, ns, name);
}

json_t *fake_get_service(struct fake *f, const char *ns, const char *name)
{
	return get_copy(f, RES_SVCS, ns, name);
}

size_t fake_service_count(struct fake *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = json_object_size(f->svcs);
	pthread_mutex_unlock(&f->lock);
	return n;
}

unsigned long fake_apply_count(struct fake *f, const char *ns, const char *name)
{
	char key[320];
	unsigned long n;

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	pthread_mutex_lock(&f->lock);
	n = (unsigned long)json_integer_value(json_object_get(f->apply_count, key));
	pthread_mutex_unlock(&f->lock);
	return n;
}

double fake_last_apply_ms(struct fake *f, const char *ns, const char *name)
{
	char key[320];
	double t;

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	pthread_mutex_lock(&f->lock);
	t = json_real_value(json_object_get(f->apply_ms, key));
	pthread_mutex_unlock(&f->lock);
	return t;
}

void fake_stats(struct fake *f, unsigned long *applies, unsigned long *status_writes,
		unsigned long *watches, unsigned long *lists)
{
	pthread_mutex_lock(&f->lock);
	if (applies)
		*applies = f->applies;
	if (status_writes)
		*status_writes = f->status_writes;
	if (watches)
		*watches = f->watches;
	if (lists)
		*lists = f->lists;
	pthread_mutex_unlock(&f->lock);
}

unsigned long fake_bad_requests(struct fake *f)
{
	unsigned long n;

	pthread_mutex_lock(&f->lock);
	n = f->bad_requests;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void fake_fail(struct fake *f, const char *match, int status, int count)
{
	pthread_mutex_lock(&f->lock);
	snprintf(f->fail_match, sizeof(f->fail_match), "%s", match);
	f->fail_status = status;
	f->fail_count = count;
	pthread_mutex_unlock(&f->lock);
}

void fake_drop_watches(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	f->drop = 1;
	pthread_mutex_unlock(&f->lock);
	fake_wake(f);
}

void fake_end_watches(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	f->drop = 2;
	pthread_mutex_unlock(&f->lock);
	fake_wake(f);
}

void fake_compact(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	/* Watches already open keep their events; only new ones from older versions get 410. */
	f->compacted = f->rv;
	pthread_mutex_unlock(&f->lock);
}

void fake_set_gone_as_http(struct fake *f, bool on)
{
	pthread_mutex_lock(&f->lock);
	f->gone_as_http = on;
	pthread_mutex_unlock(&f->lock);
}

void fake_set_knative(struct fake *f, bool on)
{
	pthread_mutex_lock(&f->lock);
	f->knative = on;
	pthread_mutex_unlock(&f->lock);
}

void fake_restart(struct fake *f, int down_ms)
{
	pthread_mutex_lock(&f->lock);
	f->restart_ms = down_ms > 0 ? down_ms : 1;
	pthread_mutex_unlock(&f->lock);
	fake_wake(f);
}
