// SPDX-License-Identifier: Apache-2.0
/* bench: statistics, knext-init's log, the phase split, eviction and the three outputs. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/config.h"
#include "bench/report.h"

Test(stats, odd_even_and_p90)
{
	const double odd[] = { 5, 1, 3 };
	const double ten[] = { 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	const double even[] = { 4, 1, 3, 2 };
	struct bench_stats st;

	cr_assert_eq(bench_stats_compute(odd, 3, &st), 0);
	cr_assert_float_eq(st.median, 3, 1e-9);
	cr_assert_float_eq(st.min, 1, 1e-9);
	cr_assert_float_eq(st.max, 5, 1e-9);
	cr_assert_float_eq(st.p90, 5, 1e-9);
	cr_assert_eq(bench_stats_compute(even, 4, &st), 0);
	cr_assert_float_eq(st.median, 2.5, 1e-9);
	/* Nearest rank: the 9th of 10. */
	cr_assert_eq(bench_stats_compute(ten, 10, &st), 0);
	cr_assert_float_eq(st.p90, 9, 1e-9);
	cr_assert_float_eq(st.median, 5.5, 1e-9);
	cr_assert_eq(bench_stats_compute(ten, 1, &st), 0);
	cr_assert_float_eq(st.p90, 10, 1e-9);
	cr_assert_eq(bench_stats_compute(ten, 0, &st), -EINVAL);
}

static int parse(struct bench_log *log, const char *line)
{
	return bench_log_parse_line(log, line, strlen(line));
}

Test(log, events_phases_and_garbage)
{
	struct bench_log log = { 0 };

	cr_assert_eq(parse(&log, "{\"ts_ms\":0.1,\"level\":\"info\",\"event\":\"exec\"}"), 0);
	cr_assert_eq(
		parse(&log, "{\"ts_ms\":1.5,\"level\":\"info\",\"event\":\"spawn\",\"pid\":7}"), 0);
	cr_assert_eq(parse(&log, "{\"ts_ms\":40,\"event\":\"phase\",\"phase\":\"libnode_loaded\"}"),
		     0);
	cr_assert_eq(parse(&log, "{\"ts_ms\":99,\"event\":\"server_start\"}"), 0);
	cr_assert_eq(parse(&log, "{\"ts_ms\":300,\"event\":\"server_listening\"}"), 0);
	/* The first time counts. */
	cr_assert_eq(parse(&log, "{\"ts_ms\":301,\"event\":\"listening\"}"), -ENOENT);
	cr_assert_eq(parse(&log, "{\"ts_ms\":2,\"event\":\"reaped\"}"), -ENOENT);
	cr_assert_eq(parse(&log, "   ▲ Next.js 15.5.29"), -EINVAL);
	cr_assert_eq(parse(&log, "{\"event\":\"spawn\"}"), -EINVAL);
	cr_assert_eq(parse(&log, "{\"ts_ms\":-1,\"event\":\"spawn\"}"), -EINVAL);
	cr_assert_eq(parse(&log, "[1,2]"), -EINVAL);
	cr_assert_eq(log.seen, 0x1fu);
	cr_assert_float_eq(log.ts_ms[BENCH_EV_LIBNODE], 40, 1e-9);
	cr_assert_float_eq(log.ts_ms[BENCH_EV_LISTENING], 300, 1e-9);
}

