// SPDX-License-Identifier: Apache-2.0
/*
 * NextApp parser: YAML or JSON through libfyaml, walked field by field so that every problem is
 * reported with its path (spec.env[2].name) and unknown fields are reported, never dropped.
 * The field reference is NEXTAPP.md.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "container/manifest/manifest.h"
#include "container/manifest/internal.h"

struct parser {
	struct nextapp *app;
	struct manifest_errors *errs;
	int oom;
};

typedef bool (*field_fn)(struct parser *p, const char *key, struct fy_node *v, const char *path,
			 void *ctx);

static void child_path(char *out, size_t size, const char *path, const char *key)
{
	mf_pathf(out, size, "%s%s%s", path, *path ? "." : "", key);
}

static bool is_null(struct fy_node *n)
{
	const char *s;

	if (!n)
		return true;
	if (fy_node_get_type(n) != FYNT_SCALAR || fy_node_get_style(n) != FYNS_PLAIN)
		return false;
	s = fy_node_get_scalar0(n);
	return !s || !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static bool looks_typed(const char *s)
{
	static const char *const words[] = { "true", "True", "TRUE", "false", "False", "FALSE" };
	const char *q = s;
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i]))
			return true;
	if (*q == '-' || *q == '+')
		q++;
	if (!*q)
		return false;
	return strspn(q, "0123456789.eE+-") == strlen(q) && strspn(q, "0123456789") > 0;
}

/* A scalar's text, or NULL after reporting why it is not one. */
static const char *scalar(struct parser *p, struct fy_node *n, const char *path, const char *what)
{
	const char *s;
	size_t len;

	if (fy_node_get_type(n) != FYNT_SCALAR) {
		manifest_errors_add(p->errs, path, "must be %s, not a %s", what,
				    fy_node_get_type(n) == FYNT_MAPPING ? "mapping" : "list");
		return NULL;
	}
	if (fy_node_get_style(n) == FYNS_ALIAS) {
		manifest_errors_add(p->errs, path, "YAML aliases are not supported");
		return NULL;
	}
	s = fy_node_get_scalar(n, &len);
	/*
	 * JSON and YAML can carry U+0000, Kubernetes objects too; C strings cannot. Refuse it here,
	 * for this field only, instead of cutting the value short.
	 */
	if (s && memchr(s, '\0', len)) {
		manifest_errors_add(p->errs, path, "must not contain U+0000 (a NUL character)");
		return NULL;
	}
	s = fy_node_get_scalar0(n);
	if (!s)
		p->oom = 1;
	return s;
}

static void get_str(struct parser *p, struct fy_node *n, const char *path, char **out)
{
	const char *s;

	if (is_null(n))
		return;
	s = scalar(p, n, path, "a string");
	if (!s)
		return;
	if (fy_node_get_style(n) == FYNS_PLAIN && looks_typed(s)) {
		manifest_errors_add(p->errs, path, "must be a string, not %s (quote it)", s);
		return;
	}
	if (nextapp_set_string(out, s))
		p->oom = 1;
}

/* Kubernetes quantities are int-or-string: plain numbers are fine. */
static void get_quantity(struct parser *p, struct fy_node *n, const char *path, char **out)
{
	const char *s;

	if (is_null(n))
		return;
	s = scalar(p, n, path, "a quantity");
	if (s && nextapp_set_string(out, s))
		p->oom = 1;
}

static void get_int(struct parser *p, struct fy_node *n, const char *path, int *out)
{
	const char *s;
	char *end;
	long v;

	if (is_null(n))
		return;
	s = scalar(p, n, path, "an integer");
	if (!s)
		return;
	if (fy_node_get_style(n) != FYNS_PLAIN) {
		manifest_errors_add(p->errs, path, "must be an integer, not a string");
		return;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end) {
		manifest_errors_add(p->errs, path, "must be an integer, not \"%.40s\"", s);
		return;
	}
	if (errno == ERANGE || v < INT_MIN / 2 || v > INT_MAX / 2) {
		manifest_errors_add(p->errs, path, "integer out of range");
		return;
	}
	*out = (int)v;
}

