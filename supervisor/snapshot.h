/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The startup snapshot of the server in a pack (kinds 7 and 8, cachefs/FORMAT.md): the check that
 * a pod may use it (same app path, same runtime binary, same values of every environment variable
 * the modules read while the snapshot was built), and exec mode's use of it: the blob in a memfd,
 * handed to `node` as `--snapshot-blob /proc/self/fd/N`. How a snapshot is built: snapshot_build.h.
 */
#ifndef KNEXT_SNAPSHOT_H
#define KNEXT_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#define SNAPSHOT_MAX_ARGS 256
#define SNAPSHOT_BLOB_PATH "snapshot.blob"
#define SNAPSHOT_ENV_PATH "snapshot.env"
#define SNAPSHOT_ENV_HASH 0 /* the blob's content hash names its runtime: snapshot_blob_hash() */

/**
 * snapshot_env_check() - whether a snapshot's record (kind 8) fits this pod.
 * @rec:     the record, "key value" lines (FORMAT.md)
 * @len:     bytes of @rec
 * @app:     the app directory this start runs (real path)
 * @exe:     the runtime binary this start runs (real path), or NULL to skip that check
 * @why:     receives why not, one sentence naming every variable that differs
 * @why_len: bytes of @why
 *
 * The environment is the process's own (getenv()).
 *
 * Return: 0 when the snapshot may be used, -ESTALE when it may not (@why says why), -EBADMSG for
 * a record that cannot be read.
 */
int snapshot_env_check(const char *rec, size_t len, const char *app, const char *exe, char *why,
		       size_t why_len);

/**
 * snapshot_env_apply() - make the process's environment the one a snapshot's record describes:
 * every variable recorded unset is removed, every one recorded with a value gets it; the rest is
 * left alone. For `cache warm`'s run restored from the snapshot it just built, whatever the
 * environment of the image build (a CI runner's CI=true, say).
 * @rec: the record, "key value" lines (FORMAT.md)
 * @len: bytes of @rec
 *
 * Return: 0, -EBADMSG for a line that cannot be read or a name that cannot be set, -ENOMEM.
 */
int snapshot_env_apply(const char *rec, size_t len);

/**
 * snapshot_blob_hash() - the content hash of a blob made by a runtime (kind 7 entries): XXH3-64 of
 * "node-VERSION-ARCH", e.g. "node-24.22.3-x64" (VERSION without "v", ARCH as process.arch).
 * @version: e.g. "24.22.3"
 * @arch:    e.g. "x64"
 *
 * Return: the hash.
 */
uint64_t snapshot_blob_hash(const char *version, const char *arch);

/**
 * struct snapshot_exec - exec mode's snapshot: the blob in a memfd and the command that uses it.
 * @fd:     the memfd, or -1
 * @fd_arg: "/proc/self/fd/N"
 * @argv:   the command with the snapshot's node options after argv[0]
 */
struct snapshot_exec {
	int fd;
	char fd_arg[32];
	char *argv[SNAPSHOT_MAX_ARGS];
};

/**
 * snapshot_exec_prepare() - use a pack's snapshot for `node SCRIPT...` when it fits this start.
 * @s:    state to fill
 * @pack: the pack (KNEXT_NCC_PACK), may be NULL
 * @cmd:  the command knext-init runs
 *
 * Uses it only when @cmd runs the very node binary that built the snapshot on a script in the app
 * directory it was built for, and snapshot_env_check() agrees; logs one line either way when the
 * pack has a snapshot.
 *
 * Return: 1 with @s->argv to run, 0 when the command runs as given.
 */
int snapshot_exec_prepare(struct snapshot_exec *s, const char *pack, char *const *cmd);

/**
 * snapshot_exec_close() - close the memfd (after the spawn: the child holds its own copy);
 * idempotent.
 * @s: state
 */
void snapshot_exec_close(struct snapshot_exec *s);

#endif
