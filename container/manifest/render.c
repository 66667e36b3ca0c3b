// SPDX-License-Identifier: Apache-2.0
/*
 * Renders the serving.knative.dev/v1 Service a NextApp becomes. The object is built with jansson
 * in a fixed key order (so the same input gives the same bytes), printed as JSON, or re-emitted as
 * block YAML by libfyaml, and checked against the webhook rules before it is handed out.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libfyaml.h>

#include "container/manifest/manifest.h"
#include "container/manifest/internal.h"

#define SCRATCH_VOLUME "knext-scratch"
#define NEXT_CACHE_VOLUME "knext-next-cache"
#define PACK_VOLUME "knext-cache"

struct builder {
	int oom;
};

static json_t *add(struct builder *b, json_t *obj, const char *key, json_t *val)
{
	if (!val || json_object_set_new(obj, key, val))
		b->oom = 1;
	return val;
}

static json_t *push(struct builder *b, json_t *arr, json_t *val)
{
	if (!val || json_array_append_new(arr, val))
		b->oom = 1;
	return val;
}

static json_t *obj(struct builder *b, json_t *parent, const char *key)
{
	return add(b, parent, key, json_object());
}

static void add_int_str(struct builder *b, json_t *o, const char *key, int v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", v);
	add(b, o, key, json_string(buf));
}

static bool feature(enum manifest_feature f, bool from_app)
{
	return f == MANIFEST_FEATURE_ENABLED || (f == MANIFEST_FEATURE_FROM_APP && from_app);
}

static void labels(struct builder *b, json_t *parent, const struct nextapp *app)
{
	json_t *l = obj(b, parent, "labels");

	if (!l)
		return;
	add(b, l, "app.kubernetes.io/name", json_string(app->meta.name));
	add(b, l, "app.kubernetes.io/managed-by", json_string("knext"));
	add(b, l, MANIFEST_APP_LABEL, json_string(app->meta.name));
	if (app->build_id)
		add(b, l, MANIFEST_BUILD_ID_LABEL, json_string(app->build_id));
	if (app->zone.name)
		add(b, l, MANIFEST_ZONE_LABEL, json_string(app->zone.name));
}

static void annotations(struct builder *b, json_t *meta, const struct nextapp *app, bool pvc)
{
	const struct nextapp_scaling *s = &app->scaling;
	json_t *a = obj(b, meta, "annotations");

	if (!a)
		return;
	add_int_str(b, a, "autoscaling.knative.dev/min-scale", s->min_scale);
	if (s->max_scale != NEXTAPP_UNSET)
		add_int_str(b, a, "autoscaling.knative.dev/max-scale", s->max_scale);
	if (s->initial_scale != NEXTAPP_UNSET)
		add_int_str(b, a, "autoscaling.knative.dev/initial-scale", s->initial_scale);
	if (s->target != NEXTAPP_UNSET)
		add_int_str(b, a, "autoscaling.knative.dev/target", s->target);
	if (s->window)
		add(b, a, "autoscaling.knative.dev/window", json_string(s->window));
	if (s->scale_to_zero_retention)
		add(b, a, "autoscaling.knative.dev/scale-to-zero-pod-retention-period",
		    json_string(s->scale_to_zero_retention));
	add(b, a, "knext.dev/cache-source", json_string(pvc ? "pvc" : "baked"));
}

static void env_value(struct builder *b, json_t *e, const char *name, const char *value)
{
	json_t *item = push(b, e, json_object());

	if (!item)
		return;
	add(b, item, "name", json_string(name));
	add(b, item, "value", json_string(value));
}

/* name + valueFrom.{secretKeyRef|configMapKeyRef}: {name, key[, optional]}. */
static void env_key_ref(struct builder *b, json_t *e, const char *name, bool secret,
			const char *ref, const char *key, int optional)
{
	json_t *item = push(b, e, json_object()), *vf, *sel;

	if (!item)
		return;
	add(b, item, "name", json_string(name));
	vf = obj(b, item, "valueFrom");
	sel = vf ? obj(b, vf, secret ? "secretKeyRef" : "configMapKeyRef") : NULL;
	if (!sel)
		return;
	add(b, sel, "name", json_string(ref));
	add(b, sel, "key", json_string(key));
	if (optional >= 0)
		add(b, sel, "optional", json_boolean(optional));
}

