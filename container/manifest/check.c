// SPDX-License-Identifier: Apache-2.0
/*
 * The Knative webhook rules we know, applied to a Service document (ours or anybody's), so a
 * rendered Service that the cluster would refuse never leaves this library. The rules follow
 * knative.dev/serving's pkg/apis/serving validation with the stock config-features (multi-container
 * off, emptyDir on, PVC off unless the caller says otherwise).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "container/manifest/manifest.h"
#include "container/manifest/internal.h"

#define POD "spec.template.spec"
#define CTR POD ".containers[0]"
#define MAX_VOLUMES 64

struct ck {
	struct manifest_errors *errs;
	bool pvc;
	bool pvc_write;
};

static struct fy_node *get(struct fy_node *map, const char *key)
{
	if (!map || fy_node_get_type(map) != FYNT_MAPPING)
		return NULL;
	return fy_node_mapping_lookup_value_by_simple_key(map, key, strlen(key));
}

static const char *str(struct fy_node *n)
{
	if (!n || fy_node_get_type(n) != FYNT_SCALAR || fy_node_get_style(n) == FYNS_ALIAS)
		return NULL;
	return fy_node_get_scalar0(n);
}

/* A plain integer scalar; false for anything else (quoted numbers are strings to Kubernetes). */
static bool num(struct fy_node *n, long *v)
{
	const char *s = str(n);
	char *end;

	if (!s || fy_node_get_style(n) != FYNS_PLAIN || !*s)
		return false;
	*v = strtol(s, &end, 10);
	return !*end;
}

static bool truthy(struct fy_node *n)
{
	const char *s = str(n);

	return s && fy_node_get_style(n) == FYNS_PLAIN && !strcmp(s, "true");
}

static void allowed_keys(struct ck *c, struct fy_node *map, const char *path,
			 const char *const *keys, const char *why)
{
	struct fy_node_pair *pair;
	const char *k;
	void *it = NULL;
	size_t i;

	if (!map || fy_node_get_type(map) != FYNT_MAPPING)
		return;
	while ((pair = fy_node_mapping_iterate(map, &it)) != NULL) {
		k = str(fy_node_pair_key(pair));
		if (!k)
			continue;
		for (i = 0; keys[i]; i++)
			if (!strcmp(keys[i], k))
				break;
		if (!keys[i])
			manifest_errors_add(c->errs, path, "must not set \"%s\" (%s)", k, why);
	}
}

static void check_annotations(struct ck *c, struct fy_node *tmeta)
{
	static const char *const ints[] = { "min-scale", "max-scale", "initial-scale", "target" };
	struct fy_node *ann = get(tmeta, "annotations");
	long min = 0, max = 0, v;
	char key[96], path[MANIFEST_PATH_MAX];
	const char *s;
	size_t i;

	if (!ann)
		return;
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		struct fy_node *n;
		char *end;

		snprintf(key, sizeof(key), "autoscaling.knative.dev/%s", ints[i]);
		mf_pathf(path, sizeof(path), "spec.template.metadata.annotations[%s]", key);
		n = get(ann, key);
		if (!n)
			continue;
		s = str(n);
		if (!s || fy_node_get_style(n) == FYNS_PLAIN) {
			manifest_errors_add(c->errs, path, "annotation values must be strings");
			continue;
		}
		v = strtol(s, &end, 10);
		if (!*s || *end || v < (i == 3 ? 1 : i == 2 ? 1 : 0)) {
			manifest_errors_add(c->errs, path, "\"%s\" is not a valid value", s);
			continue;
		}
		if (i == 0)
			min = v;
		else if (i == 1)
			max = v;
	}
	if (max > 0 && min > max)
		manifest_errors_add(
			c->errs,
			"spec.template.metadata.annotations[autoscaling.knative.dev/min-scale]",
			"min-scale %ld must not exceed max-scale %ld", min, max);
	s = str(get(ann, "autoscaling.knative.dev/window"));
	if (s) {
		long long secs;

		if (!mf_duration(s, &secs) || secs < 6 || secs > 3600)
			manifest_errors_add(
				c->errs,
				"spec.template.metadata.annotations[autoscaling.knative.dev/window]",
				"must be a duration between 6s and 1h");
	}
}

static int count_handlers(struct fy_node *p, const char **which)
{
	static const char *const handlers[] = { "httpGet", "tcpSocket", "exec", "grpc" };
	size_t i;
	int n = 0;

	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		if (get(p, handlers[i])) {
			*which = handlers[i];
			n++;
		}
	}
	return n;
}

