/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the pack comes from at start: KNEXT_PACK (explicit) -> the PVC pack in KNEXT_CACHE_DIR that
 * matches this app and runtime -> the pack baked into the image at $KNEXT_APP_DIR/.knext/cache.pack
 * -> none, which is a normal cold start. The caller passes the settings (supervisor/config.h). Defaults come from common/defaults.h.
 */
#ifndef KNEXT_CACHEFS_SOURCE_H
#define KNEXT_CACHEFS_SOURCE_H

#include <limits.h>

#include "common/defaults.h"
#include "cachefs/pack.h"

#define PACK_PVC_NAME KNEXT_PACK_FILE_NAME /* the pack's file name inside KNEXT_CACHE_DIR */

enum pack_origin {
	PACK_ORIGIN_NONE = 0,
	PACK_ORIGIN_EXPLICIT, /* KNEXT_PACK */
	PACK_ORIGIN_PVC, /* KNEXT_CACHE_DIR */
	PACK_ORIGIN_IMAGE, /* baked into the image */
};

/**
 * struct pack_source - the pack chosen at start.
 * @origin:  where it comes from; PACK_ORIGIN_NONE for a cold start
 * @path:    the pack file, empty for none
 * @skipped: why earlier candidates were passed over ("" when none was), for one log line
 */
struct pack_source {
	enum pack_origin origin;
	char path[PATH_MAX];
	char skipped[2 * PACK_REASON_MAX];
};

/**
 * pack_source_select() - pick the first usable pack in the start-up order.
 * @s:         filled
 * @want:      this app's and runtime's identity
 * @want_pvc:  the identity a PVC pack must have (@want bound to the image, appid_bind_image()),
 *             NULL for @want
 * @pack:      an explicit pack (KNEXT_PACK), NULL or "" for none
 * @cache_dir: the PVC mount (KNEXT_CACHE_DIR), NULL or "" for KNEXT_DEFAULT_CACHE_DIR
 * @app_dir:   the app directory, NULL or "" for KNEXT_DEFAULT_APP_DIR
 *
 * Each candidate's header is read (one small read) and checked for structure and identity; the
 * full check happens during prefetch. Missing or mismatched packs are skipped.
 *
 * Return: 0 (also when nothing was found: @s->origin is PACK_ORIGIN_NONE).
 */
int pack_source_select(struct pack_source *s, const struct pack_identity *want,
		       const struct pack_identity *want_pvc, const char *pack,
		       const char *cache_dir, const char *app_dir);

/**
 * pack_source_next() - after the chosen pack failed (e.g. a frame checksum during prefetch), pick
 * the first usable candidate after it in the start-up order.
 * @s:         the previous choice; refilled (@s->skipped says only what this call passed over)
 * @want:      as for pack_source_select()
 * @want_pvc:  as for pack_source_select()
 * @pack:      as for pack_source_select()
 * @cache_dir: as for pack_source_select()
 * @app_dir:   as for pack_source_select()
 *
 * Return: 0 (@s->origin is PACK_ORIGIN_NONE when nothing is left).
 */
int pack_source_next(struct pack_source *s, const struct pack_identity *want,
		     const struct pack_identity *want_pvc, const char *pack, const char *cache_dir,
		     const char *app_dir);

/**
 * pack_source_check() - check one candidate's header and identity without reading the payload.
 * @path:    candidate pack
 * @want:    identity to match, NULL for any
 * @why:     receives the reason it is unusable
 * @why_len: bytes of @why
 *
 * Return: 0 when usable, -errno otherwise.
 */
int pack_source_check(const char *path, const struct pack_identity *want, char *why,
		      size_t why_len);

/**
 * pack_origin_name() - "explicit", "pvc", "image" or "none".
 * @o: origin
 *
 * Return: a static string.
 */
const char *pack_origin_name(enum pack_origin o);

#endif
