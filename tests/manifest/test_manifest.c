// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the manifest library: golden renders, determinism, the invalid-NextApp matrix
 * with exact error paths, and the webhook rules applied to mutated Services.
 * KNEXT_UPDATE_GOLDEN=1 rewrites the golden files from the current renderer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "container/manifest/manifest.h"

#define DIGEST "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IMAGE "registry.example/app@sha256:" DIGEST

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	cr_assert(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static void spit(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert(f, "cannot write %s", path);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void errs_dump(const struct manifest_errors *errs, char *buf, size_t size)
{
	manifest_errors_format(errs, buf, size);
}

static const char *const golden_cases[] = {
	"minimal.nextapp.yaml",	     "full.nextapp.yaml",	   "pvc-readonly.nextapp.yaml",
	"pvc-disabled.nextapp.yaml", "pvc-write-off.nextapp.yaml", "probes.nextapp.yaml",
	"json-input.nextapp.json",   "owner-minimal.nextapp.yaml", "zone.nextapp.yaml",
};

static void render_case(const char *name, enum manifest_format fmt, char **out, size_t *len)
{
	struct manifest_owner owner;
	struct manifest_errors errs;
	struct render_opts opts = { 0 };
	struct nextapp app;
	char path[512], dump[4096];
	size_t in_len;
	char *in;
	int ret;

	snprintf(path, sizeof(path), "%s/golden/%s", TEST_DIR, name);
	in = slurp(path, &in_len);
	cr_assert(in, "missing %s", path);
	manifest_errors_reset(&errs);
	ret = nextapp_parse(&app, in, in_len, &errs);
	errs_dump(&errs, dump, sizeof(dump));
	cr_assert_eq(ret, 0, "%s: %s", name, dump);
	if (!strncmp(name, "owner-", 6)) {
		owner = (struct manifest_owner){ NEXTAPP_API_VERSION, NEXTAPP_KIND, app.meta.name,
						 app.meta.uid };
		opts.owner = &owner;
	}
	ret = manifest_render_checked(&app, &opts, fmt, out, len, &errs);
	errs_dump(&errs, dump, sizeof(dump));
	cr_assert_eq(ret, 0, "%s: %s", name, dump);
	nextapp_close(&app);
	free(in);
}

Test(golden, renders_match)
{
	const char *update = getenv("KNEXT_UPDATE_GOLDEN");
	size_t i, f, len, want_len;
	char path[512], *out, *want;

	for (i = 0; i < sizeof(golden_cases) / sizeof(golden_cases[0]); i++) {
		for (f = 0; f < 2; f++) {
			const char *name = golden_cases[i];
			int base = (int)(strstr(name, ".nextapp.") - name);

			render_case(name, f ? MANIFEST_JSON : MANIFEST_YAML, &out, &len);
			snprintf(path, sizeof(path), "%s/golden/%.*s.service.%s", TEST_DIR, base,
				 name, f ? "json" : "yaml");
			if (update && !strcmp(update, "1"))
				spit(path, out, len);
			want = slurp(path, &want_len);
			cr_assert(want, "missing golden %s (KNEXT_UPDATE_GOLDEN=1 writes it)",
				  path);
			cr_expect(want_len == len && !memcmp(want, out, len),
				  "%s differs from the render:\n%s", path, out);
			/* What we print must pass our own webhook checks, in both encodings. */
			{
				struct render_opts on = { .pvc = MANIFEST_FEATURE_ENABLED,
							  .pvc_write = MANIFEST_FEATURE_ENABLED,
							  .field_ref = MANIFEST_FEATURE_ENABLED };

				cr_expect_eq(manifest_check_service(out, len, &on, NULL), 0, "%s",
					     path);
				/* A stock cluster (PVC and fieldRef flags off) refuses exactly the
				 * renders that need them. */
				cr_expect_eq(manifest_check_service(out, len, NULL, NULL),
					     strstr(out, "persistentVolumeClaim") ||
							     strstr(out, "fieldRef") ?
						     -EINVAL :
						     0,
					     "%s: stock cluster flags", path);
			}
			free(want);
			free(out);
		}
	}
}

Test(render, deterministic_and_format_independent)
{
	char *a, *b, *j;
	size_t la, lb, lj;
	json_t *from_json, *from_yaml_input;
	json_error_t jerr;
	int k;

	render_case("full.nextapp.yaml", MANIFEST_YAML, &a, &la);
	for (k = 0; k < 5; k++) {
		render_case("full.nextapp.yaml", MANIFEST_YAML, &b, &lb);
		cr_assert(la == lb && !memcmp(a, b, la), "render %d differs", k);
		free(b);
	}
	/* The JSON and YAML renders carry the same object. */
	render_case("full.nextapp.yaml", MANIFEST_JSON, &j, &lj);
	from_json = json_loadb(j, lj, 0, &jerr);
	cr_assert(from_json, "rendered JSON does not parse: %s", jerr.text);
	from_yaml_input = json_object_get(json_object_get(from_json, "metadata"), "labels");
	cr_assert_str_eq(json_string_value(json_object_get(from_yaml_input, "knext.dev/build-id")),
			 "b-42");
	cr_assert(strstr(a, "autoscaling.knative.dev/min-scale: \"0\"\n"),
		  "numbers in strings must stay quoted in YAML");
	json_decref(from_json);
	free(a);
	free(j);
}

Test(render, json_and_yaml_nextapp_give_same_service)
{
	static const char yaml[] = "apiVersion: knext.dev/v1alpha1\nkind: NextApp\n"
				   "metadata: {name: same}\n"
				   "spec:\n  image: " IMAGE "\n  scaling: {maxScale: 4}\n"
				   "  env:\n  - {name: A, value: \"1\"}\n";
	static const char json[] = "{\"apiVersion\":\"knext.dev/v1alpha1\",\"kind\":\"NextApp\","
				   "\"metadata\":{\"name\":\"same\"},\"spec\":{\"image\":\"" IMAGE
				   "\",\"scaling\":{\"maxScale\":4},"
				   "\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}}";
	struct nextapp a, b;
	char *ra, *rb;
	size_t la, lb;

	cr_assert_eq(nextapp_parse(&a, yaml, strlen(yaml), NULL), 0);
	cr_assert_eq(nextapp_parse(&b, json, strlen(json), NULL), 0);
	cr_assert_eq(manifest_render(&a, NULL, MANIFEST_JSON, &ra, &la), 0);
	cr_assert_eq(manifest_render(&b, NULL, MANIFEST_JSON, &rb, &lb), 0);
	cr_assert(la == lb && !memcmp(ra, rb, la));
	free(ra);
	free(rb);
	nextapp_close(&a);
	nextapp_close(&b);
}

Test(render, feature_overrides_and_owner)
{
	struct nextapp app;
	struct render_opts opts = { 0 };
	struct manifest_owner owner = { NULL, NULL, "x", "uid-1" };
	char *out;
	size_t len;

	nextapp_init(&app);
	cr_assert_eq(nextapp_set_string(&app.meta.name, "x"), 0);
	cr_assert_eq(nextapp_set_string(&app.image, IMAGE), 0);
	cr_assert_eq(nextapp_set_string(&app.cache.claim_name, "pack"), 0);
	app.cache.mode = NEXTAPP_CACHE_PVC;
	app.cache.write_back = true;

	/* The operator knows the cluster: its flags win over the NextApp's. */
	opts.pvc = MANIFEST_FEATURE_ENABLED;
	opts.pvc_write = MANIFEST_FEATURE_ENABLED;
	opts.owner = &owner;
	cr_assert_eq(manifest_render(&app, &opts, MANIFEST_JSON, &out, &len), 0);
	cr_assert(strstr(out, "\"claimName\": \"pack\""));
	cr_assert_null(strstr(out, "\"readOnly\""), "write-back enabled: PVC writable\n%s", out);
	cr_assert(strstr(out, "\"uid\": \"uid-1\""));
	cr_assert(strstr(out, "\"kind\": \"NextApp\""));
	cr_assert(strstr(out, "\"controller\": true"));
	free(out);

	app.cluster.pvc = true;
	opts.pvc = MANIFEST_FEATURE_DISABLED;
	opts.owner = NULL;
	cr_assert_eq(manifest_render(&app, &opts, MANIFEST_JSON, &out, &len), 0);
	cr_assert_null(strstr(out, "persistentVolumeClaim"));
	cr_assert(strstr(out, "\"knext.dev/cache-source\": \"baked\""));
	cr_assert_null(strstr(out, "ownerReferences"));
	free(out);

	owner.uid = NULL;
	opts.owner = &owner;
	cr_assert_eq(manifest_render(&app, &opts, MANIFEST_JSON, &out, &len), -EINVAL);
	cr_assert_null(out);
	nextapp_close(&app);
	nextapp_close(&app); /* idempotent */
}

/* The value of env @name in the rendered Service's container, or NULL. */
static const char *rendered_env(json_t *svc, const char *name)
{
	json_t *c = json_array_get(
		json_object_get(
			json_object_get(json_object_get(json_object_get(svc, "spec"), "template"),
					"spec"),
			"containers"),
		0);
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(c, "env"), i, e) {
		if (!strcmp(json_string_value(json_object_get(e, "name")), name))
			return json_string_value(json_object_get(e, "value"));
	}
	return NULL;
}

/* A writable claim is useless unless the pod is told to write back: both, or neither. */
Test(render, write_back_sets_the_env)
{
	static const struct {
		bool write_back;
		enum manifest_feature write_flag;
		bool want;
	} cases[] = {
		{ true, MANIFEST_FEATURE_ENABLED, true },
		{ true, MANIFEST_FEATURE_DISABLED, false },
		{ false, MANIFEST_FEATURE_ENABLED, false },
	};
	struct render_opts opts = { .pvc = MANIFEST_FEATURE_ENABLED };
	struct nextapp app;
	json_t *svc;
	char *out;
	size_t len, i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nextapp_init(&app);
		cr_assert_eq(nextapp_set_string(&app.meta.name, "x"), 0);
		cr_assert_eq(nextapp_set_string(&app.image, IMAGE), 0);
		cr_assert_eq(nextapp_set_string(&app.cache.claim_name, "pack"), 0);
		app.cache.mode = NEXTAPP_CACHE_PVC;
		app.cache.write_back = cases[i].write_back;
		opts.pvc_write = cases[i].write_flag;
		cr_assert_eq(manifest_render(&app, &opts, MANIFEST_JSON, &out, &len), 0);
		svc = json_loads(out, 0, NULL);
		cr_assert(svc);
		if (cases[i].want) {
			cr_expect_str_eq(rendered_env(svc, "KNEXT_CACHE_WRITEBACK"), "1", "%s",
					 out);
			cr_expect_null(strstr(out, "\"readOnly\""), "%s", out);
		} else {
			cr_expect_null(rendered_env(svc, "KNEXT_CACHE_WRITEBACK"), "case %zu: %s",
				       i, out);
		}
		cr_expect_str_eq(rendered_env(svc, "KNEXT_CACHE_DIR"), KNEXT_DEFAULT_CACHE_DIR);
		json_decref(svc);
		free(out);
		nextapp_close(&app);
	}
}

