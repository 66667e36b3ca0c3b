// SPDX-License-Identifier: Apache-2.0
/*
 * Parity with Knative: one-change variants of a minimal Service, each with the verdict of
 * knative.dev/serving v1.23's webhook (defaulting, then validation, stock config-features and
 * config-defaults) or, where the webhook lets it through, of the API server when Knative creates
 * the revision's Deployment. The comment of each row names the function that decides it.
 * manifest_check_service() must refuse exactly the variants Knative refuses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "container/manifest/manifest.h"

#define DIGEST "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IMG "registry.example/web@sha256:" DIGEST
#define C0 "spec.template.spec.containers.0"
#define POD "spec.template.spec"
#define ANN "spec.template.metadata.annotations"
#define AS "autoscaling.knative.dev/"

static const char base_json[] =
	"{\"apiVersion\":\"serving.knative.dev/v1\",\"kind\":\"Service\","
	"\"metadata\":{\"name\":\"web\"},"
	"\"spec\":{\"template\":{\"metadata\":{},"
	"\"spec\":{\"containers\":[{\"name\":\"user-container\",\"image\":\"" IMG "\"}]}}}}";

/**
 * struct variant - one change to the minimal Service.
 * @path:    dot-separated; numbers index lists, "+" appends to one
 * @value:   JSON text to put there, or NULL to delete the field
 * @refused: Knative refuses the result
 */
struct variant {
	const char *path;
	const char *value;
	bool refused;
};

