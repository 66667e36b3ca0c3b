// SPDX-License-Identifier: Apache-2.0
/*
 * The Knative webhook rules, applied to a Service document (ours or anybody's), so a rendered
 * Service the cluster would refuse never leaves this library. The rules follow knative.dev/serving
 * v1.23 (pkg/apis/serving/k8s_validation.go, fieldmask.go, metadata_validation.go,
 * v1/{service,configuration,revision}_validation.go, pkg/apis/autoscaling/annotation_validation.go) with the stock
 * config-features and config-defaults, plus the core Kubernetes rules the API server applies when
 * Knative creates the revision's Deployment (a Service passing the webhook but failing those never
 * becomes Ready). Each rule names the function it follows. Containers are in check_ctr.c.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "container/manifest/manifest.h"
#include "container/manifest/internal.h"
#include "container/manifest/check.h"

#define TMETA "spec.template.metadata.annotations"
#define AS "autoscaling.knative.dev/"

struct fy_node *ck_get(struct fy_node *map, const char *key)
{
	if (!map || fy_node_get_type(map) != FYNT_MAPPING)
		return NULL;
	return fy_node_mapping_lookup_value_by_simple_key(map, key, strlen(key));
}

const char *ck_str(struct fy_node *n)
{
	const char *s;
	size_t len;

	if (!n || fy_node_get_type(n) != FYNT_SCALAR || fy_node_get_style(n) == FYNS_ALIAS)
		return NULL;
	s = fy_node_get_scalar(n, &len);
	/* A NUL inside would make every string check below see a shorter text. */
	if (!s || memchr(s, '\0', len))
		return NULL;
	return fy_node_get_scalar0(n);
}

bool ck_num(struct fy_node *n, long *v)
{
	const char *s = ck_str(n);
	char *end;

	if (!s || fy_node_get_style(n) != FYNS_PLAIN || !*s)
		return false;
	*v = strtol(s, &end, 10);
	return !*end;
}

bool ck_true(struct fy_node *n)
{
	const char *s = ck_str(n);

	return s && fy_node_get_style(n) == FYNS_PLAIN && !strcmp(s, "true");
}

bool ck_zero(struct fy_node *n)
{
	const char *s;

	if (!n)
		return true;
	if (fy_node_get_type(n) == FYNT_SEQUENCE)
		return fy_node_sequence_item_count(n) == 0;
	if (fy_node_get_type(n) != FYNT_SCALAR)
		return false;
	s = ck_str(n);
	if (!s)
		return false;
	if (fy_node_get_style(n) != FYNS_PLAIN)
		return !*s;
	return !*s || !strcmp(s, "null") || !strcmp(s, "~") || !strcmp(s, "false") ||
	       !strcmp(s, "0");
}

void ck_allowed(struct ck *c, struct fy_node *map, const char *path, const char *const *keys,
		const char *why)
{
	struct fy_node_pair *pair;
	const char *k;
	void *it = NULL;
	size_t i;

	if (!map || fy_node_get_type(map) != FYNT_MAPPING)
		return;
	while ((pair = fy_node_mapping_iterate(map, &it)) != NULL) {
		k = ck_str(fy_node_pair_key(pair));
		if (!k)
			continue;
		for (i = 0; keys[i]; i++)
			if (!strcmp(keys[i], k))
				break;
		/* CheckDisallowedFields only sees fields that are not at their zero value. */
		if (!keys[i] && !ck_zero(fy_node_pair_value(pair)))
			manifest_errors_add(c->errs, path, "must not set \"%s\" (%s)", k, why);
	}
}

/* The value of an annotation under its key or its older camelCase alias (kmap.KeyPriority). */
static const char *ann(struct fy_node *a, const char *key, const char *alias, const char **which)
{
	char k[96];
	const char *v;

	snprintf(k, sizeof(k), AS "%s", key);
	v = ck_str(ck_get(a, k));
	*which = key;
	if (!v && alias) {
		snprintf(k, sizeof(k), AS "%s", alias);
		v = ck_str(ck_get(a, k));
		*which = alias;
	}
	return v;
}

static void ann_err(struct ck *c, const char *key, const char *fmt, const char *v)
{
	char path[MANIFEST_PATH_MAX];

	mf_pathf(path, sizeof(path), TMETA "[" AS "%s]", key);
	manifest_errors_add(c->errs, path, fmt, v);
}

