// SPDX-License-Identifier: Apache-2.0
/*
 * knext-bench's command line: prepare every configuration on every app, run them interleaved
 * (A B C … A B C …), and write results.md, results.json and results.svg.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench/cli.h"
#include "bench/config.h"
#include "bench/report.h"

#define MAX_APPS 4

struct app {
	char name[32];
	char dir[BENCH_PATH_LEN];
};

struct opts {
	bool quick;
	int runs;
	int warmup;
	char out[BENCH_PATH_LEN];
	char path[128];
	struct app apps[MAX_APPS];
	int napps;
	bool only[32];
	bool any_only;
	char baseline[32];
	char facts[8][300];
	int nfacts;
	struct bench_tools tools;
};

static void usage(FILE *f)
{
	fputs("usage: knext-bench --app NAME=DIR [--app NAME=DIR] [options]\n"
	      "  --app NAME=DIR     an app's standalone directory (holds server.js); repeatable\n"
	      "  --quick            one run per configuration, no warm-up run\n"
	      "  --runs N           interleaved runs per configuration (default 10)\n"
	      "  --warmup N         untimed rounds first (default 1; 0 with --quick)\n"
	      "  --out DIR          where results.{md,json,svg} go (default bench/out)\n"
	      "  --config A,B       only these configurations (default: all)\n"
	      "  --path /P          HTTP path to time (default /)\n"
	      "  --timeout-ms N     per run, to the first 200 (default 30000)\n"
	      "  --node PATH --tini PATH --node22 PATH --node24 PATH --knext PATH --libnode PATH\n"
	      "  --knext-libnode18 PATH --libnode18 PATH\n"
	      "                     programs (default: node and tini from PATH, others none)\n"
	      "  --images SCRIPT    bench/container.sh: runs the image:* configurations with podman\n"
	      "  --baseline NAME    the configuration ratios refer to (default node)\n"
	      "  --fact KEY=VALUE   a fact recorded with the results; repeatable\n"
	      "configurations:",
	      f);
	for (int i = 0; i < bench_config_count(); i++)
		fprintf(f, " %s", bench_config_name(i));
	fputc('\n', f);
}

static void which(const char *prog, char *out, size_t len)
{
	static const char *const dirs[] = { "/usr/local/bin", "/usr/bin", "/bin" };

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(out, len, "%s/%s", dirs[i], prog);
		if (access(out, X_OK) == 0)
			return;
	}
	out[0] = '\0';
}

static int abs_path(const char *in, char *out, size_t len)
{
	char *p = realpath(in, NULL);

	if (!p) {
		/* Keep the name: a missing program is reported by its configuration. */
		snprintf(out, len, "%s", in);
		return -errno;
	}
	snprintf(out, len, "%s", p);
	free(p);
	return 0;
}

static int parse_configs(struct opts *o, char *list)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		int i = bench_config_find(tok);

		if (i < 0 || i >= 32) {
			fprintf(stderr, "knext-bench: unknown configuration '%s'\n", tok);
			return -EINVAL;
		}
		o->only[i] = true;
		o->any_only = true;
	}
	return 0;
}

