/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NextApp status the operator writes through the /status subresource:
 *
 *   status:
 *     observedGeneration: 3
 *     url: http://shop.default.example.com        # once Knative reports it
 *     latestRevision: shop-00003                  # the Knative Service's latest ready revision
 *     conditions:
 *     - type: ImagePinned | ServiceApplied | Ready
 *       status: "True" | "False" | "Unknown"
 *       reason, message, observedGeneration, lastTransitionTime
 *
 * lastTransitionTime only moves when a condition's status changes, so an unchanged world builds
 * an identical status and nothing is written.
 */
#ifndef KNEXT_OPERATOR_STATUS_H
#define KNEXT_OPERATOR_STATUS_H

#include <jansson.h>

#include "container/operator/render.h"

/**
 * struct status_input - what the status is built from.
 * @generation:   the NextApp's metadata.generation
 * @render:       the render result
 * @apply_err:    0, or the -errno of a failed apply
 * @apply_reason: what the server said when the apply failed
 * @service:      the live Knative Service, or NULL
 * @now:          RFC 3339 time for conditions that change now
 */
struct status_input {
	long long generation;
	const struct render_result *render;
	int apply_err;
	const char *apply_reason;
	json_t *service;
	const char *now;
};

/**
 * status_build() - the status a NextApp should have.
 * @old: the NextApp's current status, or NULL
 * @in:  inputs
 *
 * Return: a new status object, or NULL without memory.
 */
json_t *status_build(json_t *old, const struct status_input *in);

/**
 * status_now() - the current UTC time as RFC 3339 with seconds ("2026-01-02T03:04:05Z").
 * @buf: receives it
 * @len: size of @buf, at least 21
 */
void status_now(char *buf, size_t len);

#endif
