/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The identity a compile-cache pack is checked against (cachefs/pack.h): which runtime and which
 * app build. Computed the same way by PID 1 (to choose a pack) and by knext-node (to write one).
 */
#ifndef KNEXT_CACHEFS_APPID_H
#define KNEXT_CACHEFS_APPID_H

#include "cachefs/pack.h"

/* The runtime knext-node embeds (its version comes from the caller: the runtime's headers). */
#define APPID_RUNTIME_NAME "node"

/**
 * appid_fill() - fill @id for the app in @app_dir and the embedded runtime.
 * @id:              identity to fill; v8_tag is left 0 (only V8 itself knows it)
 * @app_dir:         the Next.js standalone directory
 * @runtime_version: the embedded runtime's process.version, e.g. "v18.20.4"
 * @node_options:    $NODE_OPTIONS as knext-node gets it, NULL when unset
 *
 * build_id is the content of .next/BUILD_ID; app_files_hash is XXH3-64 of
 * .next/required-server-files.json (Next's own list of what the server needs, rewritten by every
 * build); v8_flags_hash is XXH3-64 of @node_options, the only source of V8 flags knext-node takes.
 * Missing files leave their field empty, which still matches a pack made the same way.
 *
 * Return: 0, or -ENAMETOOLONG.
 */
int appid_fill(struct pack_identity *id, const char *app_dir, const char *runtime_version,
	       const char *node_options);

/**
 * appid_bind_image() - tie @id to the image the app runs from, as PVC packs are.
 * @id:    identity from appid_fill()
 * @image: the pinned image reference (KNEXT_IMAGE); NULL or "" leaves @id as it is
 *
 * The header has no field left for it: the reference is folded into app_files_hash (XXH3-64 of
 * @image seeded with the hash of the file list). A pack baked into the image cannot know the
 * image's digest and is never bound; a PVC pack outlives images and always is when the image is
 * known, so a pod never takes a PVC pack another image wrote.
 */
void appid_bind_image(struct pack_identity *id, const char *image);

#endif
