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

#include "binding.h"
#include "embed.h"

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

	int fd = notify_fd_from_env();

	/* The descriptor must not leak into processes the app spawns. */
	if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		fd = -1;
	binding_set_notify_fd(fd);
	binding_set_lazy_openssl(args.lazy_openssl);
	unsetenv("KNEXT_NOTIFY_FD");
	binding_notify(loaded, sizeof(loaded) - 1);
	return embed_run(&args);
}
