// SPDX-License-Identifier: Apache-2.0
#include "supervisor/child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

/*
 * vfork and exec: nothing of PID 1 is copied (fork measured 1.26x tini's start-to-exit, vfork
 * 1.0x). Not posix_spawn: glibc's leaves its internal real-time signals ignored in the child (seen
 * once as SIGRTMIN-2 ignored even with it in the "default" set), and an init must hand the caller's
 * dispositions on exactly. PID 1 installs no signal handlers, so the child shares none.
 *
 * Runs in the vforked child only: system calls until exec, never a return to the caller, and on
 * the failure path nothing but a message built on this function's own stack.
 */
static void __attribute__((noreturn)) child_exec(const struct child_spec *spec)
{
	char msg[512];
	int err, n;

	/* Own group, so that -g and the terminal's job control address the app, not the init. */
	setpgid(0, 0);
	/* SIGTTOU is still blocked here, so taking the foreground cannot stop us. */
	if (isatty(STDIN_FILENO))
		tcsetpgrp(STDIN_FILENO, getpgrp());

	if (spec->pass_fd >= 0) {
		if (spec->pass_fd == CHILD_NOTIFY_FD)
			fcntl(CHILD_NOTIFY_FD, F_SETFD, 0);
		else if (dup2(spec->pass_fd, CHILD_NOTIFY_FD) < 0)
			_exit(126);
	}

	/* Best effort: a filter that cannot be added leaves the child as it would have been. */
	if (spec->filter && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
		prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, spec->filter);
	sigprocmask(SIG_SETMASK, spec->mask, NULL);
	if (spec->path)
		execv(spec->path, spec->argv);
	else
		execvp(spec->argv[0], spec->argv);
	err = errno;

	n = snprintf(msg, sizeof(msg), "knext-init: exec %s failed: %s\n",
		     spec->path ? spec->path : spec->argv[0], strerror(err));
	/* The same codes child_exit_code() gives the parent for a spawn that failed earlier. */
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
		_exit(127);
	_exit(child_exit_code(err));
}

int child_spawn(const struct child_spec *spec, pid_t *pid)
{
	pid_t p = vfork();

	if (p < 0)
		return -errno;
	if (p == 0)
		child_exec(spec);
	/* Set the group from both sides so that a signal forwarded right now already reaches it. */
	setpgid(p, p);
	*pid = p;
	return 0;
}

int child_exit_code(int err)
{
	return err == ENOENT || err == ENOTDIR ? 127 : 126;
}