/* strconv.ParseInt(v, 10, 32); -1 when it is not one. */
static bool int32_of(const char *v, long *out)
{
	char *end;
	long x;

	if (!*v)
		return false;
	errno = 0;
	x = strtol(v, &end, 10);
	if (*end || errno || x < -2147483648L || x > 2147483647L)
		return false;
	*out = x;
	return true;
}

/* strconv.ParseFloat(v, 64), near enough: a decimal or exponent number, nothing after it. */
static bool float_of(const char *v, double *out)
{
	char *end;

	if (!*v || strchr(v, ' ') || strchr(v, 'x') || strchr(v, 'X'))
		return false;
	*out = strtod(v, &end);
	return !*end;
}

/* annotation_validation.go validateMinMaxScale and validateInitialScale. */
static void check_scale_anns(struct ck *c, struct fy_node *a)
{
	const char *v, *k;
	long min = 0, max = 0, x;
	bool has_max = false;

	v = ann(a, "min-scale", "minScale", &k);
	if (v && (!int32_of(v, &x) || x < 0))
		ann_err(c, k, "\"%s\" must be an integer >= 0", v);
	else if (v)
		min = x;
	v = ann(a, "max-scale", "maxScale", &k);
	if (v && (!int32_of(v, &x) || x < 0)) {
		ann_err(c, k, "\"%s\" must be an integer >= 0", v);
	} else if (v) {
		max = x;
		has_max = true;
	}
	if (has_max && max != 0 && max < min)
		ann_err(c, k, "max-scale=%s is less than min-scale", v);
	v = ann(a, "activation-scale", NULL, &k);
	if (v) {
		if (!int32_of(v, &x))
			ann_err(c, k, "\"%s\" is not an integer", v);
		else if (min > x || (max != 0 && max < x) || x < 2)
			ann_err(c, k,
				"activation-scale=%s must be > 1 and within min-scale..max-scale",
				v);
	}
	/* Atoi, >= 0, and 0 only with config-autoscaler's allow-zero-initial-scale (off). */
	v = ann(a, "initial-scale", "initialScale", &k);
	if (v && (!int32_of(v, &x) || x < 1))
		ann_err(c, k, "\"%s\" must be an integer >= 1 (0 needs allow-zero-initial-scale)",
			v);
}

/* annotation_validation.go validateFloats. */
static void check_float_anns(struct ck *c, struct fy_node *a)
{
	static const struct {
		const char *key, *alias;
		double min, max;
	} floats[] = {
		{ "panic-window-percentage", "panicWindowPercentage", 1, 100 },
		{ "panic-threshold-percentage", "panicThresholdPercentage", 110, 1000 },
		{ "target", NULL, 0.01, INFINITY },
		{ "target-utilization-percentage", "targetUtilizationPercentage", 1, 100 },
	};
	const char *v, *k;
	double x;
	size_t i;

	for (i = 0; i < sizeof(floats) / sizeof(floats[0]); i++) {
		v = ann(a, floats[i].key, floats[i].alias, &k);
		if (v && (!float_of(v, &x) || x < floats[i].min || x > floats[i].max))
			ann_err(c, k, "\"%s\" is not a number in the allowed range", v);
	}
	v = ann(a, "target-burst-capacity", "targetBurstCapacity", &k);
	if (v && (!float_of(v, &x) || (x < 0 && x != -1)))
		ann_err(c, k, "\"%s\" must be >= 0 or -1", v);
}

/* validateWindow, validateLastPodRetention, validateScaleDownDelay: Go durations up to 1h. */
static void check_duration_anns(struct ck *c, struct fy_node *a)
{
	const char *v, *k;
	long long ns;

	v = ann(a, "window", NULL, &k);
	if (v &&
	    (!mf_go_duration(v, &ns) || ns < 6 * NS_PER_S || ns > 3600 * NS_PER_S || ns % NS_PER_S))
		ann_err(c, k, "\"%s\" must be a whole-second duration between 6s and 1h", v);
	v = ann(a, "scale-to-zero-pod-retention-period", "scaleToZeroPodRetentionPeriod", &k);
	if (v && (!mf_go_duration(v, &ns) || ns < 0 || ns > 3600 * NS_PER_S))
		ann_err(c, k, "\"%s\" must be a duration between 0s and 1h", v);
	v = ann(a, "scale-down-delay", "scaleDownDelay", &k);
	if (v && (!mf_go_duration(v, &ns) || ns < 0 || ns > 3600 * NS_PER_S || ns % NS_PER_S))
		ann_err(c, k, "\"%s\" must be a whole-second duration between 0s and 1h", v);
}

