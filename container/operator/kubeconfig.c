// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <libfyaml.h>

#include "container/operator/kubeconfig.h"
#include "container/manifest/manifest.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

static int fail(char *reason, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, len, fmt, ap);
	va_end(ap);
	return err;
}

/* Reads a whole small file; strips trailing whitespace (a token file ends with a newline). */
static int slurp(const char *path, char **out, size_t max)
{
	FILE *f = fopen(path, "re");
	size_t n;
	char *buf;

	if (!f)
		return -errno;
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, max, f);
	fclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	*out = buf;
	return 0;
}

int kube_config_from_cluster(struct kube_config *c, const char *sa_dir, char *reason, size_t len)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char path[4096];
	struct stat st;
	int r;

	memset(c, 0, sizeof(*c));
	if (!sa_dir)
		sa_dir = SA_DIR;
	if (!host || !*host || !port || !*port)
		return fail(reason, len, -ENOENT, "KUBERNETES_SERVICE_HOST/PORT not set");
	/* An IPv6 service address needs brackets in a URL. */
	if (asprintf(&c->server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		     port) < 0) {
		c->server = NULL;
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/token", sa_dir);
	if (stat(path, &st))
		return fail(reason, len, -ENOENT, "no service-account token at %s", path);
	c->token_file = strdup(path);
	snprintf(path, sizeof(path), "%s/ca.crt", sa_dir);
	if (!stat(path, &st))
		c->ca_file = strdup(path);
	snprintf(path, sizeof(path), "%s/namespace", sa_dir);
	r = slurp(path, &c->namespace, 253);
	if (r == -ENOMEM)
		return r;
	if (!c->token_file)
		return -ENOMEM;
	return 0;
}

static int b64_value(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

/* Decodes base64 (standard or URL alphabet, padding and whitespace ignored) into a string. */
static int b64_decode(const char *in, char **out)
{
	size_t n = strlen(in), o = 0;
	unsigned int acc = 0;
	int bits = 0, v;
	char *buf = malloc(n * 3 / 4 + 4);

	if (!buf)
		return -ENOMEM;
	for (; *in; in++) {
		if (*in == '=' || *in == '\n' || *in == '\r' || *in == ' ' || *in == '\t')
			continue;
		v = b64_value((unsigned char)*in);
		if (v < 0) {
			free(buf);
			return -EINVAL;
		}
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	buf[o] = '\0';
	*out = buf;
	return 0;
}

/* Finds the entry named @name in a kubeconfig list (clusters, users, contexts). */
static json_t *named(json_t *root, const char *list, const char *name, const char *inner)
{
	json_t *arr = json_object_get(root, list), *e;
	size_t i;

	json_array_foreach(arr, i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));

		if (n && !strcmp(n, name))
			return json_object_get(e, inner);
	}
	return NULL;
}

