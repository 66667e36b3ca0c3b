// SPDX-License-Identifier: Apache-2.0
/* The configurations: prerequisites, preparation (warm caches, packs) and one run of each. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/config.h"

enum kind {
	K_NODE,
	K_TINI_NODE,
	K_NODE22,
	K_NODE22_NCC,
	K_NODE24,
	K_NODE24_NCC,
	K_KNEXT,
	K_KNEXT_PACK,
	K_KNEXT_SNAPSHOT,
	K_KNEXT_WARM,
	K_KNEXT_WARM_NOBC,
	K_KNEXT18_PACK,
	K_EXEC22_PACK,
	K_EXEC_SNAPSHOT,
	K_IMAGE,
};

static const struct {
	const char *name;
	enum kind kind;
	bool cold;
	const char *image; /* K_IMAGE: the image bench/container.sh runs */
} configs[] = {
	{ "node", K_NODE, false, NULL },
	{ "node:cold", K_NODE, true, NULL },
	{ "tini+node", K_TINI_NODE, false, NULL },
	{ "node22", K_NODE22, false, NULL },
	{ "node22+ncc", K_NODE22_NCC, false, NULL },
	{ "node24", K_NODE24, false, NULL },
	{ "node24+ncc", K_NODE24_NCC, false, NULL },
	{ "knext", K_KNEXT, false, NULL },
	{ "knext+pack", K_KNEXT_PACK, false, NULL },
	{ "knext+pack:cold", K_KNEXT_PACK, true, NULL },
	{ "knext+snapshot", K_KNEXT_SNAPSHOT, false, NULL },
	{ "knext+snapshot:cold", K_KNEXT_SNAPSHOT, true, NULL },
	{ "knext+warm", K_KNEXT_WARM, false, NULL },
	{ "knext+warm:cold", K_KNEXT_WARM, true, NULL },
	{ "knext+warm-no-bytecode", K_KNEXT_WARM_NOBC, false, NULL },
	{ "knext-libnode18+pack", K_KNEXT18_PACK, false, NULL },
	{ "knext-exec22+pack", K_EXEC22_PACK, false, NULL },
	{ "knext-exec+snapshot", K_EXEC_SNAPSHOT, false, NULL },
	{ "knext-exec+snapshot:cold", K_EXEC_SNAPSHOT, true, NULL },
	/* `podman run` of an image to its first 200 (container/image/Containerfile's stages). */
	{ "image:node", K_IMAGE, false, "localhost/knext-bench-node:dev" },
	{ "image:node+ncc", K_IMAGE, false, "localhost/knext-bench-node-ncc:dev" },
	{ "image:knext", K_IMAGE, false, "localhost/knext-app:dev" },
};

#define NCONFIGS ((int)(sizeof(configs) / sizeof(configs[0])))

/**
 * bench_config_count() - how many configurations there are.
 *
 * Return: the count.
 */
int bench_config_count(void)
{
	return NCONFIGS;
}

/**
 * bench_config_name() - a configuration's short name.
 * @i: its index, 0 to bench_config_count() - 1
 *
 * Return: the name, or NULL for a bad index.
 */
const char *bench_config_name(int i)
{
	return i >= 0 && i < NCONFIGS ? configs[i].name : NULL;
}

/**
 * bench_config_find() - look a configuration up by name.
 * @name: its short name
 *
 * Return: its index, or -ENOENT.
 */
int bench_config_find(const char *name)
{
	for (int i = 0; i < NCONFIGS; i++)
		if (!strcmp(configs[i].name, name))
			return i;
	return -ENOENT;
}

static char *job_str(struct bench_job *job, const char *fmt, ...)
{
	char *s = job->strings + job->used;
	size_t left = sizeof(job->strings) - job->used;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s, left, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= left)
		return NULL;
	job->used += (size_t)n + 1;
	return s;
}

static int job_argv(struct bench_job *job, const char *const *args)
{
	int n = 0;

	for (; args[n]; n++) {
		if (n >= BENCH_MAX_ARGS || !(job->argv[n] = job_str(job, "%s", args[n])))
			return -E2BIG;
	}
	job->argv[n] = NULL;
	return 0;
}