/* validateClass, validateMetric (config-autoscaler's default class is kpa), validateAlgorithm. */
static void check_class_anns(struct ck *c, struct fy_node *a)
{
	const char *cls = ann(a, "class", NULL, &(const char *){ NULL }), *v, *k;
	size_t n = cls ? strlen(cls) : 0;
	const char *eff = cls ? cls : "kpa.autoscaling.knative.dev";

	if (cls && n >= 11 && !strcmp(cls + n - 11, "knative.dev") &&
	    strcmp(cls, "kpa.autoscaling.knative.dev") &&
	    strcmp(cls, "hpa.autoscaling.knative.dev"))
		ann_err(c, "class", "\"%s\" is not a Knative autoscaler class", cls);
	v = ann(a, "metric", NULL, &k);
	if (v && ((!strcmp(eff, "kpa.autoscaling.knative.dev") && strcmp(v, "concurrency") &&
		   strcmp(v, "rps")) ||
		  (!strcmp(eff, "hpa.autoscaling.knative.dev") && !*v)))
		ann_err(c, k, "\"%s\" is not a metric of this autoscaler class", v);
	v = ann(a, "metric-aggregation-algorithm", "metricAggregationAlgorithm", &k);
	if (v && *v && cls && !strcmp(cls, "kpa.autoscaling.knative.dev") && strcmp(v, "linear") &&
	    strcmp(v, "weighted-exponential") && strcmp(v, "weightedExponential"))
		ann_err(c, k, "\"%s\" is not linear or weighted-exponential", v);
}

/*
 * Annotation and label values are strings (the API server's ObjectMeta); a YAML 1.1 reader, or
 * a JSON number, would make one a number or a bool.
 */
static void check_string_map(struct ck *c, struct fy_node *m, const char *path)
{
	struct fy_node_pair *pair;
	struct fy_node *v;
	char f[MANIFEST_PATH_MAX];
	const char *s;
	void *it = NULL;

	if (!m)
		return;
	if (fy_node_get_type(m) != FYNT_MAPPING) {
		manifest_errors_add(c->errs, path, "must be a mapping of strings");
		return;
	}
	while ((pair = fy_node_mapping_iterate(m, &it)) != NULL) {
		v = fy_node_pair_value(pair);
		s = ck_str(fy_node_pair_key(pair));
		mf_pathf(f, sizeof(f), "%s[%s]", path, s ? s : "?");
		s = ck_str(v);
		if (!s || fy_node_get_type(v) != FYNT_SCALAR ||
		    (fy_node_get_style(v) == FYNS_PLAIN && mf_plain_typed(s)))
			manifest_errors_add(c->errs, f,
					    "annotation and label values must be strings");
	}
}

/* v1 RevisionTemplateSpec.Validate: the annotations and the revision's own name. */
static void check_template_meta(struct ck *c, struct fy_node *tmeta, const char *svc_name)
{
	struct fy_node *a = ck_get(tmeta, "annotations");
	const char *name = ck_str(ck_get(tmeta, "name")), *v;
	static const char *const qp[] = { "cpu-resource-request",
					  "cpu-resource-limit",
					  "memory-resource-request",
					  "memory-resource-limit",
					  "ephemeral-storage-resource-request",
					  "ephemeral-storage-resource-limit" };
	char k[128];
	long long ns;
	size_t i;

	check_string_map(c, a, TMETA);
	check_string_map(c, ck_get(tmeta, "labels"), "spec.template.metadata.labels");
	check_scale_anns(c, a);
	check_float_anns(c, a);
	check_duration_anns(c, a);
	check_class_anns(c, a);
	/* validateQueueSidecarResourceAnnotations: quantities. */
	for (i = 0; i < sizeof(qp) / sizeof(qp[0]); i++) {
		snprintf(k, sizeof(k), "queue.sidecar.serving.knative.dev/%s", qp[i]);
		v = ck_str(ck_get(a, k));
		if (v && !mf_quantity(v)) {
			char path[MANIFEST_PATH_MAX];

			mf_pathf(path, sizeof(path), TMETA "[%s]", k);
			manifest_errors_add(c->errs, path, "\"%s\" is not a quantity", v);
		}
	}
	/* validateProgressDeadlineAnnotation: a whole-second, non-negative Go duration. */
	v = ck_str(ck_get(a, "serving.knative.dev/progress-deadline"));
	if (v && *v && (!mf_go_duration(v, &ns) || ns < 0 || ns % NS_PER_S))
		manifest_errors_add(c->errs, TMETA "[serving.knative.dev/progress-deadline]",
				    "\"%s\" must be a whole-second duration >= 0", v);
	/* validateRevisionName: a DNS-1035 label prefixed with the Service's name and '-'. */
	if (name && *name) {
		size_t n = svc_name ? strlen(svc_name) : 0;

		if (!mf_dns1035_label(name))
			manifest_errors_add(c->errs, "spec.template.metadata.name",
					    "not a DNS 1035 label");
		else if (svc_name && (strncmp(name, svc_name, n) || name[n] != '-'))
			manifest_errors_add(c->errs, "spec.template.metadata.name",
					    "\"%s\" must have prefix \"%s-\"", name, svc_name);
	}
}

