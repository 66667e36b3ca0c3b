// SPDX-License-Identifier: Apache-2.0
/*
 * The operator's image against the fake API server: $KNEXT_OPERATOR is a command that runs
 * localhost/knext-operator:dev (image.sh writes it: podman run, host network, read-only root,
 * non-root, the kubeconfig mounted). A NextApp must become a Ready Knative Service that passes
 * the webhook rules, the operator must say it is ready, and SIGTERM must end it with 0.
 * Prints TAP lines numbered from argv[1] on; exits 1 when one failed.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/manifest/manifest.h"
#include "tests/operator/harness.h"

#define NS "shop-ns"
#define NAME "shop"

static struct harness h;
static int n, failed;

static void tap(bool ok, const char *what)
{
	printf("%sok %d - operator image: %s\n", ok ? "" : "not ", ++n, what);
	fflush(stdout);
	failed += !ok;
}

static const char *condition(json_t *app, const char *type)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(json_object_get(app, "status"), "conditions"), i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));

		if (t && !strcmp(t, type))
			return json_string_value(json_object_get(c, "status"));
	}
	return NULL;
}

static bool ready_cb(struct harness *hh, void *ud)
{
	char body[256];

	return harness_http_get(hh, "/readyz", body, sizeof(body)) == 200;
}

/* The NextApp is Ready, its status names the Service's URL, and the Service is owned by it. */
static bool converged_cb(struct harness *hh, void *ud)
{
	json_t *app = fake_get_app(&hh->fake, NS, NAME),
	       *svc = fake_get_service(&hh->fake, NS, NAME);
	const char *ready = condition(app, "Ready");
	const char *url = json_string_value(json_object_get(json_object_get(app, "status"), "url"));
	const char *uid =
		json_string_value(json_object_get(json_object_get(app, "metadata"), "uid"));
	json_t *ref = json_array_get(
		json_object_get(json_object_get(svc, "metadata"), "ownerReferences"), 0);
	const char *owner = json_string_value(json_object_get(ref, "uid"));
	bool ok = app && svc && ready && !strcmp(ready, "True") && url && strstr(url, NAME) &&
		  uid && owner && !strcmp(uid, owner);

	json_decref(app);
	json_decref(svc);
	return ok;
}

static void log_tail(void)
{
	char path[512], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/operator.log", h.dir);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f))
		printf("#   %s", line);
	fclose(f);
}

int main(int argc, char **argv)
{
	struct manifest_errors errs;
	json_t *svc;
	char *text;
	bool ok;

	n = argc > 1 ? atoi(argv[1]) - 1 : 0;
	if (harness_init(&h, false) < 0) {
		tap(false, "fake API server started");
		return 1;
	}
	if (harness_start(&h, NULL) < 0) {
		tap(false, "operator container started ($KNEXT_OPERATOR)");
		harness_close(&h);
		return 1;
	}
	fake_put_app(&h.fake, NS, NAME, app_spec(0));
	/* Generous: the container starts cold on a shared two-core machine. */
	tap(harness_wait(ready_cb, &h, NULL, 60000), "/readyz answers 200 (both informers synced)");
	ok = harness_wait(converged_cb, &h, NULL, 30000);
	tap(ok, "a NextApp becomes a Ready Knative Service it owns");
	svc = fake_get_service(&h.fake, NS, NAME);
	text = svc ? json_dumps(svc, JSON_COMPACT) : NULL;
	manifest_errors_reset(&errs);
	tap(text && manifest_check_service(text, strlen(text), NULL, &errs) == 0 &&
		    fake_bad_requests(&h.fake) == 0,
	    "the applied Service passes the webhook rules; every request was well-formed");
	free(text);
	json_decref(svc);
	tap(harness_stop(&h, 10000) == 0, "SIGTERM ends it with exit 0");
	if (failed)
		log_tail();
	harness_close(&h);
	return failed ? 1 : 0;
}