static int job_env(struct bench_job *job, const char *key, const char *value)
{
	int n = 0;

	while (job->envp[n])
		n++;
	if (n >= BENCH_MAX_ENV || !(job->envp[n] = job_str(job, "%s=%s", key, value)))
		return -E2BIG;
	job->envp[n + 1] = NULL;
	return n;
}

static void job_evict(struct bench_job *job, const char *path)
{
	if (path[0] && job->nevict < BENCH_MAX_EVICT)
		job->evict[job->nevict++] = job_str(job, "%s", path);
}

static int not_ready(struct bench_job *job, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(job->reason, sizeof(job->reason), fmt, ap);
	va_end(ap);
	job->ready = false;
	return -ENOENT;
}

static bool executable(const char *path)
{
	return path[0] && access(path, X_OK) == 0;
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[BENCH_PATH_LEN];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR)
			n += count_files(path);
		else
			n++;
	}
	closedir(d);
	return n;
}

/*
 * The line of a command's output that says what went wrong: the last one the command wrote
 * about itself ("cache warm: ..."), else the first that is neither a JSON log line nor Next's.
 */
static const char *reason_line(char *out)
{
	char *best = NULL, *first = NULL;

	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		line += strspn(line, " \r");
		if (!*line)
			continue;
		if (!strncmp(line, "cache warm:", 11))
			best = line;
		else if (!first && line[0] != '{' && (unsigned char)line[0] < 0x80)
			first = line;
	}
	if (best)
		return best;
	return first ? first : "(no output)";
}

/* The PORT= and KNEXT_PROBE_PORT= slots, set to ports that are free now. */
static int job_ports(struct bench_job *job, int *port)
{
	int probe;

	if (bench_free_port(port) < 0 || bench_free_port(&probe) < 0 || *port == probe)
		return -EADDRINUSE;
	/* The slots were made 5 digits wide. */
	snprintf(job->envp[job->port_env], 11, "PORT=%d", *port);
	if (job->probe_env >= 0)
		snprintf(job->envp[job->probe_env], 23, "KNEXT_PROBE_PORT=%d", probe);
	return 0;
}

/* Runs a knext-init subcommand; its exit code, or 255 when it could not run. */
static int knext_cmd(struct bench_job *job, const char *const *args, int timeout_ms, char *out,
		     size_t out_len)
{
	int code = 0, port;

	out[0] = '\0';
	if (job_ports(job, &port) < 0 || bench_run_cmd((char *const *)args, job->envp, job->cwd,
						       timeout_ms, &code, out, out_len) < 0)
		return 255;
	return code;
}

/* Makes (once per work directory) the pack knext-init's `cache warm` bakes for this app; with
 * @snapshot, a startup snapshot too, warmed up unless @snapshot is SNAP_LOADED. */
enum { SNAP_NONE, SNAP_LOADED, SNAP_WARM, SNAP_WARM_NO_BYTECODE };
static int make_pack(struct bench_job *job, const char *knext, const char *pack,
		     const char *exec_node, int snapshot)
{
	char port[16];
	const char *probe[] = { knext, "cache", "warm", "--help", NULL };
	const char *warm[] = { knext, "cache", "warm", "--app", job->cwd, "-o", pack, "--port",
			       port,  NULL,    NULL,   NULL,	NULL,	  NULL, NULL };
	int n = 9;
	char out[16384];
	struct stat st;
	int code, p;

	code = knext_cmd(job, probe, 10000, out, sizeof(out));
	if (code)
		return not_ready(job, "`knext-init cache warm --help` exits %d: %s", code,
				 reason_line(out));
	if (stat(pack, &st) == 0 && st.st_size > 0)
		return 0;
	if (snapshot)
		warm[n++] = "--snapshot";
	if (snapshot == SNAP_LOADED)
		warm[n++] = "--no-snapshot-warmup";
	if (snapshot == SNAP_WARM_NO_BYTECODE)
		warm[n++] = "--no-snapshot-bytecode";
	if (exec_node) {
		warm[n++] = "--";
		warm[n++] = exec_node;
		warm[n++] = "server.js";
	}
	/* Its own free port: a fixed default would collide with anything else warming here. */
	if (bench_free_port(&p) < 0)
		return not_ready(job, "no free port for `cache warm`");
	snprintf(port, sizeof(port), "%d", p);
	code = knext_cmd(job, warm, 300000, out, sizeof(out));
	if (code)
		return not_ready(job, "`knext-init cache warm%s%s` exits %d: %s",
				 snapshot ? " --snapshot" : "",
				 exec_node ? " -- node server.js" : "", code, reason_line(out));
	if (snapshot && !strstr(out, "snapshot of "))
		return not_ready(job, "`cache warm --snapshot` added no snapshot: %s",
				 reason_line(out));
	if (stat(pack, &st) < 0 || st.st_size == 0)
		return not_ready(job, "`knext-init cache warm` wrote no pack at %s", pack);
	return 0;
}

