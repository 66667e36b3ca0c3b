// SPDX-License-Identifier: Apache-2.0
/*
 * The webhook rules for a pod's containers (knative.dev/serving pkg/apis/serving
 * k8s_validation.go: validateContainersPorts, ValidateUserContainer, validateSidecarContainer,
 * validate and the masks of fieldmask.go), with the core Kubernetes rules the Deployment must
 * pass (names, env, quantities, probe numbers). See check.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "container/manifest/manifest.h"
#include "container/manifest/internal.h"
#include "container/manifest/check.h"

/* validContainerPorts' names; the serving port's name is "http" when none is given. */
static const char *const port_names[] = { "", "h2c", "http1", NULL };

/* Go's path.Clean, for mount paths: no "//", no ".", ".." resolved, no trailing '/'. */
static void path_clean(const char *in, char *out, size_t size)
{
	size_t n = 0, mark;
	const char *p = in;
	bool abs = *in == '/';

	if (size < 2) {
		if (size)
			*out = '\0';
		return;
	}
	if (abs)
		out[n++] = '/';
	while (*p) {
		const char *e;
		size_t len;

		while (*p == '/')
			p++;
		e = strchr(p, '/');
		len = e ? (size_t)(e - p) : strlen(p);
		if (len == 0)
			break;
		if (len == 1 && p[0] == '.') {
			/* skip */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			mark = n;
			while (mark > (abs ? 1u : 0u) && out[mark - 1] != '/')
				mark--;
			if (mark > (abs ? 1u : 0u))
				mark--;
			n = mark;
		} else if (n + len + 2 < size) {
			if (n > (abs ? 1u : 0u))
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p += len;
	}
	if (n == 0)
		out[n++] = '.';
	out[n] = '\0';
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

/* validateEnvVar (EnvVarMask, EnvVarSourceMask, reserved names) and core ValidateEnv. */
static void check_env(struct ck *c, struct fy_node *ctr, const char *cp, bool sidecar)
{
	static const char *const keys[] = { "name", "value", "valueFrom", NULL };
	static const char *const src_flag[] = { "configMapKeyRef", "secretKeyRef", "fieldRef",
						"resourceFieldRef", NULL };
	struct fy_node *env = ck_get(ctr, "env"), *item, *vf, *ref;
	char f[MANIFEST_PATH_MAX];
	const char *name, *s;
	void *it = NULL;
	int i = 0, n;

	if (!env)
		return;
	if (fy_node_get_type(env) != FYNT_SEQUENCE) {
		mf_pathf(f, sizeof(f), "%s.env", cp);
		manifest_errors_add(c->errs, f, "must be a list");
		return;
	}
	while ((item = fy_node_sequence_iterate(env, &it)) != NULL) {
		mf_pathf(f, sizeof(f), "%s.env[%d]", cp, i);
		ck_allowed(c, item, f, keys, "not an env field");
		mf_pathf(f, sizeof(f), "%s.env[%d].name", cp, i++);
		name = ck_str(ck_get(item, "name"));
		if (!name || !*name)
			manifest_errors_add(c->errs, f, "is required");
		/* reservedEnvVars; sidecars may set PORT (reservedSidecarEnvVars). */
		else if (knative_env_reserved(name) && !(sidecar && !strcmp(name, "PORT")))
			manifest_errors_add(c->errs, f, "\"%s\" is a reserved environment variable",
					    name);
		else if (!mf_env_name(name))
			manifest_errors_add(c->errs, f,
					    "must be printable ASCII characters other than '='");
		mf_pathf(f, sizeof(f), "%s.env[%d].value", cp, i - 1);
		s = ck_str(ck_get(item, "value"));
		if (ck_get(item, "value") &&
		    (!s || (fy_node_get_style(ck_get(item, "value")) == FYNS_PLAIN && *s &&
			    mf_plain_typed(s))))
			manifest_errors_add(c->errs, f, "must be a string");
		vf = ck_get(item, "valueFrom");
		if (!vf)
			continue;
		mf_pathf(f, sizeof(f), "%s.env[%d].valueFrom", cp, i - 1);
		/* EnvVarSourceMask: fieldRef and resourceFieldRef only with kubernetes.podspec-fieldref. */
		ck_allowed(c, vf, f,
			   c->field_ref ? src_flag :
					  (const char *const[]){ src_flag[0], src_flag[1], NULL },
			   c->field_ref ? "not an env source" :
					  "off unless kubernetes.podspec-fieldref is enabled");
		/* core validateEnvVarValueFrom: exactly one source, and no value beside it. */
		n = !!ck_get(vf, "configMapKeyRef") + !!ck_get(vf, "secretKeyRef") +
		    !!ck_get(vf, "fieldRef") + !!ck_get(vf, "resourceFieldRef");
		if (n != 1)
			manifest_errors_add(c->errs, f, "must have exactly one source");
		if (s && *s)
			manifest_errors_add(c->errs, f, "may not be set when value is not empty");
		ref = ck_get(vf, "secretKeyRef");
		if (!ref)
			ref = ck_get(vf, "configMapKeyRef");
		if (ref) {
			static const char *const rkeys[] = { "name", "key", "optional", NULL };
			const char *rn = ck_str(ck_get(ref, "name")),
				   *rk = ck_str(ck_get(ref, "key"));

			ck_allowed(c, ref, f, rkeys, "not a key selector field");
			if (!rn || !mf_dns_subdomain(rn))
				manifest_errors_add(c->errs, f, "the reference needs a valid name");
			if (!rk || !mf_config_key(rk))
				manifest_errors_add(c->errs, f, "the reference needs a valid key");
		}
		ref = ck_get(vf, "fieldRef");
		if (ref &&
		    (!ck_str(ck_get(ref, "fieldPath")) || !*ck_str(ck_get(ref, "fieldPath"))))
			manifest_errors_add(c->errs, f, "fieldRef.fieldPath is required");
	}
}

/* validateEnvFrom (EnvFromSourceMask, the ref masks, exactly one ref) and core ValidateEnvFrom. */
static void check_env_from(struct ck *c, struct fy_node *ctr, const char *cp)
{
	static const char *const keys[] = { "prefix", "configMapRef", "secretRef", NULL };
	static const char *const rkeys[] = { "name", "optional", NULL };
	struct fy_node *list = ck_get(ctr, "envFrom"), *item, *ref;
	char f[MANIFEST_PATH_MAX];
	const char *s;
	void *it = NULL;
	int i = 0;

	while (list && (item = fy_node_sequence_iterate(list, &it)) != NULL) {
		mf_pathf(f, sizeof(f), "%s.envFrom[%d]", cp, i++);
		ck_allowed(c, item, f, keys, "not an envFrom field");
		if (!!ck_get(item, "configMapRef") + !!ck_get(item, "secretRef") != 1)
			manifest_errors_add(c->errs, f,
					    "expected exactly one of configMapRef, secretRef");
		ref = ck_get(item, "configMapRef");
		if (!ref)
			ref = ck_get(item, "secretRef");
		ck_allowed(c, ref, f, rkeys, "not a reference field");
		s = ck_str(ck_get(ref, "name"));
		if (ref && (!s || !mf_dns_subdomain(s)))
			manifest_errors_add(c->errs, f, "the reference needs a valid name");
		s = ck_str(ck_get(item, "prefix"));
		if (s && *s && !mf_env_name(s))
			manifest_errors_add(
				c->errs, f,
				"prefix must be printable ASCII characters other than '='");
	}
}

/* validateContainerPorts for the serving port (ContainerPortMask, reserved, TCP, names). */
static void check_port(struct ck *c, struct fy_node *p, const char *cp)
{
	static const char *const keys[] = { "containerPort", "name", "protocol", NULL };
	char f[MANIFEST_PATH_MAX];
	const char *s;
	long v = 0;

	mf_pathf(f, sizeof(f), "%s.ports[0]", cp);
	ck_allowed(c, p, f, keys, "not allowed by Knative");
	mf_pathf(f, sizeof(f), "%s.ports[0].containerPort", cp);
	if (ck_get(p, "containerPort") && !ck_num(ck_get(p, "containerPort"), &v))
		manifest_errors_add(c->errs, f, "must be an integer");
	else if (knative_port_reserved(v))
		manifest_errors_add(c->errs, f,
				    "%ld is a reserved port, please use a different value", v);
	else if (v < 0 || v > 65535)
		manifest_errors_add(c->errs, f, "must be between 0 and 65535");
	mf_pathf(f, sizeof(f), "%s.ports[0].protocol", cp);
	s = ck_str(ck_get(p, "protocol"));
	if (s && *s && strcmp(s, "TCP"))
		manifest_errors_add(c->errs, f, "must be TCP");
	mf_pathf(f, sizeof(f), "%s.ports[0].name", cp);
	s = ck_str(ck_get(p, "name"));
	if (s && !in_list(s, port_names))
		manifest_errors_add(c->errs, f, "Port name %s is not allowed: empty, h2c or http1",
				    s);
}

/* validateProbe and validateReadinessProbe (Knative), with core ValidateProbe's numbers. */
static void check_probe(struct ck *c, struct fy_node *p, const char *path, int kind,
			const char *port_name)
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
	static const char *const nums[] = { "initialDelaySeconds", "periodSeconds",
					    "timeoutSeconds", "successThreshold",
					    "failureThreshold" };
	static const char *const http_keys[] = { "host",	"path", "scheme",
						 "httpHeaders", "port", NULL };
	static const char *const tcp_keys[] = { "host", "port", NULL };
	static const char *const exec_keys[] = { "command", NULL };
	static const char *const grpc_keys[] = { "port", "service", NULL };
	static const char *const handlers[] = { "httpGet", "tcpSocket", "exec", "grpc" };
	char f[MANIFEST_PATH_MAX];
	struct fy_node *h, *port;
	const char *which = NULL, *s;
	long v, period = 0;
	size_t i;
	int n = 0;

	if (!p)
		return;
	ck_allowed(c, p, path, keys, "not a probe field");
	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (ck_get(p, handlers[i])) {
			which = handlers[i];
			n++;
		}
	/* A user container's readiness probe without a handler gets tcpSocket (SetDefaults). */
	if (n > 1 || (n == 0 && kind != 'r'))
		manifest_errors_add(c->errs, path,
				    n ? "expected exactly one of httpGet, tcpSocket, exec, grpc" :
					"expected one of httpGet, tcpSocket, exec, grpc");
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		struct fy_node *x = ck_get(p, nums[i]);

		mf_pathf(f, sizeof(f), "%s.%s", path, nums[i]);
		if (kind == 'r' && i == 3)
			continue; /* readiness has its own rule below */
		if (x && !ck_zero(x) && (!ck_num(x, &v) || v < 0))
			manifest_errors_add(c->errs, f, "must be an integer >= 0");
	}
	/* core: liveness and startup probes need successThreshold 1. */
	if (kind != 'r' && ck_num(ck_get(p, "successThreshold"), &v) && v != 0 && v != 1) {
		mf_pathf(f, sizeof(f), "%s.successThreshold", path);
		manifest_errors_add(c->errs, f, "must be 1");
	}
	if (n == 1) {
		h = ck_get(p, which);
		ck_allowed(c, h, path,
			   !strcmp(which, "httpGet")   ? http_keys :
			   !strcmp(which, "tcpSocket") ? tcp_keys :
			   !strcmp(which, "exec")      ? exec_keys :
							 grpc_keys,
			   "not a field of this probe handler");
		port = ck_get(h, "port");
		mf_pathf(f, sizeof(f), "%s.%s.port", path, which);
		if (port && (!strcmp(which, "httpGet") || !strcmp(which, "tcpSocket"))) {
			s = ck_str(port);
			if (s && fy_node_get_style(port) != FYNS_PLAIN) {
				/* A named port must be the serving port's name ("http" by default). */
				if (strcmp(s, *port_name ? port_name : "http"))
					manifest_errors_add(c->errs, f,
							    "Probe port must match container port");
			} else if (!ck_num(port, &v) || v < 0 || v > 65535) {
				manifest_errors_add(c->errs, f, "must be between 1 and 65535");
			}
		}
		if (!strcmp(which, "exec")) {
			struct fy_node *cmd = ck_get(h, "command");

			if (!cmd || fy_node_get_type(cmd) != FYNT_SEQUENCE ||
			    fy_node_sequence_item_count(cmd) < 1) {
				mf_pathf(f, sizeof(f), "%s.exec.command", path);
				manifest_errors_add(c->errs, f, "must be a non-empty list");
			}
		}
	}
	if (kind != 'r')
		return;
	/*
	 * validateReadinessProbe after applyReadinessProbeDefaults: successThreshold 0 becomes 1,
	 * and with a period, timeoutSeconds 0 becomes 1 and failureThreshold 0 becomes 3. Period 0
	 * is Knative's aggressive probing, with which the other two must stay unset.
	 */
	if (!ck_zero(ck_get(p, "successThreshold")) &&
	    (!ck_num(ck_get(p, "successThreshold"), &v) || v < 1)) {
		mf_pathf(f, sizeof(f), "%s.successThreshold", path);
		manifest_errors_add(c->errs, f, "must be an integer >= 1");
	}
	ck_num(ck_get(p, "periodSeconds"), &period);
	if (period == 0) {
		if (!ck_zero(ck_get(p, "failureThreshold"))) {
			mf_pathf(f, sizeof(f), "%s.failureThreshold", path);
			manifest_errors_add(
				c->errs, f,
				"failureThreshold is disallowed when periodSeconds is zero");
		}
		if (!ck_zero(ck_get(p, "timeoutSeconds"))) {
			mf_pathf(f, sizeof(f), "%s.timeoutSeconds", path);
			manifest_errors_add(
				c->errs, f,
				"timeoutSeconds is disallowed when periodSeconds is zero");
		}
	}
}