static void env_entry(struct builder *b, json_t *e, const struct nextapp_env *v)
{
	json_t *item, *ref;

	switch (v->source) {
	case NEXTAPP_ENV_SECRET:
	case NEXTAPP_ENV_CONFIGMAP:
		env_key_ref(b, e, v->name, v->source == NEXTAPP_ENV_SECRET, v->ref_name, v->ref_key,
			    v->optional);
		return;
	case NEXTAPP_ENV_FIELD:
		item = push(b, e, json_object());
		if (!item)
			return;
		add(b, item, "name", json_string(v->name));
		ref = obj(b, obj(b, item, "valueFrom"), "fieldRef");
		if (!ref)
			return;
		if (v->api_version)
			add(b, ref, "apiVersion", json_string(v->api_version));
		add(b, ref, "fieldPath", json_string(v->ref_key));
		return;
	default:
		env_value(b, e, v->name, v->value);
	}
}

static void env(struct builder *b, json_t *c, const struct nextapp *app, bool pvc, bool writeback)
{
	json_t *e = add(b, c, "env", json_array()), *from, *item, *ref;
	char port[16];
	size_t i;

	if (!e)
		return;
	for (i = 0; i < app->n_env; i++)
		env_entry(b, e, &app->env[i]);
	/* The zone's own database: CloudNativePG's application Secret, key uri. */
	if (app->database.cluster || app->database.secret_name)
		env_key_ref(b, e, "DATABASE_URL", true, mf_database_secret(app),
			    app->database.key ? app->database.key : MANIFEST_CNPG_URI_KEY, -1);
	/* knext-init reads the same names; set them so the pod and the binary agree. */
	snprintf(port, sizeof(port), "%d", app->probes.port);
	env_value(b, e, "KNEXT_PROBE_PORT", port);
	/* The pinned image, so knext-init can tie a PVC pack to the image that wrote it. */
	env_value(b, e, "KNEXT_IMAGE", app->image);
	/* A zone: knext-init refuses to start a build made for another basePath or assetPrefix. */
	if (app->zone.name) {
		env_value(b, e, "KNEXT_BASE_PATH", app->zone.base_path ? app->zone.base_path : "");
		env_value(b, e, "KNEXT_ASSET_PREFIX",
			  app->zone.asset_prefix ? app->zone.asset_prefix : "");
	}
	if (pvc)
		env_value(b, e, "KNEXT_CACHE_DIR", KNEXT_DEFAULT_CACHE_DIR);
	/* The claim is mounted writable only for write-back: tell knext-init to use it. */
	if (pvc && writeback)
		env_value(b, e, "KNEXT_CACHE_WRITEBACK", "1");
	if (!app->n_env_from)
		return;
	from = add(b, c, "envFrom", json_array());
	for (i = 0; from && i < app->n_env_from; i++) {
		const struct nextapp_env_from *f = &app->env_from[i];

		item = push(b, from, json_object());
		if (!item)
			return;
		if (f->prefix)
			add(b, item, "prefix", json_string(f->prefix));
		ref = obj(b, item, f->secret ? "secretRef" : "configMapRef");
		if (!ref)
			return;
		add(b, ref, "name", json_string(f->name));
		if (f->optional >= 0)
			add(b, ref, "optional", json_boolean(f->optional));
	}
}

