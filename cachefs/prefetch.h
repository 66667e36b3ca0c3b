/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prefetch: read a pack with io_uring (large reads, several in flight; pread when io_uring is
 * unavailable or the caller says so, as KNEXT_IO=pread does), decompress its frames on two threads as they arrive, straight into
 * a sealed memfd laid out as in packmem.h. prefetch_start() only starts a thread and returns; all
 * I/O happens off the caller's thread. Format in cachefs/FORMAT.md.
 */
#ifndef KNEXT_CACHEFS_PREFETCH_H
#define KNEXT_CACHEFS_PREFETCH_H

#include <pthread.h>
#include <stdint.h>

#include "cachefs/pack.h"

/**
 * struct prefetch_opts - optional knobs; a NULL opts means the defaults.
 * @want:        identity the pack must match (NULL: accept any)
 * @force_pread: 1 to skip io_uring, as KNEXT_IO=pread does
 * @chunk_size:  bytes per read (default 256 KiB)
 * @depth:       reads in flight (default 16; never more than a 6 MiB window ahead of decoding)
 */
struct prefetch_opts {
	const struct pack_identity *want;
	int force_pread;
	uint32_t chunk_size;
	uint32_t depth;
};

struct prefetch_run;

/**
 * struct prefetch - one prefetch. Caller-allocated; the fields are filled when the prefetch ends,
 * so read them only after prefetch_wait().
 * @memfd:          the sealed memfd (CLOEXEC; dup2 it into the child), -1 unless successful
 * @size:           bytes of @memfd
 * @entry_count:    entries in the pack
 * @raw_size:       decompressed payload bytes
 * @file_size:      bytes read from disk
 * @used_fallback:  1 when pread was used instead of io_uring
 * @fallback_reason: why, for the caller's one log line
 * @reason:         why prefetch failed
 * @ms_total:       start to finish, in ms
 */
struct prefetch {
	int memfd;
	uint64_t size;
	uint32_t entry_count;
	uint64_t raw_size;
	uint64_t file_size;
	int used_fallback;
	char fallback_reason[96];
	char reason[PACK_REASON_MAX];
	double ms_total;
	int result;
	struct prefetch_run *run; /* private; must stay the last field */
};

/**
 * prefetch_start() - start reading @path in the background.
 * @p:    caller-allocated state
 * @path: the pack
 * @opts: NULL or options (copied)
 *
 * Return: 0 when the thread started, or -errno (then @p needs no prefetch_close()).
 */
int prefetch_start(struct prefetch *p, const char *path, const struct prefetch_opts *opts);

/**
 * prefetch_wait() - wait until the memfd is complete and sealed, or prefetch failed.
 * @p: state from prefetch_start()
 *
 * Return: 0, or -errno with @p->reason set (-EBADMSG damaged pack, -ESTALE other runtime or app,
 * -ENOENT no pack...). On failure no memfd is left open: nothing of a bad pack is used.
 */
int prefetch_wait(struct prefetch *p);

/**
 * prefetch_run_sync() - prefetch_start() and prefetch_wait() in one call.
 * @p:    caller-allocated state
 * @path: the pack
 * @opts: NULL or options
 *
 * Return: as prefetch_wait().
 */
int prefetch_run_sync(struct prefetch *p, const char *path, const struct prefetch_opts *opts);

/**
 * prefetch_refuse_uring() - read every later prefetch of this process with pread.
 * @reason: why, e.g. "io_uring_enter: Operation not permitted"; it becomes their fallback_reason
 *
 * For a caller that found the ring unusable itself. A prefetch whose ring fails at its first
 * submit does the same on its own.
 */
void prefetch_refuse_uring(const char *reason);

/**
 * prefetch_close() - stop, close the memfd, free; idempotent.
 * @p: state
 *
 * A prefetch still running is cancelled and waited for at most a second; one stuck in a read
 * that does not return (a hung volume) is left to free itself when the read returns, so closing
 * never hangs the caller. Not to be called while another thread is inside prefetch_wait(@p).
 */
void prefetch_close(struct prefetch *p);

#endif
