// SPDX-License-Identifier: Apache-2.0
/* knext-operator's pure parts: backoff, work queue, watch framing, kubeconfig, status, render. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "container/operator/backoff.h"
#include "container/operator/kubeconfig.h"
#include "container/operator/render.h"
#include "container/operator/status.h"
#include "container/operator/watch.h"
#include "container/operator/workqueue.h"

#define DIGEST "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

Test(backoff, doubles_with_jitter_up_to_the_cap)
{
	struct backoff b;
	unsigned int a, i;
	uint32_t d, step;

	cr_assert_eq(backoff_init(&b, 0, 10, 1), -EINVAL);
	cr_assert_eq(backoff_init(&b, 100, 50, 1), -EINVAL);
	cr_assert_eq(backoff_init(&b, 100, 10000, 42), 0);
	for (a = 0; a < 40; a++) {
		step = a < 7 ? 100u << a : 10000;
		if (step > 10000)
			step = 10000;
		for (i = 0; i < 50; i++) {
			d = backoff_delay_ms(&b, a);
			cr_assert(d >= step / 2 && d <= step, "attempt %u: %u not in [%u,%u]", a, d,
				  step / 2, step);
		}
	}
}

Test(backoff, jitter_spreads)
{
	struct backoff b;
	uint32_t first, d;
	int i, differ = 0;

	backoff_init(&b, 1000, 1000, 7);
	first = backoff_delay_ms(&b, 0);
	for (i = 0; i < 20; i++) {
		d = backoff_delay_ms(&b, 0);
		differ += d != first;
	}
	cr_expect_gt(differ, 10);
}

Test(workqueue, dedups_and_keeps_order)
{
	struct workqueue q;
	char *k;

	cr_assert_eq(workqueue_init(&q, 8), 0);
	cr_assert_eq(workqueue_add(&q, "ns/a"), 0);
	cr_assert_eq(workqueue_add(&q, "ns/b"), 0);
	cr_assert_eq(workqueue_add(&q, "ns/a"), 0);
	cr_expect_eq(workqueue_depth(&q), 2);
	cr_assert_eq(workqueue_get(&q, &k), 0);
	cr_expect_str_eq(k, "ns/a");
	workqueue_done(&q, k);
	free(k);
	cr_assert_eq(workqueue_get(&q, &k), 0);
	cr_expect_str_eq(k, "ns/b");
	workqueue_done(&q, k);
	free(k);
	cr_expect_eq(workqueue_depth(&q), 0);
	workqueue_close(&q);
	workqueue_close(&q);
}

Test(workqueue, bounded)
{
	struct workqueue q;

	cr_assert_eq(workqueue_init(&q, 2), 0);
	cr_expect_eq(workqueue_add(&q, "a"), 0);
	cr_expect_eq(workqueue_add(&q, "b"), 0);
	cr_expect_eq(workqueue_add(&q, "c"), -ENOSPC);
	cr_expect_eq(workqueue_add_after(&q, "c", 10), -ENOSPC);
	cr_expect_eq(workqueue_add(&q, "a"), 0, "a queued key is no new entry");
	workqueue_close(&q);
}

Test(workqueue, held_key_is_requeued_after_done_never_twice)
{
	struct workqueue q;
	char *k, *k2;

	cr_assert_eq(workqueue_init(&q, 4), 0);
	workqueue_add(&q, "a");
	cr_assert_eq(workqueue_get(&q, &k), 0);
	/* Added while held: not handed out again until done. */
	cr_assert_eq(workqueue_add(&q, "a"), 0);
	cr_expect_eq(workqueue_depth(&q), 1);
	workqueue_add(&q, "b");
	cr_assert_eq(workqueue_get(&q, &k2), 0);
	cr_expect_str_eq(k2, "b");
	workqueue_done(&q, k2);
	free(k2);
	workqueue_done(&q, k);
	free(k);
	cr_assert_eq(workqueue_get(&q, &k), 0);
	cr_expect_str_eq(k, "a");
	workqueue_done(&q, k);
	free(k);
	workqueue_close(&q);
}