static int prepare_ncc(struct bench_job *job, const struct bench_tools *t, char *dir)
{
	struct bench_spec spec = { .argv = job->argv,
				   .envp = job->envp,
				   .cwd = job->cwd,
				   .path = "/",
				   .timeout_ms = t->timeout_ms };
	char reason[BENCH_REASON_LEN];
	int port;

	mkdir(dir, 0755);
	if (count_files(dir) > 0)
		return 0;
	if (job_ports(job, &port) < 0)
		return not_ready(job, "no free port for the warm-up run");
	spec.port = port;
	/* Node writes its compile cache at exit, so the warm-up run ends with SIGTERM. */
	if (bench_warm_server(&spec, 15000, reason, sizeof(reason)) < 0)
		return not_ready(job, "warm-up run failed: %s", reason);
	if (count_files(dir) == 0)
		return not_ready(job, "node wrote no compile cache into %s", dir);
	return 0;
}

/* The image configurations: bench/container.sh runs the image (its container named after the
 * run's PORT) and removes the container after each run. */
static int prepare_image(struct bench_job *job, const struct bench_tools *t, const char *image)
{
	const char *exists[] = { "/bin/sh", t->images, "exists", image, NULL };
	char out[1024];
	int code;

	if (!t->images[0])
		return not_ready(job, "no --images (bench/images.sh passes bench/container.sh)");
	job->probe_env = job_env(job, "KNEXT_PROBE_PORT", "00000");
	code = knext_cmd(job, exists, 30000, out, sizeof(out));
	if (code)
		return not_ready(job, "image %s missing (make image; bench/images.sh): %s", image,
				 reason_line(out));
	job_argv(job, (const char *[]){ "/bin/sh", t->images, "run", image, NULL });
	job->teardown[0] = job_str(job, "/bin/sh");
	job->teardown[1] = job_str(job, "%s", t->images);
	job->teardown[2] = job_str(job, "rm");
	job->teardown[3] = NULL;
	return 0;
}

/**
 * bench_job_prepare() - check a configuration's prerequisites on an app and prepare it.
 * @job:     filled in; @job->ready false with @job->reason when it cannot run
 * @config:  index of the configuration
 * @app:     the app's short name
 * @app_dir: the app's standalone directory (holding server.js)
 * @tools:   the programs and the work directory
 *
 * Preparing may run the server: node22+ncc fills its NODE_COMPILE_CACHE directory, the pack
 * configurations run `knext-init cache warm`. Results are kept in the work directory and
 * reused by the next job that needs the same.
 *
 * Return: 0 when ready, -ENOENT when a prerequisite is missing, -EINVAL for a bad index.
 */
