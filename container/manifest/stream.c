// SPDX-License-Identifier: Apache-2.0
/*
 * Files holding more than one object: a YAML stream ("---" between documents) or a Kubernetes
 * List ({"kind": "List", "items": [...]}). Every object is handed on; none is dropped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "container/manifest/manifest.h"
#include "container/manifest/internal.h"

int mf_stream_count(const char *text, size_t len)
{
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET };
	struct fy_parser *fyp;
	struct fy_event *ev;
	int n = 0;

	/* libfyaml 0.7 loops forever on some invalid UTF-8: never hand it any (see mf_load). */
	if (manifest_utf8_prefix((const unsigned char *)text, len) != len)
		return -EINVAL;
	cfg.diag = mf_quiet_diag();
	if (!cfg.diag)
		return -ENOMEM;
	fyp = fy_parser_create(&cfg);
	if (!fyp) {
		fy_diag_destroy(cfg.diag);
		return -ENOMEM;
	}
	if (fy_parser_set_string(fyp, text, len)) {
		n = -EINVAL;
		goto out;
	}
	while ((ev = fy_parser_parse(fyp)) != NULL) {
		n += ev->type == FYET_DOCUMENT_START;
		fy_parser_event_free(fyp, ev);
	}
	n = fy_parser_get_stream_error(fyp) ? -EINVAL : n;
out:
	fy_parser_destroy(fyp);
	/* destroy, not unref, and after the parser: only destroy frees the collected errors */
	fy_diag_destroy(cfg.diag);
	return n;
}

static int push(struct mf_stream *st, char *text)
{
	char **grown;

	if (!text)
		return -ENOMEM;
	grown = realloc(st->docs, (st->n + 1) * sizeof(*grown));
	if (!grown) {
		free(text);
		return -ENOMEM;
	}
	st->docs = grown;
	st->docs[st->n++] = text;
	return 0;
}

static bool is_list(struct fy_node *root)
{
	struct fy_node *kind = fy_node_mapping_lookup_by_string(root, "kind", 4);
	const char *s =
		kind && fy_node_get_type(kind) == FYNT_SCALAR ? fy_node_get_scalar0(kind) : NULL;

	return s && !strcmp(s, "List");
}

int mf_stream_split(const char *text, size_t len, struct mf_stream *st,
		    struct manifest_errors *errs)
{
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET };
	struct fy_document *fyd;
	struct fy_node *root, *items, *item;
	struct fy_parser *fyp;
	void *it;
	int r = 0, count;

	memset(st, 0, sizeof(*st));
	/* Syntax errors are reported with their line by the one-document loader. */
	count = mf_stream_count(text, len);
	if (count < 0 || manifest_utf8_prefix((const unsigned char *)text, len) != len) {
		fyd = mf_load(text, len, errs);
		if (fyd)
			fy_document_destroy(fyd);
		return -EINVAL;
	}
	cfg.diag = mf_quiet_diag();
	if (!cfg.diag)
		return -ENOMEM;
	/* A document that starts like JSON is parsed by JSON's rules, as in mf_load(). */
	for (it = (void *)text;
	     (size_t)((const char *)it - text) < len && strchr(" \t\r\n", *(const char *)it);
	     it = (char *)it + 1)
		;
	if ((size_t)((const char *)it - text) < len && *(const char *)it == '{')
		cfg.flags |= FYPCF_JSON_FORCE;
	fyp = fy_parser_create(&cfg);
	if (!fyp || fy_parser_set_string(fyp, text, len)) {
		r = fyp ? -EINVAL : -ENOMEM;
		goto out;
	}
	while (!r && (fyd = fy_parse_load_document(fyp)) != NULL) {
		root = fy_document_root(fyd);
		items = root && fy_node_get_type(root) == FYNT_MAPPING && is_list(root) ?
				fy_node_mapping_lookup_by_string(root, "items", 5) :
				NULL;
		if (items && fy_node_get_type(items) == FYNT_SEQUENCE) {
			it = NULL;
			while (!r && (item = fy_node_sequence_iterate(items, &it)) != NULL)
				r = push(st, fy_emit_node_to_string(item, FYECF_MODE_ORIGINAL |
										  FYECF_WIDTH_INF));
		} else if (root && !(fy_node_get_type(root) == FYNT_SCALAR &&
				     fy_node_get_style(root) == FYNS_PLAIN &&
				     !*fy_node_get_scalar0(root))) {
			/* An empty document ("---" at the end) holds nothing to drop. */
			r = push(st, fy_emit_document_to_string(fyd, FYECF_MODE_ORIGINAL |
									     FYECF_WIDTH_INF));
		}
		fy_parse_document_destroy(fyp, fyd);
	}
	if (!r && fy_parser_get_stream_error(fyp))
		r = -EINVAL;
out:
	if (fyp)
		fy_parser_destroy(fyp);
	fy_diag_destroy(cfg.diag);
	if (r == -EINVAL)
		manifest_errors_add(errs, "(document)", "not a YAML or JSON stream");
	if (r)
		mf_stream_close(st);
	return r;
}

void mf_stream_close(struct mf_stream *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		free(st->docs[i]);
	free(st->docs);
	memset(st, 0, sizeof(*st));
}
