// SPDX-License-Identifier: Apache-2.0
/*
 * The webhook rules: a rendered Service passes; each mutation that Knative's webhook refuses is
 * refused by manifest_check_service() at the same field path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "container/manifest/manifest.h"

#define DIGEST "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define C0 "spec.template.spec.containers[0]"

static json_t *base(bool pvc)
{
	struct nextapp app;
	json_error_t jerr;
	struct render_opts opts = { .pvc = MANIFEST_FEATURE_ENABLED };
	json_t *svc;
	char *out;
	size_t len;

	nextapp_init(&app);
	cr_assert_eq(nextapp_set_string(&app.meta.name, "web"), 0);
	cr_assert_eq(nextapp_set_string(&app.image, "registry.example/web@sha256:" DIGEST), 0);
	cr_assert_eq(nextapp_set_env(&app, "A", "1"), 0);
	if (pvc) {
		app.cache.mode = NEXTAPP_CACHE_PVC;
		cr_assert_eq(nextapp_set_string(&app.cache.claim_name, "pack"), 0);
	}
	cr_assert_eq(manifest_render(&app, &opts, MANIFEST_JSON, &out, &len), 0);
	svc = json_loadb(out, len, 0, &jerr);
	cr_assert(svc);
	free(out);
	nextapp_close(&app);
	return svc;
}

static json_t *pod(json_t *svc)
{
	return json_object_get(json_object_get(json_object_get(svc, "spec"), "template"), "spec");
}

static json_t *ctr(json_t *svc)
{
	return json_array_get(json_object_get(pod(svc), "containers"), 0);
}

static json_t *probe(json_t *svc, const char *which)
{
	return json_object_get(ctr(svc), which);
}

static void expect(json_t *svc, const struct render_opts *opts, const char *path,
		   const char *reason)
{
	struct manifest_errors errs;
	char *text = json_dumps(svc, 0), dump[2048];
	int ret;

	manifest_errors_reset(&errs);
	ret = manifest_check_service(text, strlen(text), opts, &errs);
	manifest_errors_format(&errs, dump, sizeof(dump));
	if (!path) {
		cr_expect_eq(ret, 0, "want pass, got:\n%s", dump);
	} else {
		cr_expect_eq(ret, -EINVAL, "want %s refused", path);
		cr_expect_eq(errs.count, 1, "want one error at %s:\n%s", path, dump);
		if (errs.count) {
			cr_expect_str_eq(errs.list[0].path, path, "%s", dump);
			cr_expect(strstr(errs.list[0].reason, reason), "\"%s\" lacks \"%s\"",
				  errs.list[0].reason, reason);
		}
	}
	free(text);
	json_decref(svc);
}

static const struct render_opts pvc_on = { .pvc = MANIFEST_FEATURE_ENABLED };
static const struct render_opts pvc_rw = { .pvc = MANIFEST_FEATURE_ENABLED,
					   .pvc_write = MANIFEST_FEATURE_ENABLED };

Test(webhook, rendered_passes)
{
	expect(base(false), NULL, NULL, NULL);
	expect(base(true), &pvc_on, NULL, NULL);
}

Test(webhook, single_port)
{
	json_t *s = base(false);

	json_array_append_new(json_object_get(ctr(s), "ports"),
			      json_pack("{s:i}", "containerPort", 9000));
	expect(s, NULL, "spec.template.spec.containers[*].ports", "more than one container port");
}

Test(webhook, reserved_ports_and_names)
{
	static const int reserved[] = { 8012, 8013, 8022, 9090, 9091, 8008 };
	json_t *s;
	size_t i;

	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		s = base(false);
		json_object_set_new(json_array_get(json_object_get(ctr(s), "ports"), 0),
				    "containerPort", json_integer(reserved[i]));
		expect(s, NULL, C0 ".ports[0].containerPort", "reserved port");
	}
	s = base(false);
	json_object_set_new(json_array_get(json_object_get(ctr(s), "ports"), 0), "name",
			    json_string("grpc"));
	expect(s, NULL, C0 ".ports[0].name", "not allowed");
	s = base(false);
	json_object_set_new(json_array_get(json_object_get(ctr(s), "ports"), 0), "protocol",
			    json_string("UDP"));
	expect(s, NULL, C0 ".ports[0].protocol", "TCP");
	s = base(false);
	json_object_set_new(ctr(s), "name", json_string("queue-proxy"));
	expect(s, NULL, C0 ".name", "reserved container name");
}

Test(webhook, reserved_env)
{
	static const char *const names[] = { "PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION" };
	json_t *s;
	size_t i;

	for (i = 0; i < 4; i++) {
		s = base(false);
		json_object_set_new(json_array_get(json_object_get(ctr(s), "env"), 0), "name",
				    json_string(names[i]));
		expect(s, NULL, C0 ".env[0].name", "reserved environment variable");
	}
}

Test(webhook, readiness_rules)
{
	json_t *s = base(false);

	json_object_set_new(probe(s, "readinessProbe"), "timeoutSeconds", json_integer(1));
	expect(s, NULL, C0 ".readinessProbe.timeoutSeconds",
	       "disallowed when periodSeconds is zero");

	s = base(false);
	json_object_set_new(probe(s, "readinessProbe"), "failureThreshold", json_integer(3));
	expect(s, NULL, C0 ".readinessProbe.failureThreshold", "disallowed when periodSeconds");

	/* With a period, a missing failureThreshold is defaulted to 3 before validation. */
	s = base(false);
	json_object_set_new(probe(s, "readinessProbe"), "periodSeconds", json_integer(5));
	json_object_set_new(probe(s, "readinessProbe"), "timeoutSeconds", json_integer(1));
	expect(s, NULL, NULL, NULL);

	s = base(false);
	json_object_set_new(probe(s, "readinessProbe"), "tcpSocket",
			    json_pack("{s:i}", "port", 8090));
	expect(s, NULL, C0 ".readinessProbe", "exactly one of");

	s = base(false);
	json_object_set_new(json_object_get(probe(s, "readinessProbe"), "httpGet"), "port",
			    json_string("web"));
	expect(s, NULL, C0 ".readinessProbe.httpGet.port", "must match container port");

	/* An unnamed serving port is "http" to validateContainersPorts. */
	s = base(false);
	json_object_set_new(json_object_get(probe(s, "readinessProbe"), "httpGet"), "port",
			    json_string("http"));
	expect(s, NULL, NULL, NULL);

	/* validateProbe does not look at integer ports: a reserved one is not refused. */
	s = base(false);
	json_object_set_new(json_object_get(probe(s, "readinessProbe"), "httpGet"), "port",
			    json_integer(9091));
	expect(s, NULL, NULL, NULL);

	s = base(false);
	json_object_set_new(probe(s, "readinessProbe"), "successThreshold", json_integer(-1));
	expect(s, NULL, C0 ".readinessProbe.successThreshold", ">= 1");

	/* The traffic port and any other integer port are both fine. */
	s = base(false);
	json_object_set_new(json_object_get(probe(s, "readinessProbe"), "httpGet"), "port",
			    json_integer(8080));
	expect(s, NULL, NULL, NULL);
}

