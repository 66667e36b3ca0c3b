/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by check.c (the Service, its metadata and pod spec) and check_ctr.c (containers): the
 * state of one manifest_check_service() call and the node helpers. Not part of the API.
 */
#ifndef KNEXT_MANIFEST_CHECK_H
#define KNEXT_MANIFEST_CHECK_H

#include <stdbool.h>

#include <libfyaml.h>

#include "container/manifest/manifest.h"

#define POD "spec.template.spec"
#define MAX_VOLUMES 64

/**
 * struct ck_vol - a declared volume, as the mounts need it.
 * @name:      its name, or NULL when invalid
 * @writable:  emptyDir, persistentVolumeClaim or ephemeral (the mount may be writable)
 * @pvc_ro:    a persistentVolumeClaim with readOnly: true
 */
struct ck_vol {
	const char *name;
	bool writable;
	bool pvc_ro;
};

/**
 * struct ck - one check.
 * @errs:      where problems go
 * @pvc:       kubernetes.podspec-persistent-volume-claim is enabled
 * @pvc_write: kubernetes.podspec-persistent-volume-write is enabled
 * @field_ref: kubernetes.podspec-fieldref is enabled
 * @vols:      the pod's volumes, @n_vols of them
 */
struct ck {
	struct manifest_errors *errs;
	bool pvc, pvc_write, field_ref;
	struct ck_vol vols[MAX_VOLUMES];
	int n_vols;
};

struct fy_node *ck_get(struct fy_node *map, const char *key);
/* A scalar's text (NUL-free), or NULL. */
const char *ck_str(struct fy_node *n);
/* A plain integer scalar. */
bool ck_num(struct fy_node *n, long *v);
/* A plain `true`. */
bool ck_true(struct fy_node *n);
/* Null, false, 0, "", [] or absent: what Go's decoding leaves at its zero value. */
bool ck_zero(struct fy_node *n);
/* knative.dev/pkg apis.CheckDisallowedFields against a mask that keeps only @keys. */
void ck_allowed(struct ck *c, struct fy_node *map, const char *path, const char *const *keys,
		const char *why);
/* The containers of the pod spec, checked (multi-container included). */
void ck_containers(struct ck *c, struct fy_node *pod);

#endif
