// SPDX-License-Identifier: Apache-2.0
/*
 * The NextApp model: defaults, ownership, and the value checks shared by the parser and the CLI.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/manifest/manifest.h"
#include "container/manifest/internal.h"

static void probe_init(struct nextapp_probe *p, bool enabled)
{
	p->enabled = enabled;
	p->initial_delay_seconds = NEXTAPP_UNSET;
	p->period_seconds = NEXTAPP_UNSET;
	p->timeout_seconds = NEXTAPP_UNSET;
	p->failure_threshold = NEXTAPP_UNSET;
}

void nextapp_init(struct nextapp *app)
{
	memset(app, 0, sizeof(*app));
	app->meta.generation = NEXTAPP_UNSET;
	app->port = KNEXT_DEFAULT_PORT;
	app->timeout_seconds = NEXTAPP_UNSET;
	app->scaling.min_scale = 0;
	app->scaling.max_scale = NEXTAPP_UNSET;
	app->scaling.initial_scale = NEXTAPP_UNSET;
	app->scaling.target = NEXTAPP_UNSET;
	app->scaling.container_concurrency = NEXTAPP_UNSET;
	app->cache.mode = NEXTAPP_CACHE_BAKED;
	app->probes.port = KNEXT_DEFAULT_PROBE_PORT;
	probe_init(&app->probes.readiness, true);
	probe_init(&app->probes.liveness, true);
	probe_init(&app->probes.startup, false);
}

void nextapp_close(struct nextapp *app)
{
	size_t i;

	free(app->meta.name);
	free(app->meta.ns);
	free(app->meta.uid);
	free(app->meta.resource_version);
	free(app->image);
	free(app->build_id);
	free(app->scaling.window);
	free(app->scaling.scale_to_zero_retention);
	for (i = 0; i < app->n_env; i++) {
		free(app->env[i].name);
		free(app->env[i].value);
		free(app->env[i].ref_name);
		free(app->env[i].ref_key);
		free(app->env[i].api_version);
	}
	free(app->env);
	for (i = 0; i < app->n_env_from; i++) {
		free(app->env_from[i].prefix);
		free(app->env_from[i].name);
	}
	free(app->env_from);
	free(app->database.cluster);
	free(app->database.secret_name);
	free(app->database.key);
	free(app->zone.name);
	free(app->zone.base_path);
	free(app->zone.asset_prefix);
	free(app->resources.requests_cpu);
	free(app->resources.requests_memory);
	free(app->resources.limits_cpu);
	free(app->resources.limits_memory);
	free(app->cache.claim_name);
	nextapp_init(app);
}

int nextapp_set_string(char **field, const char *value)
{
	char *copy = NULL;

	if (value) {
		copy = strdup(value);
		if (!copy)
			return -ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

int nextapp_set_env(struct nextapp *app, const char *name, const char *value)
{
	struct nextapp_env *grown;
	size_t i;

	for (i = 0; i < app->n_env; i++)
		if (!strcmp(app->env[i].name, name))
			return nextapp_set_string(&app->env[i].value, value ? value : "");
	grown = realloc(app->env, (app->n_env + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	app->env = grown;
	memset(&grown[app->n_env], 0, sizeof(grown[0]));
	grown[app->n_env].optional = -1;
	grown[app->n_env].name = strdup(name);
	grown[app->n_env].value = strdup(value ? value : "");
	if (!grown[app->n_env].name || !grown[app->n_env].value) {
		free(grown[app->n_env].name);
		free(grown[app->n_env].value);
		return -ENOMEM;
	}
	app->n_env++;
	return 0;
}

int nextapp_image_check(const char *image, char *reason, size_t size)
{
	char why[MANIFEST_REASON_MAX];
	const char *at, *slash, *colon;

	if (!image || !*image) {
		if (size)
			snprintf(reason, size,
				 "image is required: give a digest-pinned reference "
				 "such as repo/app@sha256:<64 hex digits>");
		return -EINVAL;
	}
	/* What Knative's webhook accepts (pkg/name ParseReference), then pinned by digest. */
	if (mf_image_ref(image, false, why, sizeof(why))) {
		if (size)
			snprintf(reason, size, "%s", why);
		return -EINVAL;
	}
	at = strchr(image, '@');
	if (!at) {
		slash = strrchr(image, '/');
		colon = strrchr(slash ? slash : image, ':');
		if (size)
			snprintf(reason, size,
				 "image \"%.64s\" is %s, not pinned by digest: resolve it to its "
				 "digest and write %.*s@sha256:<64 hex digits>",
				 image,
				 colon && !strcmp(colon, ":latest") ? "the mutable tag :latest" :
				 colon				    ? "pinned only by a tag" :
					 "not pinned (no tag, no digest)",
				 (int)(colon ? (size_t)(colon - image) : strlen(image)), image);
		return -EINVAL;
	}
	return 0;
}