static const struct variant variants[] = {
	/* apis.ValidateObjectMetadata: NameIsDNS1035Label */
	{ "metadata.name", "\"1web\"", true },
	{ "metadata.name", "\"web-\"", true },
	{ "metadata.name", "\"Web\"", true },
	{ "metadata.name", "\"w0123456789012345678901234567890123456789012345678901234567890123\"",
	  true },
	{ "metadata.name", "\"w\"", false },
	/* serving ValidateHasNoAutoscalingAnnotation */
	{ "metadata.annotations", "{\"" AS "min-scale\":\"1\"}", true },
	/* serving ValidateRolloutDurationAnnotation: whole seconds */
	{ "metadata.annotations", "{\"serving.knative.dev/rollout-duration\":\"1.5s\"}", true },
	{ "metadata.annotations", "{\"serving.knative.dev/rollout-duration\":\"90s\"}", false },
	/* autoscaling validateMinMaxScale (getIntGE0) */
	{ ANN, "{\"" AS "min-scale\":\"-1\"}", true },
	{ ANN, "{\"" AS "min-scale\":\"2\"}", false },
	{ ANN, "{\"" AS "max-scale\":\"x\"}", true },
	{ ANN, "{\"" AS "min-scale\":\"3\",\"" AS "max-scale\":\"2\"}", true },
	{ ANN, "{\"" AS "min-scale\":\"3\",\"" AS "max-scale\":\"0\"}", false },
	{ ANN, "{\"" AS "minScale\":\"-1\"}", true },
	/* ObjectMeta: annotation values are strings */
	{ ANN, "{\"" AS "min-scale\":1}", true },
	/* validateMinMaxScale: activation-scale */
	{ ANN, "{\"" AS "activation-scale\":\"1\"}", true },
	{ ANN, "{\"" AS "activation-scale\":\"3\"}", false },
	/* validateInitialScale: 0 needs allow-zero-initial-scale */
	{ ANN, "{\"" AS "initial-scale\":\"0\"}", true },
	{ ANN, "{\"" AS "initial-scale\":\"2\"}", false },
	/* validateFloats */
	{ ANN, "{\"" AS "target\":\"0.001\"}", true },
	{ ANN, "{\"" AS "target\":\"0.5\"}", false },
	{ ANN, "{\"" AS "target-utilization-percentage\":\"101\"}", true },
	{ ANN, "{\"" AS "panic-threshold-percentage\":\"100\"}", true },
	{ ANN, "{\"" AS "target-burst-capacity\":\"-1\"}", false },
	/* validateWindow: 6s..1h, whole seconds */
	{ ANN, "{\"" AS "window\":\"5s\"}", true },
	{ ANN, "{\"" AS "window\":\"6500ms\"}", true },
	{ ANN, "{\"" AS "window\":\"1m30s\"}", false },
	{ ANN, "{\"" AS "window\":\"0.5h\"}", false },
	/* validateLastPodRetention: 0..1h */
	{ ANN, "{\"" AS "scale-to-zero-pod-retention-period\":\"61m\"}", true },
	{ ANN, "{\"" AS "scale-to-zero-pod-retention-period\":\"1h\"}", false },
	/* validateScaleDownDelay */
	{ ANN, "{\"" AS "scale-down-delay\":\"2h\"}", true },
	/* validateClass, validateMetric (default class kpa) */
	{ ANN, "{\"" AS "class\":\"foo.knative.dev\"}", true },
	{ ANN, "{\"" AS "class\":\"custom.example.com\"}", false },
	{ ANN, "{\"" AS "metric\":\"cpu\"}", true },
	{ ANN, "{\"" AS "metric\":\"rps\"}", false },
	/* v1 validateRevisionName */
	{ "spec.template.metadata.name", "\"web-v1\"", false },
	{ "spec.template.metadata.name", "\"other-v1\"", true },
	/* ValidateContainerConcurrency (0 allowed by default, max 1000) */
	{ POD ".containerConcurrency", "0", false },
	{ POD ".containerConcurrency", "1001", true },
	/* v1 validateTimeoutSeconds: max-revision-timeout-seconds 600 */
	{ POD ".timeoutSeconds", "600", false },
	{ POD ".timeoutSeconds", "601", true },
	{ POD ".timeoutSeconds", "-1", true },
	/* PodSpecMask */
	{ POD ".automountServiceAccountToken", "false", false },
	{ POD ".automountServiceAccountToken", "true", true },
	{ POD ".enableServiceLinks", "false", false },
	{ POD ".imagePullSecrets", "[{\"name\":\"reg\"}]", false },
	{ POD ".hostNetwork", "true", true },
	{ POD ".nodeSelector", "{\"disk\":\"ssd\"}", true },
	{ POD ".securityContext", "{\"runAsUser\":1000}", true },
	{ POD ".initContainers", "[{\"name\":\"init\",\"image\":\"registry.example/init\"}]",
	  true },
	{ POD ".terminationGracePeriodSeconds", "30", true },
	/* ValidatePodSpec: serviceAccountName is a DNS-1123 subdomain */
	{ POD ".serviceAccountName", "\"Bad_Name\"", true },
	{ POD ".serviceAccountName", "\"runner.team\"", false },
	/* validateContainers: multi-container is on in stock Knative; validateContainersPorts */
	{ POD ".containers",
	  "[{\"image\":\"" IMG "\",\"ports\":[{\"containerPort\":8080}]},"
	  "{\"name\":\"side\",\"image\":\"registry.example/side\"}]",
	  false },
	{ POD ".containers.+", "{\"name\":\"side\",\"image\":\"registry.example/side\"}", true },
	{ POD ".containers.+", "{\"name\":\"user-container\",\"image\":\"registry.example/side\"}",
	  true },
	{ POD ".containers.+",
	  "{\"name\":\"side\",\"image\":\"registry.example/side\",\"livenessProbe\":"
	  "{\"tcpSocket\":{\"port\":9}}}",
	  true },
	{ POD ".containers",
	  "[{\"image\":\"" IMG "\",\"ports\":[{\"containerPort\":8080}]},"
	  "{\"name\":\"b\",\"image\":\"registry.example/side\",\"ports\":[{\"containerPort\":9000}]}]",
	  true },
	/* validate: reserved container name; core: a DNS-1123 label */
	{ C0 ".name", "\"queue-proxy\"", true },
	{ C0 ".name", "\"Bad_Name\"", true },
	/* validate: name.ParseReference(image, name.WeakValidation) */
	{ C0 ".image", "\"registry.example/web:latest\"", false },
	{ C0 ".image", "\"registry.example/a:latest\"", true },
	{ C0 ".image", "\"registry.example/Web:latest\"", true },
	{ C0 ".image", "\"registry.example/web:V1\"", false },
	{ C0 ".image", "\"registry.example/web:v1+x\"", true },
	{ C0 ".image", "\"\"", true },
	{ C0 ".image", "\"registry.example/web@sha256:abc\"", true },
	{ C0 ".image", "\"localhost:5000/web\"", false },
	/* ContainerMask */
	{ C0 ".lifecycle", "{\"preStop\":{\"exec\":{\"command\":[\"sleep\",\"1\"]}}}", true },
	{ C0 ".stdin", "true", true },
	{ C0 ".tty", "false", false },
	{ C0 ".workingDir", "\"/app\"", false },
	{ C0 ".volumeDevices", "[{\"name\":\"d\",\"devicePath\":\"/dev/x\"}]", true },
	/* validateContainerPorts */
	{ C0 ".ports", "[{\"containerPort\":8012}]", true },
	{ C0 ".ports", "[{\"containerPort\":3000,\"name\":\"h2c\"}]", false },
	{ C0 ".ports", "[{\"containerPort\":3000,\"name\":\"grpc\"}]", true },
	{ C0 ".ports", "[{\"containerPort\":3000,\"protocol\":\"UDP\"}]", true },
	{ C0 ".ports", "[{\"containerPort\":3000,\"hostPort\":80}]", true },
	{ C0 ".ports", "[{\"containerPort\":3000},{\"containerPort\":3001}]", true },
	/* validateEnvVar (reserved names, EnvVarSourceMask); core IsRelaxedEnvVarName */
	{ C0 ".env", "[{\"name\":\"PORT\",\"value\":\"1\"}]", true },
	{ C0 ".env", "[{\"name\":\"A\",\"value\":\"1\"}]", false },
	{ C0 ".env", "[{\"name\":\"A=B\",\"value\":\"1\"}]", true },
	{ C0 ".env", "[{\"name\":\"my.env-name\"}]", false },
	{ C0 ".env", "[{\"name\":\"\",\"value\":\"x\"}]", true },
	{ C0 ".env",
	  "[{\"name\":\"A\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"k\"}}}]",
	  false },
	{ C0 ".env",
	  "[{\"name\":\"A\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"c\",\"key\":\"k\"}}}]",
	  false },
	{ C0 ".env",
	  "[{\"name\":\"A\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}}]",
	  true },
	/* validateEnvFrom */
	{ C0 ".envFrom", "[{\"secretRef\":{\"name\":\"s\"}}]", false },
	{ C0 ".envFrom", "[{\"prefix\":\"P_\",\"configMapRef\":{\"name\":\"c\"}}]", false },
	{ C0 ".envFrom", "[{\"prefix\":\"P_\"}]", true },
	{ C0 ".envFrom", "[{\"secretRef\":{\"name\":\"s\"},\"configMapRef\":{\"name\":\"c\"}}]",
	  true },
	/* validateResources (ResourceRequirementsMask); core ValidateResourceRequirements */
	{ C0 ".resources", "{\"requests\":{\"cpu\":\"2\"},\"limits\":{\"cpu\":\"1\"}}", true },
	{ C0 ".resources", "{\"requests\":{\"cpu\":\"500m\"},\"limits\":{\"cpu\":\"1\"}}", false },
	{ C0 ".resources", "{\"requests\":{\"cpu\":\"1\"},\"limits\":{\"cpu\":\"1000m\"}}", false },
	{ C0 ".resources", "{\"requests\":{\"memory\":\"1e9\"},\"limits\":{\"memory\":\"1G\"}}",
	  false },
	{ C0 ".resources", "{\"requests\":{\"memory\":\"1Gi\"},\"limits\":{\"memory\":\"1G\"}}",
	  true },
	{ C0 ".resources", "{\"claims\":[{\"name\":\"x\"}]}", true },
	{ C0 ".resources", "{\"limits\":{\"memory\":\"1GB\"}}", true },
	/* validateSecurityContext (SecurityContextMask, CapabilitiesMask) */
	{ C0 ".securityContext", "{\"privileged\":true}", true },
	{ C0 ".securityContext", "{\"privileged\":false}", false },
	{ C0 ".securityContext", "{\"capabilities\":{\"add\":[\"NET_ADMIN\"]}}", true },
	{ C0 ".securityContext", "{\"capabilities\":{\"drop\":[\"ALL\"]}}", false },
	{ C0 ".securityContext", "{\"runAsUser\":-1}", true },
	{ C0 ".securityContext", "{\"procMount\":\"Default\"}", true },
	/* validate: terminationMessagePolicy */
	{ C0 ".terminationMessagePolicy", "\"Sometimes\"", true },
	{ C0 ".terminationMessagePolicy", "\"FallbackToLogsOnError\"", false },
	/* applyUserContainerDefaultReadinessProbe, applyReadinessProbeDefaults, then
	 * validateReadinessProbe */
	{ C0 ".readinessProbe", "{}", false },
	{ C0 ".readinessProbe", "{\"periodSeconds\":5}", false },
	{ C0 ".readinessProbe", "{\"timeoutSeconds\":5}", true },
	{ C0 ".readinessProbe", "{\"failureThreshold\":5}", true },
	{ C0 ".readinessProbe", "{\"successThreshold\":-1}", true },
	{ C0 ".readinessProbe", "{\"httpGet\":{\"port\":\"http\"}}", false },
	{ C0 ".readinessProbe", "{\"httpGet\":{\"port\":\"web\"}}", true },
	{ C0 ".readinessProbe", "{\"httpGet\":{\"port\":9091}}", false },
	{ C0 ".readinessProbe", "{\"httpGet\":{},\"tcpSocket\":{}}", true },
	/* validateProbe: liveness needs one handler */
	{ C0 ".livenessProbe", "{\"periodSeconds\":5}", true },
	{ C0 ".livenessProbe", "{\"exec\":{\"command\":[\"true\"]}}", false },
	{ C0 ".startupProbe", "{\"grpc\":{\"port\":9000}}", false },
	/* ValidateVolumes, validateVolume, validateVolumeMounts (after SetDefaults) */
	{ POD ".volumes", "[{\"name\":\"v\",\"emptyDir\":{}}]", true },
	{ C0 ".volumeMounts", "[{\"name\":\"v\",\"mountPath\":\"/v\"}]", true },
	{ POD ".volumes", "[{\"name\":\"v\",\"hostPath\":{\"path\":\"/\"}}]", true },
	{ POD ".volumes", "[{\"name\":\"v\",\"persistentVolumeClaim\":{\"claimName\":\"c\"}}]",
	  true },
};

