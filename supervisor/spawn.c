// SPDX-License-Identifier: Apache-2.0
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Runs in the forked child only; async-signal-safe calls until exec. */
static void __attribute__((noreturn)) child_exec(const struct spawn_spec *spec)
{
	char msg[512];
	int err, n;

	/* Own group, so that -g and the terminal's job control address the app, not the init. */
	setpgid(0, 0);
	/* SIGTTOU is still blocked here, so taking the foreground cannot stop us. */
	if (isatty(STDIN_FILENO))
		tcsetpgrp(STDIN_FILENO, getpgrp());

	if (spec->pass_fd >= 0) {
		if (spec->pass_fd == SPAWN_NOTIFY_FD)
			fcntl(SPAWN_NOTIFY_FD, F_SETFD, 0);
		else if (dup2(spec->pass_fd, SPAWN_NOTIFY_FD) < 0)
			_exit(126);
	}

	sigprocmask(SIG_SETMASK, spec->mask, NULL);
	if (spec->path)
		execv(spec->path, spec->argv);
	else
		execvp(spec->argv[0], spec->argv);
	err = errno;

	n = snprintf(msg, sizeof(msg), "knext-init: exec %s failed: %s\n",
		     spec->path ? spec->path : spec->argv[0], strerror(err));
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
		_exit(127);
	_exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

int spawn_child(const struct spawn_spec *spec, pid_t *pid)
{
	pid_t p = fork();

	if (p < 0)
		return -errno;
	if (p == 0)
		child_exec(spec);
	/* Set the group from both sides so that a signal forwarded right now already reaches it. */
	setpgid(p, p);
	*pid = p;
	return 0;
}
