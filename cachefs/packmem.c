// SPDX-License-Identifier: Apache-2.0
/*
 * The memfd image: building its index from a pack, and the child's bounds-checked lookup.
 */
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include "cachefs/packmem.h"
#include "cachefs/pack.h"
#include "cachefs/format.h"

#include <errno.h>
#include <string.h>

enum {
	PM_MAGIC = 0,
	PM_VERSION = 8,
	PM_SLOT_COUNT = 12,
	PM_TOTAL_SIZE = 16,
	PM_ENTRY_COUNT = 24,
	PM_SLOTS_OFF = 32,
	PM_RECORDS_OFF = 40,
	PM_STRINGS_OFF = 48,
	PM_DATA_OFF = 56,
};

enum {
	PR_PATH_HASH = 0,
	PR_CONTENT_HASH = 8,
	PR_DATA_OFF = 16,
	PR_DATA_LEN = 24,
	PR_KIND = 28,
	PR_PATH_OFF = 32,
	PR_PATH_LEN = 36,
};

uint64_t packmem_hash64(const void *buf, size_t len)
{
	return XXH3_64bits(buf, len);
}

static uint64_t mix(uint32_t kind, uint64_t path_hash, uint64_t content_hash)
{
	uint64_t h = path_hash ^ (content_hash * 0x9E3779B97F4A7C15ull) ^
		     ((uint64_t)kind * 0xC2B2AE3D27D4EB4Full);

	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	return h ^ (h >> 32);
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int packmem_layout(const struct pack *p, struct packmem_layout *l)
{
	uint64_t slots = 16;

	while (slots < 2ull * p->entry_count)
		slots <<= 1;
	l->slot_count = (uint32_t)slots;
	l->slots_offset = PACKMEM_HEADER_SIZE;
	l->records_offset = align_up(l->slots_offset + 4 * slots, 8);
	l->strings_offset = l->records_offset + (uint64_t)p->entry_count * PACKMEM_RECORD_SIZE;
	l->data_offset = align_up(l->strings_offset + p->strings_size, 4096);
	l->total_size = align_up(l->data_offset + p->raw_size, 4096);
	if (l->total_size > (8ull << 30))
		return -EFBIG;
	return 0;
}

int packmem_build_index(const struct pack *p, const struct packmem_layout *l, uint8_t *base)
{
	struct pack_entry e;
	uint32_t i, mask = l->slot_count - 1;
	const uint8_t *strings = p->base + p->strings_offset;

	memcpy(base + PM_MAGIC, PACKMEM_MAGIC, 8);
	le32_put(base + PM_VERSION, 1);
	le32_put(base + PM_SLOT_COUNT, l->slot_count);
	le64_put(base + PM_TOTAL_SIZE, l->total_size);
	le32_put(base + PM_ENTRY_COUNT, p->entry_count);
	le64_put(base + PM_SLOTS_OFF, l->slots_offset);
	le64_put(base + PM_RECORDS_OFF, l->records_offset);
	le64_put(base + PM_STRINGS_OFF, l->strings_offset);
	le64_put(base + PM_DATA_OFF, l->data_offset);
	memcpy(base + l->strings_offset, strings, p->strings_size);
	for (i = 0; i < p->entry_count; i++) {
		uint8_t *r = base + l->records_offset + (uint64_t)i * PACKMEM_RECORD_SIZE;
		uint64_t ph;
		uint32_t s;

		pack_entry_get(p, i, &e);
		ph = XXH3_64bits(e.path, e.path_len);
		le64_put(r + PR_PATH_HASH, ph);
		le64_put(r + PR_CONTENT_HASH, e.content_hash);
		le64_put(r + PR_DATA_OFF, l->data_offset + e.raw_offset);
		le32_put(r + PR_DATA_LEN, e.raw_size);
		le32_put(r + PR_KIND, e.kind);
		le32_put(r + PR_PATH_OFF, (uint32_t)((const uint8_t *)e.path - strings));
		le32_put(r + PR_PATH_LEN, e.path_len);
		/* The table is at least twice the entries, so a free slot always exists. */
		s = (uint32_t)mix(e.kind, ph, e.content_hash) & mask;
		while (le32_get(base + l->slots_offset + 4ull * s) != 0)
			s = (s + 1) & mask;
		le32_put(base + l->slots_offset + 4ull * s, i + 1);
	}
	return 0;
}

/* True when [off, off + n) lies inside [0, len). */
static int in_bounds(uint64_t off, uint64_t n, size_t len)
{
	return off <= len && n <= len - off;
}

int packmem_find(const void *base, size_t len, uint32_t kind, const char *path, size_t path_len,
		 uint64_t content_hash, const void **data, size_t *data_len)
{
	const uint8_t *b = base;
	uint64_t slots_off, rec_off, str_off, ph;
	uint32_t slot_count, count, mask, s, probes;

	if (!b || len < PACKMEM_HEADER_SIZE || memcmp(b, PACKMEM_MAGIC, 8) != 0 ||
	    le32_get(b + PM_VERSION) != 1)
		return -EBADMSG;
	slot_count = le32_get(b + PM_SLOT_COUNT);
	count = le32_get(b + PM_ENTRY_COUNT);
	slots_off = le64_get(b + PM_SLOTS_OFF);
	rec_off = le64_get(b + PM_RECORDS_OFF);
	str_off = le64_get(b + PM_STRINGS_OFF);
	if (slot_count == 0 || (slot_count & (slot_count - 1)) || count > slot_count ||
	    !in_bounds(slots_off, 4ull * slot_count, len) ||
	    !in_bounds(rec_off, (uint64_t)count * PACKMEM_RECORD_SIZE, len) || str_off > len)
		return -EBADMSG;
	mask = slot_count - 1;
	ph = XXH3_64bits(path, path_len);
	s = (uint32_t)mix(kind, ph, content_hash) & mask;
	for (probes = 0; probes < slot_count; probes++, s = (s + 1) & mask) {
		uint32_t idx = le32_get(b + slots_off + 4ull * s);
		const uint8_t *r;
		uint64_t doff, poff;
		uint32_t dlen, plen;

		if (idx == 0)
			return -ENOENT;
		if (idx > count)
			return -EBADMSG;
		r = b + rec_off + (uint64_t)(idx - 1) * PACKMEM_RECORD_SIZE;
		if (le32_get(r + PR_KIND) != kind || le64_get(r + PR_PATH_HASH) != ph ||
		    le64_get(r + PR_CONTENT_HASH) != content_hash ||
		    le32_get(r + PR_PATH_LEN) != path_len)
			continue;
		poff = str_off + le32_get(r + PR_PATH_OFF);
		plen = le32_get(r + PR_PATH_LEN);
		if (!in_bounds(poff, plen, len))
			return -EBADMSG;
		if (memcmp(b + poff, path, path_len) != 0)
			continue;
		doff = le64_get(r + PR_DATA_OFF);
		dlen = le32_get(r + PR_DATA_LEN);
		if (!in_bounds(doff, dlen, len))
			return -EBADMSG;
		*data = b + doff;
		*data_len = dlen;
		return 0;
	}
	return -ENOENT;
}
