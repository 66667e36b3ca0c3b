// SPDX-License-Identifier: Apache-2.0
/* Results: collection, statistics, the Markdown table and the JSON document. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/report.h"

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

/**
 * bench_report_init() - start an empty report dated now.
 * @r:    the report
 * @mode: "full" or "quick"
 * @runs: interleaved runs per configuration
 * @path: the HTTP path timed
 *
 * Return: 0.
 */
int bench_report_init(struct bench_report *r, const char *mode, int runs, const char *path)
{
	time_t now = time(NULL);
	struct tm tm;

	memset(r, 0, sizeof(*r));
	gmtime_r(&now, &tm);
	strftime(r->date, sizeof(r->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	copy_str(r->mode, sizeof(r->mode), mode);
	copy_str(r->path, sizeof(r->path), path);
	copy_str(r->baseline, sizeof(r->baseline), "node");
	r->runs = runs;
	return 0;
}

/**
 * bench_report_close() - free a report's results; safe to call twice.
 * @r: the report
 */
void bench_report_close(struct bench_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->results[i].samples);
	free(r->results);
	r->results = NULL;
	r->n = 0;
	r->cap = 0;
}

/**
 * bench_report_fact() - record a machine fact.
 * @r:     the report
 * @key:   short name
 * @value: value (cut to fit)
 *
 * Return: 0, -ENOSPC when the report holds BENCH_MAX_FACTS already.
 */
int bench_report_fact(struct bench_report *r, const char *key, const char *value)
{
	struct bench_fact *f;

	if (r->nfacts >= BENCH_MAX_FACTS)
		return -ENOSPC;
	f = &r->facts[r->nfacts++];
	copy_str(f->key, sizeof(f->key), key);
	copy_str(f->value, sizeof(f->value), value);
	return 0;
}

/**
 * bench_report_add() - add the (empty) result of a configuration on an app.
 * @r:      the report
 * @app:    the app's short name
 * @config: the configuration's short name
 * @out:    the new result; valid until the next bench_report_add()
 *
 * Return: 0 or -ENOMEM.
 */
int bench_report_add(struct bench_report *r, const char *app, const char *config,
		     struct bench_result **out)
{
	struct bench_result *res;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct bench_result *p = realloc(r->results, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		r->results = p;
		r->cap = cap;
	}
	res = &r->results[r->n++];
	memset(res, 0, sizeof(*res));
	copy_str(res->app, sizeof(res->app), app);
	copy_str(res->config, sizeof(res->config), config);
	*out = res;
	return 0;
}

/**
 * bench_result_add_sample() - append a successful run.
 * @res: the result
 * @s:   the run
 *
 * Return: 0 or -ENOMEM.
 */
int bench_result_add_sample(struct bench_result *res, const struct bench_sample *s)
{
	if (res->n == res->cap) {
		size_t cap = res->cap ? res->cap * 2 : 16;
		struct bench_sample *p = realloc(res->samples, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		res->samples = p;
		res->cap = cap;
	}
	res->samples[res->n++] = *s;
	return 0;
}

static const struct bench_result *find_result(const struct bench_report *r, const char *app,
					      const char *config)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->results[i].app, app) && !strcmp(r->results[i].config, config))
			return &r->results[i];
	return NULL;
}

enum field { F_TOTAL, F_LISTEN, F_CPU, F_RSS_MB };

static double field_of(const struct bench_sample *s, enum field which)
{
	switch (which) {
	case F_TOTAL:
		return s->total_ms;
	case F_LISTEN:
		return s->listen_ms;
	case F_CPU:
		return s->cpu_ms;
	case F_RSS_MB:
		return (double)s->maxrss_kb / 1024;
	}
	return 0;
}

static int stats_of(const struct bench_result *res, enum field which, struct bench_stats *st)
{
	double *v = malloc((res->n ? res->n : 1) * sizeof(*v));
	int err;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < res->n; i++)
		v[i] = field_of(&res->samples[i], which);
	err = bench_stats_compute(v, res->n, st);
	free(v);
	return err;
}

static int total_median(const struct bench_result *res, double *median)
{
	struct bench_stats st;
	int err = stats_of(res, F_TOTAL, &st);

	*median = st.median;
	return err;
}

/**
 * bench_report_summary() - the statistics of one result.
 * @r:   the report (for the baseline)
 * @res: one of its results
 * @sum: the statistics
 *
 * Return: 0, -ENODATA when @res has no sample, -ENOMEM.
 */
int bench_report_summary(const struct bench_report *r, const struct bench_result *res,
			 struct bench_summary *sum)
{
	const struct bench_result *base = find_result(r, res->app, r->baseline);
	const struct bench_phases *first;
	double sum_ms = 0, base_median;
	double *v;
	int err;

