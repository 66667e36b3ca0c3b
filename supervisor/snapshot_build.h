/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building the startup snapshot of a server at `knext-init cache warm --snapshot`: the warm-up run
 * records the CommonJS modules the server loads until its first 200 (record.js, preloaded), then
 * the official node builds a snapshot of them all in a separate process with a minimal environment
 * (build.js), and the blob and its environment record join the pack as kinds 7 and 8.
 */
#ifndef KNEXT_SNAPSHOT_BUILD_H
#define KNEXT_SNAPSHOT_BUILD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/**
 * struct snapshot_build - one build's scratch directory (the JS files, the module list, the blob).
 * @dir:    the directory, empty when none was made
 * @stored:   store the blob uncompressed in the pack (see README, "The startup snapshot")
 * @embedded: the builder is knext-node's build mode (KNEXT_SNAPSHOT_OUT), not `node
 *            --build-snapshot`
 * @warmup:   the URLs the builder serves in memory before the snapshot is taken, one a line
 *            (empty: a snapshot of the loaded server, not warmed up)
 * @warmup_manifest: the builder also serves the routes Next's manifests list as prerendered or
 *            static
 * @no_bytecode: knext-node leaves the functions' bytecode out of the blob (V8 compiles a function
 *            again when it is first called after the restore)
 */
struct snapshot_build {
	char dir[PATH_MAX];
	bool stored;
	bool embedded;
	char warmup[8192];
	bool warmup_manifest;
	bool no_bytecode;
};

/**
 * snapshot_build_init() - make the scratch directory and write the builder's JS into it.
 * @b: state to fill
 *
 * Return: 0 or -errno.
 */
int snapshot_build_init(struct snapshot_build *b);

/**
 * snapshot_build_record_env() - in the warm-up run's process (before exec): preload the recorder
 * through NODE_OPTIONS and run without require(esm), as the snapshot will.
 * @b: state
 *
 * Return: 0 or -errno.
 */
int snapshot_build_record_env(const struct snapshot_build *b);

/**
 * snapshot_build_run() - build the snapshot of the recorded modules and add it to the pack.
 * @b:    state, after a warm-up run that recorded the modules
 * @app:  the app directory (real path)
 * @node: the node command of the warm-up run (found in PATH like execvp() does)
 * @pack: the pack the warm-up run wrote; rewritten with the snapshot added
 *
 * A build whose warm-up fails is made again without it (one line says why). A build that fails
 * leaves the pack as it was and prints one line naming the module that broke it.
 *
 * Return: 0 or -errno.
 */
int snapshot_build_run(struct snapshot_build *b, const char *app, const char *node,
		       const char *pack);

/**
 * snapshot_build_record() - the record of the snapshot snapshot_build_run() built (kind 8).
 * @b:   state
 * @rec: receives the text, NUL-terminated, malloc()ed
 * @len: receives its length
 *
 * Return: 0 or -errno.
 */
int snapshot_build_record(const struct snapshot_build *b, char **rec, size_t *len);

/**
 * snapshot_build_close() - remove the scratch directory; idempotent.
 * @b: state
 */
void snapshot_build_close(struct snapshot_build *b);

/**
 * snapshot_find_exe() - the real path of the executable @name runs as (searching PATH as execvp()
 * does).
 * @name: a command name or path
 * @out:  PATH_MAX bytes
 *
 * Return: 0 or -ENOENT.
 */
int snapshot_find_exe(const char *name, char *out);

#endif