Test(phases, knext_split_adds_up)
{
	struct bench_log log = { .seen = 0x1f };
	struct bench_phases ph;
	double sum = 0;

	log.ts_ms[BENCH_EV_SPAWN] = 2;
	log.ts_ms[BENCH_EV_LIBNODE] = 40;
	log.ts_ms[BENCH_EV_SERVER] = 100;
	log.ts_ms[BENCH_EV_LISTENING] = 300;
	bench_phases_split(&log, 450, 301, &ph);
	cr_assert_eq(ph.n, 5);
	cr_assert_str_eq(ph.name[0], "init");
	cr_assert_str_eq(ph.name[1], "libnode");
	cr_assert_str_eq(ph.name[2], "node boot");
	cr_assert_str_eq(ph.name[3], "server start");
	cr_assert_str_eq(ph.name[4], "first request");
	cr_assert_float_eq(ph.ms[2], 60, 1e-9);
	cr_assert_float_eq(ph.ms[4], 150, 1e-9);
	for (int i = 0; i < ph.n; i++)
		sum += ph.ms[i];
	cr_assert_float_eq(sum, 450, 1e-9);

	/* With the restore and the first byte: seven phases, still adding up. */
	log.seen |= (1u << BENCH_EV_BOOTSTRAP) | (1u << BENCH_EV_FIRST_BYTE);
	log.ts_ms[BENCH_EV_BOOTSTRAP] = 70;
	log.ts_ms[BENCH_EV_FIRST_BYTE] = 420;
	bench_phases_split(&log, 450, 301, &ph);
	cr_assert_eq(ph.n, 7);
	cr_assert_str_eq(ph.name[2], "restore");
	cr_assert_float_eq(ph.ms[2], 30, 1e-9);
	cr_assert_str_eq(ph.name[3], "node boot");
	cr_assert_float_eq(ph.ms[3], 30, 1e-9);
	cr_assert_str_eq(ph.name[5], "first request");
	cr_assert_float_eq(ph.ms[5], 120, 1e-9);
	cr_assert_str_eq(ph.name[6], "response");
	cr_assert_float_eq(ph.ms[6], 30, 1e-9);
	sum = 0;
	for (int i = 0; i < ph.n; i++)
		sum += ph.ms[i];
	cr_assert_float_eq(sum, 450, 1e-9);
}

Test(phases, missing_events_and_clamping)
{
	struct bench_log none = { 0 }, odd = { 0 };
	struct bench_phases ph;

	bench_phases_split(&none, 500, 200, &ph);
	cr_assert_eq(ph.n, 2);
	cr_assert_str_eq(ph.name[0], "start");
	cr_assert_float_eq(ph.ms[0], 200, 1e-9);
	cr_assert_float_eq(ph.ms[1], 300, 1e-9);
	/* Only spawn and a listening later than the 200 (clock skew): never negative. */
	odd.seen = (1u << BENCH_EV_SPAWN) | (1u << BENCH_EV_LISTENING);
	odd.ts_ms[BENCH_EV_SPAWN] = 5;
	odd.ts_ms[BENCH_EV_LISTENING] = 700;
	bench_phases_split(&odd, 500, 200, &ph);
	cr_assert_eq(ph.n, 3);
	cr_assert_float_eq(ph.ms[1], 495, 1e-9);
	cr_assert_float_eq(ph.ms[2], 0, 1e-9);
}

