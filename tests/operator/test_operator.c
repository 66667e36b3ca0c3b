// SPDX-License-Identifier: Apache-2.0
/*
 * knext-operator against the fake API server: convergence, no re-apply of unchanged Services,
 * invalid NextApps, deletion, and recovery from every scripted fault.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "tests/operator/harness.h"
#include "container/manifest/manifest.h"

#define NS "default"
#define WAIT_MS 15000

static struct harness h;

static void setup(void)
{
	cr_assert_eq(harness_init(&h, true), 0, "fake API server");
}

static void teardown(void)
{
	harness_close(&h);
}

static const char *condition(json_t *app, const char *type, const char *field)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(app, "status"), "conditions"), i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));

		if (t && !strcmp(t, type))
			return json_string_value(json_object_get(c, field));
	}
	return NULL;
}

/* The NextApp's Service exists, is owned by it, and its status reports it Ready at @gen. */
static bool converged(const char *name, long long gen)
{
	json_t *app = fake_get_app(&h.fake, NS, name), *svc = fake_get_service(&h.fake, NS, name);
	json_t *st = json_object_get(app, "status"), *ref;
	const char *uid =
		json_string_value(json_object_get(json_object_get(app, "metadata"), "uid"));
	const char *ready = condition(app, "Ready", "status"), *url, *ruid;
	bool ok;

	ref = json_array_get(json_object_get(json_object_get(svc, "metadata"), "ownerReferences"),
			     0);
	ruid = json_string_value(json_object_get(ref, "uid"));
	url = json_string_value(json_object_get(st, "url"));
	ok = app && svc && uid && ruid && !strcmp(uid, ruid) && ready && !strcmp(ready, "True") &&
	     json_integer_value(json_object_get(st, "observedGeneration")) == gen && url &&
	     strstr(url, name) &&
	     json_integer_value(json_object_get(json_object_get(svc, "metadata"), "generation")) ==
		     json_integer_value(
			     json_object_get(json_object_get(svc, "status"), "observedGeneration"));
	json_decref(app);
	json_decref(svc);
	return ok;
}

struct want {
	const char *const *names;
	long long gen;
};

static bool all_converged(struct harness *hh, void *ud)
{
	const struct want *w = ud;
	const char *const *n;

	for (n = w->names; *n; n++)
		if (!converged(*n, w->gen))
			return false;
	return true;
}

static bool wait_converged(const char *const *names, long long gen)
{
	struct want w = { names, gen };
	const char *const *n;
	json_t *app, *svc;

	if (harness_wait(all_converged, &h, &w, WAIT_MS))
		return true;
	/* Say what is missing: the test log is all there is to go on. */
	for (n = names; *n; n++) {
		app = fake_get_app(&h.fake, NS, *n);
		svc = fake_get_service(&h.fake, NS, *n);
		cr_log_warn("%s: app %s", *n, app ? json_dumps(app, JSON_COMPACT) : "none");
		cr_log_warn("%s: service %s", *n, svc ? json_dumps(svc, JSON_COMPACT) : "none");
		json_decref(app);
		json_decref(svc);
	}
	return false;
}

static bool invalid_reported(struct harness *hh, void *ud)
{
	json_t *app = fake_get_app(&h.fake, NS, ud);
	const char *pinned = condition(app, "ImagePinned", "status");
	const char *ready = condition(app, "Ready", "status");
	const char *reason = condition(app, "Ready", "reason");
	bool ok = pinned && !strcmp(pinned, "False") && ready && !strcmp(ready, "False") &&
		  reason && !strcmp(reason, "ImageNotPinned");

	json_decref(app);
	return ok;
}

static void start(void)
{
	cr_assert_eq(harness_start(&h, NULL), 0, "spawn knext-operator ($KNEXT_OPERATOR)");
}