/* serving ValidateObjectMetadata for a Service: the name and no autoscaling annotations. */
static const char *check_meta(struct ck *c, struct fy_node *meta)
{
	const char *name = ck_str(ck_get(meta, "name"));
	const char *gen = ck_str(ck_get(meta, "generateName"));
	struct fy_node *a = ck_get(meta, "annotations");
	struct fy_node_pair *pair;
	void *it = NULL;
	long long ns;
	const char *v;

	/* knative.dev/pkg apis.ValidateObjectMetadata: NameIsDNS1035Label. */
	if ((!name || !*name) && (!gen || !*gen))
		manifest_errors_add(c->errs, "metadata.name", "name or generateName is required");
	else if (name && *name && !mf_dns1035_label(name))
		manifest_errors_add(c->errs, "metadata.name",
				    "must be a DNS label starting with a letter (DNS-1035): "
				    "lowercase letters, digits and '-', at most 63");
	check_string_map(c, a, "metadata.annotations");
	check_string_map(c, ck_get(meta, "labels"), "metadata.labels");
	/* ValidateHasNoAutoscalingAnnotation. */
	while (a && fy_node_get_type(a) == FYNT_MAPPING &&
	       (pair = fy_node_mapping_iterate(a, &it)) != NULL) {
		const char *k = ck_str(fy_node_pair_key(pair));

		if (k && !strncmp(k, "autoscaling.knative.dev", 23)) {
			char path[MANIFEST_PATH_MAX];

			mf_pathf(path, sizeof(path), "metadata.annotations[%s]", k);
			manifest_errors_add(c->errs, path,
					    "autoscaling annotations must be put under "
					    "\"spec.template.metadata.annotations\" to work");
		}
	}
	/* ValidateRolloutDurationAnnotation. */
	v = ck_str(ck_get(a, "serving.knative.dev/rollout-duration"));
	if (v && *v && (!mf_go_duration(v, &ns) || ns < 0 || ns % NS_PER_S))
		manifest_errors_add(c->errs,
				    "metadata.annotations[serving.knative.dev/rollout-duration]",
				    "\"%s\" must be a whole-second duration >= 0", v);
	return name;
}