static void check_probe(struct ck *c, struct fy_node *p, const char *path, bool readiness,
			long ctr_port, const char *port_name)
{
	static const char *const keys[] = { "httpGet",
					    "tcpSocket",
					    "exec",
					    "grpc",
					    "initialDelaySeconds",
					    "periodSeconds",
					    "timeoutSeconds",
					    "successThreshold",
					    "failureThreshold",
					    "terminationGracePeriodSeconds",
					    NULL };
	const char *which = NULL, *s;
	char f[MANIFEST_PATH_MAX];
	struct fy_node *h, *port;
	long v, period = 0;
	int n;

	if (!p)
		return;
	allowed_keys(c, p, path, keys, "not a probe field");
	n = count_handlers(p, &which);
	if (n != 1) {
		manifest_errors_add(c->errs, path,
				    n ? "expected exactly one of httpGet, tcpSocket, "
					"exec, grpc" :
					"expected one of httpGet, tcpSocket, exec, grpc");
		return;
	}
	h = get(p, which);
	port = get(h, "port");
	if (port && (!strcmp(which, "httpGet") || !strcmp(which, "tcpSocket"))) {
		mf_pathf(f, sizeof(f), "%s.%s.port", path, which);
		s = str(port);
		if (s && fy_node_get_style(port) != FYNS_PLAIN) {
			if (strcmp(s, port_name))
				manifest_errors_add(c->errs, f,
						    "Probe port must match container port");
		} else if (num(port, &v)) {
			if (v < 1 || v > 65535)
				manifest_errors_add(c->errs, f, "must be between 1 and 65535");
			else if (v != ctr_port && knative_port_reserved(v))
				manifest_errors_add(c->errs, f, "%ld is a port reserved by Knative",
						    v);
		} else {
			manifest_errors_add(c->errs, f, "must be an integer or the port's name");
		}
	}
	if (!strcmp(which, "exec")) {
		struct fy_node *cmd = get(h, "command");

		if (!cmd || fy_node_get_type(cmd) != FYNT_SEQUENCE ||
		    fy_node_sequence_item_count(cmd) < 1) {
			mf_pathf(f, sizeof(f), "%s.exec.command", path);
			manifest_errors_add(c->errs, f, "must be a non-empty list");
		}
	}
	if (!readiness)
		return;
	if (get(p, "periodSeconds") && (!num(get(p, "periodSeconds"), &period) || period < 0)) {
		mf_pathf(f, sizeof(f), "%s.periodSeconds", path);
		manifest_errors_add(c->errs, f, "must be an integer >= 0");
	}
	if (get(p, "initialDelaySeconds") && (!num(get(p, "initialDelaySeconds"), &v) || v < 0)) {
		mf_pathf(f, sizeof(f), "%s.initialDelaySeconds", path);
		manifest_errors_add(c->errs, f, "must be an integer >= 0");
	}
	if (get(p, "successThreshold") && (!num(get(p, "successThreshold"), &v) || v < 1)) {
		mf_pathf(f, sizeof(f), "%s.successThreshold", path);
		manifest_errors_add(c->errs, f, "must be an integer >= 1");
	}
	if (period == 0) {
		if (get(p, "failureThreshold")) {
			mf_pathf(f, sizeof(f), "%s.failureThreshold", path);
			manifest_errors_add(c->errs, f,
					    "failureThreshold is disallowed when "
					    "periodSeconds is zero");
		}
		if (get(p, "timeoutSeconds")) {
			mf_pathf(f, sizeof(f), "%s.timeoutSeconds", path);
			manifest_errors_add(c->errs, f,
					    "timeoutSeconds is disallowed when "
					    "periodSeconds is zero");
		}
		return;
	}
	if (!num(get(p, "timeoutSeconds"), &v) || v < 1) {
		mf_pathf(f, sizeof(f), "%s.timeoutSeconds", path);
		manifest_errors_add(c->errs, f, "must be an integer >= 1 when periodSeconds > 0");
	}
	if (!num(get(p, "failureThreshold"), &v) || v < 1) {
		mf_pathf(f, sizeof(f), "%s.failureThreshold", path);
		manifest_errors_add(c->errs, f, "must be an integer >= 1 when periodSeconds > 0");
	}
}

