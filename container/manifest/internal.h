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
/* A Kubernetes quantity such as "500m", "1", "1.5", "256Mi". */
bool mf_quantity(const char *s);
/* A Go duration made of integer units ("90s", "1m30s", "1h"); sets @seconds. */
bool mf_duration(const char *s, long long *seconds);
/* Knative's limit on revision timeoutSeconds with stock config (max-revision-timeout-seconds). */
#define MF_MAX_TIMEOUT_SECONDS 600
/* Knative's container-concurrency-max-limit with stock config. */
#define MF_MAX_CONCURRENCY 1000

/*
 * Parse YAML or JSON into a libfyaml document without printing anything; syntax errors go to
 * @errs with their line and column. Return: the document, or NULL.
 */
struct fy_document *mf_load(const char *text, size_t len, struct manifest_errors *errs);

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
