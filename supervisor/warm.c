// SPDX-License-Identifier: Apache-2.0
#include "supervisor/warm.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cachefs/pack.h"
#include "supervisor/app_guard.h"
#include "supervisor/snapshot.h"
#include "supervisor/snapshot_build.h"
#include "probes/cli.h"
#include "supervisor/config.h"
#include "supervisor/zone.h"

#define WARM_MAX_URLS 64

static void usage(void)
{
	fputs("usage: knext-init cache warm --app DIR -o PACK [--url PATH]... [--port N] "
	      "[--timeout-ms N] [--snapshot|--snapshot-zstd] [--no-snapshot-warmup] "
	      "[--no-snapshot-bytecode] [-- NODE SCRIPT...]\n"
	      "The first --url defaults to the basePath + \"/\" (KNEXT_BASE_PATH, else the build's);\n"
	      "a build made for another zone (KNEXT_BASE_PATH, KNEXT_ASSET_PREFIX) is refused.\n"
	      "--snapshot adds a startup snapshot of the server warmed up: before the snapshot is\n"
	      "taken, its builder serves the --url paths in memory (by default \"/\" and the routes\n"
	      "Next's manifests list as prerendered or static); --no-snapshot-warmup snapshots the\n"
	      "loaded server without serving anything; --no-snapshot-bytecode leaves the functions'\n"
	      "bytecode out of the snapshot (knext-node), to be compiled again when first called.\n",
	      stderr);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Embedded mode records the pack itself (KNEXT_RECORD_PACK), starting from it when @restore_rec
 * is not NULL: the record of the snapshot in it, whose environment the run gets (the caller's may
 * hold a CI runner's variables that would refuse the snapshot); with a command, exec mode keeps
 * that node's own NODE_COMPILE_CACHE as the pack (KNEXT_NCC_PACK). */
static pid_t start_app(const char *app, const char *out, int port, char **cmd,
		       const struct snapshot_build *snap, const char *restore_rec)
{
	char exe[PATH_MAX], num[16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *argv[64] = { exe };
	pid_t pid;
	int i = 1;

	if (n < 0)
		return -errno;
	exe[n] = '\0';
	if (cmd) {
		argv[i++] = "--";
		while (*cmd && i < 63)
			argv[i++] = *cmd++;
	}
	argv[i] = NULL;
	pid = fork();
	if (pid != 0)
		return pid < 0 ? -errno : pid;
	snprintf(num, sizeof(num), "%d", port);
	setenv("KNEXT_APP_DIR", app, 1);
	setenv("PORT", num, 1);
	setenv("KNEXT_PROBE_PORT", "0", 1);
	setenv("KNEXT_HOSTNAME", "127.0.0.1", 1);
	/* Recording happens as the app exits: serialising and compressing a large app's cache at
	 * level 19 can outlast the default grace on a busy machine, and a KILL would lose it. */
	setenv("KNEXT_GRACE_MS", "300000", 0);
	if (cmd) {
		setenv("HOSTNAME", "127.0.0.1", 1);
		setenv("KNEXT_NCC_PACK", out, 1);
		if (snap && snapshot_build_record_env(snap) < 0)
			_exit(127);
		if (chdir(app) < 0)
			_exit(127);
	} else {
		setenv("KNEXT_RECORD_PACK", out, 1);
		if (restore_rec) {
			setenv("KNEXT_PACK", out, 1);
			if (snapshot_env_apply(restore_rec, strlen(restore_rec)) < 0)
				_exit(127);
		}
		if (snap && snapshot_build_record_env(snap) < 0)
			_exit(127);
	}
	execv(exe, argv);
	_exit(127);
}

/* knext-node (beside this binary unless KNEXT_NODE_HELPER says otherwise): embedded mode's
 * runtime, and its snapshot builder. */
static const char *knext_node_path(void)
{
	static char path[PATH_MAX];
	const char *helper = getenv("KNEXT_NODE_HELPER");
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 16);
	char *slash;

	if (helper && *helper)
		return helper;
	if (n < 0)
		return "knext-node";
	path[n] = '\0';
	slash = strrchr(path, '/');
	strcpy(slash ? slash + 1 : path, "knext-node");
	return path;
}

/* A port nothing listens on right now, from the kernel's ephemeral range. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t n = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &n) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Polls until @path answers 200 or the deadline passes. */
static int wait_ready(int port, const char *path, long deadline, pid_t app)
{
	int status;

	for (;;) {
		int code = probe_cli_request(port, path, 2000, NULL, 0);

		if (code == 200)
			return 0;
		if (waitpid(app, &status, WNOHANG) == app)
			return -ECHILD;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(20000);
	}
}

/*
 * A SIGKILL to the knext-init running the app would orphan its knext-node (its own process
 * group), which would keep running and hold our stderr open: TERM lets that knext-init stop its
 * tree; KILL only after 10 s.
 */
static void stop_app(pid_t pid)
{
	long deadline = now_ms() + 10000;
	int status;

	kill(pid, SIGTERM);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return;
		}
		usleep(20000);
	}
}

