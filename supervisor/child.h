/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starting the main child the way an init must: own process group, foreground of the terminal,
 * the caller's signal mask back, one inherited descriptor at a fixed number, shell exit codes when
 * the program cannot be started.
 */
#ifndef KNEXT_CHILD_H
#define KNEXT_CHILD_H

#include <linux/filter.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

/* The descriptor number at which the child finds the notify socket (KNEXT_NOTIFY_FD). */
#define CHILD_NOTIFY_FD 3

/**
 * struct child_spec - what to start.
 * @path:     program to exec; NULL = search argv[0] in PATH as a shell would
 * @argv:     NULL-terminated arguments
 * @mask:     signal mask the child starts with (the one knext-init was started with)
 * @pass_fd:  a descriptor to hand over as CHILD_NOTIFY_FD, or -1
 * @filter:   NULL, or a seccomp filter the child starts under (with no_new_privs)
 */
struct child_spec {
	const char *path;
	char *const *argv;
	const sigset_t *mask;
	int pass_fd;
	const struct sock_fprog *filter;
};

/**
 * child_spawn() - start the program.
 * @spec: see struct child_spec
 * @pid:  set to the child's pid
 *
 * vfork, then in the child: a new process group, the terminal's foreground when stdin is one,
 * @spec->pass_fd as CHILD_NOTIFY_FD, @spec->filter, @spec->mask, exec. When exec fails the child prints one
 * line and exits with child_exit_code().
 *
 * Return: 0, or -errno when vfork failed.
 */
int child_spawn(const struct child_spec *spec, pid_t *pid);

/**
 * child_exit_code() - the exit code a shell reports for a program that could not be started.
 * @err: positive errno from child_spawn()
 *
 * Return: 127 when not found, 126 otherwise.
 */
int child_exit_code(int err);

#endif