/* validateResources (ResourceRequirementsMask) and core ValidateResourceRequirements. */
static void check_resources(struct ck *c, struct fy_node *ctr, const char *cp)
{
	static const char *const keys[] = { "limits", "requests", NULL };
	struct fy_node *res = ck_get(ctr, "resources"), *req, *lim;
	struct fy_node_pair *pair;
	char f[MANIFEST_PATH_MAX];
	void *it;
	int side;

	if (!res)
		return;
	mf_pathf(f, sizeof(f), "%s.resources", cp);
	ck_allowed(c, res, f, keys, "not allowed by Knative");
	req = ck_get(res, "requests");
	lim = ck_get(res, "limits");
	for (side = 0; side < 2; side++) {
		it = NULL;
		while ((pair = fy_node_mapping_iterate(side ? lim : req, &it)) != NULL) {
			const char *k = ck_str(fy_node_pair_key(pair));
			const char *q = ck_str(fy_node_pair_value(pair)), *l;
			long double qv, lv;

			if (!k)
				continue;
			mf_pathf(f, sizeof(f), "%s.resources.%s.%s", cp,
				 side ? "limits" : "requests", k);
			if (!q || !mf_quantity_value(q, &qv)) {
				manifest_errors_add(c->errs, f, "must be a quantity");
				continue;
			}
			if (qv < 0) {
				manifest_errors_add(c->errs, f, "must not be negative");
				continue;
			}
			l = side ? NULL : ck_str(ck_get(lim, k));
			if (l && mf_quantity_value(l, &lv) && qv > lv)
				manifest_errors_add(c->errs, f,
						    "must be less than or equal to %s limit of %s",
						    k, l);
		}
	}
}

