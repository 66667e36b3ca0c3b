/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The child's side of the compile cache: receive the sealed memfd PID 1 prefetched, look entries
 * up in it with zero copies, and write a fresh pack after warm-up. Exposed to the bootstrap as
 * functions of the `knext` binding (see binding.c).
 */
#ifndef KNEXT_NODE_CACHE_H
#define KNEXT_NODE_CACHE_H

#include <node_api.h>

/**
 * cache_define() - add hash(), cacheAttach(), cacheLookup() and writePack() to @exports.
 * @env:     N-API environment
 * @exports: the binding's exports
 *
 * Return: 0, or -EINVAL when N-API refused a property.
 */
int cache_define(napi_env env, napi_value exports);

#endif
