// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the pack reader: structure checks, full verification, lookups, and the
 * memfd image built from whatever passes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cachefs/pack.h"
#include "cachefs/packmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct packmem_layout l;
	struct pack_entry e;
	struct pack p;
	uint8_t *img;
	uint32_t i;

	if (pack_open_mem(&p, data, size))
		return 0;
	for (i = 0; i < p.entry_count && i < 64; i++) {
		struct pack_entry f;

		pack_entry_get(&p, i, &e);
		/* Fuzzing builds skip the path-hash check, so a miss is possible here. */
		pack_find(&p, e.kind, e.path, e.path_len, e.content_hash, &f);
	}
	if (pack_verify(&p) || packmem_layout(&p, &l) || l.total_size > (64u << 20))
		return 0;
	img = calloc(1, l.total_size);
	packmem_build_index(&p, &l, img);
	for (i = 0; i < p.frame_count; i++) {
		struct pack_frame f;

		pack_frame_get(&p, i, &f);
		if (pack_frame_decode(&p, i, img + l.data_offset + f.raw_offset, f.raw_size))
			abort(); /* verified once, must decode again */
	}
	for (i = 0; i < p.entry_count && i < 64; i++) {
		const void *d;
		size_t dl;

		pack_entry_get(&p, i, &e);
		/* The image hashes paths itself: every indexed key must be found, in bounds. */
		if (packmem_find(img, l.total_size, e.kind, e.path, e.path_len, e.content_hash, &d,
				 &dl) ||
		    (const uint8_t *)d + dl > img + l.total_size)
			abort();
	}
	free(img);
	return 0;
}