int bench_job_prepare(struct bench_job *job, int config, const char *app, const char *app_dir,
		      const struct bench_tools *t)
{
	char path[BENCH_PATH_LEN], pack[BENCH_PATH_LEN];
	const char *knext;
	enum kind k;

	if (config < 0 || config >= NCONFIGS)
		return -EINVAL;
	memset(job, 0, sizeof(*job));
	k = configs[config].kind;
	knext = k == K_KNEXT18_PACK ? t->knext18 : t->knext;
	job->config = configs[config].name;
	job->cold = configs[config].cold;
	job->ready = true;
	snprintf(job->app, sizeof(job->app), "%s", app);
	snprintf(job->cwd, sizeof(job->cwd), "%s", app_dir);

	/* A clean, fixed environment: the same for every configuration but its own variables. */
	job_env(job, "PATH", "/usr/local/bin:/usr/bin:/bin");
	job_env(job, "HOME", t->home);
	job_env(job, "HOSTNAME", "127.0.0.1");
	job_env(job, "KNEXT_HOSTNAME", "127.0.0.1");
	job_env(job, "NODE_ENV", "production");
	job_env(job, "NEXT_TELEMETRY_DISABLED", "1");
	job->port_env = job_env(job, "PORT", "00000");
	job->probe_env = -1;

	snprintf(path, sizeof(path), "%s/server.js", app_dir);
	if (access(path, R_OK) < 0)
		return not_ready(job, "app not built: %s missing", path);
	job_evict(job, app_dir);

	switch (k) {
	case K_IMAGE:
		return prepare_image(job, t, configs[config].image);
	case K_NODE:
	case K_TINI_NODE:
		if (!executable(t->node))
			return not_ready(job, "no `node` on PATH");
		if (k == K_TINI_NODE && !executable(t->tini))
			return not_ready(job, "no `tini` on PATH (Debian package tini)");
		if (k == K_TINI_NODE)
			job_argv(job, (const char *[]){ t->tini, "-s", "--", t->node, "server.js",
							NULL });
		else
			job_argv(job, (const char *[]){ t->node, "server.js", NULL });
		job_evict(job, t->node);
		return 0;
	case K_NODE22:
	case K_NODE22_NCC:
	case K_NODE24:
	case K_NODE24_NCC: {
		bool v22 = k == K_NODE22 || k == K_NODE22_NCC;
		const char *node = v22 ? t->node22 : t->node24;

		if (!executable(node))
			return not_ready(job,
					 v22 ? "official node 22 missing (npm ci in bench/)" :
					       "official node 24 missing (.deps/node, make deps)");
		job_argv(job, (const char *[]){ node, "server.js", NULL });
		job_evict(job, node);
		if (k == K_NODE22 || k == K_NODE24)
			return 0;
		if (snprintf(path, sizeof(path), "%s/ncc%s-%s", t->workdir, v22 ? "" : "24", app) >=
		    (int)sizeof(path))
			return not_ready(job, "work directory path too long");
		job_env(job, "NODE_COMPILE_CACHE", path);
		return prepare_ncc(job, t, path);
	}
	case K_KNEXT:
	case K_KNEXT_PACK:
	case K_KNEXT_SNAPSHOT:
	case K_KNEXT_WARM:
	case K_KNEXT_WARM_NOBC:
	case K_KNEXT18_PACK:
	case K_EXEC22_PACK:
	case K_EXEC_SNAPSHOT:
		if (!executable(knext))
			return not_ready(
				job,
				k == K_KNEXT18_PACK ?
					"knext-init for libnode 18 not built (%s; make test builds "
					"build-libnode18/)" :
					"knext-init not built (%s)",
				knext[0] ? knext : "?");
		job_env(job, "KNEXT_APP_DIR", app_dir);
		job->probe_env = job_env(job, "KNEXT_PROBE_PORT", "00000");
		job_evict(job, knext);
		snprintf(path, sizeof(path), "%s", knext);
		if (strlen(path) > 10 && !strcmp(path + strlen(path) - 10, "knext-init"))
			strcpy(path + strlen(path) - 10, "knext-node");
		if (executable(path))
			job_evict(job, path);
		job_evict(job, k == K_KNEXT18_PACK ? t->libnode18 : t->libnode);
		break;
	}
	if (k == K_KNEXT) {
		job_argv(job, (const char *[]){ knext, NULL });
		return 0;
	}
	if (k == K_EXEC22_PACK || k == K_EXEC_SNAPSHOT) {
		const char *probe[] = { knext, "--", "/bin/true", NULL };
		char out[1024];
		int code;

		if (k == K_EXEC22_PACK && !executable(t->node22))
			return not_ready(job, "official node 22 missing (npm ci in bench/)");
		if (k == K_EXEC_SNAPSHOT && !executable(t->node24))
			return not_ready(job, "official node 24 missing (.deps/node, make deps)");
		code = knext_cmd(job, probe, 10000, out, sizeof(out));
		if (code)
			return not_ready(job, "exec mode `knext-init -- /bin/true` exits %d: %s",
					 code, reason_line(out));
	}
	if (snprintf(pack, sizeof(pack), "%s/%s%s.pack", t->workdir, app,
		     k == K_EXEC22_PACK	    ? "-exec22" :
		     k == K_EXEC_SNAPSHOT   ? "-exec-snapshot" :
		     k == K_KNEXT_SNAPSHOT  ? "-snapshot" :
		     k == K_KNEXT_WARM	    ? "-warm" :
		     k == K_KNEXT_WARM_NOBC ? "-warm-nobytecode" :
		     k == K_KNEXT18_PACK    ? "-libnode18" :
					      "") >= (int)sizeof(pack))
		return not_ready(job, "work directory path too long");
	if (make_pack(job, knext, pack,
		      k == K_EXEC22_PACK   ? t->node22 :
		      k == K_EXEC_SNAPSHOT ? t->node24 :
					     NULL,
		      k == K_KNEXT_SNAPSHOT			? SNAP_LOADED :
		      k == K_EXEC_SNAPSHOT || k == K_KNEXT_WARM ? SNAP_WARM :
		      k == K_KNEXT_WARM_NOBC			? SNAP_WARM_NO_BYTECODE :
								  SNAP_NONE) < 0)
		return -ENOENT;
	job_evict(job, pack);
	if (k == K_EXEC_SNAPSHOT) {
		/* The pack holds node 24's NODE_COMPILE_CACHE and the server's startup snapshot. */
		job_env(job, "KNEXT_NCC_PACK", pack);
		job_env(job, "KNEXT_NCC_WRITEBACK", "0");
		job_argv(job, (const char *[]){ knext, "--", t->node24, "server.js", NULL });
		job_evict(job, t->node24);
	} else if (k == K_EXEC22_PACK) {
		/* Exec mode: the pack holds node 22's own NODE_COMPILE_CACHE; restored, not rewritten. */
		job_env(job, "KNEXT_NCC_PACK", pack);
		job_env(job, "KNEXT_NCC_WRITEBACK", "0");
		job_argv(job, (const char *[]){ knext, "--", t->node22, "server.js", NULL });
	} else {
		/* The embedded runtime: the pack holds the code cache (and the startup snapshot). */
		job_env(job, "KNEXT_PACK", pack);
		job_argv(job, (const char *[]){ knext, NULL });
	}
	return 0;
}