static void get_bool(struct parser *p, struct fy_node *n, const char *path, bool *out)
{
	const char *s;

	if (is_null(n))
		return;
	s = scalar(p, n, path, "true or false");
	if (!s)
		return;
	if (fy_node_get_style(n) == FYNS_PLAIN &&
	    (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")))
		*out = true;
	else if (fy_node_get_style(n) == FYNS_PLAIN &&
		 (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")))
		*out = false;
	else
		manifest_errors_add(p->errs, path, "must be true or false");
}

static bool is_map(struct parser *p, struct fy_node *n, const char *path)
{
	if (fy_node_get_type(n) == FYNT_MAPPING)
		return true;
	if (fy_node_get_style(n) == FYNS_ALIAS)
		manifest_errors_add(p->errs, path, "YAML aliases are not supported");
	else
		manifest_errors_add(p->errs, path, "must be a mapping");
	return false;
}

static void walk_map(struct parser *p, struct fy_node *n, const char *path, field_fn fn, void *ctx)
{
	char sub[MANIFEST_PATH_MAX];
	struct fy_node_pair *pair;
	struct fy_node *k;
	const char *key;
	void *it = NULL;
	size_t klen;

	if (is_null(n) || !is_map(p, n, path))
		return;
	while ((pair = fy_node_mapping_iterate(n, &it)) != NULL) {
		k = fy_node_pair_key(pair);
		if (!k || fy_node_get_type(k) != FYNT_SCALAR ||
		    fy_node_get_style(k) == FYNS_ALIAS) {
			manifest_errors_add(p->errs, path, "keys must be plain strings");
			continue;
		}
		key = fy_node_get_scalar(k, &klen);
		if (key && memchr(key, '\0', klen)) {
			manifest_errors_add(p->errs, path, "keys must not contain U+0000");
			continue;
		}
		key = fy_node_get_scalar0(k);
		if (!key) {
			p->oom = 1;
			return;
		}
		child_path(sub, sizeof(sub), path, key);
		if (!fn(p, key, fy_node_pair_value(pair), sub, ctx))
			manifest_errors_add(p->errs, sub, "unknown field");
	}
}

static bool meta_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
		    void *ctx)
{
	/* Set by the API server or by tools; accepted and not used. */
	static const char *const ignored[] = {
		"labels",	 "annotations",
		"managedFields", "creationTimestamp",
		"finalizers",	 "ownerReferences",
		"generateName",	 "deletionTimestamp",
		"selfLink",	 "deletionGracePeriodSeconds",
	};
	struct nextapp_meta *m = &p->app->meta;
	size_t i;

	if (!strcmp(key, "name")) {
		get_str(p, v, path, &m->name);
	} else if (!strcmp(key, "namespace")) {
		get_str(p, v, path, &m->ns);
	} else if (!strcmp(key, "uid")) {
		get_str(p, v, path, &m->uid);
	} else if (!strcmp(key, "resourceVersion")) {
		get_str(p, v, path, &m->resource_version);
	} else if (!strcmp(key, "generation")) {
		int g = NEXTAPP_UNSET;

		get_int(p, v, path, &g);
		m->generation = g;
	} else {
		for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
			if (!strcmp(key, ignored[i]))
				return true;
		return false;
	}
	return true;
}

static bool scaling_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
		       void *ctx)
{
	struct nextapp_scaling *s = &p->app->scaling;

	if (!strcmp(key, "minScale"))
		get_int(p, v, path, &s->min_scale);
	else if (!strcmp(key, "maxScale"))
		get_int(p, v, path, &s->max_scale);
	else if (!strcmp(key, "initialScale"))
		get_int(p, v, path, &s->initial_scale);
	else if (!strcmp(key, "target"))
		get_int(p, v, path, &s->target);
	else if (!strcmp(key, "containerConcurrency"))
		get_int(p, v, path, &s->container_concurrency);
	else if (!strcmp(key, "window"))
		get_str(p, v, path, &s->window);
	else if (!strcmp(key, "scaleToZeroRetention"))
		get_str(p, v, path, &s->scale_to_zero_retention);
	else
		return false;
	return true;
}

struct env_item {
	struct nextapp_env e;
	bool has_name;
};

/* optional: true | false, kept as 1 | 0 (-1 when not given). */
static void get_optional(struct parser *p, struct fy_node *v, const char *path, int *out)
{
	bool b = false;

	if (is_null(v))
		return;
	get_bool(p, v, path, &b);
	*out = b;
}

/* secretKeyRef and configMapKeyRef: {name, key, optional}. */
static bool key_ref_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
		       void *ctx)
{
	struct nextapp_env *e = ctx;

	if (!strcmp(key, "name"))
		get_str(p, v, path, &e->ref_name);
	else if (!strcmp(key, "key"))
		get_str(p, v, path, &e->ref_key);
	else if (!strcmp(key, "optional"))
		get_optional(p, v, path, &e->optional);
	else
		return false;
	return true;
}

/* fieldRef: {fieldPath, apiVersion}. */
static bool field_ref_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
			 void *ctx)
{
	struct nextapp_env *e = ctx;

	if (!strcmp(key, "fieldPath"))
		get_str(p, v, path, &e->ref_key);
	else if (!strcmp(key, "apiVersion"))
		get_str(p, v, path, &e->api_version);
	else
		return false;
	return true;
}

