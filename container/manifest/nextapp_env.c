// SPDX-License-Identifier: Apache-2.0
/*
 * The NextApp's environment and what it connects to: spec.env (values, Secret and ConfigMap
 * keys, pod fields), spec.envFrom, spec.database (CloudNativePG) and spec.zone (Next.js
 * Multi-Zones). Each rule names the Kubernetes, Knative or Next.js code it follows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/manifest/manifest.h"
#include "container/manifest/internal.h"

/* Env knext-init reads whose values the rendered Service sets from the NextApp's own fields. */
static const struct {
	const char *name;
	const char *field;
} owned_env[] = {
	{ "KNEXT_PROBE_PORT", "spec.probes.port" },
	{ "KNEXT_CACHE_DIR", "spec.cache" },
	{ "KNEXT_CACHE_WRITEBACK", "spec.cache.writeBack" },
	{ "KNEXT_IMAGE", "spec.image" },
	{ "KNEXT_BASE_PATH", "spec.zone.basePath" },
	{ "KNEXT_ASSET_PREFIX", "spec.zone.assetPrefix" },
};

/*
 * core validation ValidateEnvVarSource (validFieldPathExpressions): the pod fields an env
 * fieldRef may name; labels and annotations by key.
 */
static bool field_path_ok(const char *p)
{
	static const char *const paths[] = { "metadata.name",
					     "metadata.namespace",
					     "metadata.uid",
					     "spec.nodeName",
					     "spec.serviceAccountName",
					     "status.hostIP",
					     "status.hostIPs",
					     "status.podIP",
					     "status.podIPs" };
	size_t i, n;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!strcmp(p, paths[i]))
			return true;
	for (i = 0; i < 2; i++) {
		const char *pre = i ? "metadata.annotations['" : "metadata.labels['";

		n = strlen(pre);
		if (!strncmp(p, pre, n) && strlen(p) > n + 2 && !strcmp(p + strlen(p) - 2, "']"))
			return true;
	}
	return false;
}

/* One valueFrom: exactly one source, and what that source needs. */
static void check_value_from(const struct nextapp *app, const struct nextapp_env *e, size_t i,
			     struct manifest_errors *errs)
{
	char f[MANIFEST_PATH_MAX];

	mf_pathf(f, sizeof(f), "spec.env[%zu].valueFrom", i);
	/* core validateEnvVarValueFrom: one source, and no value beside it. */
	if (e->n_sources != 1) {
		manifest_errors_add(errs, f,
				    "needs exactly one of secretKeyRef, configMapKeyRef, fieldRef");
		return;
	}
	if (e->value && *e->value) {
		mf_pathf(f, sizeof(f), "spec.env[%zu].value", i);
		manifest_errors_add(errs, f, "must be empty when valueFrom is given");
		return;
	}
	if (e->source == NEXTAPP_ENV_FIELD) {
		/* EnvVarSourceMask keeps fieldRef only with kubernetes.podspec-fieldref. */
		mf_pathf(f, sizeof(f), "spec.env[%zu].valueFrom.fieldRef", i);
		if (!app->cluster.field_ref)
			manifest_errors_add(errs, f,
					    "needs the cluster's kubernetes.podspec-fieldref "
					    "(spec.clusterFeatures.fieldRef: true)");
		else if (!e->ref_key || !field_path_ok(e->ref_key))
			manifest_errors_add(
				errs, f,
				"fieldPath must be one of metadata.name, "
				"metadata.namespace, metadata.uid, metadata.labels['K'], "
				"metadata.annotations['K'], spec.nodeName, "
				"spec.serviceAccountName, status.hostIP(s), status.podIP(s)");
		else if (e->api_version && strcmp(e->api_version, "v1"))
			manifest_errors_add(errs, f, "apiVersion must be v1");
		return;
	}
	/* core validateSecretKeySelector / validateConfigMapKeySelector. */
	mf_pathf(f, sizeof(f), "spec.env[%zu].valueFrom.%s.name", i,
		 e->source == NEXTAPP_ENV_SECRET ? "secretKeyRef" : "configMapKeyRef");
	if (!e->ref_name || !mf_dns_subdomain(e->ref_name))
		manifest_errors_add(errs, f, "must be a DNS-1123 subdomain (an object name)");
	mf_pathf(f, sizeof(f), "spec.env[%zu].valueFrom.%s.key", i,
		 e->source == NEXTAPP_ENV_SECRET ? "secretKeyRef" : "configMapKeyRef");
	if (!e->ref_key || !mf_config_key(e->ref_key))
		manifest_errors_add(errs, f, "must be a key: letters, digits, '-', '_' or '.'");
}

