// SPDX-License-Identifier: Apache-2.0
/*
 * bench, integration: timed runs against a stand-in server (fake_server.py), and the harness's
 * quick mode on the real fixture app, one run per configuration.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/config.h"

#define PYTHON "/usr/bin/python3"

static void need_python(void)
{
	if (access(PYTHON, X_OK) < 0)
		cr_skip_test("needs %s", PYTHON);
}

static const char *fake_server(void)
{
	const char *p = getenv("BENCH_FAKE_SERVER");

	cr_assert_not_null(p, "BENCH_FAKE_SERVER is not set");
	return p;
}

static int run_fake(const char *mode, const char *delay, const char *pidfile,
		    struct bench_sample *s, char *reason, int timeout_ms)
{
	char port_env[16];
	char *const envp[] = { "PATH=/usr/bin:/bin", port_env, NULL };
	char *const argv[] = { PYTHON,
			       (char *)fake_server(),
			       (char *)mode,
			       (char *)delay,
			       (char *)(pidfile ? pidfile : ""),
			       NULL };
	struct bench_spec spec = {
		.argv = argv, .envp = envp, .cwd = "/", .path = "/x", .timeout_ms = timeout_ms
	};

	cr_assert_eq(bench_free_port(&spec.port), 0);
	snprintf(port_env, sizeof(port_env), "PORT=%d", spec.port);
	return bench_run_once(&spec, s, reason, BENCH_REASON_LEN);
}

Test(run, first_200_after_a_503)
{
	struct bench_sample s;
	char reason[BENCH_REASON_LEN] = "";

	need_python();
	cr_assert_eq(run_fake("ok", "150", NULL, &s, reason, 20000), 0, "%s", reason);
	cr_assert_geq(s.total_ms, 150);
	cr_assert_lt(s.total_ms, 15000);
	cr_assert_gt(s.listen_ms, 0);
	cr_assert_leq(s.listen_ms, s.total_ms);
	cr_assert_gt(s.cpu_ms, 0);
	cr_assert_gt(s.maxrss_kb, 1000);
	cr_assert_eq(s.phases.n, 2);
	cr_assert_str_eq(s.phases.name[0], "start");
}

Test(run, knext_events_make_phases)
{
	struct bench_sample s;
	char reason[BENCH_REASON_LEN] = "";
	double sum = 0;

	need_python();
	cr_assert_eq(run_fake("knextlog", "50", NULL, &s, reason, 20000), 0, "%s", reason);
	cr_assert_eq(s.phases.n, 5);
	cr_assert_str_eq(s.phases.name[1], "libnode");
	cr_assert_str_eq(s.phases.name[4], "first request");
	cr_assert_geq(s.phases.ms[1], 40);
	for (int i = 0; i < s.phases.n; i++)
		sum += s.phases.ms[i];
	cr_assert_float_eq(sum, s.total_ms, 1e-6);
}

Test(run, early_exit_reports_stderr)
{
	struct bench_sample s;
	char reason[BENCH_REASON_LEN] = "";

	need_python();
	cr_assert_eq(run_fake("exit", "10", NULL, &s, reason, 20000), -ECHILD);
	cr_assert_not_null(strstr(reason, "status 3"), "%s", reason);
	cr_assert_not_null(strstr(reason, "bad config"), "%s", reason);
}

Test(run, timeout)
{
	struct bench_sample s;
	char reason[BENCH_REASON_LEN] = "";

	need_python();
	cr_assert_eq(run_fake("never", "0", NULL, &s, reason, 600), -ETIMEDOUT);
	cr_assert_not_null(strstr(reason, "no 200 within 600 ms"), "%s", reason);
}

Test(run, orphans_are_killed)
{
	char pidfile[] = "/tmp/bench-orphan-XXXXXX";
	struct bench_sample s;
	char reason[BENCH_REASON_LEN] = "";
	FILE *f;
	int fd, pid = 0;

	need_python();
	fd = mkstemp(pidfile);
	cr_assert_geq(fd, 0);
	close(fd);
	unlink(pidfile);
	cr_assert_eq(run_fake("orphan", "10", pidfile, &s, reason, 20000), 0, "%s", reason);
	f = fopen(pidfile, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%d", &pid), 1);
	fclose(f);
	unlink(pidfile);
	cr_assert_gt(pid, 1);
	cr_assert_eq(kill(pid, 0), -1, "the detached grandchild %d survived the run", pid);
	cr_assert_eq(errno, ESRCH);
}

/* ---- quick mode of the real harness on the fixture app ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	cr_assert_not_null(f, "%s missing", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

Test(quick, one_run_per_configuration, .timeout = 600)
{
	const char *exe = getenv("KNEXT_BENCH_EXE"), *app = getenv("BENCH_APP_DIR");
	const char *knext = getenv("KNEXT_INIT_EXE"), *node22 = getenv("BENCH_NODE22");
	const char *node24 = getenv("BENCH_NODE24");
	char out[] = "/tmp/bench-quick-XXXXXX", cmd[4096], path[256];
	char *md, *svg;
	json_t *root, *results;
	int status;

	cr_assert_not_null(exe);
	cr_assert_not_null(app);
	snprintf(path, sizeof(path), "%s/server.js", app);
	if (access(path, R_OK) < 0)
		cr_skip_test("fixture app not built (%s); run make fixture", path);
	/* The official node 22 comes from npm, pinned by bench/package-lock.json. */
	if (node22 && access(node22, X_OK) < 0 && getenv("BENCH_DIR")) {
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && npm ci --no-audit --no-fund --loglevel=error >&2",
			 getenv("BENCH_DIR"));
		if (system(cmd) != 0)
			cr_log_warn("npm ci in bench/ failed: node22 rows will say why");
	}
	cr_assert_not_null(mkdtemp(out));
	snprintf(cmd, sizeof(cmd),
		 "'%s' --quick --app small='%s' --out '%s' --knext '%s' --node22 '%s' "
		 "--node24 '%s' --libnode '%s' --timeout-ms 60000 2>'%s/log'",
		 exe, app, out, knext ? knext : "", node22 ? node22 : "", node24 ? node24 : "",
		 getenv("BENCH_LIBNODE") ? getenv("BENCH_LIBNODE") : "", out);
	status = system(cmd);
	snprintf(path, sizeof(path), "%s/log", out);
	md = slurp(path);
	cr_assert_eq(status, 0, "knext-bench failed:\n%s", md);
	free(md);

	/* A row per configuration: measured, or a stated reason. */
	snprintf(path, sizeof(path), "%s/results.md", out);
	md = slurp(path);
	snprintf(path, sizeof(path), "%s/results.svg", out);
	svg = slurp(path);
	snprintf(path, sizeof(path), "%s/results.json", out);
	root = json_load_file(path, 0, NULL);
	cr_assert_not_null(root);
	results = json_object_get(root, "results");
	/* test_bench.c pins the names; here every one of them has its row and its bar. */
	cr_assert_eq(json_array_size(results), (size_t)bench_config_count());
	for (int i = 0; i < bench_config_count(); i++) {
		const char *name = bench_config_name(i);
		json_t *r = json_array_get(results, (size_t)i);
		char row[64], label[64];
		const char *row_at;
		bool ran;

		cr_assert_str_eq(json_string_value(json_object_get(r, "config")), name);
		ran = json_integer_value(json_object_get(r, "runs")) == 1;
		cr_assert(ran || json_string_length(json_object_get(r, "reason")) > 0,
			  "%s neither ran nor says why", name);
		snprintf(row, sizeof(row), "| `%s` | %d |", name, ran ? 1 : 0);
		row_at = strstr(md, row);
		cr_assert_not_null(row_at, "no row '%s' in results.md", row);
		if (!ran) {
			const char *eol = strchr(row_at, '\n');
			const char *nr = strstr(row_at, "not run: "),
				   *fl = strstr(row_at, "failed: ");

			cr_assert((nr && nr < eol) || (fl && fl < eol), "row of %s has no reason",
				  name);
		}
		snprintf(label, sizeof(label), ">%s</text>", name);
		cr_assert_not_null(strstr(svg, label), "no bar for %s in results.svg", name);
	}
	/* node is on every machine this project builds on: its row must be measured. */
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(results, 0), "runs")), 1,
		     "node did not run:\n%s", md);
	cr_assert_not_null(strstr(svg, "</svg>"));
	json_decref(root);
	free(md);
	free(svg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", out);
	cr_assert_eq(system(cmd), 0);
}
