// SPDX-License-Identifier: Apache-2.0
/*
 * knext-node: the Node.js child of knext-init. PID 1 execs it so that only this process maps
 * Node; by the time node_main() runs, the dynamic linker has loaded Node (the official executable
 * or libnode, see embed.h), which is the first phase we report.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/config.h"
#include "supervisor/node/binding.h"
#include "supervisor/node/cache.h"
#include "supervisor/node/embed.h"
#include "supervisor/snapshot.h"

extern const char knext_bootstrap_js[];

/* The settings PID 1 handed over (supervisor/config.h); the cache keeps a pointer to them. */
static struct knext_config cfg;

/* OpenSSL's eager initialisation is needed only for an OpenSSL config named by the user or
 * OpenSSL options given to Node; NODE_EXTRA_CA_CERTS is applied lazily by the bootstrap. */
static int openssl_can_be_lazy(const struct knext_config *c)
{
	const char *opts = c->node_options;

	if (getenv("OPENSSL_CONF") || c->eager_openssl)
		return 0;
	return !opts || (!strstr(opts, "openssl") && !strstr(opts, "-ca") &&
			 !strstr(opts, "secure-heap") && !strstr(opts, "fips"));
}

/* Whether the bootstrap will write a pack (then the builtins it compiles are kept for it). */
static int records_pack(const struct knext_config *c)
{
	return (c->record_pack && *c->record_pack) ||
	       (c->cache_writeback && c->cache_dir && *c->cache_dir);
}

/* A snapshot that is not used is one line in PID 1's log (the bootstrap reports a restore). */
static void report_cb(const char *line)
{
	char msg[700];
	int n = snprintf(msg, sizeof(msg), "X_KNEXT_SNAPSHOT=%s", line);

	if (n > 0)
		binding_notify(msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

/*
 * Whether the pack's startup snapshot fits this start: the app directory, this very binary and
 * every environment variable its build read (snapshot_env_check()). Decided before the restore:
 * a restored heap cannot be taken back. Refusals are one line in PID 1's log.
 */
static int snapshot_fits(const struct knext_config *c)
{
	char app[PATH_MAX], exe[PATH_MAX], why[600];
	const char *rec;
	size_t len = 0;

	rec = cache_find_snapshot_record(&len);
	if (!embed_restores_snapshots())
		snprintf(why, sizeof(why), "refused: the %s runtime cannot restore snapshots",
			 embed_runtime());
	else if (!rec)
		snprintf(why, sizeof(why),
			 "refused: the pack has no record of the snapshot's build");
	else if (!realpath(c->app_dir ? c->app_dir : "/app", app) ||
		 !realpath("/proc/self/exe", exe))
		snprintf(why, sizeof(why), "refused: %s", strerror(errno));
	else if (snapshot_env_check(rec, len, app, exe, why + 9, sizeof(why) - 9) == 0)
		return 1;
	else
		memcpy(why, "refused: ", 9);
	report_cb(why);
	return 0;
}

/*
 * @argv with @flag after argv[0], as one contiguous block of strings like the kernel's: libuv
 * takes the bytes from argv[0] to the end of the last argument as the room process.title may
 * overwrite (Next sets it), so the arguments must not be scattered.
 */
static int with_flag(int argc, char **argv, const char *flag, struct embed_args *args)
{
	static char block[8192];
	static char *out[SNAPSHOT_MAX_ARGS];
	size_t at = 0;

	if (argc + 2 > SNAPSHOT_MAX_ARGS)
		return -E2BIG;
	for (int i = 0, o = 0; i < argc; i++) {
		const char *src[2] = { argv[i], flag };

		for (int k = 0; k < (i == 0 ? 2 : 1); k++) {
			size_t n = strlen(src[k]) + 1;

			if (at + n > sizeof(block))
				return -E2BIG;
			memcpy(block + at, src[k], n);
			out[o++] = block + at;
			at += n;
		}
	}
	out[argc + 1] = NULL;
	args->argc = argc + 1;
	args->argv = out;
	return 0;
}

int node_main(int argc, char **argv)
{
	static const char loaded[] = "X_KNEXT_PHASE=libnode_loaded";
	static char *self[] = { "knext-node", NULL };
	struct embed_args args = {
		.argc = argc,
		.argv = argv,
		.bootstrap = knext_bootstrap_js,
		.binding_name = "knext",
		.binding_init = binding_init,
		.report = report_cb,
	};
	struct embed_builtins builtins = {
		.hash = cache_hash,
	};
	char why[600], out[PATH_MAX];
	const char *build = getenv("KNEXT_SNAPSHOT_OUT");
	int fd;

	/* A snapshot build (see embed_build_snapshot()): nothing of the app's start. */
	if (build && *build) {
		if (snprintf(out, sizeof(out), "%s", build) >= (int)sizeof(out)) {
			fprintf(stderr, "knext-node: KNEXT_SNAPSHOT_OUT is too long\n");
			return 1;
		}
		unsetenv("KNEXT_SNAPSHOT_OUT");
		return embed_build_snapshot(&args, out);
	}

	/* The same parser as PID 1's, on the environment PID 1 wrote: the same values. */
	if (config_parse(&cfg, 1, self) < 0) {
		fprintf(stderr, "knext-node: %s\n", cfg.error);
		return 1;
	}
	args.lazy_openssl = embed_lazy_openssl() && openssl_can_be_lazy(&cfg);
	builtins.record = records_pack(&cfg);
	cache_init(&cfg);
	fd = cfg.notify_fd;

	/* The descriptor must not leak into processes the app spawns. */
	if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		fd = -1;
	binding_set_notify_fd(fd);
	binding_set_lazy_openssl(args.lazy_openssl);
	unsetenv("KNEXT_NOTIFY_FD");
	binding_notify(loaded, sizeof(loaded) - 1);

	/* Node compiles its builtins while it starts, before any of our JavaScript runs: the pack
	 * must be mapped now for their code cache to count (and the startup snapshot is in it). PID 1
	 * prefetches it while the dynamic linker loads Node, so it is normally there already. */
	if (fd >= 0 && cfg.cache_offered &&
	    cache_attach(fd, (int)cfg.cache_wait_ms, why, sizeof(why))) {
		builtins.find = cache_find_builtin;
		args.snapshot = cache_find_snapshot(&args.snapshot_len);
	}
	if (args.snapshot && !cfg.snapshot) {
		report_cb("refused: KNEXT_SNAPSHOT=0");
		args.snapshot = NULL;
	}
	if (args.snapshot && !snapshot_fits(&cfg))
		args.snapshot = NULL;
	/* A snapshot is recorded, built and restored without require(esm) (ESM cannot be in a
	 * snapshot): the modules loaded after it must resolve as they did. A flag on the command
	 * line, not NODE_OPTIONS, which is part of the pack's identity. */
	if ((args.snapshot || getenv("KNEXT_SNAPSHOT_RECORD")) &&
	    with_flag(argc, argv, "--no-experimental-require-module", &args) < 0)
		args.snapshot = NULL;
	args.builtins = &builtins;
	/* A blob V8 cannot read may abort the process (Node does not bounds-check it): PID 1 must
	 * know the restore was under way to start once more without it. Sent before it begins. */
	if (args.snapshot)
		report_cb("restoring");
	return embed_run(&args);
}
