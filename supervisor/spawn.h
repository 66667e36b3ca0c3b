/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starting the main child the way an init must: own process group, foreground of the terminal,
 * the caller's signal mask back, one inherited descriptor at a fixed number, shell exit codes when
 * exec fails.
 */
#ifndef KNEXT_SPAWN_H
#define KNEXT_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

/* The descriptor number at which the child finds the notify socket (KNEXT_NOTIFY_FD). */
#define SPAWN_NOTIFY_FD 3

/**
 * struct spawn_spec - what to start.
 * @path:     program to exec; NULL = search argv[0] in PATH as a shell would
 * @argv:     NULL-terminated arguments
 * @mask:     signal mask the child starts with (the one knext-init was started with)
 * @pass_fd:  a descriptor to hand over as SPAWN_NOTIFY_FD, or -1
 */
struct spawn_spec {
	const char *path;
	char *const *argv;
	const sigset_t *mask;
	int pass_fd;
};

/**
 * spawn_child() - fork and exec.
 * @spec: see struct spawn_spec
 * @pid:  set to the child's pid
 *
 * In the child: a new process group, the terminal's foreground when stdin is one, @spec->mask
 * restored, then exec. When exec fails the child prints one line and exits 127 (not found) or
 * 126 (found but not executable), as shells do.
 *
 * Return: 0, or -errno when fork failed.
 */
int spawn_child(const struct spawn_spec *spec, pid_t *pid);

#endif