/* The env entry @name of the rendered Service's container, or NULL. */
static json_t *rendered_env_item(json_t *svc, const char *name)
{
	json_t *c = json_array_get(
		json_object_get(
			json_object_get(json_object_get(json_object_get(svc, "spec"), "template"),
					"spec"),
			"containers"),
		0);
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(c, "env"), i, e) {
		if (!strcmp(json_string_value(json_object_get(e, "name")), name))
			return e;
	}
	return NULL;
}

/* spec.database: CloudNativePG's "<cluster>-app" Secret, key uri, unless overridden. */
Test(render, database_url_from_the_cluster_secret)
{
	static const struct {
		const char *cluster, *secret, *key, *want_secret, *want_key;
	} cases[] = {
		{ "orders-db", NULL, NULL, "orders-db-app", "uri" },
		{ "orders-db", "orders-ro", NULL, "orders-ro", "uri" },
		{ "orders-db", NULL, "jdbc-uri", "orders-db-app", "jdbc-uri" },
		{ NULL, "external-pg", "url", "external-pg", "url" },
	};
	struct nextapp app;
	json_t *svc, *ref;
	char *out;
	size_t len, i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nextapp_init(&app);
		cr_assert_eq(nextapp_set_string(&app.meta.name, "orders"), 0);
		cr_assert_eq(nextapp_set_string(&app.image, IMAGE), 0);
		cr_assert_eq(nextapp_set_string(&app.database.cluster, cases[i].cluster), 0);
		cr_assert_eq(nextapp_set_string(&app.database.secret_name, cases[i].secret), 0);
		cr_assert_eq(nextapp_set_string(&app.database.key, cases[i].key), 0);
		cr_assert_eq(manifest_render(&app, NULL, MANIFEST_JSON, &out, &len), 0);
		svc = json_loads(out, 0, NULL);
		ref = json_object_get(
			json_object_get(rendered_env_item(svc, "DATABASE_URL"), "valueFrom"),
			"secretKeyRef");
		cr_expect_str_eq(json_string_value(json_object_get(ref, "name")),
				 cases[i].want_secret, "%s", out);
		cr_expect_str_eq(json_string_value(json_object_get(ref, "key")), cases[i].want_key);
		/* The pinned image is in the pod's env (KNEXT_IMAGE) for knext-init. */
		cr_expect_str_eq(json_string_value(json_object_get(
					 rendered_env_item(svc, "KNEXT_IMAGE"), "value")),
				 IMAGE);
		json_decref(svc);
		free(out);

		/* An env DATABASE_URL beside spec.database is refused, not overridden. */
		cr_assert_eq(nextapp_set_env(&app, "DATABASE_URL", "postgres://elsewhere"), 0);
		cr_expect_eq(manifest_render(&app, NULL, MANIFEST_JSON, &out, &len), -EINVAL);
		nextapp_close(&app);
	}
}