static void resources(struct builder *b, json_t *c, const struct nextapp_resources *r)
{
	json_t *res, *q;

	if (!r->requests_cpu && !r->requests_memory && !r->limits_cpu && !r->limits_memory)
		return;
	res = obj(b, c, "resources");
	if (!res)
		return;
	if (r->requests_cpu || r->requests_memory) {
		q = obj(b, res, "requests");
		if (q && r->requests_cpu)
			add(b, q, "cpu", json_string(r->requests_cpu));
		if (q && r->requests_memory)
			add(b, q, "memory", json_string(r->requests_memory));
	}
	if (r->limits_cpu || r->limits_memory) {
		q = obj(b, res, "limits");
		if (q && r->limits_cpu)
			add(b, q, "cpu", json_string(r->limits_cpu));
		if (q && r->limits_memory)
			add(b, q, "memory", json_string(r->limits_memory));
	}
}

static int or_default(int v, int def)
{
	return v == NEXTAPP_UNSET ? def : v;
}

static void readiness(struct builder *b, json_t *c, const struct nextapp *app)
{
	const struct nextapp_probe *p = &app->probes.readiness;
	int period = or_default(p->period_seconds, 0);
	json_t *pr = obj(b, c, "readinessProbe"), *get;

	if (!pr)
		return;
	get = obj(b, pr, "httpGet");
	if (get) {
		add(b, get, "path", json_string(KNEXT_DEFAULT_READY_PATH));
		/* An integer port other than the traffic port: queue-proxy probes knext-init. */
		add(b, get, "port", json_integer(app->probes.port));
	}
	if (p->initial_delay_seconds != NEXTAPP_UNSET)
		add(b, pr, "initialDelaySeconds", json_integer(p->initial_delay_seconds));
	add(b, pr, "periodSeconds", json_integer(period));
	add(b, pr, "successThreshold", json_integer(1));
	/* Period 0 is Knative's 50 ms probing, with which these two are rejected. */
	if (period > 0) {
		add(b, pr, "timeoutSeconds", json_integer(or_default(p->timeout_seconds, 1)));
		add(b, pr, "failureThreshold", json_integer(or_default(p->failure_threshold, 3)));
	}
}

static void exec_probe(struct builder *b, json_t *c, const char *key, const struct nextapp *app,
		       const struct nextapp_probe *p, const char *which, int period, int failures,
		       const char *bin)
{
	json_t *pr = obj(b, c, key), *ex, *cmd;
	char port[16];

	if (!pr)
		return;
	snprintf(port, sizeof(port), "%d", app->probes.port);
	/* The kubelet runs these; exec works whatever the cluster's probe-port rewriting does. */
	ex = obj(b, pr, "exec");
	cmd = ex ? add(b, ex, "command", json_array()) : NULL;
	if (cmd) {
		push(b, cmd, json_string(bin));
		push(b, cmd, json_string("probe"));
		push(b, cmd, json_string(which));
		push(b, cmd, json_string("--port"));
		push(b, cmd, json_string(port));
	}
	if (p->initial_delay_seconds != NEXTAPP_UNSET)
		add(b, pr, "initialDelaySeconds", json_integer(p->initial_delay_seconds));
	add(b, pr, "periodSeconds", json_integer(or_default(p->period_seconds, period)));
	add(b, pr, "timeoutSeconds", json_integer(or_default(p->timeout_seconds, 1)));
	add(b, pr, "failureThreshold", json_integer(or_default(p->failure_threshold, failures)));
}

static void security(struct builder *b, json_t *c)
{
	json_t *sc = obj(b, c, "securityContext"), *caps, *drop, *seccomp;

	if (!sc)
		return;
	add(b, sc, "runAsNonRoot", json_true());
	add(b, sc, "runAsUser", json_integer(KNEXT_DEFAULT_UID));
	add(b, sc, "runAsGroup", json_integer(KNEXT_DEFAULT_UID));
	add(b, sc, "readOnlyRootFilesystem", json_true());
	add(b, sc, "allowPrivilegeEscalation", json_false());
	caps = obj(b, sc, "capabilities");
	drop = caps ? add(b, caps, "drop", json_array()) : NULL;
	if (drop)
		push(b, drop, json_string("ALL"));
	seccomp = obj(b, sc, "seccompProfile");
	if (seccomp)
		add(b, seccomp, "type", json_string("RuntimeDefault"));
}