static void check_probe(const struct nextapp_probe *p, const char *path, bool readiness,
			struct manifest_errors *errs)
{
	char f[MANIFEST_PATH_MAX];

	if (p->initial_delay_seconds != NEXTAPP_UNSET && p->initial_delay_seconds < 0) {
		mf_pathf(f, sizeof(f), "%s.initialDelaySeconds", path);
		manifest_errors_add(errs, f, "must be >= 0");
	}
	if (p->period_seconds != NEXTAPP_UNSET && p->period_seconds < (readiness ? 0 : 1)) {
		mf_pathf(f, sizeof(f), "%s.periodSeconds", path);
		manifest_errors_add(errs, f, "must be >= %d", readiness ? 0 : 1);
	}
	if (readiness && p->period_seconds <= 0) {
		/* Knative's aggressive probing: the webhook rejects these two with it. */
		if (p->timeout_seconds != NEXTAPP_UNSET) {
			mf_pathf(f, sizeof(f), "%s.timeoutSeconds", path);
			manifest_errors_add(errs, f, "is disallowed when periodSeconds is 0");
		}
		if (p->failure_threshold != NEXTAPP_UNSET) {
			mf_pathf(f, sizeof(f), "%s.failureThreshold", path);
			manifest_errors_add(errs, f, "is disallowed when periodSeconds is 0");
		}
		return;
	}
	if (p->timeout_seconds != NEXTAPP_UNSET && p->timeout_seconds < 1) {
		mf_pathf(f, sizeof(f), "%s.timeoutSeconds", path);
		manifest_errors_add(errs, f, "must be >= 1");
	}
	if (p->failure_threshold != NEXTAPP_UNSET && p->failure_threshold < 1) {
		mf_pathf(f, sizeof(f), "%s.failureThreshold", path);
		manifest_errors_add(errs, f, "must be >= 1");
	}
}

/*
 * Knative's annotation rules (pkg/apis/autoscaling/annotation_validation.go) for the values the
 * scaling fields become; a rule Knative does not have (initialScale above maxScale, target above
 * containerConcurrency) is not invented here.
 */
