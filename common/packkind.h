/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kinds of entry a compile-cache pack holds (cachefs/FORMAT.md, the entry table). Shared by the
 * pack's C code and knext-node's bootstrap JS, whose constants are generated from this file at
 * build time (supervisor/node/embed_js.py): keep one enumerator per line, "NAME = number,".
 */
#ifndef KNEXT_COMMON_PACKKIND_H
#define KNEXT_COMMON_PACKKIND_H

enum pack_kind {
	PACK_KIND_CODE_CACHE = 1,
	PACK_KIND_SOURCE = 2,
	PACK_KIND_RESOLUTION = 3,
	PACK_KIND_NCC_FILE = 4,
	PACK_KIND_IMPORT_SITES = 5,
	PACK_KIND_BUILTIN_CODE_CACHE = 6,
	PACK_KIND_SNAPSHOT_BLOB = 7,
	PACK_KIND_SNAPSHOT_ENV = 8,
	PACK_KIND_LAST = PACK_KIND_SNAPSHOT_ENV,
};

#endif