static int parse_args(struct opts *o, int argc, char **argv)
{
	enum {
		O_APP = 256,
		O_QUICK,
		O_RUNS,
		O_WARMUP,
		O_OUT,
		O_CONFIG,
		O_PATH,
		O_TIMEOUT,
		O_NODE,
		O_TINI,
		O_NODE22,
		O_NODE24,
		O_KNEXT,
		O_LIBNODE,
		O_KNEXT18,
		O_LIBNODE18,
		O_IMAGES,
		O_BASELINE,
		O_FACT,
		O_HELP
	};
	static const struct option longopts[] = {
		{ "app", required_argument, NULL, O_APP },
		{ "quick", no_argument, NULL, O_QUICK },
		{ "runs", required_argument, NULL, O_RUNS },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "out", required_argument, NULL, O_OUT },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "path", required_argument, NULL, O_PATH },
		{ "timeout-ms", required_argument, NULL, O_TIMEOUT },
		{ "node", required_argument, NULL, O_NODE },
		{ "tini", required_argument, NULL, O_TINI },
		{ "node22", required_argument, NULL, O_NODE22 },
		{ "node24", required_argument, NULL, O_NODE24 },
		{ "knext", required_argument, NULL, O_KNEXT },
		{ "libnode", required_argument, NULL, O_LIBNODE },
		{ "knext-libnode18", required_argument, NULL, O_KNEXT18 },
		{ "libnode18", required_argument, NULL, O_LIBNODE18 },
		{ "images", required_argument, NULL, O_IMAGES },
		{ "baseline", required_argument, NULL, O_BASELINE },
		{ "fact", required_argument, NULL, O_FACT },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_tools *t = &o->tools;
	int c, warmup = -1;

	o->runs = 10;
	snprintf(o->out, sizeof(o->out), "bench/out");
	snprintf(o->path, sizeof(o->path), "/");
	t->timeout_ms = 30000;
	which("node", t->node, sizeof(t->node));
	which("tini", t->tini, sizeof(t->tini));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		char *eq;

		switch (c) {
		case O_APP:
			eq = strchr(optarg, '=');
			if (!eq || eq == optarg || o->napps >= MAX_APPS) {
				fprintf(stderr, "knext-bench: --app NAME=DIR (at most %d)\n",
					MAX_APPS);
				return -EINVAL;
			}
			snprintf(o->apps[o->napps].name, sizeof(o->apps[0].name), "%.*s",
				 (int)(eq - optarg), optarg);
			abs_path(eq + 1, o->apps[o->napps].dir, sizeof(o->apps[0].dir));
			o->napps++;
			break;
		case O_QUICK:
			o->quick = true;
			break;
		case O_RUNS:
			o->runs = atoi(optarg);
			break;
		case O_WARMUP:
			warmup = atoi(optarg);
			break;
		case O_OUT:
			snprintf(o->out, sizeof(o->out), "%s", optarg);
			break;
		case O_CONFIG:
			if (parse_configs(o, optarg) < 0)
				return -EINVAL;
			break;
		case O_PATH:
			snprintf(o->path, sizeof(o->path), "%s", optarg);
			break;
		case O_TIMEOUT:
			t->timeout_ms = atoi(optarg);
			break;
		case O_NODE:
			abs_path(optarg, t->node, sizeof(t->node));
			break;
		case O_TINI:
			abs_path(optarg, t->tini, sizeof(t->tini));
			break;
		case O_NODE22:
			abs_path(optarg, t->node22, sizeof(t->node22));
			break;
		case O_NODE24:
			abs_path(optarg, t->node24, sizeof(t->node24));
			break;
		case O_KNEXT:
			abs_path(optarg, t->knext, sizeof(t->knext));
			break;
		case O_LIBNODE:
			abs_path(optarg, t->libnode, sizeof(t->libnode));
			break;
		case O_KNEXT18:
			abs_path(optarg, t->knext18, sizeof(t->knext18));
			break;
		case O_LIBNODE18:
			abs_path(optarg, t->libnode18, sizeof(t->libnode18));
			break;
		case O_IMAGES:
			abs_path(optarg, t->images, sizeof(t->images));
			break;
		case O_BASELINE:
			if (bench_config_find(optarg) < 0) {
				fprintf(stderr, "knext-bench: unknown baseline '%s'\n", optarg);
				return -EINVAL;
			}
			snprintf(o->baseline, sizeof(o->baseline), "%s", optarg);
			break;
		case O_FACT:
			if (o->nfacts < 8 && strchr(optarg, '='))
				snprintf(o->facts[o->nfacts++], sizeof(o->facts[0]), "%s", optarg);
			break;
		case O_HELP:
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (o->quick)
		o->runs = 1;
	o->warmup = warmup >= 0 ? warmup : (o->quick ? 0 : 1);
	if (!o->napps || o->runs < 1 || t->timeout_ms < 100 || o->path[0] != '/') {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static void version_of(const char *prog, const char *arg, char *out, size_t len)
{
	char *const argv[] = { (char *)prog, (char *)arg, NULL };
	char *const envp[] = { "PATH=/usr/bin:/bin", NULL };
	int code;
	char *nl;

	if (!prog[0] || access(prog, X_OK) < 0 ||
	    bench_run_cmd(argv, envp, NULL, 10000, &code, out, len) < 0 || code) {
		snprintf(out, len, "not available");
		return;
	}
	nl = strchr(out, '\n');
	if (nl)
		*nl = '\0';
}

static void file_line(const char *path, const char *prefix, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	char line[512];

	snprintf(out, len, "?");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, prefix, strlen(prefix)))
			continue;
		char *v = line + strlen(prefix);

		v += strspn(v, " \t:=\"");
		v[strcspn(v, "\"\n")] = '\0';
		snprintf(out, len, "%s", v);
		break;
	}
	fclose(f);
}

