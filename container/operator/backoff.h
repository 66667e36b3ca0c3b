/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exponential backoff with jitter, for retries against the API server: failed reconciles, watches
 * that drop, lists that fail. "Equal jitter": half the exponential step is fixed, half is random, so
 * a crowd of failures spreads out but no retry comes back immediately.
 */
#ifndef KNEXT_OPERATOR_BACKOFF_H
#define KNEXT_OPERATOR_BACKOFF_H

#include <stdint.h>

/**
 * struct backoff - a retry policy and its random state.
 * @base_ms: delay of the first retry (before jitter)
 * @max_ms:  cap on any delay
 * @rng:     xorshift state; any non-zero value
 */
struct backoff {
	uint32_t base_ms;
	uint32_t max_ms;
	uint64_t rng;
};

/**
 * backoff_init() - set a retry policy up.
 * @b:       the policy to fill
 * @base_ms: delay of the first retry, at least 1
 * @max_ms:  cap on any delay, at least @base_ms
 * @seed:    random seed; 0 picks one from the clock
 *
 * Return: 0, or -EINVAL when the bounds make no sense.
 */
int backoff_init(struct backoff *b, uint32_t base_ms, uint32_t max_ms, uint64_t seed);

/**
 * backoff_delay_ms() - the delay before retry number @attempt.
 * @b:       the policy
 * @attempt: 0 for the first retry, 1 for the second, ...
 *
 * Return: a delay in [step/2, step] where step = min(max_ms, base_ms * 2^attempt).
 */
uint32_t backoff_delay_ms(struct backoff *b, unsigned int attempt);

#endif
