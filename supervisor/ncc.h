/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exec mode with a modern `node` (>= 22.1): its own compile cache (NODE_COMPILE_CACHE, a directory
 * of small files) is kept as one pack. With KNEXT_NCC_PACK=PATH, knext-init restores the pack into
 * a scratch directory before the child starts, points NODE_COMPILE_CACHE at it, and when the main
 * child has exited (Node writes its cache at exit) packs the directory back, atomically.
 */
#ifndef KNEXT_NCC_H
#define KNEXT_NCC_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "supervisor/config.h"

/**
 * struct ncc - one materialised NODE_COMPILE_CACHE directory.
 * @on:        KNEXT_NCC_PACK was given and the directory exists
 * @writeback: KNEXT_NCC_WRITEBACK: pack the directory back when the child has exited
 * @max_bytes: KNEXT_CACHE_MAX_BYTES, the written pack's budget
 * @pack:      the pack's path
 * @dir:       the scratch directory exported as NODE_COMPILE_CACHE
 */
struct ncc {
	bool on;
	bool writeback;
	uint64_t max_bytes;
	char pack[PATH_MAX];
	char dir[PATH_MAX];
};

/**
 * ncc_prepare() - restore KNEXT_NCC_PACK (if any) into a fresh scratch directory under
 * KNEXT_SCRATCH_DIR (default /dev/shm when writable, else /tmp) and export NODE_COMPILE_CACHE; a
 * missing or invalid pack leaves the directory empty (Node compiles and fills it).
 * @n:   state to fill
 * @cfg: the configuration (@cfg->ncc_pack, @cfg->scratch_dir, @cfg->ncc_writeback)
 *
 * Return: 0 (also without KNEXT_NCC_PACK: then @n->on is false), or -errno when no scratch
 * directory could be made (the child then runs without a compile cache).
 */
int ncc_prepare(struct ncc *n, const struct knext_config *cfg);

/**
 * ncc_collect() - pack the directory back into KNEXT_NCC_PACK (temp file, fsync, rename) and
 * remove it; failures leave the old pack as it was and are logged. KNEXT_NCC_WRITEBACK=0 only
 * removes it.
 * @n: state from ncc_prepare(); does nothing when @n->on is false; idempotent
 *
 * Return: 0 or -errno.
 */
int ncc_collect(struct ncc *n);

#endif
