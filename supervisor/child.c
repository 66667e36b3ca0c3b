// SPDX-License-Identifier: Apache-2.0
#include "child.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/*
 * glibc's posix_spawn sets its two internal real-time signals (32 and 33, below SIGRTMIN) to
 * SIG_IGN in the child unless they are in the "default" set, and its sigaddset() refuses them; so
 * their bits are set directly, and the program starts with every disposition as fork and exec would
 * leave it.
 */
static void add_internal_signals(sigset_t *set)
{
	const unsigned bits = 8 * sizeof(set->__val[0]);

	for (int sig = 32; sig < SIGRTMIN; sig++)
		set->__val[(sig - 1) / bits] |= 1UL << ((sig - 1) % bits);
}

/*
 * posix_spawn: glibc runs the child on its own stack with CLONE_VM | CLONE_VFORK, so nothing of
 * PID 1's memory is copied, and exec errors come back as a return value.
 */
int child_spawn(const struct child_spec *spec, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t def;
	int r;

	if ((r = posix_spawnattr_init(&attr)))
		return -r;
	if ((r = posix_spawn_file_actions_init(&fa))) {
		posix_spawnattr_destroy(&attr);
		return -r;
	}
	/* Own group, so that -g and the terminal's job control address the app, not the init. */
	r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						    POSIX_SPAWN_SETSIGDEF);
	sigemptyset(&def);
	add_internal_signals(&def);
	if (!r)
		r = posix_spawnattr_setsigdefault(&attr, &def);
	if (!r)
		r = posix_spawnattr_setpgroup(&attr, 0);
	if (!r)
		r = posix_spawnattr_setsigmask(&attr, spec->mask);
	if (!r && isatty(STDIN_FILENO))
		r = posix_spawn_file_actions_addtcsetpgrp_np(&fa, STDIN_FILENO);
	/* dup2 onto itself clears close-on-exec, as POSIX asks of posix_spawn. */
	if (!r && spec->pass_fd >= 0)
		r = posix_spawn_file_actions_adddup2(&fa, spec->pass_fd, CHILD_NOTIFY_FD);
	if (!r) {
		if (spec->path)
			r = posix_spawn(pid, spec->path, &fa, &attr, spec->argv, environ);
		else
			r = posix_spawnp(pid, spec->argv[0], &fa, &attr, spec->argv, environ);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return -r;
}

int child_exit_code(int err)
{
	return err == ENOENT || err == ENOTDIR ? 127 : 126;
}