Test(workqueue, delayed_keys_wait)
{
	struct workqueue q;
	struct timespec t0, t1;
	char *k;
	double ms;

	cr_assert_eq(workqueue_init(&q, 4), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(workqueue_add_after(&q, "late", 120), 0);
	cr_assert_eq(workqueue_add_after(&q, "soon", 30), 0);
	cr_assert_eq(workqueue_get(&q, &k), 0);
	cr_expect_str_eq(k, "soon");
	workqueue_done(&q, k);
	free(k);
	cr_assert_eq(workqueue_get(&q, &k), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	cr_expect_str_eq(k, "late");
	cr_expect_geq(ms, 115.0);
	workqueue_done(&q, k);
	free(k);
	/* An immediate add overrides a pending delay. */
	workqueue_add_after(&q, "x", 60000);
	workqueue_add(&q, "x");
	cr_assert_eq(workqueue_get(&q, &k), 0);
	cr_expect_str_eq(k, "x");
	workqueue_done(&q, k);
	free(k);
	workqueue_shutdown(&q);
	cr_expect_eq(workqueue_get(&q, &k), -ESHUTDOWN);
	cr_expect_eq(workqueue_add(&q, "y"), -ESHUTDOWN);
	workqueue_close(&q);
}

struct lines {
	int n;
	char got[8][128];
};

static int line_cb(void *ud, char *line, size_t len)
{
	struct lines *l = ud;

	cr_assert_eq(strlen(line), len);
	snprintf(l->got[l->n++], sizeof(l->got[0]), "%s", line);
	return l->n == 8 ? 99 : 0;
}

Test(watch, splits_lines_across_chunks)
{
	struct watch_lines wl;
	struct lines l = { 0 };

	watch_lines_init(&wl);
	cr_assert_eq(watch_lines_feed(&wl, "{\"a\":1}\n{\"b\"", 12, line_cb, &l), 0);
	cr_assert_eq(watch_lines_feed(&wl, ":2}\r\n\n", 6, line_cb, &l), 0);
	cr_assert_eq(watch_lines_feed(&wl, "{\"c\":3}", 7, line_cb, &l), 0);
	cr_expect_eq(l.n, 2, "an unfinished line waits");
	cr_expect_str_eq(l.got[0], "{\"a\":1}");
	cr_expect_str_eq(l.got[1], "{\"b\":2}");
	cr_assert_eq(watch_lines_feed(&wl, "\n", 1, line_cb, &l), 0);
	cr_expect_str_eq(l.got[2], "{\"c\":3}");
	watch_lines_close(&wl);
}

Test(watch, parses_events)
{
	static const char added[] = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\","
				    "\"namespace\":\"ns\",\"resourceVersion\":\"12\"}}}";
	static const char bookmark[] = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"NextApp\","
				       "\"metadata\":{\"resourceVersion\":\"99\"}}}";
	static const char gone[] = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
				   "\"code\":410,\"reason\":\"Expired\"}}";
	struct watch_event ev;

	cr_assert_eq(watch_event_parse(added, strlen(added), &ev), 0);
	cr_expect_eq(ev.type, WATCH_ADDED);
	cr_expect_str_eq(ev.key, "ns/a");
	cr_expect_str_eq(ev.rv, "12");
	watch_event_close(&ev);
	cr_assert_eq(watch_event_parse(bookmark, strlen(bookmark), &ev), 0);
	cr_expect_eq(ev.type, WATCH_BOOKMARK);
	cr_expect_str_eq(ev.rv, "99");
	watch_event_close(&ev);
	cr_assert_eq(watch_event_parse(gone, strlen(gone), &ev), 0);
	cr_expect_eq(ev.type, WATCH_ERROR);
	cr_expect_eq(ev.code, 410);
	watch_event_close(&ev);
	cr_expect_eq(watch_event_parse("{}", 2, &ev), -EBADMSG);
	cr_expect_eq(watch_event_parse("{\"type\":\"ADDED\",\"object\":{}}", 27, &ev), -EBADMSG);
	cr_expect_eq(watch_event_parse("{\"type\":\"NOPE\",\"object\":{}}", 26, &ev), -EBADMSG);
	cr_expect_eq(watch_event_parse("nonsense", 8, &ev), -EBADMSG);
}

Test(kubeconfig, reads_context_cluster_and_user)
{
	static const char text[] =
		"apiVersion: v1\nkind: Config\ncurrent-context: one\n"
		"clusters:\n"
		"- name: c1\n  cluster:\n    server: https://10.0.0.1:6443/\n"
		"    certificate-authority-data: LS0tLS1CRUdJTg==\n"
		"- name: c2\n  cluster:\n    server: http://127.0.0.1:1\n"
		"    insecure-skip-tls-verify: true\n"
		"users:\n- name: u1\n  user:\n    token: abc\n"
		"- name: u2\n  user:\n    client-certificate-data: Y2VydA==\n"
		"    client-key-data: a2V5\n"
		"contexts:\n- name: one\n  context: {cluster: c1, user: u1, namespace: shop}\n"
		"- name: two\n  context: {cluster: c2, user: u2}\n";
	struct kube_config c;
	char reason[256];

	cr_assert_eq(kube_config_parse(&c, text, strlen(text), NULL, reason, sizeof(reason)), 0,
		     "%s", reason);
	cr_expect_str_eq(c.server, "https://10.0.0.1:6443");
	cr_expect_str_eq(c.token, "abc");
	cr_expect_str_eq(c.ca_pem, "-----BEGIN");
	cr_expect_str_eq(c.namespace, "shop");
	cr_expect_not(c.insecure);
	kube_config_close(&c);
	cr_assert_eq(kube_config_parse(&c, text, strlen(text), "two", reason, sizeof(reason)), 0);
	cr_expect_str_eq(c.server, "http://127.0.0.1:1");
	cr_expect(c.insecure);
	cr_expect_str_eq(c.cert_pem, "cert");
	cr_expect_str_eq(c.key_pem, "key");
	cr_expect_null(c.token);
	kube_config_close(&c);
	cr_expect_eq(kube_config_parse(&c, text, strlen(text), "three", reason, sizeof(reason)),
		     -ENOENT);
	kube_config_close(&c);
	cr_expect_eq(kube_config_parse(&c, "[", 1, NULL, reason, sizeof(reason)), -EINVAL);
	kube_config_close(&c);
}

Test(kubeconfig, rejects_exec_plugins)
{
	static const char text[] =
		"current-context: x\nclusters: [{name: c, cluster: {server: "
		"https://h}}]\nusers: [{name: u, user: {exec: {command: "
		"aws}}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n";
	struct kube_config c;
	char reason[256];

	cr_expect_eq(kube_config_parse(&c, text, strlen(text), NULL, reason, sizeof(reason)),
		     -EINVAL);
	cr_expect(strstr(reason, "exec"));
	kube_config_close(&c);
}

Test(kubeconfig, in_cluster)
{
	char dir[] = "/tmp/knext-sa.XXXXXX", path[256], reason[256];
	struct kube_config c;
	FILE *f;

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/token", dir);
	f = fopen(path, "w");
	fputs("tok\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/namespace", dir);
	f = fopen(path, "w");
	fputs("apps\n", f);
	fclose(f);
	unsetenv("KUBERNETES_SERVICE_HOST");
	cr_expect_eq(kube_config_from_cluster(&c, dir, reason, sizeof(reason)), -ENOENT);
	kube_config_close(&c);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	cr_assert_eq(kube_config_from_cluster(&c, dir, reason, sizeof(reason)), 0, "%s", reason);
	cr_expect_str_eq(c.server, "https://[fd00::1]:443");
	cr_expect_str_eq(c.namespace, "apps");
	cr_expect(strstr(c.token_file, "/token"));
	kube_config_close(&c);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	cr_expect_eq(system(path), 0);
}

static json_t *app(const char *image, long long gen)
{
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:I,s:s,s:[]},s:{s:s},s:{}}", "apiVersion",
			 "knext.dev/v1alpha1", "kind", "NextApp", "metadata", "name", "shop",
			 "namespace", "default", "uid", "u-1", "generation", (json_int_t)gen,
			 "resourceVersion", "7", "managedFields", "spec", "image", image, "status");
}

