// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: a startup snapshot's record (kind 8 of a pack) is outside input. */
#include <stddef.h>
#include <stdint.h>

#include "supervisor/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];

	snapshot_env_check((const char *)data, size, "/app", "/bin/sh", why, sizeof(why));
	return 0;
}
