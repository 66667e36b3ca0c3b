// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: knext-init's log lines as the harness reads them (outside input: whatever a
 * server writes on stderr), each line parsed, then the phase split from what was seen.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bench/bench.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bench_log log = { 0 };
	struct bench_phases ph;
	const char *p = (const char *)data, *end = p + size;
	double sum = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		bench_log_parse_line(&log, p, len);
		p += len + 1;
	}
	bench_phases_split(&log, 1000, 400, &ph);
	if (ph.n < 2 || ph.n > BENCH_MAX_PHASES)
		__builtin_trap();
	for (int i = 0; i < ph.n; i++) {
		if (!(ph.ms[i] >= 0))
			__builtin_trap();
		sum += ph.ms[i];
	}
	/* The phases always add up to the total. */
	if (sum < 999.999 || sum > 1000.001)
		__builtin_trap();
	return 0;
}
