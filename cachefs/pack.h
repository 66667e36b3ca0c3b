/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reader of the compile-cache pack. The format is specified in cachefs/FORMAT.md.
 *
 * pack_open() maps a pack and checks its whole structure (bounds, metadata checksum, trailer)
 * without decompressing; pack_verify() also decompresses every frame and checks every checksum.
 * Failures return -errno and leave a sentence in pack.reason for the caller's log.
 */
#ifndef KNEXT_CACHEFS_PACK_H
#define KNEXT_CACHEFS_PACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/packkind.h"

#define PACK_REASON_MAX 192
/* The longest entry path a pack holds (FORMAT.md). */
#define PACK_MAX_PATH 4095u

/**
 * struct pack_identity - who made a pack and for which app; a pack is used only when all match.
 * @runtime_name:    e.g. "node"
 * @runtime_version: e.g. "18.20.4"
 * @v8_tag:          V8 cachedDataVersionTag
 * @v8_flags_hash:   XXH3-64 of the V8 flags
 * @arch:            e.g. "x86_64"
 * @build_id:        Next.js BUILD_ID
 * @app_files_hash:  XXH3-64 of the app's sorted file list
 */
struct pack_identity {
	char runtime_name[16];
	char runtime_version[32];
	uint32_t v8_tag;
	uint64_t v8_flags_hash;
	char arch[16];
	char build_id[64];
	uint64_t app_files_hash;
};

/**
 * struct pack_entry - one index record, resolved against the mapped pack.
 * @kind:         enum pack_kind
 * @frame:        frame holding the data
 * @content_hash: XXH3-64 of the module source (of the file for NCC entries)
 * @path:         path relative to the app, not NUL-terminated, points into the pack
 * @path_len:     bytes of @path
 * @raw_offset:   offset of the data in the decompressed payload
 * @raw_size:     data bytes
 * @checksum:     XXH3-64 of the data
 */
struct pack_entry {
	uint32_t kind;
	uint32_t frame;
	uint64_t content_hash;
	const char *path;
	uint32_t path_len;
	uint64_t raw_offset;
	uint32_t raw_size;
	uint64_t checksum;
};

/**
 * struct pack_frame - one frame table record.
 */
struct pack_frame {
	uint64_t file_offset;
	uint64_t comp_size;
	uint64_t raw_offset;
	uint64_t raw_size;
	uint64_t comp_hash;
	uint64_t raw_hash;
};

/**
 * struct pack - an open pack. Caller-allocated; pack_open()/pack_open_mem() fill it.
 * @base:        the pack bytes
 * @size:        bytes of @base
 * @map_len:     bytes mapped by pack_open(), 0 for pack_open_mem()
 * @id:          identity from the header
 * @created_ms:  creation time
 * @entry_count: index records
 * @frame_count: frames
 * @raw_size:    decompressed payload bytes
 * @payload_offset, @payload_size: compressed frames in the file
 * @reason:      why the last call failed
 */
struct pack {
	const uint8_t *base;
	size_t size;
	size_t map_len;
	struct pack_identity id;
	uint64_t created_ms;
	uint64_t meta_hash;
	uint32_t entry_count;
	uint32_t frame_count;
	uint64_t raw_size;
	uint64_t index_offset;
	uint64_t strings_offset;
	uint64_t strings_size;
	uint64_t frames_offset;
	uint64_t payload_offset;
	uint64_t payload_size;
	char reason[PACK_REASON_MAX];
};

/**
 * pack_open() - map a pack file and validate its structure.
 * @p:    caller-allocated state
 * @path: the pack file
 *
 * Return: 0, or -errno (-EBADMSG for a damaged pack, -ENOENT...) with @p->reason set.
 */
int pack_open(struct pack *p, const char *path);

/**
 * pack_open_mem() - validate a pack held in memory, without copying it.
 * @p:   caller-allocated state
 * @buf: pack bytes; must outlive @p
 * @len: bytes of @buf
 *
 * Return: 0, or -EBADMSG with @p->reason set.
 */
int pack_open_mem(struct pack *p, const void *buf, size_t len);

/**
 * pack_parse_meta() - validate header, index, strings and frame table from a prefix of a pack.
 * @p:         caller-allocated state
 * @buf:       the first bytes of the pack (at least up to payload_offset)
 * @len:       bytes available in @buf
 * @file_size: size of the whole file
 *
 * Used by prefetch to start decoding before the whole file has arrived. Does not check the trailer.
 *
 * Return: 0; -EAGAIN when @len is too short to hold the metadata; -EBADMSG with @p->reason set.
 */
int pack_parse_meta(struct pack *p, const void *buf, size_t len, uint64_t file_size);

