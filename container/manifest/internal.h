/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the manifest library's files; not part of its API.
 */
#ifndef KNEXT_MANIFEST_INTERNAL_H
#define KNEXT_MANIFEST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/knative.h"

struct fy_diag;
struct fy_document;

/* A DNS-1123 label of at most @max characters. */
bool mf_dns_label(const char *s, size_t max);
/* A DNS-1035 label: a DNS-1123 label of at most 63 that starts with a letter. */
bool mf_dns1035_label(const char *s);
/* A DNS-1123 subdomain (object names such as Secrets and ConfigMaps). */
bool mf_dns_subdomain(const char *s);
/* An environment variable name the API server takes (printable ASCII, no '='). */
bool mf_env_name(const char *s);
/* A key of a ConfigMap or Secret. */
bool mf_config_key(const char *s);
/* A label value. */
bool mf_label_value(const char *s);
/* A Kubernetes quantity such as "500m", "1", "1.5", "256Mi", "1e3"; @v gets its value. */
bool mf_quantity_value(const char *s, long double *v);
bool mf_quantity(const char *s);
/* A plain YAML scalar that a YAML 1.1 reader takes for a bool, null or number. */
bool mf_plain_typed(const char *s);
/* A Go duration (time.ParseDuration): "90s", "1m30s", "1.5h", "500ms"; sets @ns. */
bool mf_go_duration(const char *s, long long *ns);
#define NS_PER_S 1000000000LL
/*
 * An image reference as Knative's webhook parses it (go-containerregistry pkg/name, weak); with
 * @need_digest only "repo[:tag]@sha256:<64 hex>". Return: 0, or -EINVAL with @why filled.
 */
int mf_image_ref(const char *s, bool need_digest, char *why, size_t size);
/* spec.env and spec.envFrom (names, reserved and owned names, valueFrom sources). */
void mf_check_env(const struct nextapp *app, struct manifest_errors *errs);
/* spec.database and spec.zone. */
void mf_check_connections(const struct nextapp *app, struct manifest_errors *errs);
/* The Secret DATABASE_URL is read from: spec.database.secretName, else "<cluster>-app". */
const char *mf_database_secret(const struct nextapp *app);
/* Knative's limit on revision timeoutSeconds with stock config (max-revision-timeout-seconds). */
#define MF_MAX_TIMEOUT_SECONDS 600
/* Knative's container-concurrency-max-limit with stock config. */
#define MF_MAX_CONCURRENCY 1000

/*
 * Parse YAML or JSON into a libfyaml document without printing anything; syntax errors go to
 * @errs with their line and column. Return: the document, or NULL.
 */
struct fy_document *mf_load(const char *text, size_t len, struct manifest_errors *errs);

/**
 * struct mf_stream - the objects of a file, each as its own text.
 * @docs: malloc'd NUL-terminated texts
 * @n:    their number
 */
struct mf_stream {
	char **docs;
	size_t n;
};

/* The number of documents in a YAML or JSON stream, or -EINVAL when it does not parse. */
int mf_stream_count(const char *text, size_t len);
/*
 * Split a file into its objects: every document of a YAML stream, and every item of a
 * `kind: List`. Empty documents hold nothing and are skipped. Return: 0, -EINVAL (@errs says
 * why), -ENOMEM; mf_stream_close() @st after 0.
 */
int mf_stream_split(const char *text, size_t len, struct mf_stream *st,
		    struct manifest_errors *errs);
void mf_stream_close(struct mf_stream *st);

/* A libfyaml diagnostic object that prints nothing (libraries never print); fy_diag_destroy it. */
struct fy_diag *mf_quiet_diag(void);

/* snprintf for field paths, where cutting a long path is fine. */
void mf_pathf(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * nextapp_parse() without the value checks of nextapp_validate(): syntax, types, unknown and
 * missing fields only. Used by the CLI, whose flags may still change the values.
 */
int mf_parse_fields(struct nextapp *app, const char *text, size_t len,
		    struct manifest_errors *errs);

#endif
