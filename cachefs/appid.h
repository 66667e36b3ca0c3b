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

#endif