static void mount(struct builder *b, json_t *mounts, const char *name, const char *path, bool ro)
{
	json_t *m = push(b, mounts, json_object());

	if (!m)
		return;
	add(b, m, "name", json_string(name));
	add(b, m, "mountPath", json_string(path));
	if (ro)
		add(b, m, "readOnly", json_true());
}

static void volumes(struct builder *b, json_t *pod, json_t *c, const struct nextapp *app, bool pvc,
		    bool pvc_write)
{
	json_t *mounts = add(b, c, "volumeMounts", json_array());
	json_t *vols, *v, *claim;
	bool ro = !(app->cache.write_back && pvc_write);

	if (!mounts)
		return;
	/* The root filesystem is read-only: scratch space and Next's own cache are emptyDirs. */
	mount(b, mounts, SCRATCH_VOLUME, KNEXT_DEFAULT_SCRATCH_DIR, false);
	mount(b, mounts, NEXT_CACHE_VOLUME, KNEXT_DEFAULT_APP_DIR "/.next/cache", false);
	if (pvc)
		mount(b, mounts, PACK_VOLUME, KNEXT_DEFAULT_CACHE_DIR, ro);

	vols = add(b, pod, "volumes", json_array());
	if (!vols)
		return;
	v = push(b, vols, json_object());
	if (v) {
		add(b, v, "name", json_string(SCRATCH_VOLUME));
		obj(b, v, "emptyDir");
	}
	v = push(b, vols, json_object());
	if (v) {
		add(b, v, "name", json_string(NEXT_CACHE_VOLUME));
		obj(b, v, "emptyDir");
	}
	if (!pvc)
		return;
	v = push(b, vols, json_object());
	if (!v)
		return;
	add(b, v, "name", json_string(PACK_VOLUME));
	claim = obj(b, v, "persistentVolumeClaim");
	if (claim) {
		add(b, claim, "claimName", json_string(app->cache.claim_name));
		if (ro)
			add(b, claim, "readOnly", json_true());
	}
}

static void owner(struct builder *b, json_t *meta, const struct manifest_owner *o)
{
	json_t *refs = add(b, meta, "ownerReferences", json_array());
	json_t *r = refs ? push(b, refs, json_object()) : NULL;

	if (!r)
		return;
	add(b, r, "apiVersion", json_string(o->api_version ? o->api_version : NEXTAPP_API_VERSION));
	add(b, r, "kind", json_string(o->kind ? o->kind : NEXTAPP_KIND));
	add(b, r, "name", json_string(o->name));
	add(b, r, "uid", json_string(o->uid));
	add(b, r, "controller", json_true());
	add(b, r, "blockOwnerDeletion", json_true());
}

