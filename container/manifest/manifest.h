/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The contract between the image and the cluster: the NextApp model (knext.dev/v1alpha1), its
 * parser (YAML or JSON), the Knative Service (serving.knative.dev/v1) it renders to, and the
 * Knative webhook rules every rendered Service is checked against. Used by `knext-init manifest`
 * and by knext-operator. The field reference is container/manifest/NEXTAPP.md.
 *
 * Ownership: the caller allocates a struct nextapp and pairs nextapp_init() (or nextapp_parse(),
 * which initialises it) with nextapp_close(). Strings inside it are owned by it (malloc'd).
 * Error lists are plain structs with fixed storage: nothing to free.
 */
#ifndef KNEXT_MANIFEST_H
#define KNEXT_MANIFEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/defaults.h"

#define NEXTAPP_API_VERSION "knext.dev/v1alpha1"
#define NEXTAPP_KIND "NextApp"
#define MANIFEST_SERVICE_API_VERSION "serving.knative.dev/v1"
#define MANIFEST_SERVICE_KIND "Service"
/* The Knative user container's name in every rendered Service. */
#define MANIFEST_CONTAINER_NAME "user-container"
/* Label carrying the NextApp's build id on the Service and its revision template. */
#define MANIFEST_BUILD_ID_LABEL "knext.dev/build-id"
/* Label naming the NextApp a Service was rendered from. */
#define MANIFEST_APP_LABEL "knext.dev/app"
/* Label naming the Multi-Zones zone (spec.zone.name). */
#define MANIFEST_ZONE_LABEL "knext.dev/zone"
/* The key of CloudNativePG's application Secret ("<cluster>-app") holding the connection URI. */
#define MANIFEST_CNPG_SECRET_SUFFIX "-app"
#define MANIFEST_CNPG_URI_KEY "uri"

/* Value of an optional integer field that was not given (outside every valid or parsed range). */
#define NEXTAPP_UNSET INT_MIN

#define MANIFEST_MAX_ERRORS 32
#define MANIFEST_PATH_MAX 128
#define MANIFEST_REASON_MAX 192

/**
 * struct manifest_error - one problem, found in a NextApp or a rendered Service.
 * @path:   field path, e.g. "spec.scaling.minScale" or "spec.env[2].name"
 * @reason: why it is wrong, one sentence without a trailing newline
 */
struct manifest_error {
	char path[MANIFEST_PATH_MAX];
	char reason[MANIFEST_REASON_MAX];
};

/**
 * struct manifest_errors - the problems found by one call, in document order.
 * @count:   entries used in @list
 * @dropped: problems found after @list was full
 * @list:    the first MANIFEST_MAX_ERRORS problems
 *
 * Zero it (or call manifest_errors_reset()) before use; functions append to it.
 */
struct manifest_errors {
	unsigned int count;
	unsigned int dropped;
	struct manifest_error list[MANIFEST_MAX_ERRORS];
};

/** enum manifest_format - output encoding of manifest_render(). */
enum manifest_format {
	MANIFEST_JSON = 0,
	MANIFEST_YAML = 1,
};

/** enum nextapp_cache_mode - where the compile-cache pack comes from. */
enum nextapp_cache_mode {
	NEXTAPP_CACHE_BAKED = 0, /* the pack baked into the image (default) */
	NEXTAPP_CACHE_PVC = 1, /* a PVC mounted at KNEXT_DEFAULT_CACHE_DIR */
	NEXTAPP_CACHE_NONE = 2, /* reserved; the parser and nextapp_validate() reject it */
};

/**
 * struct nextapp_meta - the metadata the operator needs.
 * @name:             metadata.name (required)
 * @ns:               metadata.namespace, or NULL
 * @uid:              metadata.uid, or NULL
 * @resource_version: metadata.resourceVersion, or NULL
 * @generation:       metadata.generation, or NEXTAPP_UNSET
 *
 * Other metadata keys (labels, annotations, managedFields, ...) are accepted and ignored.
 */
struct nextapp_meta {
	char *name;
	char *ns;
	char *uid;
	char *resource_version;
	long long generation;
};

/**
 * struct nextapp_scaling - spec.scaling, rendered as autoscaling.knative.dev annotations.
 * @min_scale:               minScale, default 0 (scale to zero)
 * @max_scale:               maxScale, NEXTAPP_UNSET = Knative's default (0 = unlimited)
 * @initial_scale:           initialScale, or NEXTAPP_UNSET
 * @target:                  target (concurrency per pod the autoscaler aims for), or NEXTAPP_UNSET
 * @container_concurrency:   containerConcurrency (hard limit, 0 = unlimited), or NEXTAPP_UNSET
 * @window:                  window, a duration such as "60s", or NULL
 * @scale_to_zero_retention: scale-to-zero-pod-retention-period, a duration, or NULL
 */
struct nextapp_scaling {
	int min_scale;
	int max_scale;
	int initial_scale;
	int target;
	int container_concurrency;
	char *window;
	char *scale_to_zero_retention;
};

/** enum nextapp_env_source - where an env entry's value comes from. */
enum nextapp_env_source {
	NEXTAPP_ENV_VALUE = 0, /* value */
	NEXTAPP_ENV_SECRET = 1, /* valueFrom.secretKeyRef */
	NEXTAPP_ENV_CONFIGMAP = 2, /* valueFrom.configMapKeyRef */
	NEXTAPP_ENV_FIELD = 3, /* valueFrom.fieldRef (kubernetes.podspec-fieldref) */
};

/**
 * struct nextapp_env - one entry of spec.env.
 * @name:     variable name; PORT, K_SERVICE, K_CONFIGURATION and K_REVISION are rejected
 * @value:    its value ("" when absent, and with a valueFrom source)
 * @source:   value or one valueFrom source
 * @n_sources: valueFrom sources given (validation wants exactly one)
 * @ref_name: the Secret's or ConfigMap's name, or NULL
 * @ref_key:  its key, or the fieldRef's fieldPath, or NULL
 * @api_version: the fieldRef's apiVersion, or NULL
 * @optional: the key selector's optional: 0 false, 1 true, -1 not given
 */
struct nextapp_env {
	char *name;
	char *value;
	enum nextapp_env_source source;
	int n_sources;
	char *ref_name;
	char *ref_key;
	char *api_version;
	int optional;
};

/**
 * struct nextapp_env_from - one entry of spec.envFrom: every key of a Secret or ConfigMap.
 * @prefix:    prepended to every key, or NULL
 * @secret:    a secretRef (else a configMapRef)
 * @n_refs:    references given (validation wants exactly one)
 * @name:      the Secret's or ConfigMap's name
 * @optional:  0 false, 1 true, -1 not given
 */
struct nextapp_env_from {
	char *prefix;
	bool secret;
	int n_refs;
	char *name;
	int optional;
};

/**
 * struct nextapp_database - spec.database: the zone's own PostgreSQL (CloudNativePG).
 * @cluster:     the Cluster's name; its application Secret is "<cluster>-app"
 * @secret_name: a Secret to read instead, or NULL
 * @key:         the key holding the URL, or NULL for "uri"
 */
struct nextapp_database {
	char *cluster;
	char *secret_name;
	char *key;
};

/**
 * struct nextapp_zone - spec.zone: this app as one zone of a Next.js Multi-Zones product.
 * @name:         zone name (label knext.dev/zone), NULL when no zone is given
 * @base_path:    the build's basePath, or NULL for none
 * @asset_prefix: the build's assetPrefix, or NULL for none
 */
struct nextapp_zone {
	char *name;
	char *base_path;
	char *asset_prefix;
};

/**
 * struct nextapp_resources - spec.resources: Kubernetes quantities, each NULL when not given.
 */
struct nextapp_resources {
	char *requests_cpu;
	char *requests_memory;
	char *limits_cpu;
	char *limits_memory;
};

/**
 * struct nextapp_cache - spec.cache.
 * @mode:       baked (default) or pvc
 * @claim_name: PVC claim name; required when @mode is pvc
 * @write_back: the pod may write a fresh pack back to the PVC (default false: mounted read-only)
 */
struct nextapp_cache {
	enum nextapp_cache_mode mode;
	char *claim_name;
	bool write_back;
};

/**
 * struct nextapp_probe - one probe's timing; every int field NEXTAPP_UNSET means the default.
 * @enabled: the probe is rendered; readiness and liveness always are, the startup probe only when
 *           spec.probes.startup is given (it holds the pod not-Ready until it passes, which costs
 *           up to one period of cold start)
 */
struct nextapp_probe {
	bool enabled;
	int initial_delay_seconds;
	int period_seconds;
	int timeout_seconds;
	int failure_threshold;
};

/**
 * struct nextapp_probes - spec.probes.
 * @port:      knext-init's probe port (default KNEXT_DEFAULT_PROBE_PORT); readiness is an httpGet
 *             on it (queue-proxy runs it), liveness and startup are `knext-init probe` exec probes
 * @readiness: readiness timing; period 0 (the default) is Knative's aggressive 50 ms probing
 * @liveness:  liveness timing
 * @startup:   startup timing
 */
struct nextapp_probes {
	int port;
	struct nextapp_probe readiness;
	struct nextapp_probe liveness;
	struct nextapp_probe startup;
};

/**
 * struct nextapp_cluster - spec.clusterFeatures: what the target cluster's config-features enables.
 * @pvc:       kubernetes.podspec-persistent-volume-claim is "enabled"
 * @pvc_write: kubernetes.podspec-persistent-volume-write is "enabled"
 * @field_ref: kubernetes.podspec-fieldref is "enabled"
 */
struct nextapp_cluster {
	bool pvc;
	bool pvc_write;
	bool field_ref;
};

/**
 * struct nextapp - a parsed NextApp.
 * @meta:            metadata
 * @image:           spec.image, digest-pinned "repo@sha256:<64 hex>" (required)
 * @build_id:        spec.buildId, or NULL; becomes the MANIFEST_BUILD_ID_LABEL label
 * @port:            spec.port, the single container port (default KNEXT_DEFAULT_PORT)
 * @timeout_seconds: spec.timeoutSeconds, or NEXTAPP_UNSET (Knative's default, 300)
 * @scaling:         spec.scaling
 * @env:             spec.env, @n_env entries, in document order
 * @n_env:           number of entries in @env
 * @env_from:        spec.envFrom, @n_env_from entries
 * @n_env_from:      number of entries in @env_from
 * @database:        spec.database
 * @zone:            spec.zone
 * @resources:       spec.resources
 * @cache:           spec.cache
 * @probes:          spec.probes
 * @cluster:         spec.clusterFeatures
 */
struct nextapp {
	struct nextapp_meta meta;
	char *image;
	char *build_id;
	int port;
	int timeout_seconds;
	struct nextapp_scaling scaling;
	struct nextapp_env *env;
	size_t n_env;
	struct nextapp_env_from *env_from;
	size_t n_env_from;
	struct nextapp_database database;
	struct nextapp_zone zone;
	struct nextapp_resources resources;
	struct nextapp_cache cache;
	struct nextapp_probes probes;
	struct nextapp_cluster cluster;
};

/** enum manifest_feature - a cluster feature flag as the caller knows it. */
enum manifest_feature {
	MANIFEST_FEATURE_FROM_APP = 0, /* take it from the NextApp's spec.clusterFeatures */
	MANIFEST_FEATURE_DISABLED = 1,
	MANIFEST_FEATURE_ENABLED = 2,
};

/**
 * struct manifest_owner - an ownerReference to put on the rendered Service.
 * @api_version: e.g. NEXTAPP_API_VERSION
 * @kind:        e.g. NEXTAPP_KIND
 * @name:        the owner's name
 * @uid:         the owner's uid
 *
 * Rendered with controller: true and blockOwnerDeletion: true.
 */
struct manifest_owner {
	const char *api_version;
	const char *kind;
	const char *name;
	const char *uid;
};

/**
 * struct render_opts - how to render; a zeroed struct (or NULL) means the defaults.
 * @owner:       ownerReference to add, or NULL for none
 * @pvc:         kubernetes.podspec-persistent-volume-claim, overriding spec.clusterFeatures
 * @pvc_write:   kubernetes.podspec-persistent-volume-write, overriding spec.clusterFeatures
 * @field_ref:   kubernetes.podspec-fieldref, overriding spec.clusterFeatures
 * @knext_init:  path of knext-init inside the image for exec probes, NULL = KNEXT_DEFAULT_BIN
 */
struct render_opts {
	const struct manifest_owner *owner;
	enum manifest_feature pvc;
	enum manifest_feature pvc_write;
	enum manifest_feature field_ref;
	const char *knext_init;
};

/**
 * manifest_utf8_prefix() - how much of @s is valid UTF-8 (no overlong forms, surrogates or values
 * past U+10FFFF). Every YAML text is checked with it before libfyaml sees it: libfyaml 0.7 loops
 * forever on some invalid UTF-8 (a stray continuation byte in a directive line).
 * @s:   bytes
 * @len: their number
 *
 * Return: the offset of the first byte that is not valid UTF-8, or @len.
 */
size_t manifest_utf8_prefix(const unsigned char *s, size_t len);

/**
 * manifest_errors_reset() - empty an error list.
 * @errs: the list
 */
void manifest_errors_reset(struct manifest_errors *errs);

/**
 * manifest_errors_add() - append a problem (printf-style reason); counts it as dropped when full.
 * @errs: the list, or NULL to do nothing
 * @path: field path
 * @fmt:  printf format of the reason
 *
 * Return: -EINVAL, so callers can `return manifest_errors_add(...)`.
 */
int manifest_errors_add(struct manifest_errors *errs, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * manifest_errors_format() - write the list as "path: reason" lines.
 * @errs: the list
 * @buf:  destination, always NUL-terminated when @size > 0
 * @size: size of @buf
 *
 * Return: the length the full text needs, like snprintf.
 */
size_t manifest_errors_format(const struct manifest_errors *errs, char *buf, size_t size);

/**
 * nextapp_init() - fill a NextApp with the defaults and no name or image.
 * @app: the NextApp
 */
void nextapp_init(struct nextapp *app);

/**
 * nextapp_close() - free everything a NextApp holds and reset it to nextapp_init() state.
 * @app: the NextApp; idempotent
 */
void nextapp_close(struct nextapp *app);

/**
 * nextapp_parse() - parse and validate a NextApp document, YAML or JSON.
 * @app:  initialised here; nextapp_close() it whatever this returns
 * @text: the document
 * @len:  its length in bytes
 * @errs: problems found (syntax, wrong types, unknown fields, invalid values), each with its path;
 *        may be NULL
 *
 * Return: 0 when the NextApp is valid, -EINVAL when @errs holds at least one problem, -ENOMEM.
 */
int nextapp_parse(struct nextapp *app, const char *text, size_t len, struct manifest_errors *errs);

/**
 * nextapp_validate() - check a NextApp's values (after nextapp_parse() or edits by the caller).
 * @app:  the NextApp
 * @errs: problems found; may be NULL
 *
 * Checks the name, the digest-pinned image, ranges, reserved env names, ports, the cache settings.
 *
 * Return: 0 when valid, -EINVAL otherwise.
 */
int nextapp_validate(const struct nextapp *app, struct manifest_errors *errs);

/**
 * nextapp_image_check() - check that an image reference is pinned by digest.
 * @image:  the reference
 * @reason: filled with why it is not, and how to pin it, when this fails; may be NULL
 * @size:   size of @reason
 *
 * Return: 0 for "repo@sha256:<64 lowercase hex>", -EINVAL otherwise.
 */
int nextapp_image_check(const char *image, char *reason, size_t size);

/**
 * nextapp_set_env() - set (or replace) one env entry.
 * @app:   the NextApp
 * @name:  variable name
 * @value: its value
 *
 * Return: 0, or -ENOMEM.
 */
int nextapp_set_env(struct nextapp *app, const char *name, const char *value);

/**
 * nextapp_set_string() - replace one of the NextApp's owned strings.
 * @field: address of the field, e.g. &app->image
 * @value: new value, copied; NULL clears it
 *
 * Return: 0, or -ENOMEM.
 */
int nextapp_set_string(char **field, const char *value);

/**
 * manifest_render() - render the Knative Service a NextApp becomes, checked against the webhook rules.
 * @app:  a valid NextApp
 * @opts: owner and cluster features; NULL for the defaults
 * @fmt:  MANIFEST_JSON (2-space indented, trailing newline) or MANIFEST_YAML (block style)
 * @out:  set to a malloc'd NUL-terminated buffer the caller frees
 * @len:  set to its length without the NUL; may be NULL
 *
 * Output is deterministic: the same NextApp and options give the same bytes.
 *
 * Return: 0, -EINVAL if the NextApp is invalid or the Service breaks a webhook rule (use
 * manifest_render_checked() to learn which), -ENOMEM.
 */
int manifest_render(const struct nextapp *app, const struct render_opts *opts,
		    enum manifest_format fmt, char **out, size_t *len);

/**
 * manifest_render_checked() - manifest_render() that also reports why it failed.
 * @app:  a NextApp
 * @opts: owner and cluster features; NULL for the defaults
 * @fmt:  output format
 * @out:  as for manifest_render()
 * @len:  as for manifest_render()
 * @errs: problems with the NextApp or the rendered Service; may be NULL
 *
 * Return: as manifest_render().
 */
int manifest_render_checked(const struct nextapp *app, const struct render_opts *opts,
			    enum manifest_format fmt, char **out, size_t *len,
			    struct manifest_errors *errs);

/**
 * manifest_check_service() - check a Knative Service document against the webhook rules we know.
 * @text: the Service, YAML or JSON
 * @len:  its length
 * @opts: cluster features (PVC flags) to check against; NULL = both disabled
 * @errs: each broken rule with its field path; may be NULL
 *
 * Rules: exactly one container port, not a reserved port (8012 8013 8022 9090 9091 8008); no
 * reserved env (PORT K_SERVICE K_CONFIGURATION K_REVISION); probes with exactly one handler,
 * integer ports, readiness port the container port or a non-reserved other port, periodSeconds 0
 * without timeoutSeconds/failureThreshold; PVC volumes only with the PVC flag and writable PVC
 * mounts only with the write flag; volume mounts that name a declared volume.
 *
 * Return: 0 when the Service passes, -EINVAL when @errs holds problems, -ENOMEM.
 */
int manifest_check_service(const char *text, size_t len, const struct render_opts *opts,
			   struct manifest_errors *errs);

/**
 * manifest_cli_main() - `knext-init manifest`: print the Service a NextApp becomes.
 * @argc: argument count
 * @argv: argv[0] is "manifest"; -f FILE (or -), -o yaml|json, --image, --name, --namespace,
 *        --min-scale, --max-scale, --initial-scale, --target, --concurrency, --timeout,
 *        --env NAME=VALUE, --build-id, --cache baked|pvc, --claim NAME, --write-back,
 *        --pvc-enabled, --pvc-write-enabled, --owner-uid UID, --check FILE, -h
 *
 * Return: exit code: 0 printed, 1 invalid NextApp (unpinned image included), 2 usage error.
 */
int manifest_cli_main(int argc, char **argv);

#endif