Test(render, invalid_app_is_not_rendered)
{
	struct manifest_errors errs;
	struct nextapp app;
	char *out = (char *)1;
	size_t len;

	nextapp_init(&app);
	cr_assert_eq(nextapp_set_string(&app.meta.name, "x"), 0);
	cr_assert_eq(nextapp_set_string(&app.image, "registry.example/app:latest"), 0);
	manifest_errors_reset(&errs);
	cr_assert_eq(manifest_render_checked(&app, NULL, MANIFEST_YAML, &out, &len, &errs),
		     -EINVAL);
	cr_assert_null(out);
	cr_assert_eq(errs.count, 1);
	cr_assert_str_eq(errs.list[0].path, "spec.image");
	cr_assert(strstr(errs.list[0].reason, ":latest"));
	cr_assert(strstr(errs.list[0].reason, "registry.example/app@sha256:"),
		  "says how to pin: %s", errs.list[0].reason);
	nextapp_close(&app);
}

Test(image, digest_rules)
{
	static const char *const good[] = {
		"app@sha256:" DIGEST,
		"registry.example:5000/team/app@sha256:" DIGEST,
		"registry.example/app:1.0@sha256:" DIGEST,
		/* pkg/name's tag characters include uppercase letters. */
		"registry.example/app:V1.2-RC_1@sha256:" DIGEST,
		"localhost/app@sha256:" DIGEST,
		"[::1]:5000/app@sha256:" DIGEST,
	};
	static const char *const bad[] = {
		"",
		"app",
		"app:latest",
		"registry.example/app:1.0",
		"app@sha256:0123",
		"app@sha256:" DIGEST "0",
		"app@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		"app@sha512:" DIGEST,
		"@sha256:" DIGEST,
		"App@sha256:" DIGEST,
		"app @sha256:" DIGEST,
		/* pkg/name (as Knative vendors it): repositories of 2 to 255 characters. */
		"a@sha256:" DIGEST,
		"registry.example/x@sha256:" DIGEST,
		"registry.example/app:bad+tag@sha256:" DIGEST,
		"app@sha256:" DIGEST "@sha256:" DIGEST,
	};
	char why[256];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_expect_eq(nextapp_image_check(good[i], why, sizeof(why)), 0, "%s: %s", good[i],
			     why);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		cr_expect_eq(nextapp_image_check(bad[i], why, sizeof(why)), -EINVAL, "%s", bad[i]);
		cr_expect(why[0], "no reason for %s", bad[i]);
	}
}