Test(evict, tree_and_file)
{
	char dir[] = "/tmp/bench-evict-XXXXXX", path[128];
	unsigned int n = 0;

	cr_assert_not_null(mkdtemp(dir));
	for (int i = 0; i < 5; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		f = fopen(path, "w");
		cr_assert_not_null(f);
		fputs("some data for the page cache\n", f);
		fclose(f);
	}
	cr_assert_eq(bench_evict_path(dir, &n), 0);
	cr_assert_eq(n, 5);
	cr_assert_eq(bench_evict_path(path, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(bench_evict_path("/nonexistent/bench", &n), -ENOENT);
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		unlink(path);
	}
	rmdir(dir);
}

/* Pages of @path in the page cache. */
static size_t resident_pages(const char *path, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t n = (len + (size_t)page - 1) / (size_t)page, in = 0;
	unsigned char *vec = calloc(n, 1);
	int fd = open(path, O_RDONLY);
	void *map;

	cr_assert(fd >= 0 && vec);
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	cr_assert_neq(map, MAP_FAILED);
	cr_assert_eq(mincore(map, len, vec), 0);
	for (size_t i = 0; i < n; i++)
		in += vec[i] & 1;
	munmap(map, len);
	close(fd);
	free(vec);
	return in;
}

Test(evict, warm_reads_back_what_evict_dropped)
{
	char path[] = "/tmp/bench-warm-XXXXXX";
	size_t len = 4 << 20;
	char *buf = malloc(len);
	int fd = mkstemp(path);
	unsigned int n = 0;

	cr_assert(fd >= 0 && buf);
	memset(buf, 'k', len);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
	cr_assert_eq(bench_evict_path(path, &n), 0);
	cr_assert_lt(resident_pages(path, len), 16, "evicted file still in the page cache");
	cr_assert_eq(bench_warm_path(path, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(resident_pages(path, len), len / (size_t)sysconf(_SC_PAGESIZE));
	cr_assert_eq(bench_warm_path("/nonexistent/bench", &n), -ENOENT);
	unlink(path);
}

static void add_samples(struct bench_result *res, double base, int n, bool knext)
{
	for (int i = 0; i < n; i++) {
		struct bench_sample s = { .total_ms = base + i,
					  .listen_ms = base / 2,
					  .cpu_ms = base * 1.1,
					  .maxrss_kb = 100 * 1024 };
		struct bench_log log = { 0 };

		if (knext) {
			log.seen = 0x1e;
			log.ts_ms[BENCH_EV_SPAWN] = 1;
			log.ts_ms[BENCH_EV_LIBNODE] = 10;
			log.ts_ms[BENCH_EV_SERVER] = 50;
			log.ts_ms[BENCH_EV_LISTENING] = base / 2;
		}
		bench_phases_split(&log, s.total_ms, s.listen_ms, &s.phases);
		cr_assert_eq(bench_result_add_sample(res, &s), 0);
	}
}

static void make_report(struct bench_report *r)
{
	struct bench_result *res;

	bench_report_init(r, "quick", 3, "/");
	bench_report_fact(r, "cores", "2");
	bench_report_fact(r, "kernel", "6.1 <test>");
	cr_assert_eq(bench_report_add(r, "small", "node", &res), 0);
	res->ran = true;
	add_samples(res, 400, 3, false);
	cr_assert_eq(bench_report_add(r, "small", "knext", &res), 0);
	res->ran = true;
	add_samples(res, 200, 3, true);
	cr_assert_eq(bench_report_add(r, "small", "knext+pack", &res), 0);
	snprintf(res->reason, sizeof(res->reason), "`cache warm` exits 2 <none> & gone");
}

static char *render(struct bench_report *r, int (*fn)(const struct bench_report *, FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_eq(fn(r, f), 0);
	fclose(f);
	return buf;
}

Test(report, summary_ratio_and_phases)
{
	struct bench_report r;
	struct bench_summary sum;
	double total = 0;

	make_report(&r);
	cr_assert_eq(bench_report_summary(&r, &r.results[1], &sum), 0);
	cr_assert_float_eq(sum.total.median, 201, 1e-9);
	cr_assert_float_eq(sum.ratio, 201.0 / 401.0, 1e-9);
	cr_assert_eq(sum.nphases, 5);
	for (int p = 0; p < sum.nphases; p++)
		total += sum.phase_ms[p];
	cr_assert_float_eq(total, 201, 1e-6);
	cr_assert_float_eq(sum.rss_mb.median, 100, 1e-9);
	cr_assert_eq(bench_report_summary(&r, &r.results[2], &sum), -ENODATA);
	bench_report_close(&r);
	bench_report_close(&r);
}

Test(report, markdown_rows)
{
	struct bench_report r;
	char *md;

	make_report(&r);
	md = render(&r, bench_report_write_markdown);
	cr_assert_not_null(strstr(md, "| cores | 2 |"));
	cr_assert_not_null(strstr(md, "## App `small`"));
	cr_assert_not_null(strstr(md, "| `node` | 3 | 401.0 | 402.0 | 400.0 | 402.0 | 1.00 |"));
	cr_assert_not_null(strstr(md, "| `knext` | 3 | 201.0 |"));
	cr_assert_not_null(strstr(md, "0.50"));
	cr_assert_not_null(strstr(md, "libnode 9.0"));
	cr_assert_not_null(strstr(md, "not run: `cache warm` exits 2 <none> & gone |"));
	free(md);
	bench_report_close(&r);
}

Test(report, json_document)
{
	struct bench_report r;
	json_t *root, *results, *knext;
	char *js;

	make_report(&r);
	js = render(&r, bench_report_write_json);
	root = json_loads(js, 0, NULL);
	cr_assert_not_null(root, "not JSON: %s", js);
	cr_assert_str_eq(json_string_value(json_object_get(root, "mode")), "quick");
	cr_assert_str_eq(
		json_string_value(json_object_get(json_object_get(root, "machine"), "cores")), "2");
	results = json_object_get(root, "results");
	cr_assert_eq(json_array_size(results), 3);
	knext = json_array_get(results, 1);
	cr_assert_str_eq(json_string_value(json_object_get(knext, "config")), "knext");
	cr_assert_eq(json_integer_value(json_object_get(knext, "runs")), 3);
	cr_assert_float_eq(
		json_real_value(json_object_get(json_object_get(knext, "total_ms"), "median")), 201,
		1e-9);
	cr_assert_eq(json_array_size(json_object_get(knext, "samples")), 3);
	cr_assert_eq(json_array_size(json_object_get(knext, "phases")), 5);
	cr_assert(json_is_false(json_object_get(json_array_get(results, 2), "ran")));
	cr_assert_not_null(json_object_get(json_array_get(results, 2), "reason"));
	json_decref(root);
	free(js);
	bench_report_close(&r);
}

Test(report, svg_chart)
{
	struct bench_report r;
	char *svg;

	make_report(&r);
	svg = render(&r, bench_report_write_svg);
	cr_assert_eq(strncmp(svg, "<?xml", 5), 0);
	cr_assert_not_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	cr_assert_not_null(strstr(svg, "</svg>\n"));
	cr_assert_not_null(strstr(svg, ">node</text>"));
	cr_assert_not_null(strstr(svg, ">knext</text>"));
	cr_assert_not_null(strstr(svg, ">knext+pack</text>"));
	/* Text is escaped; bars are drawn per phase. */
	cr_assert_not_null(strstr(svg, "&lt;none&gt; &amp; gone"));
	cr_assert_null(strstr(svg, "<none>"));
	cr_assert_not_null(strstr(svg, "<title>knext / libnode"));
	cr_assert_not_null(strstr(svg, "6.1 &lt;test&gt;"));
	free(svg);
	bench_report_close(&r);
}

/* ---- configurations: prerequisites are checked and stated, never skipped silently ---- */

static void fake_app(char *dir)
{
	char path[256];
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/server.js", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("// stand-in\n", f);
	fclose(f);
}

static void drop_app(const char *dir)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/server.js", dir);
	unlink(path);
	rmdir(dir);
}

static bool env_has(const struct bench_job *job, const char *entry)
{
	for (int i = 0; job->envp[i]; i++)
		if (!strcmp(job->envp[i], entry))
			return true;
	return false;
}

Test(config, names_are_the_issue_s)
{
	static const char *const want[] = { "node",
					    "node:cold",
					    "tini+node",
					    "node22",
					    "node22+ncc",
					    "node24",
					    "node24+ncc",
					    "knext",
					    "knext+pack",
					    "knext+pack:cold",
					    "knext+snapshot",
					    "knext+snapshot:cold",
					    "knext+warm",
					    "knext+warm:cold",
					    "knext+warm-no-bytecode",
					    "knext-libnode18+pack",
					    "knext-exec22+pack",
					    "knext-exec+snapshot",
					    "knext-exec+snapshot:cold",
					    "image:node",
					    "image:node+ncc",
					    "image:knext" };
	const int n = (int)(sizeof(want) / sizeof(want[0]));

	cr_assert_eq(bench_config_count(), n);
	for (int i = 0; i < n; i++) {
		cr_assert_str_eq(bench_config_name(i), want[i]);
		cr_assert_eq(bench_config_find(want[i]), i);
	}
	cr_assert_null(bench_config_name(n));
	cr_assert_eq(bench_config_find("bun"), -ENOENT);
}

/* A stand-in for bench/container.sh that exits with @code. */
static void write_script(const char *path, int code)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fprintf(f, "echo \"image: $2\"\nexit %d\n", code);
	fclose(f);
}

Test(config, image_needs_the_container_script)
{
	char dir[] = "/tmp/bench-app-XXXXXX", yes[64], no[64];
	struct bench_tools t = { .home = "/tmp", .workdir = "/tmp", .timeout_ms = 1000 };
	struct bench_job job;

	fake_app(dir);
	snprintf(yes, sizeof(yes), "%s/yes.sh", dir);
	snprintf(no, sizeof(no), "%s/no.sh", dir);
	write_script(yes, 0);
	write_script(no, 1);
	cr_assert_eq(bench_job_prepare(&job, bench_config_find("image:knext"), "small", dir, &t),
		     -ENOENT);
	cr_assert_not(job.ready);
	cr_assert_not_null(strstr(job.reason, "--images"), "%s", job.reason);
	/* A script that says the image is missing: not run, and the reason names the image. */
	snprintf(t.images, sizeof(t.images), "%s", no);
	cr_assert_eq(bench_job_prepare(&job, bench_config_find("image:node"), "small", dir, &t),
		     -ENOENT);
	cr_assert_not_null(strstr(job.reason, "knext-bench-node:dev"), "%s", job.reason);
	/* One that says it exists: the run command and the teardown go through the script. */
	snprintf(t.images, sizeof(t.images), "%s", yes);
	cr_assert_eq(bench_job_prepare(&job, bench_config_find("image:knext"), "small", dir, &t), 0,
		     "%s", job.reason);
	cr_assert_str_eq(job.argv[1], yes);
	cr_assert_str_eq(job.argv[2], "run");
	cr_assert_str_eq(job.argv[3], "localhost/knext-app:dev");
	cr_assert_str_eq(job.teardown[1], yes);
	cr_assert_str_eq(job.teardown[2], "rm");
	cr_assert(job.probe_env >= 0 && !strncmp(job.envp[job.probe_env], "KNEXT_PROBE_PORT=", 17));
	unlink(yes);
	unlink(no);
	drop_app(dir);
}

Test(config, node_ready_and_cold)
{
	char dir[] = "/tmp/bench-app-XXXXXX";
	struct bench_tools t = {
		.node = "/bin/sh", .home = "/tmp", .workdir = "/tmp", .timeout_ms = 1000
	};
	struct bench_job job;

	fake_app(dir);
	cr_assert_eq(bench_job_prepare(&job, bench_config_find("node:cold"), "small", dir, &t), 0);
	cr_assert(job.ready);
	cr_assert(job.cold);
	cr_assert_str_eq(job.argv[0], "/bin/sh");
	cr_assert_str_eq(job.argv[1], "server.js");
	cr_assert_null(job.argv[2]);
	cr_assert_str_eq(job.cwd, dir);
	cr_assert(env_has(&job, "HOSTNAME=127.0.0.1"));
	cr_assert(env_has(&job, "NEXT_TELEMETRY_DISABLED=1"));
	cr_assert_eq(job.nevict, 2);
	cr_assert_str_eq(job.evict[0], dir);
	cr_assert_str_eq(job.evict[1], "/bin/sh");
	drop_app(dir);
}

Test(config, missing_prerequisites_say_why)
{
	char dir[] = "/tmp/bench-app-XXXXXX";
	struct bench_tools t = {
		.node = "/bin/sh", .home = "/tmp", .workdir = "/tmp", .timeout_ms = 1000
	};
	struct bench_job job;

	fake_app(dir);
	cr_assert_eq(bench_job_prepare(&job, bench_config_find("tini+node"), "small", dir, &t),
		     -ENOENT);
	cr_assert_not(job.ready);
	cr_assert_not_null(strstr(job.reason, "tini"), "%s", job.reason);
	cr_assert_eq(bench_job_prepare(&job, bench_config_find("node22+ncc"), "small", dir, &t),
		     -ENOENT);
	cr_assert_not_null(strstr(job.reason, "node 22"), "%s", job.reason);
	cr_assert_eq(bench_job_prepare(&job, bench_config_find("knext+pack"), "small", dir, &t),
		     -ENOENT);
	cr_assert_not_null(strstr(job.reason, "knext-init not built"), "%s", job.reason);
	drop_app(dir);
	cr_assert_eq(bench_job_prepare(&job, bench_config_find("node"), "small", dir, &t), -ENOENT);
	cr_assert_not_null(strstr(job.reason, "app not built"), "%s", job.reason);
	cr_assert_eq(bench_job_prepare(&job, 42, "small", dir, &t), -EINVAL);
}
