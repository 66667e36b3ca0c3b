// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "container/operator/status.h"

void status_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *find_condition(json_t *conds, const char *type)
{
	json_t *c;
	size_t i;

	json_array_foreach(conds, i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));

		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

static void add_condition(json_t *conds, json_t *old_conds, const struct status_input *in,
			  const char *type, const char *status, const char *reason,
			  const char *message)
{
	json_t *old = find_condition(old_conds, type);
	const char *old_status = json_string_value(json_object_get(old, "status"));
	const char *since = json_string_value(json_object_get(old, "lastTransitionTime"));

	if (!old_status || strcmp(old_status, status) || !since)
		since = in->now;
	json_array_append_new(conds,
			      json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "type", type, "status", status,
					"reason", reason, "message", message ? message : "",
					"observedGeneration", (json_int_t)in->generation,
					"lastTransitionTime", since));
}

/* The Knative Service's Ready condition, when its status describes its current spec. */
static json_t *knative_ready(json_t *svc)
{
	json_t *st = json_object_get(svc, "status");
	json_t *gen = json_object_get(json_object_get(svc, "metadata"), "generation");
	json_t *seen = json_object_get(st, "observedGeneration");

	if (!st || (gen && (!seen || json_integer_value(seen) != json_integer_value(gen))))
		return NULL;
	return find_condition(json_object_get(st, "conditions"), "Ready");
}

json_t *status_build(json_t *old, const struct status_input *in)
{
	const struct render_result *rr = in->render;
	json_t *old_conds = json_object_get(old, "conditions");
	json_t *st, *conds, *ready, *svc_st;
	const char *url, *rev, *ks, *kreason, *kmsg;

	st = json_pack("{s:I}", "observedGeneration", (json_int_t)in->generation);
	conds = json_array();
	if (!st || !conds || json_object_set_new(st, "conditions", conds)) {
		json_decref(st);
		return NULL;
	}
	if (rr->image_pinned)
		add_condition(conds, old_conds, in, "ImagePinned", "True", "DigestPinned",
			      "spec.image is pinned by digest");
	else
		add_condition(conds, old_conds, in, "ImagePinned", "False", "ImageNotPinned",
			      rr->image_reason);

	if (!rr->service) {
		add_condition(conds, old_conds, in, "ServiceApplied", "False", rr->reason,
			      rr->message);
		add_condition(conds, old_conds, in, "Ready", "False", rr->reason, rr->message);
	} else if (in->apply_err) {
		add_condition(conds, old_conds, in, "ServiceApplied", "False", "ApplyFailed",
			      in->apply_reason);
		add_condition(conds, old_conds, in, "Ready", "Unknown", "ApplyFailed",
			      in->apply_reason);
	} else {
		add_condition(conds, old_conds, in, "ServiceApplied", "True", "Applied",
			      "the Knative Service matches the NextApp");
		ready = knative_ready(in->service);
		ks = json_string_value(json_object_get(ready, "status"));
		kreason = json_string_value(json_object_get(ready, "reason"));
		kmsg = json_string_value(json_object_get(ready, "message"));
		if (ks && !strcmp(ks, "True"))
			add_condition(conds, old_conds, in, "Ready", "True", "ServiceReady",
				      "the Knative Service is ready");
		else if (ks && !strcmp(ks, "False"))
			add_condition(conds, old_conds, in, "Ready", "False",
				      kreason ? kreason : "ServiceNotReady", kmsg);
		else
			add_condition(conds, old_conds, in, "Ready", "Unknown", "ServiceNotReady",
				      "waiting for the Knative Service to become ready");
	}

	/* The URL and revision stay what Knative last reported, even while a change rolls out. */
	svc_st = json_object_get(in->service, "status");
	url = json_string_value(json_object_get(svc_st, "url"));
	rev = json_string_value(json_object_get(svc_st, "latestReadyRevisionName"));
	if (url)
		json_object_set_new(st, "url", json_string(url));
	if (rev)
		json_object_set_new(st, "latestRevision", json_string(rev));
	return st;
}