Test(errors, overflow_is_counted)
{
	struct manifest_errors errs;
	char buf[64];
	int i;

	manifest_errors_reset(&errs);
	for (i = 0; i < MANIFEST_MAX_ERRORS + 5; i++)
		cr_assert_eq(manifest_errors_add(&errs, "p", "r%d", i), -EINVAL);
	cr_assert_eq(errs.count, MANIFEST_MAX_ERRORS);
	cr_assert_eq(errs.dropped, 5);
	cr_assert_gt(manifest_errors_format(&errs, buf, sizeof(buf)), sizeof(buf));
	cr_assert_eq(strlen(buf), sizeof(buf) - 1);
}

Test(defaults, image_agrees_with_the_table)
{
	char path[512], want[128], *text;

	snprintf(path, sizeof(path), "%s/../../container/image/Containerfile", TEST_DIR);
	text = slurp(path, NULL);
	cr_assert(text, "missing %s", path);
	snprintf(want, sizeof(want), "ENTRYPOINT [\"%s\"]", KNEXT_DEFAULT_BIN);
	cr_expect(strstr(text, want), "Containerfile lacks %s", want);
	snprintf(want, sizeof(want), "KNEXT_APP_DIR=%s ", KNEXT_DEFAULT_APP_DIR);
	cr_expect(strstr(text, want), "Containerfile lacks %s", want);
	snprintf(want, sizeof(want), "PORT=%d ", KNEXT_DEFAULT_PORT);
	cr_expect(strstr(text, want), "Containerfile lacks %s", want);
	snprintf(want, sizeof(want), "KNEXT_PROBE_PORT=%d ", KNEXT_DEFAULT_PROBE_PORT);
	cr_expect(strstr(text, want), "Containerfile lacks %s", want);
	snprintf(want, sizeof(want), "USER %d:%d\nEXPOSE %d", KNEXT_DEFAULT_UID, KNEXT_DEFAULT_UID,
		 KNEXT_DEFAULT_PORT);
	cr_expect(strstr(text, want), "Containerfile lacks %s", want);
	snprintf(want, sizeof(want), "--uid %d", KNEXT_DEFAULT_UID);
	cr_expect(strstr(text, want), "Containerfile lacks %s", want);
	snprintf(want, sizeof(want), "mkdir -p %s %s", KNEXT_DEFAULT_APP_DIR,
		 KNEXT_DEFAULT_CACHE_DIR);
	cr_expect(strstr(text, want), "Containerfile lacks %s", want);
	free(text);
}