static long check_ports(struct ck *c, struct fy_node *ctr, const char **port_name)
{
	struct fy_node *ports = get(ctr, "ports"), *p;
	const char *s;
	long v = KNEXT_DEFAULT_PORT;

	*port_name = "";
	if (!ports)
		return v;
	if (fy_node_get_type(ports) != FYNT_SEQUENCE) {
		manifest_errors_add(c->errs, CTR ".ports", "must be a list");
		return v;
	}
	if (fy_node_sequence_item_count(ports) > 1)
		manifest_errors_add(c->errs, CTR ".ports",
				    "more than one container port is set: "
				    "only a single port is allowed");
	p = fy_node_sequence_get_by_index(ports, 0);
	if (!p)
		return v;
	if (!num(get(p, "containerPort"), &v)) {
		manifest_errors_add(c->errs, CTR ".ports[0].containerPort", "must be an integer");
		v = KNEXT_DEFAULT_PORT;
	} else if (v < 0 || v > 65535) {
		manifest_errors_add(c->errs, CTR ".ports[0].containerPort",
				    "must be between 0 and 65535");
	} else if (knative_port_reserved(v)) {
		manifest_errors_add(c->errs, CTR ".ports[0].containerPort",
				    "%ld is a reserved port, please use a different value", v);
	}
	s = str(get(p, "protocol"));
	if (s && *s && strcmp(s, "TCP"))
		manifest_errors_add(c->errs, CTR ".ports[0].protocol", "must be TCP");
	s = str(get(p, "name"));
	if (s && *s && strcmp(s, "h2c") && strcmp(s, "http1"))
		manifest_errors_add(c->errs, CTR ".ports[0].name",
				    "Port name %s is not allowed: empty, h2c or http1", s);
	if (s)
		*port_name = s;
	return v;
}

static void check_env(struct ck *c, struct fy_node *ctr)
{
	struct fy_node *env = get(ctr, "env"), *item;
	char f[MANIFEST_PATH_MAX];
	const char *name;
	void *it = NULL;
	int i = 0;

	if (!env)
		return;
	if (fy_node_get_type(env) != FYNT_SEQUENCE) {
		manifest_errors_add(c->errs, CTR ".env", "must be a list");
		return;
	}
	while ((item = fy_node_sequence_iterate(env, &it)) != NULL) {
		mf_pathf(f, sizeof(f), CTR ".env[%d].name", i++);
		name = str(get(item, "name"));
		if (!name || !*name)
			manifest_errors_add(c->errs, f, "is required");
		else if (knative_env_reserved(name))
			manifest_errors_add(c->errs, f, "\"%s\" is a reserved environment variable",
					    name);
		if (get(item, "value") && fy_node_get_style(get(item, "value")) == FYNS_PLAIN &&
		    str(get(item, "value")) && num(get(item, "value"), &(long){ 0 }))
			manifest_errors_add(c->errs, f, "value must be a string");
	}
}

struct vol {
	const char *name;
	bool empty_dir, pvc, pvc_ro;
};