/**
 * pack_check_trailer() - check the trailer against the metadata already parsed.
 * @p:       state from pack_parse_meta()
 * @trailer: the last 32 bytes of the file
 *
 * Return: 0 or -EBADMSG with @p->reason set.
 */
int pack_check_trailer(struct pack *p, const void *trailer);

/**
 * pack_entry_get() - read index record @i.
 * @p: an open pack
 * @i: index, < @p->entry_count
 * @e: filled on success
 *
 * Return: 0 or -ERANGE.
 */
int pack_entry_get(const struct pack *p, uint32_t i, struct pack_entry *e);

/**
 * pack_frame_get() - read frame table record @i.
 * @p: an open pack
 * @i: index, < @p->frame_count
 * @f: filled on success
 *
 * Return: 0 or -ERANGE.
 */
int pack_frame_get(const struct pack *p, uint32_t i, struct pack_frame *f);

/**
 * pack_find() - look an entry up by key.
 * @p:            an open pack
 * @kind:         enum pack_kind
 * @path:         path relative to the app
 * @path_len:     bytes of @path
 * @content_hash: XXH3-64 of the source
 * @e:            filled on success
 *
 * Return: 0 or -ENOENT.
 */
int pack_find(const struct pack *p, uint32_t kind, const char *path, size_t path_len,
	      uint64_t content_hash, struct pack_entry *e);

/**
 * pack_frame_decode() - decompress one frame and check its checksums.
 * @p:    an open pack whose payload is in memory (pack_open()/pack_open_mem())
 * @i:    frame index
 * @dst:  destination, at least the frame's raw_size bytes
 * @cap:  bytes of @dst
 *
 * Return: 0, -ENOBUFS when @cap is short, -EBADMSG with @p->reason set.
 */
int pack_frame_decode(struct pack *p, uint32_t i, void *dst, size_t cap);

/**
 * pack_verify() - decompress every frame and check every frame and entry checksum.
 * @p: an open pack
 *
 * Return: 0 or -errno with @p->reason set.
 */
int pack_verify(struct pack *p);

/**
 * pack_extract() - write every entry of a verified pack as a file below @dir.
 * @p:       an open pack (pack_verify() first: the data is written as it is)
 * @dir:     target directory, created if missing
 * @why:     receives a sentence on failure
 * @why_len: bytes of @why
 *
 * NODE_COMPILE_CACHE entries (directory mode) go to their relative path, other kinds to
 * `<kind>/<path>`. Paths were checked by pack_open(): none leaves @dir.
 *
 * Return: 0 or -errno.
 */
int pack_extract(struct pack *p, const char *dir, char *why, size_t why_len);

/**
 * pack_extract_kind() - pack_extract() of the entries of one kind only.
 * @p:       an open pack
 * @dir:     target directory, created if missing
 * @kind:    enum pack_kind; 0 for every kind
 * @why:     receives a sentence on failure
 * @why_len: bytes of @why
 *
 * Frames holding no entry of @kind are not decompressed.
 *
 * Return: 0 or -errno.
 */
int pack_extract_kind(struct pack *p, const char *dir, uint32_t kind, char *why, size_t why_len);

/**
 * pack_entry_data() - the bytes of one entry, decompressed into a new buffer.
 * @p:    an open pack
 * @e:    one of its entries (pack_entry_get(), pack_find())
 * @data: receives a malloc()ed buffer of @e->raw_size bytes (plus a NUL), for the caller to free
 *
 * The frame's checksums and the entry's are checked.
 *
 * Return: 0, -ENOMEM, or -EBADMSG with @p->reason set.
 */
int pack_entry_data(struct pack *p, const struct pack_entry *e, uint8_t **data);

/**
 * pack_identity_match() - compare a pack's identity with the running app's.
 * @have:   the pack's identity
 * @want:   this app and runtime (@want->v8_tag 0 matches any tag)
 * @why:    receives the first difference, may be NULL
 * @why_len: bytes of @why
 *
 * Return: 0 when every field matches, -ESTALE otherwise.
 */
int pack_identity_match(const struct pack_identity *have, const struct pack_identity *want,
			char *why, size_t why_len);

/**
 * pack_kind_name() - short name of a kind ("code-cache", "source", "resolution", "ncc-file",
 *                   "import-sites", "builtin-code-cache", "snapshot-blob", "snapshot-env").
 * @kind: enum pack_kind
 *
 * Return: a static string, "unknown" for other values.
 */
const char *pack_kind_name(uint32_t kind);

/**
 * pack_path_valid() - whether a path is safe to use below a directory (relative, no "..").
 * @path: bytes
 * @len:  bytes of @path
 *
 * Return: 1 when valid, 0 otherwise.
 */
int pack_path_valid(const char *path, size_t len);

/**
 * pack_close() - unmap; idempotent.
 * @p: state
 */
void pack_close(struct pack *p);

#endif