/* k8s_validation.go validateVolume and its helpers, for one volume. */
static void check_volume(struct ck *c, struct fy_node *v, int i, struct ck_vol *vol)
{
	static const char *const vkeys[] = { "name",	  "secret",   "configMap",
					     "projected", "emptyDir", "persistentVolumeClaim",
					     NULL };
	static const char *const sources[] = { "secret", "configMap", "projected", "emptyDir",
					       "persistentVolumeClaim" };
	char f[MANIFEST_PATH_MAX];
	struct fy_node *src, *item;
	const char *s;
	int kinds = 0;
	size_t k;
	void *it;

	memset(vol, 0, sizeof(*vol));
	mf_pathf(f, sizeof(f), POD ".volumes[%d]", i);
	/* VolumeSourceMask: hostPath, csi, ephemeral, image are behind flags that are off. */
	ck_allowed(c, v, f, vkeys, "this volume type is off in config-features");
	for (k = 0; k < sizeof(sources) / sizeof(sources[0]); k++)
		kinds += ck_get(v, sources[k]) != NULL;
	if (kinds != 1)
		manifest_errors_add(
			c->errs, f,
			"expected exactly one of secret, configMap, projected, emptyDir%s",
			c->pvc ? ", persistentVolumeClaim" : "");
	/* validateKeyToPath for secret and configMap items. */
	for (k = 0; k < 2; k++) {
		src = ck_get(v, k ? "configMap" : "secret");
		it = NULL;
		while ((item = fy_node_sequence_iterate(ck_get(src, "items"), &it)) != NULL)
			if (!ck_str(ck_get(item, "key")) || !*ck_str(ck_get(item, "key")) ||
			    !ck_str(ck_get(item, "path")) || !*ck_str(ck_get(item, "path")))
				manifest_errors_add(c->errs, f, "items need a key and a path");
	}
	/* validateProjectedVolumeSource: each source exactly one kind. */
	it = NULL;
	while ((item = fy_node_sequence_iterate(ck_get(ck_get(v, "projected"), "sources"), &it))) {
		int n = !!ck_get(item, "secret") + !!ck_get(item, "configMap") +
			!!ck_get(item, "serviceAccountToken") + !!ck_get(item, "downwardAPI");

		if (n != 1)
			manifest_errors_add(c->errs, f,
					    "each projected source is exactly one of secret, "
					    "configMap, serviceAccountToken, downwardAPI");
	}
	/* validateEmptyDirFields. */
	src = ck_get(v, "emptyDir");
	s = ck_str(ck_get(src, "medium"));
	if (s && *s && strcmp(s, "Memory"))
		manifest_errors_add(c->errs, f, "emptyDir.medium must be empty or Memory");
	s = ck_str(ck_get(src, "sizeLimit"));
	if (s) {
		long double q;

		if (!mf_quantity_value(s, &q) || q < 0)
			manifest_errors_add(c->errs, f,
					    "emptyDir.sizeLimit must be a quantity >= 0");
	}
	vol->writable = src != NULL;
	/* validatePersistentVolumeClaims. */
	src = ck_get(v, "persistentVolumeClaim");
	if (src) {
		const char *claim = ck_str(ck_get(src, "claimName"));

		vol->writable = true;
		vol->pvc_ro = ck_true(ck_get(src, "readOnly"));
		if (!c->pvc)
			manifest_errors_add(
				c->errs, f,
				"Persistent volume claim support is disabled, but found "
				"persistent volume claim %s",
				claim ? claim : "");
		if (!vol->pvc_ro && !c->pvc_write)
			manifest_errors_add(
				c->errs, f,
				"Persistent volume write support is disabled, but found "
				"persistent volume claim %s that is not read-only",
				claim ? claim : "");
	}
	vol->name = ck_str(ck_get(v, "name"));
	mf_pathf(f, sizeof(f), POD ".volumes[%d].name", i);
	if (!vol->name || !mf_dns_label(vol->name, 63)) {
		manifest_errors_add(c->errs, f, "must be a DNS label");
		vol->name = NULL;
	}
}

/* Whether any container of the pod mounts @name (AllMountedVolumes). */
static bool mounted(struct fy_node *pod, const char *name)
{
	struct fy_node *ctr, *m;
	void *it = NULL, *jt;

	while ((ctr = fy_node_sequence_iterate(ck_get(pod, "containers"), &it)) != NULL) {
		jt = NULL;
		while ((m = fy_node_sequence_iterate(ck_get(ctr, "volumeMounts"), &jt)) != NULL)
			if (ck_str(ck_get(m, "name")) && !strcmp(ck_str(ck_get(m, "name")), name))
				return true;
	}
	return false;
}

/* k8s_validation.go ValidateVolumes. */
static void check_volumes(struct ck *c, struct fy_node *pod)
{
	struct fy_node *list = ck_get(pod, "volumes"), *v;
	char f[MANIFEST_PATH_MAX];
	int i, j;

	c->n_vols = 0;
	if (!list)
		return;
	if (fy_node_get_type(list) != FYNT_SEQUENCE) {
		manifest_errors_add(c->errs, POD ".volumes", "must be a list");
		return;
	}
	for (i = 0; (v = fy_node_sequence_get_by_index(list, i)) != NULL && i < MAX_VOLUMES; i++) {
		struct ck_vol *vol = &c->vols[c->n_vols++];

		check_volume(c, v, i, vol);
		if (!vol->name)
			continue;
		mf_pathf(f, sizeof(f), POD ".volumes[%d].name", i);
		for (j = 0; j < i; j++)
			if (c->vols[j].name && !strcmp(c->vols[j].name, vol->name))
				manifest_errors_add(c->errs, f, "duplicate volume name \"%s\"",
						    vol->name);
		if (!mounted(pod, vol->name))
			manifest_errors_add(c->errs, f, "volume with name \"%s\" not mounted",
					    vol->name);
	}
}

