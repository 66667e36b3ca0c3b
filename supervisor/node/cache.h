/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The child's side of the compile cache: receive the sealed memfd PID 1 prefetched, look entries
 * up in it with zero copies, and write a fresh pack after warm-up. Exposed to the bootstrap as
 * functions of the `knext` binding (see binding.c).
 */
#ifndef KNEXT_NODE_CACHE_H
#define KNEXT_NODE_CACHE_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

struct knext_config;

/**
 * cache_init() - the settings a written pack needs (app directory, NODE_OPTIONS, size budget).
 * @cfg: knext-node's configuration; must live as long as the process
 */
void cache_init(const struct knext_config *cfg);

/**
 * cache_attach() - take the pack's memfd from PID 1 and map it, waiting up to @timeout_ms for
 * PID 1's word (once attached, later calls return at once).
 * @sock:       the notify socket PID 1's message arrives on (cachefs/handoff.h)
 * @timeout_ms: how long to wait
 * @why:        gets "attached N bytes" or why not
 * @n:          size of @why
 *
 * A wait that timed out may be tried again: PID 1's message stays queued. Once PID 1 has said
 * there is no pack, every later call says why at once.
 *
 * Return: 1 when the pack is mapped, 0 otherwise.
 */
int cache_attach(int sock, int timeout_ms, char *why, size_t n);

/**
 * cache_hash() - the content hash of pack keys (XXH3-64).
 * @data: bytes
 * @len:  their number
 *
 * Return: the hash.
 */
uint64_t cache_hash(const void *data, size_t len);

/**
 * cache_find_builtin() - code cache of Node builtin @id with source hash @hash in the mapped pack.
 * @id:   builtin id, e.g. "internal/bootstrap/node"
 * @hash: cache_hash() of its source as V8 holds it
 * @len:  gets the size
 *
 * Return: the bytes (valid for the life of the process), or NULL.
 */
const void *cache_find_builtin(const char *id, uint64_t hash, size_t *len);

/**
 * cache_find_snapshot() - the startup snapshot blob for this runtime in the mapped pack (kind
 * PACK_KIND_SNAPSHOT_BLOB, SNAPSHOT_BLOB_PATH, content hash snapshot_blob_hash(), supervisor/snapshot.h).
 * @len: gets its size
 *
 * Return: the bytes (valid for the life of the process), or NULL.
 */
const void *cache_find_snapshot(size_t *len);

/**
 * cache_define() - add hash(), cacheAttach(), cacheLookup(), writePack(), builtinCodeCache() and
 * builtinStats() to @exports.
 * @env:     N-API environment
 * @exports: the binding's exports
 * @sock:    the notify socket cacheAttach() waits on, -1 for none
 *
 * Return: 0, or -EINVAL when N-API refused a property.
 */
int cache_define(napi_env env, napi_value exports, int sock);

#endif