/* Every Service the operator applied passes the manifest library's webhook-rule checks. */
static void check_applied(void)
{
	char dir[512], path[1024], text[65536];
	struct manifest_errors errs;
	struct dirent *de;
	unsigned int n = 0;
	size_t len;
	FILE *f;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/applied", h.dir);
	d = opendir(dir);
	cr_assert(d, "applied Services were dumped");
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "r");
		cr_assert(f);
		len = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[len] = '\0';
		manifest_errors_reset(&errs);
		cr_expect_eq(manifest_check_service(text, len, NULL, &errs), 0,
			     "%s breaks a webhook rule: %s", path,
			     errs.count ? errs.list[0].reason : "?");
		n++;
	}
	closedir(d);
	cr_expect_gt(n, 0);
	cr_expect_eq(fake_bad_requests(&h.fake), 0, "every request was well-formed SSA");
}

/* Every line the operator wrote on stderr is one JSON object with ts_ms, level and event. */
static void check_log(void)
{
	char path[512], *line = NULL;
	size_t cap = 0;
	unsigned int n = 0;
	json_t *obj;
	FILE *f;

	snprintf(path, sizeof(path), "%s/operator.log", h.dir);
	f = fopen(path, "r");
	cr_assert(f);
	while (getline(&line, &cap, f) > 0) {
		obj = json_loads(line, 0, NULL);
		cr_expect(json_is_object(obj), "not a JSON object: %s", line);
		cr_expect(json_is_number(json_object_get(obj, "ts_ms")), "%s", line);
		cr_expect(json_is_string(json_object_get(obj, "level")), "%s", line);
		cr_expect(json_is_string(json_object_get(obj, "event")), "%s", line);
		json_decref(obj);
		n++;
	}
	free(line);
	fclose(f);
	cr_expect_gt(n, 3);
}

TestSuite(operator, .init = setup, .fini = teardown, .timeout = 90);

Test(operator, converges_and_never_reapplies)
{
	static const char *const names[] = { "shop", "blog", "docs", NULL };
	unsigned long applies, status_writes, after;
	const char *const *n;

	for (n = names; *n; n++)
		fake_put_app(&h.fake, NS, *n, app_spec(0));
	fake_put_app(&h.fake, NS, "tagged",
		     "{\"image\":\"registry.example/shop:latest\",\"scaling\":{\"minScale\":0}}");
	start();
	cr_assert(wait_converged(names, 1), "Services applied and Ready");
	cr_assert(harness_wait(invalid_reported, &h, (void *)"tagged", WAIT_MS),
		  "invalid NextApp reported in status");
	cr_expect_null(fake_get_service(&h.fake, NS, "tagged"), "no Service for an invalid app");
	/* Knative status events, our own status writes and bookmarks: none may re-apply. */
	harness_sleep_ms(2500);
	for (n = names; *n; n++)
		cr_expect_eq(fake_apply_count(&h.fake, NS, *n), 1, "%s applied once", *n);
	fake_stats(&h.fake, &applies, &status_writes, NULL, NULL);
	harness_sleep_ms(1500);
	fake_stats(&h.fake, &after, NULL, NULL, NULL);
	cr_expect_eq(after, applies, "quiet cluster, no applies");
	cr_expect(harness_alive(&h));
	check_applied();
	cr_expect_eq(harness_stop(&h, 5000), 0, "clean exit on SIGTERM");
	check_log();
}

/* Ready is False with reason InvalidSpec and a message naming @ud's field path. */
struct bad_field {
	const char *name, *path;
};

static bool field_reported(struct harness *hh, void *ud)
{
	const struct bad_field *b = ud;
	json_t *app = fake_get_app(&h.fake, NS, b->name);
	const char *ready = condition(app, "Ready", "status");
	const char *reason = condition(app, "ServiceApplied", "reason");
	const char *msg = condition(app, "Ready", "message");
	bool ok = ready && !strcmp(ready, "False") && reason && !strcmp(reason, "InvalidSpec") &&
		  msg && strstr(msg, b->path);

	json_decref(app);
	return ok;
}

/*
 * An object the library cannot take (a value with U+0000) is that object's error, in its status,
 * never the list's: the other NextApps get their Services and the operator gets Ready.
 */