Test(render, valid_app_gets_owner_and_hash)
{
	json_t *a = app("registry.example/shop@sha256:" DIGEST, 1), *ref;
	struct render_result rr, rr2;
	const char *h;

	cr_assert_eq(render_nextapp(a, &rr), 0, "%s", rr.message);
	cr_assert(rr.service);
	cr_expect(rr.image_pinned);
	ref = json_array_get(
		json_object_get(json_object_get(rr.service, "metadata"), "ownerReferences"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(ref, "uid")), "u-1");
	cr_expect_str_eq(json_string_value(json_object_get(ref, "kind")), "NextApp");
	cr_expect(json_is_true(json_object_get(ref, "controller")));
	h = json_string_value(json_object_get(
		json_object_get(json_object_get(rr.service, "metadata"), "annotations"),
		RENDER_HASH_ANNOTATION));
	cr_expect_str_eq(h, rr.hash);
	/* The server's bookkeeping (resourceVersion, status) does not change the hash. */
	json_object_set_new(json_object_get(a, "metadata"), "resourceVersion", json_string("8"));
	cr_assert_eq(render_nextapp(a, &rr2), 0);
	cr_expect_str_eq(rr2.hash, rr.hash);
	render_result_close(&rr);
	render_result_close(&rr2);
	render_result_close(&rr2);
	json_decref(a);
}