Test(webhook, liveness_and_startup_handlers)
{
	json_t *s = base(false);

	json_object_del(probe(s, "livenessProbe"), "exec");
	expect(s, NULL, C0 ".livenessProbe", "expected one of");

	s = base(false);
	json_object_set_new(ctr(s), "startupProbe",
			    json_pack("{s:{s:s,s:s}}", "httpGet", "path", "/", "port", "web"));
	expect(s, NULL, C0 ".startupProbe.httpGet.port", "must match container port");

	s = base(false);
	json_object_set_new(json_object_get(probe(s, "livenessProbe"), "exec"), "command",
			    json_array());
	expect(s, NULL, C0 ".livenessProbe.exec.command", "non-empty");
}

Test(webhook, pvc_flags)
{
	json_t *s = base(true);

	/* The renderer was told PVC is on; a stock cluster refuses the claim. */
	expect(s, NULL, "spec.template.spec.volumes[2]",
	       "Persistent volume claim support is disabled");

	s = base(true);
	json_object_del(json_object_get(json_array_get(json_object_get(pod(s), "volumes"), 2),
					"persistentVolumeClaim"),
			"readOnly");
	expect(s, &pvc_on, "spec.template.spec.volumes[2]", "write support is disabled");

	s = base(true);
	json_object_del(json_object_get(json_array_get(json_object_get(pod(s), "volumes"), 2),
					"persistentVolumeClaim"),
			"readOnly");
	json_object_del(json_array_get(json_object_get(ctr(s), "volumeMounts"), 2), "readOnly");
	expect(s, &pvc_rw, NULL, NULL);

	s = base(true);
	json_object_del(json_array_get(json_object_get(ctr(s), "volumeMounts"), 2), "readOnly");
	expect(s, &pvc_on, C0 ".volumeMounts[2]", "volume is readOnly but volume mount is not");
}

