// SPDX-License-Identifier: Apache-2.0
/*
 * The chart: one horizontal bar per configuration and app, as long as the median time to the
 * first 200 and split into the median phases, with a whisker from min to p90. All apps share one
 * scale, so the cost of size shows. Plain SVG 1.1, no script, no external font or style.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "bench/report.h"

#define W 1000
#define LABEL_X 12
#define BAR_X 190
#define BAR_W 600
#define ROW_H 26
#define BAR_H 16

static const struct {
	const char *phase;
	const char *color;
} palette[] = {
	{ "start", "#4e79a7" },	    { "init", "#76b7b2" },	   { "libnode", "#59a14f" },
	{ "node boot", "#edc948" }, { "server start", "#e15759" }, { "first request", "#f28e2b" },
	{ "restore", "#b07aa1" },   { "response", "#bab0ac" },
};

static const char *phase_color(const char *name)
{
	for (size_t i = 0; i < sizeof(palette) / sizeof(palette[0]); i++)
		if (!strcmp(palette[i].phase, name))
			return palette[i].color;
	return "#9c755f";
}

static void xml_text(FILE *f, const char *s, size_t max)
{
	size_t n = 0;

	for (; *s && n < max; s++, n++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			/* Control bytes are not allowed in XML 1.0 text. */
			fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
		}
	}
	if (*s)
		fputs("…", f);
}

static double nice_step(double max)
{
	static const double steps[] = {
		10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (max / steps[i] <= 8)
			return steps[i];
	return 20000;
}

static const char *fact(const struct bench_report *r, const char *key)
{
	for (size_t i = 0; i < r->nfacts; i++)
		if (!strcmp(r->facts[i].key, key))
			return r->facts[i].value;
	return "?";
}

static void legend(const struct bench_report *r, FILE *f, int y)
{
	const char *seen[16];
	int nseen = 0, x = BAR_X;

	for (size_t i = 0; i < r->n; i++) {
		struct bench_summary sum;

		if (!r->results[i].ran || bench_report_summary(r, &r->results[i], &sum))
			continue;
		for (int p = 0; p < sum.nphases; p++) {
			bool dup = false;

			for (int k = 0; k < nseen; k++)
				dup = dup || !strcmp(seen[k], sum.phase[p]);
			if (!dup && nseen < 16)
				seen[nseen++] = sum.phase[p];
		}
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"s\">phases</text>\n", LABEL_X, y + 11);
	for (int k = 0; k < nseen; k++) {
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>", x, y,
			phase_color(seen[k]));
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"s\">", x + 16, y + 11);
		xml_text(f, seen[k], 40);
		fputs("</text>\n", f);
		x += 24 + 7 * (int)strlen(seen[k]);
	}
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"w\"/>", x + 8, y + 6,
		x + 28, y + 6);
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"s\">min to p90</text>\n", x + 34, y + 11);
}

static void bar(const struct bench_report *r, const struct bench_result *res, FILE *f, int y,
		double scale)
{
	struct bench_summary sum;
	double x = BAR_X;

	fprintf(f, "<text x=\"%d\" y=\"%d\">", LABEL_X + 10, y + 13);
	xml_text(f, res->config, 30);
	fputs("</text>\n", f);
	if (!res->ran || bench_report_summary(r, res, &sum)) {
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"n\">%s: ", BAR_X, y + 13,
			res->ran ? "failed" : "not run");
		xml_text(f, res->reason[0] ? res->reason : "no successful run", 95);
		fputs("</text>\n", f);
		return;
	}
	for (int p = 0; p < sum.nphases; p++) {
		double w = sum.phase_ms[p] * scale;

		fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\">", x,
			y + 2, w, BAR_H, phase_color(sum.phase[p]));
		fputs("<title>", f);
		xml_text(f, res->config, 30);
		fputs(" / ", f);
		xml_text(f, sum.phase[p], 40);
		fprintf(f, ": %.1f ms</title></rect>\n", sum.phase_ms[p]);
		x += w;
	}
	fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"w\"/>\n",
		BAR_X + sum.total.min * scale, y + 10, BAR_X + sum.total.p90 * scale, y + 10);
	fprintf(f, "<text x=\"%.1f\" y=\"%d\">%.0f ms",
		BAR_X + fmax(sum.total.p90 * scale, x - BAR_X) + 8, y + 13, sum.total.median);
	if (sum.ratio > 0)
		fprintf(f, "  ×%.2f", sum.ratio);
	fputs("</text>\n", f);
}

/**
 * bench_report_write_svg() - the results as an SVG chart.
 * @r: the report
 * @f: where to write
 *
 * Return: 0 or -EIO.
 */
int bench_report_write_svg(const struct bench_report *r, FILE *f)
{
	double max = 0, scale, step;
	int napps = 0, height, y;

	for (size_t i = 0; i < r->n; i++) {
		struct bench_summary sum;

		if (i == 0 || strcmp(r->results[i].app, r->results[i - 1].app))
			napps++;
		if (r->results[i].ran && !bench_report_summary(r, &r->results[i], &sum))
			max = fmax(max, sum.total.p90);
	}
	if (max <= 0)
		max = 100;
	step = nice_step(max);
	max = ceil(max / step) * step;
	scale = BAR_W / max;
	height = 90 + napps * 34 + (int)r->n * ROW_H + 70;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Verdana, sans-serif\" "
		"font-size=\"12\">\n",
		W, height, W, height);
	fputs("<style>text{fill:#222}.n{fill:#888;font-style:italic}.s{font-size:11px}"
	      ".h{font-weight:bold;font-size:13px}.t{font-weight:bold;font-size:16px}"
	      ".g{stroke:#ddd;stroke-width:1}.w{stroke:#222;stroke-width:1.5}</style>\n",
	      f);
	fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", W, height);
	fprintf(f,
		"<text x=\"%d\" y=\"26\" class=\"t\">Cold start: spawn to first HTTP 200, "
		"median ms by phase</text>\n",
		LABEL_X);
	fprintf(f, "<text x=\"%d\" y=\"46\" class=\"s\">%s · %s mode, %d interleaved run%s · ",
		LABEL_X, r->date, r->mode, r->runs, r->runs == 1 ? "" : "s");
	xml_text(f, fact(r, "cpu"), 60);
	fprintf(f, ", %s cores · Linux ", fact(r, "cores"));
	xml_text(f, fact(r, "kernel"), 40);
	fprintf(f, " · ×%s = ratio to %s's median on the same app</text>\n", r->baseline,
		r->baseline);

	y = 70;
	for (double t = 0; t <= max + 0.5; t += step) {
		double x = BAR_X + t * scale;

		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"g\"/>", x, y,
			x, height - 56);
		fprintf(f,
			"<text x=\"%.1f\" y=\"%d\" class=\"s\" text-anchor=\"middle\">%.0f</text>\n",
			x, y - 4, t);
	}
	y += 8;
	for (size_t i = 0; i < r->n; i++) {
		const struct bench_result *res = &r->results[i];

		if (i == 0 || strcmp(res->app, r->results[i - 1].app)) {
			y += 6;
			fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"h\">app ", LABEL_X, y + 16);
			xml_text(f, res->app, 30);
			fputs("</text>\n", f);
			y += 28;
		}
		bar(r, res, f, y, scale);
		y += ROW_H;
	}
	legend(r, f, height - 40);
	fputs("</svg>\n", f);
	return ferror(f) ? -EIO : 0;
}
