// SPDX-License-Identifier: Apache-2.0
/*
 * Loading YAML or JSON into a libfyaml document: UTF-8 checked first, diagnostics collected
 * instead of printed, one document per text.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libfyaml.h>

#include "container/manifest/manifest.h"
#include "container/manifest/internal.h"

static void discard_cb(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
}

struct fy_diag *mf_quiet_diag(void)
{
	struct fy_diag_cfg dcfg;
	struct fy_diag *diag;

	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = discard_cb;
	dcfg.colorize = false;
	diag = fy_diag_create(&dcfg);
	if (diag)
		fy_diag_set_collect_errors(diag, true);
	return diag;
}

struct fy_document *mf_load(const char *text, size_t len, struct manifest_errors *errs)
{
	struct fy_diag_error *e;
	struct fy_parse_cfg pcfg;
	struct fy_document *fyd;
	struct fy_diag *diag;
	void *it = NULL;
	size_t i = 0;
	int reported = 0;

	/*
	 * Kubernetes objects are UTF-8; refusing anything else here also keeps malformed bytes
	 * away from libfyaml 0.7's scanner, which loops forever on some of them (in a directive).
	 */
	i = manifest_utf8_prefix((const unsigned char *)text, len);
	if (i != len) {
		manifest_errors_add(errs, "(document)", "not valid UTF-8 at byte %zu", i);
		return NULL;
	}
	diag = mf_quiet_diag();
	if (!diag) {
		manifest_errors_add(errs, "(document)", "out of memory");
		return NULL;
	}

	memset(&pcfg, 0, sizeof(pcfg));
	pcfg.flags = FYPCF_QUIET;
	/* A document that starts like JSON is parsed by JSON's rules (tabs, no YAML-only forms). */
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
		i++;
	if (i < len && text[i] == '{')
		pcfg.flags |= FYPCF_JSON_FORCE;
	pcfg.diag = diag;

	fyd = len ? fy_document_build_from_string(&pcfg, text, len) : NULL;
	if (!fyd) {
		while ((e = fy_diag_errors_iterate(diag, &it)) != NULL && reported < 3) {
			manifest_errors_add(errs, "(document)", "line %d, column %d: %s",
					    e->line + 1, e->column + 1, e->msg);
			reported++;
		}
		if (!reported)
			manifest_errors_add(errs, "(document)",
					    len ? "not a YAML or JSON document" : "empty document");
	}
	/* destroy, not unref: only destroy frees the collected errors */
	fy_diag_destroy(diag);
	/* One object per call: a second document is refused, never silently dropped. */
	if (fyd && mf_stream_count(text, len) > 1) {
		manifest_errors_add(errs, "(document)",
				    "holds more than one document: give one object per call "
				    "(knext-init manifest renders every document of a file)");
		fy_document_destroy(fyd);
		fyd = NULL;
	}
	return fyd;
}