	memset(sum, 0, sizeof(*sum));
	if (!res->n)
		return -ENODATA;
	err = stats_of(res, F_TOTAL, &sum->total);
	if (!err)
		err = stats_of(res, F_LISTEN, &sum->listen);
	if (!err)
		err = stats_of(res, F_CPU, &sum->cpu);
	if (!err)
		err = stats_of(res, F_RSS_MB, &sum->rss_mb);
	if (err)
		return err;
	if (base && base->n && !total_median(base, &base_median) && base_median > 0)
		sum->ratio = sum->total.median / base_median;

	/* Phase medians over the samples that split the same way as the first one. */
	first = &res->samples[0].phases;
	v = malloc(res->n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	sum->nphases = first->n;
	for (int p = 0; p < first->n; p++) {
		struct bench_stats st;
		size_t k = 0;

		for (size_t i = 0; i < res->n; i++) {
			const struct bench_phases *ph = &res->samples[i].phases;

			if (ph->n == first->n && !strcmp(ph->name[p], first->name[p]))
				v[k++] = ph->ms[p];
		}
		sum->phase[p] = first->name[p];
		sum->phase_ms[p] = bench_stats_compute(v, k, &st) ? 0 : st.median;
		sum_ms += sum->phase_ms[p];
	}
	free(v);
	if (sum_ms > 0)
		for (int p = 0; p < sum->nphases; p++)
			sum->phase_ms[p] *= sum->total.median / sum_ms;
	return 0;
}

/* Markdown cells hold no '|' or newline. */
static void md_text(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == '|' ? '/' : (*s == '\n' || *s == '\r') ? ' ' : *s, f);
}

static void md_row(const struct bench_report *r, const struct bench_result *res, FILE *f)
{
	struct bench_summary sum;

	fprintf(f, "| `%s` ", res->config);
	if (!res->ran || bench_report_summary(r, res, &sum)) {
		fprintf(f,
			"| 0 | — | — | — | — | — | — | — | %s: ", res->ran ? "failed" : "not run");
		md_text(f, res->reason[0] ? res->reason : "no successful run");
		fputs(" |\n", f);
		return;
	}
	fprintf(f, "| %zu | %.1f | %.1f | %.1f | %.1f | ", res->n, sum.total.median, sum.total.p90,
		sum.total.min, sum.total.max);
	if (sum.ratio > 0)
		fprintf(f, "%.2f", sum.ratio);
	else
		fputs("—", f);
	fprintf(f, " | %.0f | %.0f | ", sum.cpu.median, sum.rss_mb.median);
	for (int p = 0; p < sum.nphases; p++)
		fprintf(f, "%s%s %.1f", p ? " · " : "", sum.phase[p], sum.phase_ms[p]);
	if (res->failures) {
		fprintf(f, " (%zu failed: ", res->failures);
		md_text(f, res->reason);
		fputc(')', f);
	}
	fputs(" |\n", f);
}

/* The harness's own CPU per run (its connect retries), so a reader can judge its weight. */
static void harness_line(const struct bench_report *r, FILE *f)
{
	struct bench_stats st, tot;
	size_t n = 0, k = 0;
	double *v, *t;

	for (size_t i = 0; i < r->n; i++)
		n += r->results[i].n;
	v = malloc((n ? n : 1) * sizeof(*v));
	t = malloc((n ? n : 1) * sizeof(*t));
	if (v && t) {
		for (size_t i = 0; i < r->n; i++) {
			for (size_t j = 0; j < r->results[i].n; j++) {
				v[k] = r->results[i].samples[j].harness_cpu_ms;
				t[k++] = r->results[i].samples[j].total_ms;
			}
		}
		if (!bench_stats_compute(v, k, &st) && !bench_stats_compute(t, k, &tot))
			fprintf(f,
				"The harness's own CPU per run: median %.1f ms over runs of median "
				"%.0f ms.\n\n",
				st.median, tot.median);
	}
	free(v);
	free(t);
}

/**
 * bench_report_write_markdown() - the results as Markdown: machine facts, then one table per app.
 * @r: the report
 * @f: where to write
 *
 * Return: 0 or -EIO.
 */