static json_t *build(const struct nextapp *app, const struct render_opts *o, bool pvc,
		     bool pvc_write, struct builder *b)
{
	const char *bin = o->knext_init ? o->knext_init : KNEXT_DEFAULT_BIN;
	json_t *svc = json_object(), *meta, *tmpl, *tmeta, *pod, *ctrs, *c, *ports, *port;

	if (!svc) {
		b->oom = 1;
		return NULL;
	}
	add(b, svc, "apiVersion", json_string(MANIFEST_SERVICE_API_VERSION));
	add(b, svc, "kind", json_string(MANIFEST_SERVICE_KIND));
	meta = obj(b, svc, "metadata");
	if (meta) {
		add(b, meta, "name", json_string(app->meta.name));
		if (app->meta.ns)
			add(b, meta, "namespace", json_string(app->meta.ns));
		labels(b, meta, app);
		if (o->owner)
			owner(b, meta, o->owner);
	}
	tmpl = obj(b, obj(b, svc, "spec"), "template");
	if (!tmpl)
		goto out;
	tmeta = obj(b, tmpl, "metadata");
	if (tmeta) {
		labels(b, tmeta, app);
		annotations(b, tmeta, app, pvc);
	}
	pod = obj(b, tmpl, "spec");
	if (!pod)
		goto out;
	if (app->scaling.container_concurrency != NEXTAPP_UNSET)
		add(b, pod, "containerConcurrency",
		    json_integer(app->scaling.container_concurrency));
	if (app->timeout_seconds != NEXTAPP_UNSET)
		add(b, pod, "timeoutSeconds", json_integer(app->timeout_seconds));
	ctrs = add(b, pod, "containers", json_array());
	c = ctrs ? push(b, ctrs, json_object()) : NULL;
	if (!c)
		goto out;
	add(b, c, "name", json_string(MANIFEST_CONTAINER_NAME));
	add(b, c, "image", json_string(app->image));
	ports = add(b, c, "ports", json_array());
	port = ports ? push(b, ports, json_object()) : NULL;
	if (port) {
		add(b, port, "containerPort", json_integer(app->port));
		add(b, port, "protocol", json_string("TCP"));
	}
	env(b, c, app, pvc, app->cache.write_back && pvc_write);
	resources(b, c, &app->resources);
	readiness(b, c, app);
	exec_probe(b, c, "livenessProbe", app, &app->probes.liveness, "live", 10, 3, bin);
	if (app->probes.startup.enabled)
		exec_probe(b, c, "startupProbe", app, &app->probes.startup, "startup", 1, 60, bin);
	security(b, c);
	volumes(b, pod, c, app, pvc, pvc_write);
out:
	return svc;
}

/*
 * Whether a string must be quoted in YAML to stay a string: YAML 1.1 and 1.2 readers would
 * otherwise see a bool, null or number (an annotation "0", an env value "8080"), or the text
 * is not a valid plain scalar.
 */
static bool needs_quotes(const char *s)
{
	static const char *const words[] = {
		"true", "false", "yes",	 "no",	  "on",	   "off",  "y",
		"n",	"null",	 ".inf", "-.inf", "+.inf", ".nan",
	};
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789._/@:+=-";
	static const char numeric[] = "0123456789abcdefABCDEFxXoO_.:+-";
	size_t i, n = strlen(s);

	if (!n || strspn(s, safe) != n || s[n - 1] == ':' || s[0] == '-' || s[0] == ':' ||
	    s[0] == '@')
		return true;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	if ((isdigit((unsigned char)s[0]) || s[0] == '+' || s[0] == '.') && strspn(s, numeric) == n)
		return true;
	return false;
}

static struct fy_node *to_node(struct fy_document *fyd, json_t *j)
{
	struct fy_node *n = NULL, *k, *v;
	const char *key, *s;
	json_t *val;
	size_t i;
	char *quoted;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		n = fy_node_create_mapping(fyd);
		json_object_foreach(j, key, val) {
			k = fy_node_create_scalar_copy(fyd, key, strlen(key));
			v = to_node(fyd, val);
			if (!n || !k || !v || fy_node_mapping_append(n, k, v))
				return NULL;
		}
		return n;
	case JSON_ARRAY:
		n = fy_node_create_sequence(fyd);
		json_array_foreach(j, i, val) {
			v = to_node(fyd, val);
			if (!n || !v || fy_node_sequence_append(n, v))
				return NULL;
		}
		return n;
	case JSON_STRING:
		s = json_string_value(j);
		if (!needs_quotes(s))
			return fy_node_create_scalar_copy(fyd, s, strlen(s));
		/* A JSON string is a valid YAML double-quoted scalar. */
		quoted = json_dumps(j, JSON_ENCODE_ANY);
		if (!quoted)
			return NULL;
		/* The document takes the buffer: its nodes point into it until it is emitted. */
		n = fy_node_build_from_malloc_string(fyd, quoted, strlen(quoted));
		if (!n)
			free(quoted);
		return n;
	case JSON_INTEGER:
		return fy_node_create_scalarf(fyd, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
	case JSON_TRUE:
		return fy_node_create_scalar(fyd, "true", 4);
	case JSON_FALSE:
		return fy_node_create_scalar(fyd, "false", 5);
	default:
		return fy_node_create_scalar(fyd, "null", 4);
	}
}