Test(operator, one_bad_object_does_not_stall_the_rest)
{
	static const char *const good[] = { "good", NULL };
	static const char *const later[] = { "good", "later", NULL };
	static const char nul_spec[] =
		"{\"image\":\"registry.example/shop@sha256:"
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
		"\"env\":[{\"name\":\"A\",\"value\":\"a\\u0000b\"}]}";
	struct bad_field listed = { "nul", "spec.env[0].value" };
	struct bad_field watched = { "nul2", "spec.env[0].value" };
	char body[256];

	cr_assert_eq(fake_put_app(&h.fake, NS, "nul", nul_spec), 0);
	fake_put_app(&h.fake, NS, "good", app_spec(0));
	start();
	cr_assert(wait_converged(good, 1), "the good NextApp gets its Service despite the bad one");
	cr_assert(harness_wait(field_reported, &h, &listed, WAIT_MS),
		  "the bad NextApp (from the list) gets a False condition naming the field");
	cr_expect_null(fake_get_service(&h.fake, NS, "nul"));
	cr_expect_eq(harness_http_get(&h, "/readyz", body, sizeof(body)), 200, "%s", body);

	/* The same, arriving as a watch event while the operator runs. */
	cr_assert_eq(fake_put_app(&h.fake, NS, "nul2", nul_spec), 0);
	fake_put_app(&h.fake, NS, "later", app_spec(1));
	cr_assert(wait_converged(later, 1), "a NextApp created after the bad one converges");
	cr_assert(harness_wait(field_reported, &h, &watched, WAIT_MS),
		  "the bad NextApp (from a watch event) gets a False condition");
	cr_expect_null(fake_get_service(&h.fake, NS, "nul2"));
	cr_expect(harness_alive(&h));
	cr_expect_eq(harness_stop(&h, 5000), 0);
}

Test(operator, change_applies_and_same_spec_does_not)
{
	static const char *const names[] = { "shop", NULL };
	json_t *svc;
	const char *min;

	fake_put_app(&h.fake, NS, "shop", app_spec(0));
	start();
	cr_assert(wait_converged(names, 1));
	fake_put_app(&h.fake, NS, "shop", app_spec(2));
	cr_assert(wait_converged(names, 2), "new generation converges");
	cr_expect_eq(fake_apply_count(&h.fake, NS, "shop"), 2);
	svc = fake_get_service(&h.fake, NS, "shop");
	min = json_string_value(json_object_get(
		json_object_get(
			json_object_get(json_object_get(json_object_get(svc, "spec"), "template"),
					"metadata"),
			"annotations"),
		"autoscaling.knative.dev/min-scale"));
	cr_expect(min && !strcmp(min, "2"), "min-scale rendered into the template");
	json_decref(svc);
	/* The same spec again: a new resourceVersion, the same generation, nothing to apply. */
	fake_put_app(&h.fake, NS, "shop", app_spec(2));
	harness_sleep_ms(1500);
	cr_expect_eq(fake_apply_count(&h.fake, NS, "shop"), 2);
	/* Valid -> invalid: reported, and the running Service is left alone. */
	fake_put_app(&h.fake, NS, "shop",
		     "{\"image\":\"registry.example/shop:v2\",\"scaling\":{\"minScale\":2}}");
	cr_assert(harness_wait(invalid_reported, &h, (void *)"shop", WAIT_MS));
	cr_expect_eq(fake_apply_count(&h.fake, NS, "shop"), 2);
	svc = fake_get_service(&h.fake, NS, "shop");
	cr_expect_not_null(svc, "the last good Service keeps running");
	json_decref(svc);
	/* Invalid -> valid again: applied. */
	fake_put_app(&h.fake, NS, "shop", app_spec(1));
	cr_assert(wait_converged(names, 4));
	cr_expect_eq(fake_apply_count(&h.fake, NS, "shop"), 3);
	check_applied();
	cr_expect_eq(harness_stop(&h, 5000), 0);
}

static bool service_gone(struct harness *hh, void *ud)
{
	json_t *svc = fake_get_service(&h.fake, NS, ud);

	json_decref(svc);
	return !svc;
}

