/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The operator's side of the manifest library: a NextApp as the API server returns it in, the
 * Service to apply out (with its ownerReference and a content hash annotation), or the reason the
 * NextApp cannot become one.
 */
#ifndef KNEXT_OPERATOR_RENDER_H
#define KNEXT_OPERATOR_RENDER_H

#include <stdbool.h>

#include <jansson.h>

/* Annotation on every applied Service: hash of what was rendered, to skip unchanged applies. */
#define RENDER_HASH_ANNOTATION "knext.dev/rendered-hash"

/**
 * struct render_result - what one NextApp renders to.
 * @service:      the Service to apply, or NULL when the NextApp is invalid
 * @hash:         hex XXH3-64 of the rendered Service, before the annotation was added
 * @image_pinned: spec.image is pinned by digest
 * @image_reason: why the image is not pinned, empty when it is
 * @reason:       "InvalidSpec" or "ImageNotPinned" when @service is NULL, else empty
 * @message:      the problems, "path: reason" separated by "; "
 */
struct render_result {
	json_t *service;
	char hash[17];
	bool image_pinned;
	char image_reason[256];
	char reason[32];
	char message[1024];
};

/**
 * render_nextapp() - render the Knative Service of a NextApp.
 * @app: the NextApp object from the API server (status, managedFields, ... are ignored)
 * @res: receives the result; render_result_close() it
 *
 * Return: 0 with @res->service set; -EINVAL for an invalid NextApp (@res says why); -ENOMEM.
 */
int render_nextapp(json_t *app, struct render_result *res);

/**
 * render_result_close() - free a result. Idempotent.
 * @res: the result
 */
void render_result_close(struct render_result *res);

#endif
