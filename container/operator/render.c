// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "container/manifest/manifest.h"
#include "container/operator/render.h"

/* The NextApp as the manifest library reads it: what the user wrote, none of the server's fields. */
static json_t *user_view(json_t *app)
{
	json_t *meta = json_object_get(app, "metadata"), *view, *m;
	static const char *const keep[] = { "name", "namespace", "uid", "resourceVersion",
					    "generation" };
	size_t i;

	view = json_pack("{s:s,s:s,s:{},s:O?}", "apiVersion", NEXTAPP_API_VERSION, "kind",
			 NEXTAPP_KIND, "metadata", "spec", json_object_get(app, "spec"));
	if (!view)
		return NULL;
	m = json_object_get(view, "metadata");
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (json_object_get(meta, keep[i]))
			json_object_set(m, keep[i], json_object_get(meta, keep[i]));
	return view;
}

static void errors_text(const struct manifest_errors *errs, char *buf, size_t size)
{
	size_t used = 0;
	unsigned int i;
	int n;

	buf[0] = '\0';
	for (i = 0; i < errs->count && used < size; i++) {
		n = snprintf(buf + used, size - used, "%s%s: %s", i ? "; " : "", errs->list[i].path,
			     errs->list[i].reason);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static int finish(json_t *svc, struct render_result *res)
{
	json_t *meta = json_object_get(svc, "metadata"), *ann;
	char *text;

	/* Hash the canonical text, so key order in the library's output does not matter. */
	text = json_dumps(svc, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return -ENOMEM;
	snprintf(res->hash, sizeof(res->hash), "%016llx",
		 (unsigned long long)XXH3_64bits(text, strlen(text)));
	free(text);
	ann = json_object_get(meta, "annotations");
	if (!ann) {
		ann = json_object();
		if (json_object_set_new(meta, "annotations", ann))
			return -ENOMEM;
	}
	if (json_object_set_new(ann, RENDER_HASH_ANNOTATION, json_string(res->hash)))
		return -ENOMEM;
	return 0;
}

int render_nextapp(json_t *app, struct render_result *res)
{
	struct manifest_owner owner = { NEXTAPP_API_VERSION, NEXTAPP_KIND, NULL, NULL };
	struct render_opts opts = { .owner = &owner };
	struct manifest_errors errs;
	struct nextapp na;
	json_t *view, *svc;
	char *text = NULL;
	size_t len;
	int r;

	memset(res, 0, sizeof(*res));
	manifest_errors_reset(&errs);
	view = user_view(app);
	text = view ? json_dumps(view, JSON_COMPACT) : NULL;
	json_decref(view);
	if (!text)
		return -ENOMEM;
	r = nextapp_parse(&na, text, strlen(text), &errs);
	free(text);
	text = NULL;
	res->image_pinned = na.image && !nextapp_image_check(na.image, res->image_reason,
							     sizeof(res->image_reason));
	if (!na.image)
		snprintf(res->image_reason, sizeof(res->image_reason), "spec.image is missing");
	if (r == -ENOMEM)
		goto out;
	if (!r) {
		/* The ownerReference makes deleting the NextApp delete its Service. */
		owner.name = na.meta.name;
		owner.uid = na.meta.uid;
		r = manifest_render_checked(&na, &opts, MANIFEST_JSON, &text, &len, &errs);
	}
	if (r == -EINVAL) {
		snprintf(res->reason, sizeof(res->reason), "%s",
			 res->image_pinned ? "InvalidSpec" : "ImageNotPinned");
		errors_text(&errs, res->message, sizeof(res->message));
		goto out;
	}
	if (r)
		goto out;
	svc = json_loadb(text, len, 0, NULL);
	if (!svc) {
		r = -EBADMSG;
		snprintf(res->reason, sizeof(res->reason), "InvalidSpec");
		snprintf(res->message, sizeof(res->message), "rendered Service is not JSON");
		goto out;
	}
	r = finish(svc, res);
	if (r)
		json_decref(svc);
	else
		res->service = svc;
out:
	free(text);
	nextapp_close(&na);
	return r;
}

void render_result_close(struct render_result *res)
{
	json_decref(res->service);
	res->service = NULL;
}