static void machine_facts(struct bench_report *r, const struct opts *o)
{
	const struct bench_tools *t = &o->tools;
	char buf[512];
	struct utsname u;
	double load[3];

	file_line("/proc/cpuinfo", "model name", buf, sizeof(buf));
	bench_report_fact(r, "cpu", buf);
	snprintf(buf, sizeof(buf), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	bench_report_fact(r, "cores", buf);
	snprintf(buf, sizeof(buf), "%.1f GiB",
		 (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) / (1 << 30));
	bench_report_fact(r, "memory", buf);
	if (uname(&u) == 0) {
		bench_report_fact(r, "kernel", u.release);
		bench_report_fact(r, "arch", u.machine);
	}
	file_line("/etc/os-release", "PRETTY_NAME", buf, sizeof(buf));
	bench_report_fact(r, "os", buf);
	if (getloadavg(load, 3) == 3) {
		snprintf(buf, sizeof(buf), "%.2f %.2f %.2f", load[0], load[1], load[2]);
		bench_report_fact(r, "load at start", buf);
	}
	version_of(t->node, "--version", buf, sizeof(buf));
	bench_report_fact(r, "node", buf);
	version_of(t->node22, "--version", buf, sizeof(buf));
	bench_report_fact(r, "node22", buf);
	version_of(t->node24, "--version", buf, sizeof(buf));
	bench_report_fact(r, "node24", buf);
	version_of(t->tini, "--version", buf, sizeof(buf));
	bench_report_fact(r, "tini", buf);
	version_of(t->knext, "--version", buf, sizeof(buf));
	bench_report_fact(r, "knext-init", buf);
	version_of(t->knext18, "--version", buf, sizeof(buf));
	bench_report_fact(r, "knext-init (libnode 18)", buf);
	for (int i = 0; i < o->napps; i++) {
		char key[48];

		snprintf(key, sizeof(key), "app %s", o->apps[i].name);
		bench_report_fact(r, key, o->apps[i].dir);
	}
	for (int i = 0; i < o->nfacts; i++) {
		char *eq = strchr(o->facts[i], '=');

		*eq = '\0';
		bench_report_fact(r, o->facts[i], eq + 1);
		*eq = '=';
	}
}

static int rm_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path) < 0 ? 0 : 0;
}

static int write_outputs(const struct bench_report *r, const char *dir)
{
	static const char *const names[] = { "results.md", "results.json", "results.svg" };
	int err = 0;

	for (int i = 0; i < 3; i++) {
		char path[BENCH_PATH_LEN];
		FILE *f;
		int e;

		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		f = fopen(path, "we");
		if (!f) {
			fprintf(stderr, "knext-bench: %s: %s\n", path, strerror(errno));
			err = -errno;
			continue;
		}
		e = i == 0 ? bench_report_write_markdown(r, f) :
		    i == 1 ? bench_report_write_json(r, f) :
			     bench_report_write_svg(r, f);
		if (fclose(f) || e) {
			fprintf(stderr, "knext-bench: writing %s failed\n", path);
			err = -EIO;
		} else {
			fprintf(stderr, "knext-bench: wrote %s\n", path);
		}
	}
	return err;
}

static int run_all(struct opts *o, struct bench_report *r, struct bench_job *jobs, int njobs)
{
	int per_app = njobs / o->napps;

	for (int a = 0; a < o->napps; a++) {
		struct bench_job *aj = jobs + a * per_app;
		struct bench_result *res;

		for (int round = 0; round < o->warmup + o->runs; round++) {
			bool timed = round >= o->warmup;

			for (int j = 0; j < per_app; j++) {
				struct bench_sample s;
				char reason[BENCH_REASON_LEN];
				int err;

				if (!aj[j].ready)
					continue;
				err = bench_job_run(&aj[j], &s, o->tools.timeout_ms, o->path,
						    reason, sizeof(reason));
				res = &r->results[a * per_app + j];
				fprintf(stderr, "%s %d/%d %-6s %-18s ", timed ? "run" : "warm-up",
					timed ? round - o->warmup + 1 : round + 1,
					timed ? o->runs : o->warmup, aj[j].app, aj[j].config);
				if (err) {
					fprintf(stderr, "FAILED: %s\n", reason);
					if (timed) {
						res->failures++;
						snprintf(res->reason, sizeof(res->reason), "%s",
							 reason);
					}
					continue;
				}
				fprintf(stderr, "%8.1f ms  cpu %6.0f ms  rss %4ld MB\n", s.total_ms,
					s.cpu_ms, s.maxrss_kb / 1024);
				if (timed && bench_result_add_sample(res, &s) < 0)
					return -ENOMEM;
			}
		}
	}
	return 0;
}

