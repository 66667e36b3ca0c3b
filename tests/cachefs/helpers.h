/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the cachefs tests: sample packs, files, temp dirs. */
#ifndef KNEXT_TESTS_CACHEFS_HELPERS_H
#define KNEXT_TESTS_CACHEFS_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "cachefs/pack.h"
#include "cachefs/writer.h"

extern const struct pack_identity test_id;

/* Entry i of the sample set: path, content hash and deterministic, compressible data. */
void sample_entry(unsigned seed, unsigned i, char *path, size_t path_len, uint64_t *hash,
		  uint8_t **data, size_t *len);

/* A writer holding @n sample entries of @seed (mixed kinds). */
void sample_writer(struct pack_writer *w, unsigned seed, unsigned n, int level);

/* The encoded bytes of a sample pack (malloc'd). */
uint8_t *sample_pack(unsigned seed, unsigned n, size_t *len);

/* A fresh directory under /tmp; returns a static-lifetime malloc'd path. */
char *test_tmpdir(const char *tag);

/*
 * Writes to @fd a pack of one entry of @entry_len bytes in one stored frame of @frame_raw raw
 * bytes, whose compressed range is padded with zeros (a hole) to @comp_len bytes; every checksum
 * holds. Returns 0 or -1.
 */
int craft_pack(int fd, const struct pack_identity *id, uint32_t entry_len, uint64_t frame_raw,
	       uint64_t comp_len);

int write_file(const char *path, const void *buf, size_t len);
uint8_t *slurp(const char *path, size_t *len);
void rm_rf(const char *path);

#endif