/* validateSecurityContext (SecurityContextMask, CapabilitiesMask, uid and gid ranges). */
static void check_security(struct ck *c, struct fy_node *ctr, const char *cp)
{
	static const char *const keys[] = { "capabilities",
					    "readOnlyRootFilesystem",
					    "runAsUser",
					    "runAsGroup",
					    "runAsNonRoot",
					    "allowPrivilegeEscalation",
					    "seccompProfile",
					    "privileged",
					    NULL };
	static const char *const cap_keys[] = { "drop", NULL };
	struct fy_node *sc = ck_get(ctr, "securityContext");
	char f[MANIFEST_PATH_MAX];
	long v;

	if (!sc)
		return;
	mf_pathf(f, sizeof(f), "%s.securityContext", cp);
	ck_allowed(c, sc, f, keys, "not allowed by Knative");
	/* The mask keeps privileged only when it is false. */
	if (ck_true(ck_get(sc, "privileged")))
		manifest_errors_add(c->errs, f, "privileged may only be false");
	ck_allowed(
		c, ck_get(sc, "capabilities"), f, cap_keys,
		"capabilities.add is off unless kubernetes.containerspec-addcapabilities is enabled");
	if (ck_get(sc, "runAsUser") &&
	    (!ck_num(ck_get(sc, "runAsUser"), &v) || v < 0 || v > 2147483647L))
		manifest_errors_add(c->errs, f, "runAsUser must be between 0 and 2147483647");
	if (ck_get(sc, "runAsGroup") &&
	    (!ck_num(ck_get(sc, "runAsGroup"), &v) || v < 0 || v > 2147483647L))
		manifest_errors_add(c->errs, f, "runAsGroup must be between 0 and 2147483647");
}