static bool value_from_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
			  void *ctx)
{
	struct nextapp_env *e = ctx;

	if (!strcmp(key, "secretKeyRef") || !strcmp(key, "configMapKeyRef")) {
		e->source = key[0] == 's' ? NEXTAPP_ENV_SECRET : NEXTAPP_ENV_CONFIGMAP;
		walk_map(p, v, path, key_ref_cb, e);
	} else if (!strcmp(key, "fieldRef")) {
		e->source = NEXTAPP_ENV_FIELD;
		walk_map(p, v, path, field_ref_cb, e);
	} else {
		return false;
	}
	e->n_sources++;
	return true;
}

static bool env_item_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
			void *ctx)
{
	struct env_item *it = ctx;

	if (!strcmp(key, "name")) {
		it->has_name = !is_null(v);
		get_str(p, v, path, &it->e.name);
	} else if (!strcmp(key, "value")) {
		get_str(p, v, path, &it->e.value);
	} else if (!strcmp(key, "valueFrom")) {
		walk_map(p, v, path, value_from_cb, &it->e);
		if (!it->e.n_sources && !is_null(v) && fy_node_get_type(v) == FYNT_MAPPING)
			manifest_errors_add(p->errs, path,
					    "needs one of secretKeyRef, configMapKeyRef, fieldRef");
	} else {
		return false;
	}
	return true;
}

static void env_free(struct nextapp_env *e)
{
	free(e->name);
	free(e->value);
	free(e->ref_name);
	free(e->ref_key);
	free(e->api_version);
}

static void parse_env(struct parser *p, struct fy_node *n, const char *path)
{
	struct nextapp_env *grown;
	char sub[MANIFEST_PATH_MAX];
	struct fy_node *item;
	void *it = NULL;
	size_t i = 0;

	if (is_null(n))
		return;
	if (fy_node_get_type(n) != FYNT_SEQUENCE) {
		manifest_errors_add(p->errs, path, "must be a list of {name, value}");
		return;
	}
	while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
		struct env_item e = { .e = { .optional = -1 } };

		mf_pathf(sub, sizeof(sub), "%s[%zu]", path, i++);
		walk_map(p, item, sub, env_item_cb, &e);
		if (!e.e.name) {
			char f[MANIFEST_PATH_MAX];

			mf_pathf(f, sizeof(f), "%s.name", sub);
			if (fy_node_get_type(item) == FYNT_MAPPING && !e.has_name)
				manifest_errors_add(p->errs, f, "is required");
			env_free(&e.e);
			continue;
		}
		/* Kept in document order, duplicates included: nextapp_validate() reports them. */
		grown = realloc(p->app->env, (p->app->n_env + 1) * sizeof(*grown));
		if (!grown) {
			env_free(&e.e);
			p->oom = 1;
			return;
		}
		p->app->env = grown;
		if (!e.e.value)
			e.e.value = strdup("");
		if (!e.e.value) {
			env_free(&e.e);
			p->oom = 1;
			return;
		}
		grown[p->app->n_env++] = e.e;
	}
}

static bool ref_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
		   void *ctx)
{
	struct nextapp_env_from *e = ctx;

	if (!strcmp(key, "name"))
		get_str(p, v, path, &e->name);
	else if (!strcmp(key, "optional"))
		get_optional(p, v, path, &e->optional);
	else
		return false;
	return true;
}

static bool env_from_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
			void *ctx)
{
	struct nextapp_env_from *e = ctx;

	if (!strcmp(key, "prefix")) {
		get_str(p, v, path, &e->prefix);
	} else if (!strcmp(key, "secretRef") || !strcmp(key, "configMapRef")) {
		e->secret = key[0] == 's';
		e->n_refs++;
		walk_map(p, v, path, ref_cb, e);
	} else {
		return false;
	}
	return true;
}

static void parse_env_from(struct parser *p, struct fy_node *n, const char *path)
{
	struct nextapp_env_from *grown;
	char sub[MANIFEST_PATH_MAX];
	struct fy_node *item;
	void *it = NULL;
	size_t i = 0;

	if (is_null(n))
		return;
	if (fy_node_get_type(n) != FYNT_SEQUENCE) {
		manifest_errors_add(p->errs, path,
				    "must be a list of {secretRef|configMapRef, prefix}");
		return;
	}
	while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
		struct nextapp_env_from e = { .optional = -1 };

		mf_pathf(sub, sizeof(sub), "%s[%zu]", path, i++);
		walk_map(p, item, sub, env_from_cb, &e);
		grown = realloc(p->app->env_from, (p->app->n_env_from + 1) * sizeof(*grown));
		if (!grown) {
			free(e.prefix);
			free(e.name);
			p->oom = 1;
			return;
		}
		p->app->env_from = grown;
		grown[p->app->n_env_from++] = e;
	}
}