/*
 * One run of the app: started (recording into @out), ready on @urls[0], every URL requested, then
 * stopped with SIGTERM (it writes the pack as it exits).
 * Return: 0, or -1 after one line saying why.
 */
static int serve_app(const char *app, const char *out, int port, char **cmd,
		     const struct snapshot_build *snap, const char *restore_rec,
		     const char *const *urls, int nurls, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	pid_t pid = start_app(app, out, port, cmd, snap, restore_rec);
	int r, status;

	if (pid < 0) {
		fprintf(stderr, "cache warm: cannot start the app: %s\n", strerror(-pid));
		return -1;
	}
	r = wait_ready(port, urls[0], deadline, pid);
	if (r < 0) {
		fprintf(stderr, "cache warm: %s did not answer 200 on %s: %s\n", app, urls[0],
			r == -ECHILD ? "it exited" : "timed out");
		if (r != -ECHILD)
			stop_app(pid);
		return -1;
	}
	for (int i = 0; i < nurls; i++) {
		int code = probe_cli_request(port, urls[i], timeout_ms, NULL, 0);

		fprintf(stderr, "cache warm: GET %s -> %d\n", urls[i], code);
	}
	kill(pid, SIGTERM);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "cache warm: the app did not exit cleanly (status %d)\n", status);
	return 0;
}

int warm_cli_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "app", required_argument, NULL, 'a' },
		{ "url", required_argument, NULL, 'u' },
		{ "port", required_argument, NULL, 'p' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "snapshot", no_argument, NULL, 's' },
		{ "snapshot-zstd", no_argument, NULL, 'z' },
		{ "no-snapshot-warmup", no_argument, NULL, 'W' },
		{ "no-snapshot-bytecode", no_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *app = NULL, *out = NULL, *urls[WARM_MAX_URLS];
	char abs_out[PATH_MAX], abs_app[PATH_MAX], first_url[ZONE_PATH_MAX + 2];
	char why[2 * ZONE_PATH_MAX + 256];
	struct knext_zone zone;
	int nurls = 0, port = 0, timeout_ms = 60000, opt, r, snapshot = 0, snap_zstd = 0;
	int snap_warm = 1;
	char *rec = NULL;
	size_t rec_len = 0;
	struct snapshot_build snap = { .dir = "" };
	struct pack pk;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			app = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'u':
			if (nurls == WARM_MAX_URLS || optarg[0] != '/') {
				fprintf(stderr,
					"cache warm: --url takes a path starting with /, at most %d\n",
					WARM_MAX_URLS);
				return 2;
			}
			urls[nurls++] = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 't':
			timeout_ms = atoi(optarg);
			break;
		case 's':
			snapshot = 1;
			break;
		case 'z':
			snapshot = 1;
			snap_zstd = 1;
			break;
		case 'W':
			snap_warm = 0;
			break;
		case 'B':
			snap.no_bytecode = true;
			break;
		default:
			usage();
			return opt == 'h' ? 0 : 2;
		}
	}
	if (port == 0)
		port = free_port();
	if (!app || !out || port <= 0 || port > 65535 || timeout_ms <= 0) {
		usage();
		return 2;
	}
	if (!realpath(app, abs_app)) {
		fprintf(stderr, "cache warm: %s: %s\n", app, strerror(errno));
		return 1;
	}
	/* The zone's build, and its pages under the basePath: "/" is a 404 there. */
	config_zone(&zone);
	if (zone_check(abs_app, zone.base_path, zone.asset_prefix, why, sizeof(why)) < 0) {
		fprintf(stderr, "cache warm: %s\n", why);
		return 1;
	}
	snap.warmup_manifest = nurls == 0;
	if (nurls == 0) {
		if (zone_default_url(abs_app, zone.base_path, first_url, sizeof(first_url)) < 0) {
			fprintf(stderr, "cache warm: KNEXT_BASE_PATH is too long\n");
			return 2;
		}
		urls[nurls++] = first_url;
	}
	if (out[0] == '/')
		snprintf(abs_out, sizeof(abs_out), "%s", out);
	else if (!getcwd(abs_out, sizeof(abs_out) - strlen(out) - 2))
		return 1;
	else
		strcat(strcat(abs_out, "/"), out);

	/* Everything from here runs in a child; the app directory is restored when it ends. */
	if ((r = app_guard_run(abs_app, abs_out)) != APP_GUARD_CHILD)
		return r;

	/* The baked pack's usual home, .knext/ inside the app, does not exist before the first warm. */
	{
		char dir[PATH_MAX], *slash;

		snprintf(dir, sizeof(dir), "%s", abs_out);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
				fprintf(stderr, "cache warm: %s: %s\n", dir, strerror(errno));
				return 1;
			}
		}
	}
