// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for packmem_find(), the lookup the Node child runs on its mapping of the memfd:
 * the input is the mapping; the key comes from its last bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cachefs/packmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	const void *d;
	size_t dl, plen;
	uint64_t h = 0;

	if (size < 12)
		return 0;
	/* The key: kind, content hash and a path length taken from the tail. */
	memcpy(&h, data + size - 8, 8);
	plen = data[size - 9] % 40;
	if (plen > size - 12)
		plen = size - 12;
	/* An exact-size heap copy, so ASan sees any read past the mapping. */
	copy = malloc(size - 12);
	memcpy(copy, data, size - 12);
	if (packmem_find(copy, size - 12, data[size - 10] & 7, (const char *)copy, plen, h, &d,
			 &dl) == 0) {
		if ((const uint8_t *)d < copy || (const uint8_t *)d + dl > copy + size - 12)
			abort();
	}
	free(copy);
	return 0;
}