static int check_volumes(struct ck *c, struct fy_node *pod, struct fy_node *ctr, struct vol *vols)
{
	static const char *const sources[] = { "secret", "configMap", "projected", "emptyDir",
					       "persistentVolumeClaim" };
	struct fy_node *list = get(pod, "volumes"), *mounts = get(ctr, "volumeMounts"), *v, *m;
	char f[MANIFEST_PATH_MAX];
	int n = 0, i, j, k;
	size_t s;

	if (list && fy_node_get_type(list) == FYNT_SEQUENCE) {
		for (i = 0; (v = fy_node_sequence_get_by_index(list, i)) != NULL && n < MAX_VOLUMES;
		     i++) {
			struct vol *vol = &vols[n++];
			int kinds = 0;

			memset(vol, 0, sizeof(*vol));
			vol->name = str(get(v, "name"));
			mf_pathf(f, sizeof(f), POD ".volumes[%d]", i);
			for (s = 0; s < sizeof(sources) / sizeof(sources[0]); s++)
				kinds += get(v, sources[s]) != NULL;
			if (kinds != 1)
				manifest_errors_add(c->errs, f,
						    "expected exactly one of secret, "
						    "configMap, projected, emptyDir, "
						    "persistentVolumeClaim");
			vol->empty_dir = get(v, "emptyDir") != NULL;
			if (get(v, "persistentVolumeClaim")) {
				struct fy_node *pvc = get(v, "persistentVolumeClaim");
				const char *claim = str(get(pvc, "claimName"));

				vol->pvc = true;
				vol->pvc_ro = truthy(get(pvc, "readOnly"));
				if (!c->pvc)
					manifest_errors_add(c->errs, f,
							    "Persistent volume claim support is "
							    "disabled, but found persistent volume "
							    "claim %s",
							    claim ? claim : "");
				if (!vol->pvc_ro && !c->pvc_write)
					manifest_errors_add(c->errs, f,
							    "Persistent volume write support is "
							    "disabled, but found persistent volume "
							    "claim %s that is not read-only",
							    claim ? claim : "");
			}
			mf_pathf(f, sizeof(f), POD ".volumes[%d].name", i);
			if (!vol->name || !mf_dns_label(vol->name, 63)) {
				manifest_errors_add(c->errs, f, "must be a DNS label");
				vol->name = NULL;
				continue;
			}
			for (j = 0; j < n - 1; j++)
				if (vols[j].name && !strcmp(vols[j].name, vol->name))
					manifest_errors_add(c->errs, f,
							    "duplicate volume name \"%s\"",
							    vol->name);
		}
	}
	for (i = 0; mounts && (m = fy_node_sequence_get_by_index(mounts, i)) != NULL; i++) {
		const char *name = str(get(m, "name")), *path = str(get(m, "mountPath"));
		struct vol *vol = NULL;

		for (j = 0; name && j < n; j++)
			if (vols[j].name && !strcmp(vols[j].name, name))
				vol = &vols[j];
		mf_pathf(f, sizeof(f), CTR ".volumeMounts[%d]", i);
		if (!vol) {
			manifest_errors_add(c->errs, f, "volumeMount has no matching volume");
			continue;
		}
		if (!path || path[0] != '/')
			manifest_errors_add(c->errs, f, "mountPath must be an absolute path");
		else if (!strcmp(path, "/") || !strcmp(path, "/dev") || !strcmp(path, "/dev/log"))
			manifest_errors_add(c->errs, f, "mountPath \"%s\" is a reserved path",
					    path);
		for (k = 0; k < i && path; k++) {
			const char *other =
				str(get(fy_node_sequence_get_by_index(mounts, k), "mountPath"));

			if (other && !strcmp(other, path))
				manifest_errors_add(c->errs, f, "mountPath \"%s\" must be unique",
						    path);
		}
		if (!vol->empty_dir && !vol->pvc && !truthy(get(m, "readOnly")))
			manifest_errors_add(c->errs, f,
					    "volume mount should be readOnly for this "
					    "type of volume");
		if (vol->pvc && vol->pvc_ro && !truthy(get(m, "readOnly")))
			manifest_errors_add(c->errs, f,
					    "volume is readOnly but volume mount is not");
	}
	/* Every volume must be mounted. */
	for (j = 0; j < n; j++) {
		bool used = false;

		for (i = 0; mounts && (m = fy_node_sequence_get_by_index(mounts, i)) != NULL; i++)
			if (vols[j].name && str(get(m, "name")) &&
			    !strcmp(str(get(m, "name")), vols[j].name))
				used = true;
		if (vols[j].name && !used) {
			mf_pathf(f, sizeof(f), POD ".volumes[%d].name", j);
			manifest_errors_add(c->errs, f, "volume with name \"%s\" not mounted",
					    vols[j].name);
		}
	}
	return n;
}

