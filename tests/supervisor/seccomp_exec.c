// SPDX-License-Identifier: Apache-2.0
/*
 * Runs a command under a seccomp filter (libseccomp) that refuses the named system calls with
 * EPERM and allows everything else, as a container runtime's profile does:
 *   seccomp_exec SYSCALL[,SYSCALL...] -- CMD [ARGS...]
 * The filter is inherited by everything CMD starts.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *names, *name, *save = NULL;
	scmp_filter_ctx ctx;
	int r;

	if (argc < 4 || strcmp(argv[2], "--") != 0) {
		fprintf(stderr, "usage: seccomp_exec SYSCALL[,SYSCALL...] -- CMD [ARGS...]\n");
		return 2;
	}
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		fprintf(stderr, "seccomp_exec: seccomp_init failed\n");
		return 1;
	}
	names = argv[1];
	for (name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		int nr = seccomp_syscall_resolve_name(name);

		if (nr == __NR_SCMP_ERROR) {
			fprintf(stderr, "seccomp_exec: unknown system call %s\n", name);
			return 1;
		}
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0) {
			fprintf(stderr, "seccomp_exec: rule for %s: %s\n", name, strerror(-r));
			return 1;
		}
	}
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		fprintf(stderr, "seccomp_exec: seccomp_load: %s\n", strerror(-r));
		return 1;
	}
	execvp(argv[3], argv + 3);
	fprintf(stderr, "seccomp_exec: %s: %s\n", argv[3], strerror(errno));
	return 127;
}