Test(operator, deletion_cascades_and_lost_service_is_recreated)
{
	static const char *const both[] = { "shop", "blog", NULL }, *const names[] = { "shop",
										       NULL };

	fake_put_app(&h.fake, NS, "shop", app_spec(0));
	fake_put_app(&h.fake, NS, "blog", app_spec(0));
	start();
	cr_assert(wait_converged(both, 1));
	fake_delete_app(&h.fake, NS, "blog");
	cr_assert(harness_wait(service_gone, &h, (void *)"blog", WAIT_MS));
	harness_sleep_ms(1000);
	cr_expect_null(fake_get_service(&h.fake, NS, "blog"), "a deleted NextApp stays deleted");
	/* Someone deletes the Service behind our back: it comes back. */
	fake_delete_service(&h.fake, NS, "shop");
	cr_assert(wait_converged(names, 1), "Service re-created");
	cr_expect_eq(fake_apply_count(&h.fake, NS, "shop"), 2);
	cr_expect_eq(harness_stop(&h, 5000), 0);
}

Test(operator, conflicts_and_server_errors_are_retried)
{
	static const char *const names[] = { "shop", "blog", NULL };

	fake_fail(&h.fake, "PATCH /apis/serving.knative.dev/v1/", 409, 3);
	fake_put_app(&h.fake, NS, "shop", app_spec(0));
	fake_put_app(&h.fake, NS, "blog", app_spec(0));
	start();
	cr_assert(wait_converged(names, 1), "converges after 409 Conflict");
	fake_fail(&h.fake, "PATCH /apis/knext.dev/v1alpha1/", 500, 2);
	fake_put_app(&h.fake, NS, "shop", app_spec(1));
	static const char *const shop[] = { "shop", NULL };
	cr_assert(wait_converged(shop, 2), "converges after 500 on /status");
	fake_fail(&h.fake, "GET /apis/knext.dev/v1alpha1/nextapps?watch", 500, 3);
	fake_drop_watches(&h.fake);
	fake_put_app(&h.fake, NS, "blog", app_spec(3));
	static const char *const blog[] = { "blog", NULL };
	cr_assert(wait_converged(blog, 2), "converges after failing watches");
	/* Connections dropped mid-request, with no answer. */
	fake_fail(&h.fake, "PATCH /apis/serving.knative.dev/v1/", 0, 2);
	fake_put_app(&h.fake, NS, "blog", app_spec(4));
	cr_assert(wait_converged(blog, 3), "converges after dropped apply connections");
	cr_expect_eq(fake_apply_count(&h.fake, NS, "blog"), 3,
		     "the retry that got through is the only apply counted");
	cr_expect(harness_alive(&h));
	check_applied();
	cr_expect_eq(harness_stop(&h, 5000), 0);
}

Test(operator, dropped_and_ended_watches_resume)
{
	static const char *const a[] = { "a", NULL }, *const b[] = { "b", NULL };
	unsigned long watches0, watches1, lists0, lists1;

	fake_put_app(&h.fake, NS, "a", app_spec(0));
	start();
	cr_assert(wait_converged(a, 1));
	fake_stats(&h.fake, NULL, NULL, &watches0, &lists0);
	fake_drop_watches(&h.fake);
	harness_sleep_ms(50);
	fake_put_app(&h.fake, NS, "b", app_spec(0));
	cr_assert(wait_converged(b, 1), "change made during a dropped watch converges");
	fake_end_watches(&h.fake);
	fake_put_app(&h.fake, NS, "a", app_spec(4));
	cr_assert(wait_converged(a, 2), "change made around an ended watch converges");
	fake_stats(&h.fake, NULL, NULL, &watches1, &lists1);
	cr_expect_gt(watches1, watches0, "watches resumed");
	cr_expect_eq(lists1, lists0, "resumed from the last resourceVersion, no relist");
	cr_expect_eq(fake_apply_count(&h.fake, NS, "b"), 1);
	cr_expect_eq(harness_stop(&h, 5000), 0);
}