static void check_container(struct ck *c, struct fy_node *pod, struct fy_node *ctr)
{
	static const char *const keys[] = {
		"name",
		"args",
		"command",
		"env",
		"envFrom",
		"image",
		"imagePullPolicy",
		"livenessProbe",
		"ports",
		"readinessProbe",
		"startupProbe",
		"resources",
		"securityContext",
		"terminationMessagePath",
		"terminationMessagePolicy",
		"volumeMounts",
		"workingDir",
		"lifecycle",
		NULL,
	};
	static const char *const sc_keys[] = { "runAsNonRoot",
					       "runAsUser",
					       "runAsGroup",
					       "readOnlyRootFilesystem",
					       "allowPrivilegeEscalation",
					       "capabilities",
					       "seccompProfile",
					       NULL };
	struct vol vols[MAX_VOLUMES];
	const char *s, *port_name;
	long port;

	allowed_keys(c, ctr, CTR, keys, "not allowed by Knative");
	s = str(get(ctr, "name"));
	if (s && !strcmp(s, "queue-proxy"))
		manifest_errors_add(c->errs, CTR ".name",
				    "\"queue-proxy\" is a reserved container "
				    "name");
	s = str(get(ctr, "image"));
	if (!s || !*s)
		manifest_errors_add(c->errs, CTR ".image", "is required");
	port = check_ports(c, ctr, &port_name);
	check_env(c, ctr);
	check_probe(c, get(ctr, "readinessProbe"), CTR ".readinessProbe", true, port, port_name);
	check_probe(c, get(ctr, "livenessProbe"), CTR ".livenessProbe", false, port, port_name);
	check_probe(c, get(ctr, "startupProbe"), CTR ".startupProbe", false, port, port_name);
	allowed_keys(c, get(ctr, "securityContext"), CTR ".securityContext", sc_keys,
		     "not allowed by Knative");
	check_volumes(c, pod, ctr, vols);
}

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
	struct fy_node *ctrs = get(pod, "containers");
	long v;
	int n;

	allowed_keys(c, pod, POD, keys, "off unless a Knative feature flag enables it");
	if (get(pod, "containerConcurrency") &&
	    (!num(get(pod, "containerConcurrency"), &v) || v < 0 || v > MF_MAX_CONCURRENCY))
		manifest_errors_add(c->errs, POD ".containerConcurrency",
				    "must be an integer between 0 and %d", MF_MAX_CONCURRENCY);
	if (get(pod, "timeoutSeconds") &&
	    (!num(get(pod, "timeoutSeconds"), &v) || v < 0 || v > MF_MAX_TIMEOUT_SECONDS))
		manifest_errors_add(c->errs, POD ".timeoutSeconds",
				    "must be an integer between 0 and %d", MF_MAX_TIMEOUT_SECONDS);
	if (!ctrs || fy_node_get_type(ctrs) != FYNT_SEQUENCE ||
	    (n = fy_node_sequence_item_count(ctrs)) == 0) {
		manifest_errors_add(c->errs, POD ".containers", "is required");
		return;
	}
	if (n > 1) {
		manifest_errors_add(c->errs, POD ".containers",
				    "multi-container is off, but found %d containers", n);
		return;
	}
	check_container(c, pod, fy_node_sequence_get_by_index(ctrs, 0));
}

int manifest_check_service(const char *text, size_t len, const struct render_opts *opts,
			   struct manifest_errors *errs)
{
	struct manifest_errors local;
	struct ck c = { errs, false, false };
	struct fy_node *root, *tmpl;
	struct fy_document *fyd;
	unsigned int before;
	const char *s;

	if (!errs) {
		manifest_errors_reset(&local);
		c.errs = errs = &local;
	}
	before = errs->count + errs->dropped;
	if (opts) {
		c.pvc = opts->pvc == MANIFEST_FEATURE_ENABLED;
		c.pvc_write = opts->pvc_write == MANIFEST_FEATURE_ENABLED;
	}
	fyd = mf_load(text, len, errs);
	if (!fyd)
		return -EINVAL;
	root = fy_document_root(fyd);
	if (!root || fy_node_get_type(root) != FYNT_MAPPING) {
		manifest_errors_add(errs, "(document)", "must be a mapping (a Service object)");
		goto out;
	}
	s = str(get(root, "apiVersion"));
	if (!s || strcmp(s, MANIFEST_SERVICE_API_VERSION))
		manifest_errors_add(errs, "apiVersion", "must be %s", MANIFEST_SERVICE_API_VERSION);
	s = str(get(root, "kind"));
	if (!s || strcmp(s, MANIFEST_SERVICE_KIND))
		manifest_errors_add(errs, "kind", "must be %s", MANIFEST_SERVICE_KIND);
	s = str(get(get(root, "metadata"), "name"));
	if (!s || !mf_dns_label(s, 63))
		manifest_errors_add(errs, "metadata.name", "must be a DNS label of at most 63");
	tmpl = get(get(root, "spec"), "template");
	if (!tmpl) {
		manifest_errors_add(errs, "spec.template", "is required");
		goto out;
	}
	check_annotations(&c, get(tmpl, "metadata"));
	if (!get(tmpl, "spec"))
		manifest_errors_add(errs, POD, "is required");
	else
		check_pod(&c, get(tmpl, "spec"));
out:
	fy_document_destroy(fyd);
	return errs->count + errs->dropped > before ? -EINVAL : 0;
}
