/* SPDX-License-Identifier: Apache-2.0 */
/*
 * On-disk layout of the pack (see FORMAT.md): constants and little-endian accessors shared by the
 * reader, the writer and prefetch. Internal to cachefs.
 */
#ifndef KNEXT_CACHEFS_FORMAT_H
#define KNEXT_CACHEFS_FORMAT_H

#include <stdint.h>
#include <string.h>

#define PACK_SKIPPABLE_MAGIC 0x184D2A5Eu
#define PACK_MAGIC "KNXPACK"
#define PACK_TRAILER_MAGIC "KNXTRAIL"
#define PACK_VERSION 1u
#define PACK_HEADER_OFF 8u
#define PACK_HEADER_SIZE 256u
#define PACK_INDEX_OFF (PACK_HEADER_OFF + PACK_HEADER_SIZE)
#define PACK_ENTRY_SIZE 56u
#define PACK_FRAME_SIZE 48u
#define PACK_TRAILER_SIZE 32u
#define PACK_MAX_ENTRIES 1000000u
#define PACK_MAX_FRAMES 65536u
#define PACK_MAX_FRAME_RAW (64ull << 20)
#define PACK_MAX_RAW (1ull << 30)

/* Header field offsets, relative to the header (file offset 8). */
enum {
	PH_MAGIC = 0,
	PH_VERSION = 8,
	PH_HEADER_SIZE = 12,
	PH_META_HASH = 16,
	PH_CREATED = 24,
	PH_ENTRY_COUNT = 32,
	PH_FRAME_COUNT = 36,
	PH_INDEX_OFF = 40,
	PH_STRINGS_OFF = 48,
	PH_STRINGS_SIZE = 56,
	PH_FRAMES_OFF = 64,
	PH_PAYLOAD_OFF = 72,
	PH_PAYLOAD_SIZE = 80,
	PH_RAW_SIZE = 88,
	PH_FILE_SIZE = 96,
	PH_V8_TAG = 104,
	PH_FLAGS = 108,
	PH_V8_FLAGS_HASH = 112,
	PH_APP_FILES_HASH = 120,
	PH_RUNTIME_NAME = 128,
	PH_RUNTIME_VERSION = 144,
	PH_ARCH = 176,
	PH_BUILD_ID = 192,
};

/* Index record field offsets. */
enum {
	PE_KIND = 0,
	PE_FRAME = 4,
	PE_CONTENT_HASH = 8,
	PE_PATH_HASH = 16,
	PE_RAW_OFFSET = 24,
	PE_RAW_SIZE = 32,
	PE_PATH_LEN = 36,
	PE_PATH_OFFSET = 40,
	PE_CHECKSUM = 48,
};

/* Frame table field offsets. */
enum {
	PF_FILE_OFFSET = 0,
	PF_COMP_SIZE = 8,
	PF_RAW_OFFSET = 16,
	PF_RAW_SIZE = 24,
	PF_COMP_HASH = 32,
	PF_RAW_HASH = 40,
};

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define PACK_LE32(v) __builtin_bswap32(v)
#define PACK_LE64(v) __builtin_bswap64(v)
#else
#define PACK_LE32(v) (v)
#define PACK_LE64(v) (v)
#endif

static inline uint32_t le32_get(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return PACK_LE32(v);
}

static inline uint64_t le64_get(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return PACK_LE64(v);
}

static inline void le32_put(uint8_t *p, uint32_t v)
{
	v = PACK_LE32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void le64_put(uint8_t *p, uint64_t v)
{
	v = PACK_LE64(v);
	memcpy(p, &v, sizeof(v));
}

#endif