#ifdef KNEXT_RUNTIME_LIBNODE18
	/* Node 18 neither builds nor restores a snapshot knext-node can use (embed.h). */
	if (snapshot && optind >= argc) {
		fprintf(stderr, "cache warm: the libnode 18 runtime takes no startup snapshot; the "
				"pack is written without one\n");
		snapshot = 0;
	}
#endif
	snap.stored = !snap_zstd;
	snap.embedded = optind >= argc;
	for (int i = 0; snap_warm && i < nurls; i++) {
		size_t at = strlen(snap.warmup), n = strlen(urls[i]);

		if (at + n + 2 > sizeof(snap.warmup))
			break;
		memcpy(snap.warmup + at, urls[i], n);
		memcpy(snap.warmup + at + n, "\n", 2);
	}
	if (snapshot && (r = snapshot_build_init(&snap)) < 0) {
		fprintf(stderr, "cache warm: no scratch directory for the snapshot: %s\n",
			strerror(-r));
		snapshot_build_close(&snap);
		return 1;
	}
	if (serve_app(abs_app, abs_out, port, optind < argc ? argv + optind : NULL,
		      snapshot ? &snap : NULL, NULL, urls, nurls, timeout_ms) < 0)
		goto fail;

	memset(&pk, 0, sizeof(pk));
	if ((r = pack_open(&pk, abs_out)) < 0 || (r = pack_verify(&pk)) < 0) {
		fprintf(stderr, "cache warm: no valid pack at %s: %s\n", abs_out,
			pk.reason[0] ? pk.reason : strerror(-r));
		pack_close(&pk);
		goto fail;
	}
	printf("cache warm: %s: %u entries, %llu bytes of code cache\n", abs_out, pk.entry_count,
	       (unsigned long long)pk.raw_size);
	pack_close(&pk);
	/* A snapshot that cannot be built leaves the pack without one: pods start from the cache. */
	if (snapshot) {
		fflush(stdout);
		r = snapshot_build_run(&snap, abs_app,
				       snap.embedded ? knext_node_path() : argv[optind], abs_out);
		if (r == 0 && snap.embedded && snapshot_build_record(&snap, &rec, &rec_len) < 0)
			rec = NULL;
		snapshot_build_close(&snap);
		/* V8 refuses code cache made outside a heap restored from the snapshot, and the
		 * pack's was recorded before there was one: a run restored from the new pack records
		 * what a pod compiles after the restore (server.js, modules outside the snapshot, the
		 * builtins that load after it), and keeps the snapshot (it proves the restore, too). */
		if (r == 0 && snap.embedded) {
			fflush(stdout);
			serve_app(abs_app, abs_out, port, NULL, NULL, rec ? rec : "", urls, nurls,
				  timeout_ms);
		}
		free(rec);
	}
	return 0;
fail:
	snapshot_build_close(&snap);
	return 1;
}