static bool database_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
			void *ctx)
{
	struct nextapp_database *d = &p->app->database;

	if (!strcmp(key, "cluster"))
		get_str(p, v, path, &d->cluster);
	else if (!strcmp(key, "secretName"))
		get_str(p, v, path, &d->secret_name);
	else if (!strcmp(key, "key"))
		get_str(p, v, path, &d->key);
	else
		return false;
	return true;
}

static bool zone_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
		    void *ctx)
{
	struct nextapp_zone *z = &p->app->zone;

	if (!strcmp(key, "name"))
		get_str(p, v, path, &z->name);
	else if (!strcmp(key, "basePath"))
		get_str(p, v, path, &z->base_path);
	else if (!strcmp(key, "assetPrefix"))
		get_str(p, v, path, &z->asset_prefix);
	else
		return false;
	return true;
}

static bool requests_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
			void *ctx)
{
	char **cpu_mem = ctx;

	if (!strcmp(key, "cpu"))
		get_quantity(p, v, path, &cpu_mem[0]);
	else if (!strcmp(key, "memory"))
		get_quantity(p, v, path, &cpu_mem[1]);
	else
		return false;
	return true;
}

static bool resources_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
			 void *ctx)
{
	struct nextapp_resources *r = &p->app->resources;
	char *pair[2];

	if (!strcmp(key, "requests")) {
		pair[0] = r->requests_cpu;
		pair[1] = r->requests_memory;
		walk_map(p, v, path, requests_cb, pair);
		r->requests_cpu = pair[0];
		r->requests_memory = pair[1];
	} else if (!strcmp(key, "limits")) {
		pair[0] = r->limits_cpu;
		pair[1] = r->limits_memory;
		walk_map(p, v, path, requests_cb, pair);
		r->limits_cpu = pair[0];
		r->limits_memory = pair[1];
	} else {
		return false;
	}
	return true;
}

static bool cache_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
		     void *ctx)
{
	struct nextapp_cache *c = &p->app->cache;
	char *mode = NULL;

	if (!strcmp(key, "mode")) {
		get_str(p, v, path, &mode);
		if (!mode)
			return true;
		if (!strcmp(mode, "baked"))
			c->mode = NEXTAPP_CACHE_BAKED;
		else if (!strcmp(mode, "pvc"))
			c->mode = NEXTAPP_CACHE_PVC;
		else
			manifest_errors_add(p->errs, path, "must be baked or pvc");
		free(mode);
	} else if (!strcmp(key, "claimName")) {
		get_str(p, v, path, &c->claim_name);
	} else if (!strcmp(key, "writeBack")) {
		get_bool(p, v, path, &c->write_back);
	} else {
		return false;
	}
	return true;
}

static bool probe_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
		     void *ctx)
{
	struct nextapp_probe *pr = ctx;

	if (!strcmp(key, "initialDelaySeconds"))
		get_int(p, v, path, &pr->initial_delay_seconds);
	else if (!strcmp(key, "periodSeconds"))
		get_int(p, v, path, &pr->period_seconds);
	else if (!strcmp(key, "timeoutSeconds"))
		get_int(p, v, path, &pr->timeout_seconds);
	else if (!strcmp(key, "failureThreshold"))
		get_int(p, v, path, &pr->failure_threshold);
	else
		return false;
	return true;
}

static bool probes_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
		      void *ctx)
{
	struct nextapp_probes *pr = &p->app->probes;

	if (!strcmp(key, "port")) {
		get_int(p, v, path, &pr->port);
	} else if (!strcmp(key, "readiness")) {
		walk_map(p, v, path, probe_cb, &pr->readiness);
	} else if (!strcmp(key, "liveness")) {
		walk_map(p, v, path, probe_cb, &pr->liveness);
	} else if (!strcmp(key, "startup")) {
		/* Present, even empty, means wanted. */
		pr->startup.enabled = true;
		walk_map(p, v, path, probe_cb, &pr->startup);
	} else {
		return false;
	}
	return true;
}