static int set_path(json_t *root, const char *path, json_t *value)
{
	char buf[256], *seg, *next, *save = NULL;
	json_t *cur = root, *child;

	snprintf(buf, sizeof(buf), "%s", path);
	seg = strtok_r(buf, ".", &save);
	while (seg) {
		next = strtok_r(NULL, ".", &save);
		if (json_is_array(cur)) {
			size_t idx =
				!strcmp(seg, "+") ? json_array_size(cur) : strtoul(seg, NULL, 10);

			if (!next) {
				if (!value)
					return json_array_remove(cur, idx);
				return idx == json_array_size(cur) ?
					       json_array_append_new(cur, value) :
					       json_array_set_new(cur, idx, value);
			}
			cur = json_array_get(cur, idx);
		} else {
			if (!next) {
				if (!value)
					return json_object_del(cur, seg);
				return json_object_set_new(cur, seg, value);
			}
			child = json_object_get(cur, seg);
			if (!child) {
				child = json_object();
				json_object_set_new(cur, seg, child);
			}
			cur = child;
		}
		seg = next;
	}
	return -1;
}

Test(parity, one_change_variants)
{
	size_t i, n = sizeof(variants) / sizeof(variants[0]);
	unsigned int wrong_accept = 0, wrong_refuse = 0, refused = 0;
	struct manifest_errors errs;
	char dump[2048];

	manifest_errors_reset(&errs);
	cr_assert_eq(manifest_check_service(base_json, strlen(base_json), NULL, &errs), 0,
		     "the minimal Service passes");
	for (i = 0; i < n; i++) {
		const struct variant *v = &variants[i];
		json_t *svc = json_loads(base_json, 0, NULL), *val = NULL;
		char *text;
		int r;

		cr_assert(svc);
		if (v->value) {
			val = json_loads(v->value, JSON_DECODE_ANY, NULL);
			cr_assert(val, "row %zu: bad JSON %s", i, v->value);
		}
		cr_assert_eq(set_path(svc, v->path, val), 0, "row %zu: %s", i, v->path);
		text = json_dumps(svc, 0);
		manifest_errors_reset(&errs);
		r = manifest_check_service(text, strlen(text), NULL, &errs);
		manifest_errors_format(&errs, dump, sizeof(dump));
		refused += v->refused;
		if (v->refused && !r)
			wrong_accept++;
		if (!v->refused && r)
			wrong_refuse++;
		cr_expect_eq(r != 0, v->refused, "row %zu: %s = %s: Knative %s it, we %s it%s%s", i,
			     v->path, v->value ? v->value : "(deleted)",
			     v->refused ? "refuses" : "accepts", r ? "refuse" : "accept",
			     r ? ":\n" : "", r ? dump : "");
		free(text);
		json_decref(svc);
	}
	printf("# parity: %zu one-change variants, %u refused by Knative; --check wrongly accepts "
	       "%u and wrongly refuses %u\n",
	       n, refused, wrong_accept, wrong_refuse);
}