static int copy_str(json_t *obj, const char *key, char **out)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (!s || !*s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int copy_b64(json_t *obj, const char *key, char **out, char *reason, size_t len)
{
	const char *s = json_string_value(json_object_get(obj, key));
	int r;

	if (!s || !*s)
		return 0;
	r = b64_decode(s, out);
	if (r == -EINVAL)
		return fail(reason, len, r, "%s is not base64", key);
	return r;
}

static int from_json(struct kube_config *c, json_t *root, const char *context, char *reason,
		     size_t len)
{
	json_t *ctx, *cluster, *user;
	const char *cname, *uname;
	size_t n;
	int r;

	if (!context)
		context = json_string_value(json_object_get(root, "current-context"));
	if (!context || !*context)
		return fail(reason, len, -EINVAL, "no context given and no current-context");
	ctx = named(root, "contexts", context, "context");
	if (!ctx)
		return fail(reason, len, -ENOENT, "context \"%s\" not found", context);
	cname = json_string_value(json_object_get(ctx, "cluster"));
	uname = json_string_value(json_object_get(ctx, "user"));
	cluster = cname ? named(root, "clusters", cname, "cluster") : NULL;
	if (!cluster)
		return fail(reason, len, -ENOENT, "cluster of context \"%s\" not found", context);
	user = uname ? named(root, "users", uname, "user") : NULL;
	if (uname && !user)
		return fail(reason, len, -ENOENT, "user \"%s\" not found", uname);
	if (user && json_object_get(user, "exec"))
		return fail(reason, len, -EINVAL, "exec credential plugins are not supported");

	r = copy_str(cluster, "server", &c->server);
	if (r)
		return r;
	if (!c->server)
		return fail(reason, len, -EINVAL, "cluster \"%s\" has no server", cname);
	n = strlen(c->server);
	while (n && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	c->insecure = json_is_true(json_object_get(cluster, "insecure-skip-tls-verify"));
	r = copy_str(cluster, "certificate-authority", &c->ca_file);
	if (!r)
		r = copy_b64(cluster, "certificate-authority-data", &c->ca_pem, reason, len);
	if (!r)
		r = copy_str(ctx, "namespace", &c->namespace);
	if (r || !user)
		return r;
	r = copy_str(user, "token", &c->token);
	if (!r)
		r = copy_str(user, "tokenFile", &c->token_file);
	if (!r)
		r = copy_str(user, "client-certificate", &c->cert_file);
	if (!r)
		r = copy_b64(user, "client-certificate-data", &c->cert_pem, reason, len);
	if (!r)
		r = copy_str(user, "client-key", &c->key_file);
	if (!r)
		r = copy_b64(user, "client-key-data", &c->key_pem, reason, len);
	return r;
}

/* libfyaml's diagnostics go nowhere: a library does not print, it returns a reason. */
static void quiet_cb(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
}

int kube_config_parse(struct kube_config *c, const char *text, size_t size, const char *context,
		      char *reason, size_t len)
{
	struct fy_diag_cfg dcfg = { .output_fn = quiet_cb, .level = FYET_ERROR };
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET };
	struct fy_document *doc;
	json_error_t jerr;
	json_t *root;
	char *json;
	int r;

	memset(c, 0, sizeof(*c));
	/* libfyaml must not see invalid UTF-8 (see manifest_utf8_prefix()). */
	if (manifest_utf8_prefix((const unsigned char *)text, size) != size)
		return fail(reason, len, -EINVAL, "kubeconfig is not UTF-8");
	cfg.diag = fy_diag_create(&dcfg);
	/* YAML in, JSON out: the lookups below are then plain jansson. */
	doc = fy_document_build_from_string(&cfg, text, size);
	fy_diag_destroy(cfg.diag);
	if (!doc)
		return fail(reason, len, -EINVAL, "kubeconfig is not valid YAML");
	json = fy_emit_document_to_string(doc, FYECF_MODE_JSON_ONELINE);
	fy_document_destroy(doc);
	if (!json)
		return fail(reason, len, -EINVAL, "kubeconfig cannot be read as JSON");
	root = json_loads(json, 0, &jerr);
	free(json);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(reason, len, -EINVAL, "kubeconfig is not a mapping");
	}
	r = from_json(c, root, context, reason, len);
	json_decref(root);
	return r;
}

int kube_config_from_file(struct kube_config *c, const char *path, const char *context,
			  char *reason, size_t len)
{
	char *text;
	int r;

	memset(c, 0, sizeof(*c));
	r = slurp(path, &text, 1 << 20);
	if (r)
		return fail(reason, len, r, "cannot read %s: %s", path, strerror(-r));
	r = kube_config_parse(c, text, strlen(text), context, reason, len);
	free(text);
	return r;
}

void kube_config_close(struct kube_config *c)
{
	free(c->server);
	free(c->token);
	free(c->token_file);
	free(c->ca_file);
	free(c->ca_pem);
	free(c->cert_file);
	free(c->cert_pem);
	free(c->key_file);
	free(c->key_pem);
	free(c->namespace);
	memset(c, 0, sizeof(*c));
}