static void check_scaling(const struct nextapp_scaling *s, struct manifest_errors *errs)
{
	long long ns;

	/* validateMinMaxScale (getIntGE0): both >= 0, max 0 means unlimited, else min <= max. */
	if (s->min_scale < 0)
		manifest_errors_add(errs, "spec.scaling.minScale", "must be >= 0");
	if (s->max_scale != NEXTAPP_UNSET && s->max_scale < 0)
		manifest_errors_add(errs, "spec.scaling.maxScale", "must be >= 0 (0 = unlimited)");
	if (s->max_scale > 0 && s->min_scale > s->max_scale)
		manifest_errors_add(errs, "spec.scaling.minScale", "must not exceed maxScale (%d)",
				    s->max_scale);
	/* validateInitialScale: >= 0, and 0 only with the cluster's allow-zero-initial-scale. */
	if (s->initial_scale != NEXTAPP_UNSET && s->initial_scale < 1)
		manifest_errors_add(
			errs, "spec.scaling.initialScale",
			"must be >= 1 (0 needs the cluster's allow-zero-initial-scale)");
	/* validateFloats: target >= TargetMin (0.01); the field is an integer. */
	if (s->target != NEXTAPP_UNSET && s->target < 1)
		manifest_errors_add(errs, "spec.scaling.target", "must be >= 1");
	/* serving ValidateContainerConcurrency: 0 (allowed by default) .. container-concurrency-max-limit. */
	if (s->container_concurrency != NEXTAPP_UNSET &&
	    (s->container_concurrency < 0 || s->container_concurrency > MF_MAX_CONCURRENCY))
		manifest_errors_add(errs, "spec.scaling.containerConcurrency",
				    "must be between 0 (unlimited) and %d", MF_MAX_CONCURRENCY);
	/* validateWindow: a Go duration, 6s..1h, whole seconds. */
	if (s->window) {
		if (!mf_go_duration(s->window, &ns))
			manifest_errors_add(errs, "spec.scaling.window",
					    "must be a duration such as \"60s\" or \"1m30s\"");
		else if (ns < 6 * NS_PER_S || ns > 3600 * NS_PER_S)
			manifest_errors_add(errs, "spec.scaling.window",
					    "must be between 6s and 1h");
		else if (ns % NS_PER_S)
			manifest_errors_add(errs, "spec.scaling.window",
					    "must be a whole number of seconds");
	}
	/* validateLastPodRetention: a Go duration, 0..1h. */
	if (s->scale_to_zero_retention) {
		if (!mf_go_duration(s->scale_to_zero_retention, &ns))
			manifest_errors_add(errs, "spec.scaling.scaleToZeroRetention",
					    "must be a duration such as \"0s\" or \"10m\"");
		else if (ns < 0 || ns > 3600 * NS_PER_S)
			manifest_errors_add(errs, "spec.scaling.scaleToZeroRetention",
					    "must be between 0s and 1h");
	}
}

static void check_quantity(const char *q, const char *path, struct manifest_errors *errs)
{
	long double v;

	/* api/resource ParseQuantity, and core ValidateNonnegativeQuantity. */
	if (q && !mf_quantity_value(q, &v))
		manifest_errors_add(errs, path, "\"%s\" is not a quantity such as 500m, 1 or 256Mi",
				    q);
	else if (q && v < 0)
		manifest_errors_add(errs, path, "must not be negative");
}

/* core ValidateResourceRequirements: a request must not exceed the limit of the same resource. */
static void check_request_limit(const char *req, const char *lim, const char *path,
				struct manifest_errors *errs)
{
	long double r, l;

	if (req && lim && mf_quantity_value(req, &r) && mf_quantity_value(lim, &l) && r > l)
		manifest_errors_add(errs, path, "must be less than or equal to the limit (%s)",
				    lim);
}