Test(operator, bookmarks_keep_the_resume_point_fresh)
{
	static const char *const a[] = { "a", NULL }, *const b[] = { "b", NULL };
	unsigned long lists0, lists1;

	fake_put_app(&h.fake, NS, "a", app_spec(0));
	start();
	cr_assert(wait_converged(a, 1));
	/* Versions move on through Services only: the NextApp watch sees no event, only
	 * bookmarks, and without them would resume from a compacted version. */
	fake_delete_service(&h.fake, NS, "a");
	cr_assert(wait_converged(a, 1));
	harness_sleep_ms(2500); /* the fake sends a bookmark every second */
	fake_stats(&h.fake, NULL, NULL, NULL, &lists0);
	fake_compact(&h.fake);
	fake_drop_watches(&h.fake);
	harness_sleep_ms(100);
	fake_put_app(&h.fake, NS, "b", app_spec(0));
	cr_assert(wait_converged(b, 1));
	fake_stats(&h.fake, NULL, NULL, NULL, &lists1);
	cr_expect_eq(lists1, lists0, "resumed from the bookmark's version: no 410, no relist");
	cr_expect_eq(harness_stop(&h, 5000), 0);
}

static void gone(bool as_http)
{
	static const char *const a[] = { "a", NULL }, *const b[] = { "b", NULL };
	unsigned long lists0, lists1;

	fake_set_gone_as_http(&h.fake, as_http);
	fake_put_app(&h.fake, NS, "a", app_spec(0));
	fake_put_app(&h.fake, NS, "gone", app_spec(0));
	start();
	cr_assert(wait_converged(a, 1));
	static const char *const g[] = { "gone", NULL };
	cr_assert(wait_converged(g, 1));
	fake_stats(&h.fake, NULL, NULL, NULL, &lists0);
	/* History is compacted and the watches drop: resuming gets 410, so the operator relists
	 * and must notice a create, a change and a delete it never saw as events. */
	fake_compact(&h.fake);
	fake_drop_watches(&h.fake);
	fake_put_app(&h.fake, NS, "b", app_spec(0));
	fake_put_app(&h.fake, NS, "a", app_spec(1));
	fake_delete_app(&h.fake, NS, "gone");
	fake_compact(&h.fake);
	cr_assert(wait_converged(b, 1), "create seen after 410");
	cr_assert(wait_converged(a, 2), "change seen after 410");
	fake_stats(&h.fake, NULL, NULL, NULL, &lists1);
	cr_expect_gt(lists1, lists0, "relisted after 410 Gone");
	cr_expect_eq(fake_apply_count(&h.fake, NS, "a"), 2, "no extra apply from the relist");
	cr_expect(harness_alive(&h));
	cr_expect_eq(harness_stop(&h, 5000), 0);
}

Test(operator, gone_event_relists)
{
	gone(false);
}

Test(operator, gone_status_relists)
{
	gone(true);
}

Test(operator, survives_server_restart)
{
	static const char *const names[] = { "a", "b", NULL }, *const c[] = { "c", NULL };

	fake_put_app(&h.fake, NS, "a", app_spec(0));
	fake_put_app(&h.fake, NS, "b", app_spec(0));
	start();
	cr_assert(wait_converged(names, 1));
	fake_restart(&h.fake, 1500);
	harness_sleep_ms(100);
	/* Changed while the server is down: seen once it is back. */
	fake_put_app(&h.fake, NS, "c", app_spec(0));
	cr_assert(wait_converged(c, 1), "converges after the restart");
	cr_expect_eq(fake_apply_count(&h.fake, NS, "a"), 1, "unchanged Services not re-applied");
	cr_expect_eq(fake_apply_count(&h.fake, NS, "b"), 1);
	cr_expect(harness_alive(&h));
	cr_expect_eq(harness_stop(&h, 5000), 0);
}

Test(operator, restarted_operator_applies_nothing_current)
{
	static const char *const names[] = { "a", "b", NULL };
	unsigned long applies0, status0, applies1, status1;

	fake_put_app(&h.fake, NS, "a", app_spec(0));
	fake_put_app(&h.fake, NS, "b", app_spec(0));
	start();
	cr_assert(wait_converged(names, 1));
	harness_sleep_ms(500);
	cr_assert_eq(harness_stop(&h, 5000), 0);
	fake_stats(&h.fake, &applies0, &status0, NULL, NULL);
	start();
	harness_sleep_ms(2500);
	fake_stats(&h.fake, &applies1, &status1, NULL, NULL);
	cr_expect_eq(applies1, applies0, "no apply after a restart");
	cr_expect_eq(status1, status0, "no status write after a restart");
	cr_expect_eq(harness_stop(&h, 5000), 0);
}

