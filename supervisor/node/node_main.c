// SPDX-License-Identifier: Apache-2.0
/*
 * knext-node: the Node.js child of knext-init. PID 1 execs it so that only this process maps
 * libnode; by the time main() runs, the dynamic linker has loaded libnode, which is the first
 * phase we report.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/node/binding.h"
#include "supervisor/node/cache.h"
#include "supervisor/node/embed.h"

extern const char knext_bootstrap_js[];

static int notify_fd_from_env(void)
{
	const char *s = getenv("KNEXT_NOTIFY_FD");
	char *end;
	long fd;

	if (!s || !*s)
		return -1;
	errno = 0;
	fd = strtol(s, &end, 10);
	if (errno || *end || fd < 0 || fd > INT_MAX)
		return -1;
	return (int)fd;
}

/* OpenSSL's eager initialisation is needed only for an OpenSSL config named by the user or
 * OpenSSL options given to Node; NODE_EXTRA_CA_CERTS is applied lazily by the bootstrap. */
static int openssl_can_be_lazy(void)
{
	const char *opts = getenv("NODE_OPTIONS");

	if (getenv("OPENSSL_CONF") || getenv("KNEXT_EAGER_OPENSSL"))
		return 0;
	return !opts || (!strstr(opts, "openssl") && !strstr(opts, "-ca") &&
			 !strstr(opts, "secure-heap") && !strstr(opts, "fips"));
}

static int cache_offered(void)
{
	const char *s = getenv("KNEXT_CACHE");

	return s && !strcmp(s, "1");
}

/* Whether the bootstrap will write a pack (then the builtins it compiles are kept for it). */
static int records_pack(void)
{
	const char *rec = getenv("KNEXT_RECORD_PACK");
	const char *wb = getenv("KNEXT_CACHE_WRITEBACK");
	const char *dir = getenv("KNEXT_CACHE_DIR");

	return (rec && *rec) || (wb && !strcmp(wb, "1") && dir && *dir);
}

/* KNEXT_CACHE_WAIT_MS (default 3000): the one wait for PID 1's word about the pack. */
static int cache_wait_ms(void)
{
	const char *s = getenv("KNEXT_CACHE_WAIT_MS");
	long ms = s ? strtol(s, NULL, 10) : 0;

	return ms > 0 && ms <= INT_MAX ? (int)ms : 3000;
}

int main(int argc, char **argv)
{
	static const char loaded[] = "X_KNEXT_PHASE=libnode_loaded";
	struct embed_args args = {
		.argc = argc,
		.argv = argv,
		.bootstrap = knext_bootstrap_js,
		.binding_name = "knext",
		.binding_init = binding_init,
		.lazy_openssl = openssl_can_be_lazy(),
	};

	struct embed_builtins builtins = {
		.hash = cache_hash,
		.record = records_pack(),
	};
	char why[600];
	int fd = notify_fd_from_env();

	/* The descriptor must not leak into processes the app spawns. */
	if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		fd = -1;
	binding_set_notify_fd(fd);
	binding_set_lazy_openssl(args.lazy_openssl);
	unsetenv("KNEXT_NOTIFY_FD");
	binding_notify(loaded, sizeof(loaded) - 1);

	/* Node compiles its builtins while it starts, before any of our JavaScript runs: the pack
	 * must be mapped now for their code cache to count. PID 1 prefetches it while the dynamic
	 * linker loads libnode, so it is normally there already. */
	if (fd >= 0 && cache_offered() && cache_attach(cache_wait_ms(), why, sizeof(why)))
		builtins.find = cache_find_builtin;
	args.builtins = &builtins;
	return embed_run(&args);
}
