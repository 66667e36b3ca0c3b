// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the NextApp parser: any input must be parsed or refused with errors,
 * never crash or leak; whatever parses must render, and the render must pass the webhook
 * checks and render identically a second time. Files of several objects (YAML streams, Lists)
 * are split as the CLI splits them, and each object parsed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container/manifest/manifest.h"
#include "container/manifest/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest_errors errs;
	struct nextapp app;
	struct mf_stream st;
	struct render_opts flags = { 0 };
	char *a = NULL, *b = NULL;
	size_t la, lb, i;

	manifest_errors_reset(&errs);
	if (nextapp_parse(&app, (const char *)data, size, &errs) == 0) {
		if (manifest_render(&app, NULL, MANIFEST_YAML, &a, &la) != 0)
			abort();
		if (manifest_render(&app, NULL, MANIFEST_YAML, &b, &lb) != 0 || la != lb ||
		    memcmp(a, b, la))
			abort();
		/* Checked against the features the NextApp says its cluster has. */
		flags.field_ref = app.cluster.field_ref ? MANIFEST_FEATURE_ENABLED :
							  MANIFEST_FEATURE_DISABLED;
		if (manifest_check_service(a, la, &flags, NULL) != 0 &&
		    app.cache.mode != NEXTAPP_CACHE_PVC)
			abort();
		free(a);
		free(b);
	} else if (errs.count == 0) {
		abort(); /* a refusal always says why */
	}
	nextapp_close(&app);
	/* What the CLI does with a file: every object of a stream or a List. */
	manifest_errors_reset(&errs);
	if (mf_stream_split((const char *)data, size, &st, &errs) == 0) {
		for (i = 0; i < st.n; i++) {
			manifest_errors_reset(&errs);
			nextapp_parse(&app, st.docs[i], strlen(st.docs[i]), &errs);
			nextapp_close(&app);
		}
		mf_stream_close(&st);
	}
	/* The webhook checker reads outside input too. */
	manifest_errors_reset(&errs);
	manifest_check_service((const char *)data, size, NULL, &errs);
	return 0;
}