Test(operator, health_and_metrics)
{
	static const char *const names[] = { "a", NULL };
	char body[16384];
	double t0;

	fake_put_app(&h.fake, NS, "a", app_spec(0));
	start();
	cr_assert(wait_converged(names, 1));
	cr_expect_eq(harness_http_get(&h, "/healthz", body, sizeof(body)), 200);
	cr_expect_eq(harness_http_get(&h, "/readyz", body, sizeof(body)), 200);
	cr_expect_eq(harness_http_get(&h, "/metrics", body, sizeof(body)), 200);
	cr_expect(strstr(body, "knext_operator_reconciles_total "), "%s", body);
	cr_expect(strstr(body, "knext_operator_reconcile_errors_total 0"), "%s", body);
	cr_expect(strstr(body, "knext_operator_applies_total 1\n"), "%s", body);
	cr_expect(strstr(body, "knext_operator_queue_depth 0"), "%s", body);
	cr_expect_eq(harness_http_get(&h, "/nope", body, sizeof(body)), 404);
	/* SIGTERM cuts the open watches instead of waiting for them to notice. */
	t0 = fake_now_ms();
	cr_expect_eq(harness_stop(&h, 5000), 0);
	cr_expect_lt(fake_now_ms() - t0, 500.0, "stopped in %.0f ms", fake_now_ms() - t0);
}

Test(operator, namespace_scope)
{
	static const char *const names[] = { "a", NULL };
	static const char *const args[] = { "--namespace", NS, NULL };
	json_t *other;

	fake_put_app(&h.fake, NS, "a", app_spec(0));
	fake_put_app(&h.fake, "elsewhere", "x", app_spec(0));
	cr_assert_eq(harness_start(&h, args), 0);
	cr_assert(wait_converged(names, 1));
	harness_sleep_ms(500);
	other = fake_get_service(&h.fake, "elsewhere", "x");
	cr_expect_null(other, "other namespaces are left alone");
	json_decref(other);
	cr_expect_eq(harness_stop(&h, 5000), 0);
}

Test(operator, bad_kubeconfig_fails_cleanly)
{
	static const char *const args[] = { "--context", "missing", NULL };

	cr_assert_eq(harness_start(&h, args), 0);
	harness_sleep_ms(1000);
	cr_expect_eq(harness_stop(&h, 5000), 1, "exit 1 with a config error, no crash");
}

/* The Knative schema check of the manifest tests (tests/manifest/validate.mjs), on every Service
 * the operator applied. */
Test(operator, applied_services_pass_knative_schema)
{
	static const char *const names[] = { "shop", "blog", NULL };
	char cmd[2048], mods[1024];
	struct stat st;
	int r;

	snprintf(mods, sizeof(mods), "%s/../manifest/node_modules/@kubernetes-models/knative",
		 TEST_DIR);
	if (system("node --version >/dev/null 2>&1") || stat(mods, &st))
		cr_skip_test("node or tests/manifest/node_modules missing (npm ci there)");
	fake_put_app(&h.fake, NS, "shop", app_spec(0));
	fake_put_app(&h.fake, NS, "blog", app_spec(1));
	start();
	cr_assert(wait_converged(names, 1));
	fake_put_app(&h.fake, NS, "shop", app_spec(2));
	cr_assert(wait_converged(names + 1, 1));
	snprintf(cmd, sizeof(cmd),
		 "node %s/../manifest/validate.mjs %s/applied/*.json >%s/schema.tap", TEST_DIR,
		 h.dir, h.dir);
	r = system(cmd);
	cr_expect_eq(r, 0, "Knative schema rejects an applied Service (see %s/schema.tap)", h.dir);
	check_applied();
	cr_expect_eq(harness_stop(&h, 5000), 0);
}