/**
 * bench_cli_main() - knext-bench's main: run the benchmark the arguments describe.
 * @argc: argument count
 * @argv: arguments; argv[0] is the program or subcommand name
 *
 * Return: the exit code: 0 when the outputs were written (configurations that could not run are
 * rows that say why), 1 when nothing could be measured at all or writing failed, 2 for bad usage.
 */
int bench_cli_main(int argc, char **argv)
{
	struct opts *o = calloc(1, sizeof(*o));
	struct bench_report r;
	struct bench_job *jobs = NULL;
	int njobs = 0, code = 2, err, measured = 0;

	if (!o)
		return 1;
	err = parse_args(o, argc, argv);
	if (err) {
		code = err > 0 ? 0 : 2;
		goto out;
	}
	code = 1;
	mkdir(o->out, 0755);
	if (snprintf(o->tools.workdir, sizeof(o->tools.workdir), "%s/.work", o->out) >=
	    (int)sizeof(o->tools.workdir)) {
		fprintf(stderr, "knext-bench: --out path too long\n");
		goto out;
	}
	nftw(o->tools.workdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	if (mkdir(o->tools.workdir, 0755) < 0 ||
	    abs_path(o->tools.workdir, o->tools.workdir, sizeof(o->tools.workdir)) < 0) {
		fprintf(stderr, "knext-bench: cannot make %s/.work: %s\n", o->out, strerror(errno));
		goto out;
	}
	snprintf(o->tools.home, sizeof(o->tools.home), "%s", o->tools.workdir);
	bench_report_init(&r, o->quick ? "quick" : "full", o->runs, o->path);
	if (o->baseline[0])
		snprintf(r.baseline, sizeof(r.baseline), "%s", o->baseline);
	machine_facts(&r, o);

	jobs = calloc((size_t)(o->napps * bench_config_count()), sizeof(*jobs));
	if (!jobs)
		goto out_report;
	for (int a = 0; a < o->napps; a++) {
		for (int i = 0; i < bench_config_count(); i++) {
			struct bench_job *job = &jobs[njobs++];
			struct bench_result *res;

			if (bench_report_add(&r, o->apps[a].name, bench_config_name(i), &res) < 0)
				goto out_report;
			if (o->any_only && !o->only[i]) {
				snprintf(job->reason, sizeof(job->reason),
					 "not selected (--config)");
				job->config = bench_config_name(i);
			} else {
				fprintf(stderr, "prepare %-6s %-18s ", o->apps[a].name,
					bench_config_name(i));
				bench_job_prepare(job, i, o->apps[a].name, o->apps[a].dir,
						  &o->tools);
				fprintf(stderr, "%s%s\n", job->ready ? "ready" : "not run: ",
					job->ready ? "" : job->reason);
			}
			res->ran = job->ready;
			snprintf(res->reason, sizeof(res->reason), "%s", job->reason);
		}
	}
	if (run_all(o, &r, jobs, njobs) < 0)
		goto out_report;
	{
		double load[3];
		char buf[64];

		if (getloadavg(load, 3) == 3) {
			snprintf(buf, sizeof(buf), "%.2f %.2f %.2f", load[0], load[1], load[2]);
			bench_report_fact(&r, "load at end", buf);
		}
	}
	for (size_t i = 0; i < r.n; i++)
		measured += r.results[i].n > 0;
	if (write_outputs(&r, o->out) == 0 && measured)
		code = 0;
	else if (!measured)
		fprintf(stderr, "knext-bench: no configuration produced a 200\n");
out_report:
	bench_reap_all();
	nftw(o->tools.workdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	bench_report_close(&r);
out:
	free(jobs);
	free(o);
	return code;
}