int nextapp_validate(const struct nextapp *app, struct manifest_errors *errs)
{
	char why[MANIFEST_REASON_MAX];
	struct manifest_errors local;
	unsigned int before;

	if (!errs) {
		manifest_errors_reset(&local);
		errs = &local;
	}
	before = errs->count + errs->dropped;

	if (!app->meta.name || !*app->meta.name)
		manifest_errors_add(errs, "metadata.name", "is required");
	else if (!mf_dns1035_label(app->meta.name))
		/* knative.dev/pkg apis.ValidateObjectMetadata: NameIsDNS1035Label. */
		manifest_errors_add(errs, "metadata.name",
				    "must be a DNS label starting with a letter (DNS-1035): "
				    "lowercase letters, digits and '-', at most 63");
	if (app->meta.ns && !mf_dns_label(app->meta.ns, 63))
		manifest_errors_add(errs, "metadata.namespace", "must be a DNS label");
	if (nextapp_image_check(app->image, why, sizeof(why)))
		manifest_errors_add(errs, "spec.image", "%s", why);
	if (app->build_id &&
	    (!*app->build_id || strlen(app->build_id) > 63 ||
	     !isalnum((unsigned char)app->build_id[0]) ||
	     !isalnum((unsigned char)app->build_id[strlen(app->build_id) - 1]) ||
	     strspn(app->build_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789-_.") != strlen(app->build_id)))
		manifest_errors_add(
			errs, "spec.buildId",
			"must be a label value: up to 63 letters, digits, '-', '_' or '.', "
			"starting and ending with a letter or digit");
	if (app->port < 1 || app->port > 65535)
		manifest_errors_add(errs, "spec.port", "must be between 1 and 65535");
	else if (knative_port_reserved(app->port))
		manifest_errors_add(errs, "spec.port", "%d is a port reserved by Knative",
				    app->port);
	if (app->timeout_seconds != NEXTAPP_UNSET &&
	    (app->timeout_seconds < 0 || app->timeout_seconds > MF_MAX_TIMEOUT_SECONDS))
		/* v1 validateTimeoutSeconds: 0 (the cluster's default) .. max-revision-timeout. */
		manifest_errors_add(errs, "spec.timeoutSeconds", "must be between 0 and %d",
				    MF_MAX_TIMEOUT_SECONDS);
	check_scaling(&app->scaling, errs);
	mf_check_env(app, errs);
	mf_check_connections(app, errs);
	check_quantity(app->resources.requests_cpu, "spec.resources.requests.cpu", errs);
	check_quantity(app->resources.requests_memory, "spec.resources.requests.memory", errs);
	check_quantity(app->resources.limits_cpu, "spec.resources.limits.cpu", errs);
	check_quantity(app->resources.limits_memory, "spec.resources.limits.memory", errs);
	check_request_limit(app->resources.requests_cpu, app->resources.limits_cpu,
			    "spec.resources.requests.cpu", errs);
	check_request_limit(app->resources.requests_memory, app->resources.limits_memory,
			    "spec.resources.requests.memory", errs);
	if (app->cache.mode == NEXTAPP_CACHE_PVC) {
		if (!app->cache.claim_name)
			manifest_errors_add(errs, "spec.cache.claimName",
					    "is required when mode is pvc");
		else if (!mf_dns_label(app->cache.claim_name, 253))
			manifest_errors_add(errs, "spec.cache.claimName", "must be a DNS name");
	} else if (app->cache.mode != NEXTAPP_CACHE_BAKED) {
		manifest_errors_add(errs, "spec.cache.mode", "must be baked or pvc");
	} else {
		if (app->cache.claim_name)
			manifest_errors_add(errs, "spec.cache.claimName",
					    "is only valid with mode pvc");
		if (app->cache.write_back)
			manifest_errors_add(errs, "spec.cache.writeBack",
					    "is only valid with mode pvc");
	}
	if (app->probes.port < 1 || app->probes.port > 65535)
		manifest_errors_add(errs, "spec.probes.port", "must be between 1 and 65535");
	else if (knative_port_reserved(app->probes.port))
		manifest_errors_add(errs, "spec.probes.port", "%d is a port reserved by Knative",
				    app->probes.port);
	else if (app->probes.port == app->port)
		manifest_errors_add(errs, "spec.probes.port", "must differ from spec.port (%d)",
				    app->port);
	check_probe(&app->probes.readiness, "spec.probes.readiness", true, errs);
	check_probe(&app->probes.liveness, "spec.probes.liveness", false, errs);
	check_probe(&app->probes.startup, "spec.probes.startup", false, errs);
	if (app->cluster.pvc_write && !app->cluster.pvc)
		manifest_errors_add(errs, "spec.clusterFeatures.persistentVolumeWrite",
				    "needs persistentVolumeClaim enabled too");

	return errs->count + errs->dropped > before ? -EINVAL : 0;
}