Test(render, tag_is_rejected_with_a_reason)
{
	json_t *a = app("registry.example/shop:latest", 1);
	struct render_result rr;

	cr_assert_eq(render_nextapp(a, &rr), -EINVAL);
	cr_expect_null(rr.service);
	cr_expect_not(rr.image_pinned);
	cr_expect_str_eq(rr.reason, "ImageNotPinned");
	cr_expect(strlen(rr.message) > 0);
	cr_expect(strlen(rr.image_reason) > 0);
	render_result_close(&rr);
	json_decref(a);
}

static const char *cond(json_t *st, const char *type, const char *field)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(st, "conditions"), i, c) {
		if (!strcmp(json_string_value(json_object_get(c, "type")), type))
			return json_string_value(json_object_get(c, field));
	}
	return NULL;
}

Test(status, conditions_and_stable_transitions)
{
	struct render_result rr = { .image_pinned = true };
	struct status_input in = { .generation = 3, .render = &rr, .now = "2026-01-01T00:00:00Z" };
	json_t *svc, *s1, *s2, *s3;

	rr.service = json_object();
	svc = json_pack("{s:{s:I},s:{s:I,s:s,s:s,s:[{s:s,s:s}]}}", "metadata", "generation",
			(json_int_t)2, "status", "observedGeneration", (json_int_t)1, "url",
			"http://shop.default.example.com", "latestReadyRevisionName", "shop-00001",
			"conditions", "type", "Ready", "status", "True");
	in.service = svc;
	s1 = status_build(NULL, &in);
	cr_expect_eq(json_integer_value(json_object_get(s1, "observedGeneration")), 3);
	cr_expect_str_eq(cond(s1, "ImagePinned", "status"), "True");
	cr_expect_str_eq(cond(s1, "ServiceApplied", "status"), "True");
	cr_expect_str_eq(cond(s1, "Ready", "status"), "Unknown",
			 "Knative has not seen the new generation yet");
	cr_expect_str_eq(json_string_value(json_object_get(s1, "url")),
			 "http://shop.default.example.com");
	/* Knative catches up: Ready flips, and only Ready's transition time moves. */
	json_object_set_new(json_object_get(svc, "status"), "observedGeneration", json_integer(2));
	in.now = "2026-01-01T00:05:00Z";
	s2 = status_build(s1, &in);
	cr_expect_str_eq(cond(s2, "Ready", "status"), "True");
	cr_expect_str_eq(cond(s2, "Ready", "lastTransitionTime"), "2026-01-01T00:05:00Z");
	cr_expect_str_eq(cond(s2, "ImagePinned", "lastTransitionTime"), "2026-01-01T00:00:00Z");
	/* Nothing changes: the same status, so nothing would be written. */
	in.now = "2026-01-01T00:09:00Z";
	s3 = status_build(s2, &in);
	cr_expect(json_equal(s2, s3));
	json_decref(s1);
	json_decref(s2);
	json_decref(s3);
	json_decref(svc);
	json_decref(rr.service);
}

Test(status, invalid_and_failed_apply)
{
	struct render_result rr = { .image_pinned = false };
	struct status_input in = { .generation = 1, .render = &rr, .now = "2026-01-01T00:00:00Z" };
	json_t *s;

	snprintf(rr.reason, sizeof(rr.reason), "ImageNotPinned");
	snprintf(rr.message, sizeof(rr.message), "spec.image: pin it");
	snprintf(rr.image_reason, sizeof(rr.image_reason), "pin it");
	s = status_build(NULL, &in);
	cr_expect_str_eq(cond(s, "ImagePinned", "status"), "False");
	cr_expect_str_eq(cond(s, "Ready", "status"), "False");
	cr_expect_str_eq(cond(s, "Ready", "reason"), "ImageNotPinned");
	cr_expect_null(json_object_get(s, "url"));
	json_decref(s);
	rr.image_pinned = true;
	rr.service = json_object();
	in.apply_err = -EBUSY;
	in.apply_reason = "HTTP 409: conflict";
	s = status_build(NULL, &in);
	cr_expect_str_eq(cond(s, "ServiceApplied", "status"), "False");
	cr_expect_str_eq(cond(s, "ServiceApplied", "reason"), "ApplyFailed");
	cr_expect_str_eq(cond(s, "ServiceApplied", "message"), "HTTP 409: conflict");
	json_decref(s);
	json_decref(rr.service);
}