/* serving ValidatePodSpec (PodSpecMask with the stock flags) and v1 RevisionSpec.Validate. */
static void check_pod(struct ck *c, struct fy_node *pod)
{
	static const char *const keys[] = {
		"containers",
		"volumes",
		"serviceAccountName",
		"imagePullSecrets",
		"enableServiceLinks",
		"automountServiceAccountToken",
		"containerConcurrency",
		"timeoutSeconds",
		"responseStartTimeoutSeconds",
		"idleTimeoutSeconds",
		NULL,
	};
	struct fy_node *n;
	const char *s;
	long v;

	ck_allowed(c, pod, POD, keys, "off unless a Knative feature flag enables it");
	/* PodSpecMask keeps automountServiceAccountToken only when it is false. */
	n = ck_get(pod, "automountServiceAccountToken");
	if (ck_true(n))
		manifest_errors_add(c->errs, POD ".automountServiceAccountToken",
				    "may only be set to false");
	s = ck_str(ck_get(pod, "serviceAccountName"));
	if (s && *s && !mf_dns_subdomain(s))
		manifest_errors_add(c->errs, POD ".serviceAccountName",
				    "\"%s\" is not a DNS-1123 subdomain", s);
	/* ValidateContainerConcurrency: 0 (allow-container-concurrency-zero) .. 1000. */
	n = ck_get(pod, "containerConcurrency");
	if (n && !ck_zero(n) && (!ck_num(n, &v) || v < 0 || v > MF_MAX_CONCURRENCY))
		manifest_errors_add(c->errs, POD ".containerConcurrency",
				    "must be an integer between 0 and %d", MF_MAX_CONCURRENCY);
	/* validateTimeoutSeconds: 0 means the default, else 1..max-revision-timeout-seconds. */
	n = ck_get(pod, "timeoutSeconds");
	if (n && !ck_zero(n) && (!ck_num(n, &v) || v < 0 || v > MF_MAX_TIMEOUT_SECONDS))
		manifest_errors_add(c->errs, POD ".timeoutSeconds",
				    "must be an integer between 0 and %d", MF_MAX_TIMEOUT_SECONDS);
	check_volumes(c, pod);
	ck_containers(c, pod);
}

int manifest_check_service(const char *text, size_t len, const struct render_opts *opts,
			   struct manifest_errors *errs)
{
	struct manifest_errors local;
	struct fy_node *root, *tmpl;
	struct fy_document *fyd;
	unsigned int before;
	struct ck *c;
	const char *s, *name;

	if (!errs) {
		manifest_errors_reset(&local);
		errs = &local;
	}
	before = errs->count + errs->dropped;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->errs = errs;
	if (opts) {
		c->pvc = opts->pvc == MANIFEST_FEATURE_ENABLED;
		c->pvc_write = opts->pvc_write == MANIFEST_FEATURE_ENABLED;
		c->field_ref = opts->field_ref == MANIFEST_FEATURE_ENABLED;
	}
	fyd = mf_load(text, len, errs);
	if (!fyd)
		goto out_free;
	root = fy_document_root(fyd);
	if (!root || fy_node_get_type(root) != FYNT_MAPPING) {
		manifest_errors_add(errs, "(document)", "must be a mapping (a Service object)");
		goto out;
	}
	s = ck_str(ck_get(root, "apiVersion"));
	if (!s || strcmp(s, MANIFEST_SERVICE_API_VERSION))
		manifest_errors_add(errs, "apiVersion", "must be %s", MANIFEST_SERVICE_API_VERSION);
	s = ck_str(ck_get(root, "kind"));
	if (!s || strcmp(s, MANIFEST_SERVICE_KIND))
		manifest_errors_add(errs, "kind", "must be %s", MANIFEST_SERVICE_KIND);
	name = check_meta(c, ck_get(root, "metadata"));
	tmpl = ck_get(ck_get(root, "spec"), "template");
	check_template_meta(c, ck_get(tmpl, "metadata"), name);
	check_pod(c, ck_get(tmpl, "spec"));
out:
	fy_document_destroy(fyd);
out_free:
	free(c);
	return errs->count + errs->dropped > before ? -EINVAL : 0;
}