int bench_report_write_markdown(const struct bench_report *r, FILE *f)
{
	fprintf(f, "# Cold start: spawn to first HTTP 200\n\n");
	fprintf(f, "%s, %s mode: %d interleaved run%s per configuration, `GET %s`. ", r->date,
		r->mode, r->runs, r->runs == 1 ? "" : "s", r->path);
	fprintf(f,
		"Times in ms; ×%s is the median over `%s`'s median on the same app in this "
		"run. CPU: user+system of the whole process tree until the 200; RSS: the largest "
		"peak of any process of the tree. Phases: medians, scaled to add up to the "
		"median.\n\n",
		r->baseline, r->baseline);
	harness_line(r, f);
	fputs("| machine | |\n|---|---|\n", f);
	for (size_t i = 0; i < r->nfacts; i++) {
		fprintf(f, "| %s | ", r->facts[i].key);
		md_text(f, r->facts[i].value);
		fputs(" |\n", f);
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct bench_result *res = &r->results[i];

		if (i == 0 || strcmp(res->app, r->results[i - 1].app)) {
			fprintf(f, "\n## App `%s`\n\n", res->app);
			fprintf(f,
				"| configuration | runs | median | p90 | min | max | ×%s | CPU ms "
				"| peak RSS MB | phases (median ms) |\n",
				r->baseline);
			fputs("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n", f);
		}
		md_row(r, res, f);
	}
	return ferror(f) ? -EIO : 0;
}

static json_t *json_stats(const struct bench_stats *st)
{
	return json_pack("{s:f,s:f,s:f,s:f}", "median", st->median, "p90", st->p90, "min", st->min,
			 "max", st->max);
}

static json_t *json_phases(const struct bench_phases *ph)
{
	json_t *a = json_array();

	for (int p = 0; p < ph->n; p++)
		json_array_append_new(a,
				      json_pack("{s:s,s:f}", "name", ph->name[p], "ms", ph->ms[p]));
	return a;
}

static json_t *json_result(const struct bench_report *r, const struct bench_result *res)
{
	struct bench_summary sum;
	json_t *o, *samples, *phases;

	o = json_pack("{s:s,s:s,s:b,s:I}", "app", res->app, "config", res->config, "ran", res->ran,
		      "failures", (json_int_t)res->failures);
	if (!o)
		return NULL;
	if (res->reason[0])
		json_object_set_new(o, "reason", json_string(res->reason));
	if (bench_report_summary(r, res, &sum)) {
		json_object_set_new(o, "runs", json_integer(0));
		return o;
	}
	json_object_set_new(o, "runs", json_integer((json_int_t)res->n));
	json_object_set_new(o, "total_ms", json_stats(&sum.total));
	json_object_set_new(o, "listen_ms", json_stats(&sum.listen));
	json_object_set_new(o, "cpu_ms", json_stats(&sum.cpu));
	json_object_set_new(o, "peak_rss_mb", json_stats(&sum.rss_mb));
	json_object_set_new(o, "ratio", sum.ratio > 0 ? json_real(sum.ratio) : json_null());
	phases = json_array();
	for (int p = 0; p < sum.nphases; p++)
		json_array_append_new(phases, json_pack("{s:s,s:f}", "name", sum.phase[p],
							"median_ms", sum.phase_ms[p]));
	json_object_set_new(o, "phases", phases);
	samples = json_array();
	for (size_t i = 0; i < res->n; i++) {
		const struct bench_sample *s = &res->samples[i];

		json_array_append_new(samples,
				      json_pack("{s:f,s:f,s:f,s:I,s:f,s:o}", "total_ms",
						s->total_ms, "listen_ms", s->listen_ms, "cpu_ms",
						s->cpu_ms, "peak_rss_kb", (json_int_t)s->maxrss_kb,
						"harness_cpu_ms", s->harness_cpu_ms, "phases",
						json_phases(&s->phases)));
	}
	json_object_set_new(o, "samples", samples);
	return o;
}

/**
 * bench_report_write_json() - the results as one JSON document (layout in bench/README.md).
 * @r: the report
 * @f: where to write
 *
 * Return: 0, -ENOMEM or -EIO.
 */
int bench_report_write_json(const struct bench_report *r, FILE *f)
{
	json_t *root, *machine, *results;
	int err = 0;

	root = json_pack("{s:s,s:s,s:i,s:s,s:s}", "date", r->date, "mode", r->mode, "runs", r->runs,
			 "path", r->path, "baseline", r->baseline);
	machine = json_object();
	results = json_array();
	if (!root || !machine || !results) {
		json_decref(root);
		json_decref(machine);
		json_decref(results);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->nfacts; i++)
		json_object_set_new(machine, r->facts[i].key, json_string(r->facts[i].value));
	for (size_t i = 0; i < r->n; i++) {
		json_t *o = json_result(r, &r->results[i]);

		if (!o) {
			err = -ENOMEM;
			break;
		}
		json_array_append_new(results, o);
	}
	json_object_set_new(root, "machine", machine);
	json_object_set_new(root, "results", results);
	if (!err && json_dumpf(root, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER) < 0)
		err = -EIO;
	if (!err)
		fputc('\n', f);
	json_decref(root);
	if (!err && ferror(f))
		err = -EIO;
	return err;
}