static bool cluster_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
		       void *ctx)
{
	if (!strcmp(key, "persistentVolumeClaim"))
		get_bool(p, v, path, &p->app->cluster.pvc);
	else if (!strcmp(key, "persistentVolumeWrite"))
		get_bool(p, v, path, &p->app->cluster.pvc_write);
	else if (!strcmp(key, "fieldRef"))
		get_bool(p, v, path, &p->app->cluster.field_ref);
	else
		return false;
	return true;
}

static bool spec_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
		    void *ctx)
{
	struct nextapp *app = p->app;

	if (!strcmp(key, "image"))
		get_str(p, v, path, &app->image);
	else if (!strcmp(key, "buildId"))
		get_str(p, v, path, &app->build_id);
	else if (!strcmp(key, "port"))
		get_int(p, v, path, &app->port);
	else if (!strcmp(key, "timeoutSeconds"))
		get_int(p, v, path, &app->timeout_seconds);
	else if (!strcmp(key, "scaling"))
		walk_map(p, v, path, scaling_cb, NULL);
	else if (!strcmp(key, "env"))
		parse_env(p, v, path);
	else if (!strcmp(key, "envFrom"))
		parse_env_from(p, v, path);
	else if (!strcmp(key, "database"))
		walk_map(p, v, path, database_cb, NULL);
	else if (!strcmp(key, "zone"))
		walk_map(p, v, path, zone_cb, NULL);
	else if (!strcmp(key, "resources"))
		walk_map(p, v, path, resources_cb, NULL);
	else if (!strcmp(key, "cache"))
		walk_map(p, v, path, cache_cb, NULL);
	else if (!strcmp(key, "probes"))
		walk_map(p, v, path, probes_cb, NULL);
	else if (!strcmp(key, "clusterFeatures"))
		walk_map(p, v, path, cluster_cb, NULL);
	else
		return false;
	return true;
}

struct seen {
	bool api_version, kind, metadata, spec;
};

static bool root_cb(struct parser *p, const char *key, struct fy_node *v, const char *path,
		    void *ctx)
{
	struct seen *seen = ctx;
	char *s = NULL;

	if (!strcmp(key, "apiVersion") || !strcmp(key, "kind")) {
		bool api = key[0] == 'a';
		const char *want = api ? NEXTAPP_API_VERSION : NEXTAPP_KIND;

		get_str(p, v, path, &s);
		if (s && strcmp(s, want))
			manifest_errors_add(p->errs, path, "must be %s, not %.60s", want, s);
		if (s)
			*(api ? &seen->api_version : &seen->kind) = true;
		free(s);
	} else if (!strcmp(key, "metadata")) {
		seen->metadata = !is_null(v);
		walk_map(p, v, path, meta_cb, NULL);
	} else if (!strcmp(key, "spec")) {
		seen->spec = !is_null(v);
		walk_map(p, v, path, spec_cb, NULL);
	} else if (!strcmp(key, "status")) {
		/* Written by the operator; not an input. */
	} else {
		return false;
	}
	return true;
}

int mf_parse_fields(struct nextapp *app, const char *text, size_t len, struct manifest_errors *errs)
{
	struct manifest_errors local;
	struct parser p = { app, errs, 0 };
	struct seen seen = { false, false, false, false };
	struct fy_document *fyd;
	struct fy_node *root;
	unsigned int before;

	nextapp_init(app);
	if (!errs) {
		manifest_errors_reset(&local);
		p.errs = errs = &local;
	}
	before = errs->count + errs->dropped;

	fyd = mf_load(text, len, errs);
	if (!fyd)
		return -EINVAL;
	root = fy_document_root(fyd);
	if (is_null(root)) {
		manifest_errors_add(errs, "(document)", "empty document");
	} else if (fy_node_get_type(root) != FYNT_MAPPING) {
		manifest_errors_add(errs, "(document)", "must be a mapping (a NextApp object)");
	} else {
		walk_map(&p, root, "", root_cb, &seen);
		if (!seen.api_version)
			manifest_errors_add(errs, "apiVersion", "is required (%s)",
					    NEXTAPP_API_VERSION);
		if (!seen.kind)
			manifest_errors_add(errs, "kind", "is required (%s)", NEXTAPP_KIND);
		if (!seen.metadata)
			manifest_errors_add(errs, "metadata", "is required");
		if (!seen.spec)
			manifest_errors_add(errs, "spec", "is required");
	}
	fy_document_destroy(fyd);
	if (p.oom)
		return -ENOMEM;
	return errs->count + errs->dropped > before ? -EINVAL : 0;
}

int nextapp_parse(struct nextapp *app, const char *text, size_t len, struct manifest_errors *errs)
{
	int ret = mf_parse_fields(app, text, len, errs);

	return ret ? ret : nextapp_validate(app, errs);
}
