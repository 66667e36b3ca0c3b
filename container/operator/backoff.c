// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <time.h>

#include "container/operator/backoff.h"

int backoff_init(struct backoff *b, uint32_t base_ms, uint32_t max_ms, uint64_t seed)
{
	struct timespec ts;

	if (!base_ms || max_ms < base_ms)
		return -EINVAL;
	b->base_ms = base_ms;
	b->max_ms = max_ms;
	if (!seed) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec;
	}
	b->rng = seed ? seed : 0x2545f4914f6cdd1dull;
	return 0;
}

static uint64_t backoff_rand(struct backoff *b)
{
	uint64_t x = b->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	b->rng = x;
	return x;
}

uint32_t backoff_delay_ms(struct backoff *b, unsigned int attempt)
{
	uint64_t step = b->base_ms;
	uint64_t half;

	/* Double until the cap; stop early so the shift can never overflow. */
	while (attempt-- && step < b->max_ms)
		step <<= 1;
	if (step > b->max_ms)
		step = b->max_ms;
	half = step / 2;
	return (uint32_t)(step - half + backoff_rand(b) % (half + 1));
}