static const struct ck_vol *find_vol(struct ck *c, const char *name)
{
	int j;

	for (j = 0; name && j < c->n_vols; j++)
		if (c->vols[j].name && !strcmp(c->vols[j].name, name))
			return &c->vols[j];
	return NULL;
}

/* validateVolumeMounts (VolumeMountMask with mount propagation off). */
static void check_mounts(struct ck *c, struct fy_node *ctr, const char *cp)
{
	static const char *const keys[] = { "name", "readOnly", "mountPath", "subPath", NULL };
	struct fy_node *mounts = ck_get(ctr, "volumeMounts"), *m;
	char f[MANIFEST_PATH_MAX], clean[256], seen[16][256];
	const struct ck_vol *vol;
	const char *path;
	int i, k, n_seen = 0;

	for (i = 0; mounts && (m = fy_node_sequence_get_by_index(mounts, i)) != NULL; i++) {
		mf_pathf(f, sizeof(f), "%s.volumeMounts[%d]", cp, i);
		ck_allowed(c, m, f, keys, "not allowed by Knative");
		vol = find_vol(c, ck_str(ck_get(m, "name")));
		if (!vol)
			manifest_errors_add(c->errs, f, "volumeMount has no matching volume");
		path = ck_str(ck_get(m, "mountPath"));
		if (!path || !*path) {
			manifest_errors_add(c->errs, f, "mountPath is required");
		} else {
			path_clean(path, clean, sizeof(clean));
			if (!strcmp(clean, "/") || !strcmp(clean, "/dev") ||
			    !strcmp(clean, "/dev/log"))
				manifest_errors_add(c->errs, f,
						    "mountPath \"%s\" is a reserved path", clean);
			else if (path[0] != '/')
				manifest_errors_add(c->errs, f,
						    "mountPath must be an absolute path");
			for (k = 0; k < n_seen; k++)
				if (!strcmp(seen[k], clean))
					manifest_errors_add(c->errs, f,
							    "mountPath \"%s\" must be unique",
							    path);
			if (n_seen < 16)
				strcpy(seen[n_seen++], clean);
		}
		/*
		 * "volume mount should be readOnly for this type of volume" cannot fire: SetDefaults
		 * (applyDefault) makes every mount of a volume other than emptyDir, PVC or ephemeral
		 * read-only before validation.
		 */
		if (vol && vol->pvc_ro && !ck_true(ck_get(m, "readOnly")))
			manifest_errors_add(c->errs, f,
					    "volume is readOnly but volume mount is not");
	}
}

