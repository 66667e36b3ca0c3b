/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pack writer and atomic write-back. Format in cachefs/FORMAT.md.
 */
#ifndef KNEXT_CACHEFS_WRITER_H
#define KNEXT_CACHEFS_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cachefs/pack.h"

#define PACK_LEVEL_BAKED 19 /* packs baked at image build time */
#define PACK_LEVEL_WRITEBACK 3 /* write-back at run time, on the serving pod */

struct pack_wentry;

/**
 * struct pack_writer - entries collected for one pack.
 * @id:          identity written to the header
 * @level:       zstd level
 * @stored_kind: entries of this kind that fill a frame of their own (a snapshot blob) are stored
 *               uncompressed (a zstd frame of raw blocks); 0 for none (set by the caller)
 * @frame_target: raw bytes per frame the writer aims at
 * @created_ms:  creation time written to the header (set by init, may be overridden)
 * @entries:     collected entries (private)
 * @count:       number of entries
 * @raw_bytes:   sum of entry sizes
 * @out:         the encoded pack once built (private)
 * @out_len:     bytes of @out
 */
struct pack_writer {
	struct pack_identity id;
	int level;
	uint32_t stored_kind;
	size_t frame_target;
	uint64_t created_ms;
	struct pack_wentry *entries;
	size_t count;
	size_t cap;
	uint64_t raw_bytes;
	uint64_t strings_bytes;
	uint8_t *out;
	size_t out_len;
};

/**
 * pack_writer_init() - start an empty pack.
 * @w:     caller-allocated state
 * @id:    identity for the header (copied)
 * @level: zstd level (PACK_LEVEL_BAKED, PACK_LEVEL_WRITEBACK or any zstd level)
 *
 * Return: 0 or -EINVAL.
 */
int pack_writer_init(struct pack_writer *w, const struct pack_identity *id, int level);

/**
 * pack_writer_add() - add one entry; the data is copied.
 * @w:    state
 * @kind: enum pack_kind
 * @key:  path relative to the app, NUL-terminated
 * @hash: XXH3-64 of the module source (of the file itself for NCC files)
 * @data: entry bytes
 * @len:  bytes of @data
 *
 * Return: 0, -EINVAL for a bad kind or unsafe path, -EFBIG past the format's limits, -ENOMEM.
 */
int pack_writer_add(struct pack_writer *w, uint32_t kind, const char *key, uint64_t hash,
		    const void *data, size_t len);

/**
 * pack_writer_add_dir() - add every regular file below @dir (directory mode).
 * @w:    state
 * @dir:  e.g. a Node >= 22 NODE_COMPILE_CACHE directory
 * @kind: kind of every entry, normally PACK_KIND_NCC_FILE
 *
 * Keys are the paths relative to @dir, hashes the XXH3-64 of each file; files are added in path
 * order and symbolic links are skipped.
 *
 * Return: 0 or -errno of the first failure.
 */
int pack_writer_add_dir(struct pack_writer *w, const char *dir, uint32_t kind);

/**
 * pack_writer_build() - compress and lay out the pack in memory (done once; later adds rebuild).
 * @w: state
 *
 * Frames are compressed on two threads.
 *
 * Return: 0, -ENOMEM or -EIO (zstd failure).
 */
int pack_writer_build(struct pack_writer *w);

/**
 * pack_writer_size() - size of the encoded pack, building it if needed.
 * @w: state
 *
 * Return: bytes, or -errno.
 */
ssize_t pack_writer_size(struct pack_writer *w);

/**
 * pack_writer_write() - write the encoded pack to @fd at its current position.
 * @w:  state
 * @fd: a writable file descriptor
 *
 * Return: 0 or -errno (-ENOSPC, -EIO, ...). Does not fsync.
 */
int pack_writer_write(struct pack_writer *w, int fd);

/**
 * struct pack_layout - the header's sizes and offsets (FORMAT.md, header).
 * @created_ms:   creation time, ms since the epoch
 * @entry_count:  index records
 * @frame_count:  frame records
 * @strings_off:  the path strings
 * @strings_size: their bytes
 * @frames_off:   the frame table
 * @payload_off:  the first frame
 * @payload_size: compressed bytes of all frames
 * @raw_size:     decompressed bytes of all frames
 * @file_size:    the whole file, trailer included
 */
struct pack_layout {
	uint64_t created_ms;
	uint32_t entry_count, frame_count;
	uint64_t strings_off, strings_size, frames_off, payload_off, payload_size, raw_size,
		file_size;
};

/**
 * pack_header_put() - the metadata frame's opening (skippable-frame header) and the pack header.
 * @meta: the file's first bytes, at least PACK_INDEX_OFF, zeroed
 * @id:   the identity written into the header (strings truncated to their fields)
 * @l:    sizes and offsets
 */
void pack_header_put(uint8_t *meta, const struct pack_identity *id, const struct pack_layout *l);

/**
 * pack_seal() - the header's meta_hash over header, index, strings and frame table (everything
 * below @payload_off must be final), and the trailer that repeats it.
 * @meta:        the file's first @payload_off bytes
 * @payload_off: where the first frame begins
 * @trailer:     PACK_TRAILER_SIZE bytes, written
 * @file_size:   the whole file
 */
void pack_seal(uint8_t *meta, uint64_t payload_off, uint8_t *trailer, uint64_t file_size);

/**
 * pack_stored_bound() - bytes pack_stored_frame() may write for @len raw bytes.
 * @len: raw bytes
 *
 * Return: the bound.
 */
size_t pack_stored_bound(size_t len);

/**
 * pack_stored_frame() - @src as a zstd frame of raw blocks (a "stored" frame, FORMAT.md), which any
 * zstd decoder reads back at memory speed.
 * @dst: at least pack_stored_bound(@len) bytes
 * @src: raw bytes
 * @len: bytes of @src
 *
 * Return: the bytes written to @dst.
 */
size_t pack_stored_frame(uint8_t *dst, const uint8_t *src, size_t len);

/**
 * pack_writer_close() - free everything; idempotent.
 * @w: state
 */
void pack_writer_close(struct pack_writer *w);

/**
 * pack_writeback() - replace @dir/@name atomically with the writer's pack.
 * @dir:       target directory (the PVC mount)
 * @name:      pack file name inside @dir
 * @w:         the entries
 * @max_bytes: size budget (KNEXT_CACHE_MAX_BYTES); 0 = KNEXT_DEFAULT_CACHE_MAX_BYTES
 * @reason:    receives a sentence on failure, may be NULL
 * @reason_len: bytes of @reason
 *
 * Takes flock(LOCK_EX|LOCK_NB) on @dir/.@name.lock (busy: -EBUSY, someone else writes), writes a
 * temporary file in @dir, fsyncs it, renames it over @name and fsyncs @dir. On any failure the
 * temporary file is removed and the old pack is left as it was.
 *
 * Return: 0, -EBUSY, -EFBIG (over budget) or -errno of the failing call.
 */
int pack_writeback(const char *dir, const char *name, struct pack_writer *w, uint64_t max_bytes,
		   char *reason, size_t reason_len);

/**
 * pack_writeback_file() - pack_writeback() for a pack named by its path.
 * @file:       the pack's path; its directory is the one written to and locked
 * @w:          the entries
 * @max_bytes:  as for pack_writeback()
 * @reason:     receives a sentence on failure, may be NULL
 * @reason_len: bytes of @reason
 *
 * Return: as pack_writeback(), or -ENAMETOOLONG.
 */
int pack_writeback_file(const char *file, struct pack_writer *w, uint64_t max_bytes, char *reason,
			size_t reason_len);

#endif