/**
 * bench_job_run() - one timed run of a prepared job on fresh ports.
 * @job:        a ready job
 * @out:        the run's figures
 * @timeout_ms: to the first 200
 * @path:       the HTTP path
 * @reason:     filled on failure
 * @reason_len: its size
 *
 * Return: 0 or -errno as bench_run_once().
 */
int bench_job_run(struct bench_job *job, struct bench_sample *out, int timeout_ms, const char *path,
		  char *reason, size_t reason_len)
{
	struct bench_spec spec = { .argv = job->argv,
				   .envp = job->envp,
				   .cwd = job->cwd,
				   .path = path,
				   .timeout_ms = timeout_ms };
	char buf[1024];
	int port, r, code;

	if (job_ports(job, &port) < 0) {
		snprintf(reason, reason_len, "no free port");
		return -EADDRINUSE;
	}
	spec.port = port;
	for (int i = 0; i < job->nevict; i++) {
		if (job->cold)
			bench_evict_path(job->evict[i], NULL);
		else
			bench_warm_path(job->evict[i], NULL);
	}
	r = bench_run_once(&spec, out, reason, reason_len);
	if (job->teardown[0])
		bench_run_cmd(job->teardown, job->envp, job->cwd, 60000, &code, buf, sizeof(buf));
	return r;
}