/* k8s_validation.go validate: one container, user or sidecar. */
static void check_container(struct ck *c, struct fy_node *ctr, int idx, bool sidecar,
			    const char *port_name)
{
	static const char *const keys[] = {
		"name",
		"args",
		"command",
		"env",
		"workingDir",
		"envFrom",
		"image",
		"imagePullPolicy",
		"livenessProbe",
		"ports",
		"readinessProbe",
		"resources",
		"securityContext",
		"startupProbe",
		"terminationMessagePath",
		"terminationMessagePolicy",
		"volumeMounts",
		NULL,
	};
	static const char *const probes[] = { "livenessProbe", "readinessProbe", "startupProbe" };
	static const char *const no_keys[] = { NULL };
	char cp[64], f[MANIFEST_PATH_MAX], why[MANIFEST_REASON_MAX];
	const char *s;
	size_t i;

	snprintf(cp, sizeof(cp), POD ".containers[%d]", idx);
	if (!ctr || fy_node_get_type(ctr) != FYNT_MAPPING || fy_node_mapping_item_count(ctr) == 0) {
		manifest_errors_add(c->errs, cp, "missing field(s)");
		return;
	}
	/* ContainerMask: lifecycle, stdin, tty, volumeDevices, ... are not taken. */
	ck_allowed(c, ctr, cp, keys, "not allowed by Knative");
	mf_pathf(f, sizeof(f), "%s.name", cp);
	s = ck_str(ck_get(ctr, "name"));
	if (s && !strcmp(s, "queue-proxy"))
		manifest_errors_add(c->errs, f, "\"queue-proxy\" is a reserved container name");
	else if (s && *s && !mf_dns_label(s, 63))
		manifest_errors_add(c->errs, f, "must be a DNS label");
	check_env(c, ctr, cp, sidecar);
	check_env_from(c, ctr, cp);
	mf_pathf(f, sizeof(f), "%s.image", cp);
	s = ck_str(ck_get(ctr, "image"));
	if (!s || !*s)
		manifest_errors_add(c->errs, f, "is required");
	else if (mf_image_ref(s, false, why, sizeof(why)))
		manifest_errors_add(c->errs, f, "Failed to parse image reference: %s", why);
	if (!sidecar && ck_get(ctr, "ports"))
		check_port(c, fy_node_sequence_get_by_index(ck_get(ctr, "ports"), 0), cp);
	check_resources(c, ctr, cp);
	check_security(c, ctr, cp);
	s = ck_str(ck_get(ctr, "terminationMessagePolicy"));
	if (s && *s && strcmp(s, "File") && strcmp(s, "FallbackToLogsOnError")) {
		mf_pathf(f, sizeof(f), "%s.terminationMessagePolicy", cp);
		manifest_errors_add(c->errs, f, "must be File or FallbackToLogsOnError");
	}
	check_mounts(c, ctr, cp);
	for (i = 0; i < 3; i++) {
		mf_pathf(f, sizeof(f), "%s.%s", cp, probes[i]);
		if (sidecar)
			/* multi-container-probing is off: a sidecar's probes must be empty. */
			ck_allowed(c, ck_get(ctr, probes[i]), f, no_keys,
				   "probes of a sidecar need multi-container-probing");
		else
			check_probe(c, ck_get(ctr, probes[i]), f, "lrs"[i], port_name);
	}
}

