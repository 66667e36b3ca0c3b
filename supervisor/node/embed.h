/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C face of the only C++ in the project: a small shim around libnode's node.h that starts one
 * Node.js environment, registers our N-API binding and runs a bootstrap script.
 */
#ifndef KNEXT_EMBED_H
#define KNEXT_EMBED_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/**
 * struct embed_args - what to run.
 * @argc, @argv:     process arguments as Node parses them (argv[0] = executable; Node options may
 *                   follow; the rest becomes process.argv)
 * @bootstrap:       UTF-8 source of the bootstrap script; it runs with the internal `require`
 *                   (builtins only) and `process` in scope
 * @binding_name:    name under which @binding_init is reachable as process._linkedBinding(name)
 * @binding_init:    N-API module register function of that binding
 * @lazy_openssl:    leave OpenSSL to initialise itself on first use (see embed.cc)
 * @builtins:        code cache for Node's own JavaScript, or NULL (see struct embed_builtins)
 */
struct embed_args {
	int argc;
	char **argv;
	const char *bootstrap;
	const char *binding_name;
	napi_addon_register_func binding_init;
	int lazy_openssl;
	const struct embed_builtins *builtins;
};

/**
 * struct embed_builtins - V8 code cache for Node's builtins (its own JavaScript), which Debian's
 * libnode compiles from source at every start.
 * @hash:   content hash of a builtin's source, as V8 holds it (Latin-1 or UTF-16 bytes)
 * @find:   the code cache recorded for builtin @id (e.g. "internal/bootstrap/node") with source
 *          hash @hash, or NULL; the bytes must stay valid for the life of the process
 * @record: keep every builtin compiled on the calling thread for embed_builtins_collect()
 */
struct embed_builtins {
	uint64_t (*hash)(const void *src, size_t len);
	const void *(*find)(const char *id, uint64_t hash, size_t *len);
	int record;
};

/**
 * struct embed_builtin_stats - what happened to the builtins compiled on the main thread.
 * @hit:      compiled from the code cache @find gave
 * @miss:     not in the cache, compiled from source
 * @rejected: cache given but refused by V8 (then compiled from source)
 */
struct embed_builtin_stats {
	unsigned hit, miss, rejected;
};

/**
 * typedef embed_builtin_sink - receives one builtin's fresh code cache from embed_builtins_collect().
 * Return: 0 to go on, nonzero to stop.
 */
typedef int (*embed_builtin_sink)(void *ctx, const char *id, uint64_t hash, const void *data,
				  size_t len);

#ifdef __cplusplus
extern "C" {
#endif

/**
 * embed_run() - initialise Node once, run the bootstrap, spin the event loop until it is empty.
 * @args: see struct embed_args
 *
 * Errors of Node's own initialisation are printed on stderr, as `node` prints them.
 *
 * Return: the process exit code the script asked for (process.exitCode / process.exit()), or 1
 * when Node could not start.
 */
int embed_run(const struct embed_args *args);

/**
 * embed_use_extra_ca_certs() - add the certificates in @file to Node's root store, as Node does
 * for NODE_EXTRA_CA_CERTS during an eager OpenSSL initialisation; call it before the first TLS
 * context is made.
 * @file: PEM file
 */
void embed_use_extra_ca_certs(const char *file);

/**
 * embed_builtins_collect() - serialise code cache for every builtin compiled so far on the main
 * thread (with struct embed_builtins.record set), the functions compiled lazily since included.
 * @sink: called once per builtin; the data is valid during the call only
 * @ctx:  passed to @sink
 *
 * Call it from JavaScript on the main thread (through the binding), with the isolate entered.
 *
 * Return: the number of builtins passed to @sink.
 */
unsigned embed_builtins_collect(embed_builtin_sink sink, void *ctx);

/**
 * embed_builtins_stats() - hits, misses and rejections of builtin code cache so far.
 * @out: filled
 */
void embed_builtins_stats(struct embed_builtin_stats *out);

#ifdef __cplusplus
}
#endif

#endif
