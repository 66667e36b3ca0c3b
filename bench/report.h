/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A benchmark's results and their three outputs: a Markdown table, JSON for machines, and an SVG
 * chart (one stacked bar per configuration, split into phases). Layouts: bench/README.md.
 */
#ifndef KNEXT_BENCH_REPORT_H
#define KNEXT_BENCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bench/bench.h"

#define BENCH_MAX_FACTS 24

/**
 * struct bench_fact - one machine fact recorded with the results.
 * @key:   short name ("cores", "kernel", ...)
 * @value: its value
 */
struct bench_fact {
	char key[32];
	char value[256];
};

/**
 * struct bench_result - all runs of one configuration on one app.
 * @app:      the app's short name
 * @config:   the configuration's short name
 * @ran:      false when a prerequisite was missing (then @reason says which)
 * @reason:   why it was not run, or the last failure's reason
 * @failures: runs that produced no 200
 * @n:        samples
 * @cap:      allocated samples
 * @samples:  the successful runs, in the order they ran
 */
struct bench_result {
	char app[32];
	char config[32];
	bool ran;
	char reason[BENCH_REASON_LEN];
	size_t failures;
	size_t n;
	size_t cap;
	struct bench_sample *samples;
};

/**
 * struct bench_report - a whole benchmark.
 * @date:     start time, ISO 8601 UTC
 * @mode:     "full" or "quick"
 * @runs:     interleaved runs per configuration
 * @path:     the HTTP path timed
 * @baseline: configuration the ratios refer to ("node")
 * @nfacts:   machine facts
 * @facts:    the facts
 * @n:        results
 * @cap:      allocated results
 * @results:  one per (app, configuration), in the order added
 */
struct bench_report {
	char date[32];
	char mode[16];
	int runs;
	char path[128];
	char baseline[32];
	size_t nfacts;
	struct bench_fact facts[BENCH_MAX_FACTS];
	size_t n;
	size_t cap;
	struct bench_result *results;
};

/**
 * struct bench_summary - the statistics of one result, as the outputs show them.
 * @total:   spawn to first 200, ms
 * @listen:  spawn to first accepted connection, ms
 * @cpu:     CPU time of the tree, ms
 * @rss_mb:  peak RSS, MB
 * @ratio:   median total over the baseline's median total on the same app; 0 when unknown
 * @nphases: phases
 * @phase:   phase names (those of the first sample)
 * @phase_ms: median of each phase, scaled so that they add up to @total.median
 */
struct bench_summary {
	struct bench_stats total;
	struct bench_stats listen;
	struct bench_stats cpu;
	struct bench_stats rss_mb;
	double ratio;
	int nphases;
	const char *phase[BENCH_MAX_PHASES];
	double phase_ms[BENCH_MAX_PHASES];
};

int bench_report_init(struct bench_report *r, const char *mode, int runs, const char *path);
void bench_report_close(struct bench_report *r);
int bench_report_fact(struct bench_report *r, const char *key, const char *value);
int bench_report_add(struct bench_report *r, const char *app, const char *config,
		     struct bench_result **out);
int bench_result_add_sample(struct bench_result *res, const struct bench_sample *s);
int bench_report_summary(const struct bench_report *r, const struct bench_result *res,
			 struct bench_summary *sum);
int bench_report_write_markdown(const struct bench_report *r, FILE *f);
int bench_report_write_json(const struct bench_report *r, FILE *f);
int bench_report_write_svg(const struct bench_report *r, FILE *f);

#endif /* KNEXT_BENCH_REPORT_H */