Test(webhook, volumes_and_mounts)
{
	json_t *s = base(false);

	json_array_append_new(json_object_get(pod(s), "volumes"),
			      json_pack("{s:s,s:{}}", "name", "extra", "emptyDir"));
	expect(s, NULL, "spec.template.spec.volumes[2].name", "not mounted");

	s = base(false);
	json_array_append_new(
		json_object_get(ctr(s), "volumeMounts"),
		json_pack("{s:s,s:s,s:b}", "name", "ghost", "mountPath", "/g", "readOnly", 1));
	expect(s, NULL, C0 ".volumeMounts[2]", "no matching volume");

	s = base(false);
	json_object_set_new(json_array_get(json_object_get(ctr(s), "volumeMounts"), 0), "mountPath",
			    json_string("/dev"));
	expect(s, NULL, C0 ".volumeMounts[0]", "reserved path");

	s = base(false);
	json_object_set_new(json_array_get(json_object_get(ctr(s), "volumeMounts"), 1), "mountPath",
			    json_string("/tmp"));
	expect(s, NULL, C0 ".volumeMounts[1]", "must be unique");

	s = base(false);
	json_array_append_new(json_object_get(pod(s), "volumes"),
			      json_pack("{s:s,s:{s:s}}", "name", "cfg", "configMap", "name", "c"));
	json_array_append_new(json_object_get(ctr(s), "volumeMounts"),
			      json_pack("{s:s,s:s}", "name", "cfg", "mountPath", "/cfg"));
	/* Knative's defaulting makes a configMap mount read-only before validating it. */
	expect(s, NULL, NULL, NULL);
}

Test(webhook, pod_and_container_fields)
{
	json_t *s = base(false);

	/* multi-container is on in stock Knative: a sidecar is fine, its image is checked. */
	json_array_append_new(
		json_object_get(pod(s), "containers"),
		json_pack("{s:s,s:s}", "name", "side", "image", "registry.example/side"));
	expect(s, NULL, NULL, NULL);

	s = base(false);
	json_array_append_new(json_object_get(pod(s), "containers"),
			      json_pack("{s:s,s:s}", "name", "side", "image", "x"));
	expect(s, NULL, "spec.template.spec.containers[1].image", "repository");

	s = base(false);
	json_object_set_new(pod(s), "hostNetwork", json_true());
	expect(s, NULL, "spec.template.spec", "hostNetwork");

	s = base(false);
	json_object_set_new(ctr(s), "stdin", json_true());
	expect(s, NULL, C0, "stdin");

	s = base(false);
	json_object_set_new(json_object_get(ctr(s), "securityContext"), "privileged", json_true());
	expect(s, NULL, C0 ".securityContext", "privileged");

	s = base(false);
	json_object_set_new(pod(s), "timeoutSeconds", json_integer(900));
	expect(s, NULL, "spec.template.spec.timeoutSeconds", "between 0 and 600");

	s = base(false);
	json_object_set_new(pod(s), "containerConcurrency", json_integer(-1));
	expect(s, NULL, "spec.template.spec.containerConcurrency", "between 0 and 1000");
}

Test(webhook, annotations)
{
	json_t *s = base(false), *a;

	a = json_object_get(json_object_get(json_object_get(json_object_get(s, "spec"), "template"),
					    "metadata"),
			    "annotations");
	json_object_set_new(a, "autoscaling.knative.dev/min-scale", json_integer(1));
	expect(s, NULL, "spec.template.metadata.annotations[autoscaling.knative.dev/min-scale]",
	       "must be strings");

	s = base(false);
	a = json_object_get(json_object_get(json_object_get(json_object_get(s, "spec"), "template"),
					    "metadata"),
			    "annotations");
	json_object_set_new(a, "autoscaling.knative.dev/min-scale", json_string("3"));
	json_object_set_new(a, "autoscaling.knative.dev/max-scale", json_string("2"));
	expect(s, NULL, "spec.template.metadata.annotations[autoscaling.knative.dev/max-scale]",
	       "less than min-scale");

	s = base(false);
	a = json_object_get(json_object_get(json_object_get(json_object_get(s, "spec"), "template"),
					    "metadata"),
			    "annotations");
	json_object_set_new(a, "autoscaling.knative.dev/window", json_string("2s"));
	expect(s, NULL, "spec.template.metadata.annotations[autoscaling.knative.dev/window]",
	       "between 6s and 1h");
}

Test(webhook, documents)
{
	static const char *const docs[] = { "", "[1]", "apiVersion: v1\nkind: Pod\n" };
	struct manifest_errors errs;
	size_t i;

	for (i = 0; i < 3; i++) {
		manifest_errors_reset(&errs);
		cr_expect_eq(manifest_check_service(docs[i], strlen(docs[i]), NULL, &errs),
			     -EINVAL);
		cr_expect_gt(errs.count, 0);
	}
}