void ck_containers(struct ck *c, struct fy_node *pod)
{
	struct fy_node *ctrs = ck_get(pod, "containers"), *ctr, *ports, *serving = NULL;
	char f[MANIFEST_PATH_MAX];
	const char *port_name = "", *s, *t;
	int n, i, j, count = 0;

	if (!ctrs || fy_node_get_type(ctrs) != FYNT_SEQUENCE ||
	    (n = fy_node_sequence_item_count(ctrs)) == 0) {
		manifest_errors_add(c->errs, POD ".containers", "is required");
		return;
	}
	/* validateContainersPorts: one serving port across all containers. */
	for (i = 0; i < n; i++) {
		ports = ck_get(fy_node_sequence_get_by_index(ctrs, i), "ports");
		if (ports && fy_node_get_type(ports) == FYNT_SEQUENCE &&
		    fy_node_sequence_item_count(ports) > 0) {
			count += fy_node_sequence_item_count(ports);
			serving = fy_node_sequence_get_by_index(ports, 0);
		}
	}
	s = ck_str(ck_get(serving, "name"));
	if (s)
		port_name = s;
	if (count == 0 && n > 1)
		manifest_errors_add(c->errs, POD ".containers[*].ports",
				    "one container must declare the serving port");
	if (count > 1)
		manifest_errors_add(c->errs, POD ".containers[*].ports",
				    "more than one container port is set: only a single port is "
				    "allowed across all containers");
	/* multi-container is on by default (validateContainers): names unique, sidecars without ports. */
	for (i = 0; i < n; i++) {
		ctr = fy_node_sequence_get_by_index(ctrs, i);
		s = ck_str(ck_get(ctr, "name"));
		for (j = 0; n > 1 && s && j < i; j++) {
			t = ck_str(ck_get(fy_node_sequence_get_by_index(ctrs, j), "name"));
			if (t && !strcmp(s, t)) {
				mf_pathf(f, sizeof(f), POD ".containers[%d].name", i);
				manifest_errors_add(c->errs, f, "duplicate container name \"%s\"",
						    s);
			}
		}
		ports = ck_get(ctr, "ports");
		check_container(c, ctr, i,
				n > 1 && !(ports && fy_node_get_type(ports) == FYNT_SEQUENCE &&
					   fy_node_sequence_item_count(ports) > 0),
				port_name);
	}
}
