// SPDX-License-Identifier: Apache-2.0
/* Order statistics of a run's samples, and the harness's clock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/**
 * bench_stats_compute() - median, 90th percentile (nearest rank), min and max.
 * @values: the values (not modified)
 * @n:      how many
 * @st:     the statistics
 *
 * Return: 0, -EINVAL for no values, -ENOMEM.
 */
int bench_stats_compute(const double *values, size_t n, struct bench_stats *st)
{
	double *v;
	size_t rank;

	memset(st, 0, sizeof(*st));
	if (!n)
		return -EINVAL;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v, values, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_double);
	st->n = n;
	st->min = v[0];
	st->max = v[n - 1];
	st->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	/* Nearest rank: the smallest value with at least 90% of the values at or below it. */
	rank = (n * 9 + 9) / 10;
	st->p90 = v[rank - 1];
	free(v);
	return 0;
}

/**
 * bench_now_ms() - CLOCK_MONOTONIC in milliseconds.
 *
 * Return: the time.
 */
double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
