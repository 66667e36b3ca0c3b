/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The memfd that prefetch fills and the Node child maps: a header, an open-addressing hash table
 * keyed by (kind, XXH3-64 of the path, content hash), records, paths, and the entry data aligned to
 * 16 bytes. Layout in cachefs/FORMAT.md ("The memfd"). The lookup is dependency-free (XXH3 is
 * compiled in) and checks every bound, so a damaged memfd never crashes the child.
 */
#ifndef KNEXT_CACHEFS_PACKMEM_H
#define KNEXT_CACHEFS_PACKMEM_H

#include <stddef.h>
#include <stdint.h>

#define PACKMEM_MAGIC "KNXMEM1"
#define PACKMEM_HEADER_SIZE 64u
#define PACKMEM_RECORD_SIZE 40u

struct pack;

/**
 * struct packmem_layout - where each part of the memfd goes, computed from an open pack's index.
 * @slot_count:     hash table slots (power of two)
 * @slots_offset:   offset of the slot array
 * @records_offset: offset of the records
 * @strings_offset: offset of the paths
 * @data_offset:    offset of the decompressed payload
 * @total_size:     size of the memfd
 */
struct packmem_layout {
	uint32_t slot_count;
	uint64_t slots_offset;
	uint64_t records_offset;
	uint64_t strings_offset;
	uint64_t data_offset;
	uint64_t total_size;
};

/**
 * packmem_layout() - compute the memfd layout for a pack whose metadata is parsed.
 * @p: the pack (pack_parse_meta() or pack_open())
 * @l: filled
 *
 * Return: 0 or -EFBIG.
 */
int packmem_layout(const struct pack *p, struct packmem_layout *l);

/**
 * packmem_build_index() - write header, hash table, records and paths into the memfd image.
 * @p:    the pack
 * @l:    its layout from packmem_layout()
 * @base: the memfd mapping, @l->total_size bytes, zero-filled
 *
 * The data area (from @l->data_offset) is left for the frames to be decompressed into.
 *
 * Return: 0.
 */
int packmem_build_index(const struct pack *p, const struct packmem_layout *l, uint8_t *base);

/**
 * packmem_find() - look an entry up in a mapped memfd, with zero copies.
 * @base:         start of the mapping
 * @len:          bytes mapped
 * @kind:         enum pack_kind
 * @path:         path relative to the app
 * @path_len:     bytes of @path
 * @content_hash: XXH3-64 of the source
 * @data:         receives a pointer to the entry data inside the mapping
 * @data_len:     receives its size
 *
 * Return: 0, -ENOENT when absent, -EBADMSG when the mapping is not a valid memfd image.
 */
int packmem_find(const void *base, size_t len, uint32_t kind, const char *path, size_t path_len,
		 uint64_t content_hash, const void **data, size_t *data_len);

/**
 * packmem_hash64() - XXH3-64 of a buffer, as used for paths and content hashes.
 * @buf: bytes
 * @len: bytes of @buf
 *
 * Return: the hash.
 */
uint64_t packmem_hash64(const void *buf, size_t len);

#endif