void mf_check_env(const struct nextapp *app, struct manifest_errors *errs)
{
	char f[MANIFEST_PATH_MAX];
	size_t i, j;

	for (i = 0; i < app->n_env; i++) {
		const struct nextapp_env *e = &app->env[i];
		const char *n = e->name;

		mf_pathf(f, sizeof(f), "spec.env[%zu].name", i);
		if (!n || !*n) {
			manifest_errors_add(errs, f, "is required");
			continue;
		}
		/* serving validateEnvVar: reservedEnvVars. */
		if (knative_env_reserved(n)) {
			manifest_errors_add(errs, f, "\"%s\" is a reserved environment variable",
					    n);
			continue;
		}
		/* util/validation IsRelaxedEnvVarName, applied when the Deployment is created. */
		if (!mf_env_name(n)) {
			manifest_errors_add(errs, f,
					    "must be printable ASCII characters other than '='");
			continue;
		}
		for (j = 0; j < sizeof(owned_env) / sizeof(owned_env[0]); j++)
			if (!strcmp(owned_env[j].name, n))
				manifest_errors_add(errs, f,
						    "\"%s\" is set from %s; set that instead", n,
						    owned_env[j].field);
		if (!strcmp(n, "DATABASE_URL") &&
		    (app->database.cluster || app->database.secret_name))
			manifest_errors_add(errs, f,
					    "\"DATABASE_URL\" is set from spec.database; give one "
					    "or the other");
		for (j = 0; j < i; j++)
			if (app->env[j].name && !strcmp(app->env[j].name, n))
				manifest_errors_add(errs, f, "duplicates spec.env[%zu]", j);
		if (e->n_sources)
			check_value_from(app, e, i, errs);
	}
	/* serving validateEnvFrom: exactly one of configMapRef, secretRef; core: names, prefix. */
	for (i = 0; i < app->n_env_from; i++) {
		const struct nextapp_env_from *e = &app->env_from[i];

		mf_pathf(f, sizeof(f), "spec.envFrom[%zu]", i);
		if (e->n_refs != 1) {
			manifest_errors_add(errs, f,
					    "needs exactly one of secretRef, configMapRef");
			continue;
		}
		mf_pathf(f, sizeof(f), "spec.envFrom[%zu].%s.name", i,
			 e->secret ? "secretRef" : "configMapRef");
		if (!e->name || !mf_dns_subdomain(e->name))
			manifest_errors_add(errs, f,
					    "must be a DNS-1123 subdomain (an object name)");
		mf_pathf(f, sizeof(f), "spec.envFrom[%zu].prefix", i);
		if (e->prefix && *e->prefix && !mf_env_name(e->prefix))
			manifest_errors_add(errs, f,
					    "must be printable ASCII characters other than '='");
	}
}

/*
 * Next.js's config checks (next.config's assignDefaults): a basePath starts with '/', does not
 * end with one and is not "/" alone; an assetPrefix is a path or an absolute URL.
 */
static void check_zone(const struct nextapp_zone *z, struct manifest_errors *errs)
{
	const char *b = z->base_path, *a = z->asset_prefix;
	size_t n;

	if (!z->name) {
		if (b || a)
			manifest_errors_add(errs, "spec.zone.name", "is required");
		return;
	}
	/* The knext.dev/zone label: a label value, and one the zone's hostnames can use. */
	if (!mf_dns_label(z->name, 63))
		manifest_errors_add(errs, "spec.zone.name",
				    "must be a DNS label: lowercase letters, digits and '-', at "
				    "most 63");
	if (b && *b) {
		n = strlen(b);
		if (b[0] != '/')
			manifest_errors_add(errs, "spec.zone.basePath", "must start with /");
		else if (n == 1)
			manifest_errors_add(errs, "spec.zone.basePath",
					    "\"/\" is not allowed: leave basePath out instead");
		else if (b[n - 1] == '/')
			manifest_errors_add(errs, "spec.zone.basePath", "must not end with /");
		else if (strpbrk(b, " \t?#%\\") || strstr(b, "//") || !mf_env_name(b))
			manifest_errors_add(errs, "spec.zone.basePath",
					    "must be a plain path (no spaces, ?, #, %% or \\)");
	}
	if (a && *a) {
		n = strlen(a);
		if (a[0] != '/' && strncmp(a, "https://", 8) && strncmp(a, "http://", 7))
			manifest_errors_add(errs, "spec.zone.assetPrefix",
					    "must be a path starting with / or an http(s):// URL");
		else if (a[n - 1] == '/')
			manifest_errors_add(errs, "spec.zone.assetPrefix", "must not end with /");
		else if (strpbrk(a, " \t") || !mf_env_name(a))
			manifest_errors_add(errs, "spec.zone.assetPrefix",
					    "must be printable ASCII without spaces");
	}
}

void mf_check_connections(const struct nextapp *app, struct manifest_errors *errs)
{
	const struct nextapp_database *d = &app->database;
	char secret[300];

	check_zone(&app->zone, errs);
	if (!d->cluster && !d->secret_name && !d->key)
		return;
	/* CloudNativePG: a Cluster's name is a DNS-1123 label, its Secret "<name>-app". */
	if (!d->cluster && !d->secret_name)
		manifest_errors_add(errs, "spec.database.cluster",
				    "is required (or spec.database.secretName)");
	snprintf(secret, sizeof(secret), "%s", mf_database_secret(app));
	if (d->cluster && !mf_dns_label(d->cluster, 63))
		manifest_errors_add(errs, "spec.database.cluster",
				    "must be a DNS label (a CloudNativePG Cluster's name)");
	else if (d->secret_name && !mf_dns_subdomain(d->secret_name))
		manifest_errors_add(errs, "spec.database.secretName",
				    "must be a DNS-1123 subdomain (a Secret's name)");
	else if (d->cluster && !d->secret_name && !mf_dns_subdomain(secret))
		manifest_errors_add(errs, "spec.database.cluster",
				    "is too long for its Secret name \"%.40s...\"", secret);
	if (d->key && !mf_config_key(d->key))
		manifest_errors_add(errs, "spec.database.key",
				    "must be a key: letters, digits, '-', '_' or '.'");
}

const char *mf_database_secret(const struct nextapp *app)
{
	static __thread char buf[320];

	if (app->database.secret_name)
		return app->database.secret_name;
	snprintf(buf, sizeof(buf), "%s" MANIFEST_CNPG_SECRET_SUFFIX,
		 app->database.cluster ? app->database.cluster : "");
	return buf;
}