static int to_yaml(json_t *svc, char **out, size_t *out_len)
{
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET };
	struct fy_document *fyd;
	struct fy_node *root;
	char *yaml = NULL;

	cfg.diag = mf_quiet_diag();
	if (!cfg.diag)
		return -ENOMEM;
	fyd = fy_document_create(&cfg);
	fy_diag_destroy(cfg.diag);
	if (!fyd)
		return -ENOMEM;
	root = to_node(fyd, svc);
	if (root && !fy_document_set_root(fyd, root))
		yaml = fy_emit_document_to_string(
			fyd, FYECF_MODE_BLOCK | FYECF_INDENT_2 | FYECF_WIDTH_INF |
				     FYECF_DOC_START_MARK_OFF | FYECF_DOC_END_MARK_OFF);
	fy_document_destroy(fyd);
	if (!yaml)
		return -ENOMEM;
	*out = yaml;
	*out_len = strlen(yaml);
	return 0;
}

int manifest_render_checked(const struct nextapp *app, const struct render_opts *opts,
			    enum manifest_format fmt, char **out, size_t *len,
			    struct manifest_errors *errs)
{
	static const struct render_opts none;
	const struct render_opts *o = opts ? opts : &none;
	struct render_opts resolved;
	struct builder b = { 0 };
	char *json = NULL, *text;
	size_t json_len, text_len;
	json_t *svc;
	int ret;

	*out = NULL;
	if (len)
		*len = 0;
	ret = nextapp_validate(app, errs);
	if (ret)
		return ret;
	if (o->owner && (!o->owner->name || !o->owner->uid))
		return manifest_errors_add(errs, "metadata.ownerReferences",
					   "owner needs a name and a uid");

	resolved = *o;
	resolved.pvc = feature(o->pvc, app->cluster.pvc) ? MANIFEST_FEATURE_ENABLED :
							   MANIFEST_FEATURE_DISABLED;
	resolved.pvc_write = feature(o->pvc_write, app->cluster.pvc_write) ?
				     MANIFEST_FEATURE_ENABLED :
				     MANIFEST_FEATURE_DISABLED;
	resolved.field_ref = feature(o->field_ref, app->cluster.field_ref) ?
				     MANIFEST_FEATURE_ENABLED :
				     MANIFEST_FEATURE_DISABLED;
	/* Without the cluster's PVC flag the webhook rejects the volume: use the baked pack. */
	svc = build(app, o,
		    app->cache.mode == NEXTAPP_CACHE_PVC &&
			    resolved.pvc == MANIFEST_FEATURE_ENABLED,
		    resolved.pvc_write == MANIFEST_FEATURE_ENABLED, &b);
	if (svc && !b.oom)
		json = json_dumps(svc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!json) {
		ret = -ENOMEM;
		goto err_svc;
	}
	json_len = strlen(json);

	ret = manifest_check_service(json, json_len, &resolved, errs);
	if (ret)
		goto err_json;

	if (fmt == MANIFEST_YAML) {
		ret = to_yaml(svc, &text, &text_len);
		if (ret)
			goto err_json;
		free(json);
	} else {
		text = realloc(json, json_len + 2);
		if (!text) {
			ret = -ENOMEM;
			goto err_json;
		}
		text[json_len] = '\n';
		text[json_len + 1] = '\0';
		text_len = json_len + 1;
	}
	json_decref(svc);
	*out = text;
	if (len)
		*len = text_len;
	return 0;

err_json:
	free(json);
err_svc:
	json_decref(svc);
	return ret;
}

int manifest_render(const struct nextapp *app, const struct render_opts *opts,
		    enum manifest_format fmt, char **out, size_t *len)
{
	return manifest_render_checked(app, opts, fmt, out, len, NULL);
}