/* A self-signed certificate for 127.0.0.1 in the scratch dir; false when openssl is missing. */
static bool make_cert(char *b64, size_t len)
{
	char cmd[1024];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		 "-days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
		 "-keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1",
		 h.dir, h.dir);
	if (system(cmd))
		return false;
	snprintf(cmd, sizeof(cmd), "base64 -w0 %s/cert.pem", h.dir);
	p = popen(cmd, "r");
	if (!p)
		return false;
	n = fread(b64, 1, len - 1, p);
	b64[n] = '\0';
	return !pclose(p) && n > 0;
}

static int enable_tls(void)
{
	char cert[512], key[512];

	snprintf(cert, sizeof(cert), "%s/cert.pem", h.dir);
	snprintf(key, sizeof(key), "%s/key.pem", h.dir);
	return fake_enable_tls(&h.fake, cert, key);
}

Test(operator, https_with_ca_data_and_token)
{
	static const char *const names[] = { "shop", NULL };
	char b64[8192], extra[8400], auth[256];

	if (!make_cert(b64, sizeof(b64)))
		cr_skip_test("openssl command missing");
	if (enable_tls() == -ENOTSUP)
		cr_skip_test("fake API server built without OpenSSL");
	snprintf(extra, sizeof(extra), "    certificate-authority-data: %s\n", b64);
	cr_assert_eq(harness_kubeconfig(&h, "https", extra), 0);
	fake_put_app(&h.fake, NS, "shop", app_spec(0));
	start();
	cr_assert(wait_converged(names, 1), "converges over HTTPS");
	fake_last_auth(&h.fake, auth, sizeof(auth));
	cr_expect_str_eq(auth, "Bearer test-token");
	cr_expect_eq(fake_tls_failures(&h.fake), 0);
	cr_expect_eq(harness_stop(&h, 5000), 0);
}

Test(operator, https_server_not_in_the_ca_is_refused)
{
	char b64[8192];
	unsigned long applies;

	if (!make_cert(b64, sizeof(b64)))
		cr_skip_test("openssl command missing");
	if (enable_tls() == -ENOTSUP)
		cr_skip_test("fake API server built without OpenSSL");
	/* No CA given: the system trust store does not know our self-signed server. */
	cr_assert_eq(harness_kubeconfig(&h, "https", NULL), 0);
	fake_put_app(&h.fake, NS, "shop", app_spec(0));
	start();
	harness_sleep_ms(2000);
	fake_stats(&h.fake, &applies, NULL, NULL, NULL);
	cr_expect_eq(applies, 0, "nothing sent to an unverified server");
	cr_expect_gt(fake_tls_failures(&h.fake), 0);
	cr_expect(harness_alive(&h), "keeps retrying, does not crash");
	cr_expect_eq(harness_stop(&h, 5000), 0);
}

Test(operator, paginated_lists_and_an_expired_continue_token)
{
	static const char *const names[] = { "a", "b", "c", "d", "e", NULL };
	static const char *const args[] = { "--list-page", "2", NULL };
	const char *const *n;
	unsigned long lists;

	for (n = names; *n; n++)
		fake_put_app(&h.fake, NS, *n, app_spec(0));
	/* The second page's token is refused once: the list starts over. */
	fake_fail(&h.fake, "GET /apis/knext.dev/v1alpha1/nextapps?limit=2&continue=", 410, 1);
	cr_assert_eq(harness_start(&h, args), 0);
	cr_assert(wait_converged(names, 1), "every page's NextApps converge");
	fake_stats(&h.fake, NULL, NULL, NULL, &lists);
	/* NextApps: page 1, page 2 refused (not served), then pages 1-3 again; Services: one. */
	cr_expect_eq(lists, 5, "lists were paged and started over (%lu served)", lists);
	for (n = names; *n; n++)
		cr_expect_eq(fake_apply_count(&h.fake, NS, *n), 1, "%s applied once", *n);
	cr_expect_eq(harness_stop(&h, 5000), 0);
}
