/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cache warm` runs the app in its own directory, and the app writes there: Next.js keeps the
 * pages the warm-up rendered in its page cache under .next/, so an image that warms at build time
 * would ship pages rendered at build time. The guard leaves the app directory exactly as the
 * build left it: it records every entry (type, mode, size, modification time, symlink target) and
 * keeps a copy of every file under .next/, lets the warm-up run in a child process, then removes
 * what the warm-up added, puts back what it changed or removed, and resets the directories' times.
 * Only the pack being written (and the directory made for it) stays, and the command's own
 * output when it is redirected into the app.
 */
#ifndef KNEXT_APP_GUARD_H
#define KNEXT_APP_GUARD_H

/* What app_guard_run() returns in the child, which goes on with the warm-up. */
#define APP_GUARD_CHILD (-1)

/**
 * app_guard_run() - record @app, fork, and in the parent wait for the child and restore @app.
 * @app:  the app directory (absolute)
 * @keep: the pack the warm-up writes (absolute); kept, with the directories made for it, when
 *        it lies inside @app
 *
 * The parent forwards SIGINT, SIGTERM and SIGHUP to the child and restores @app however the child
 * ends. A file changed outside .next/ (where no copy was kept) cannot be put back: that is
 * reported, and the run fails.
 *
 * Return: APP_GUARD_CHILD in the child; in the parent the exit status for the command: the
 * child's, or 1 when @app could not be recorded or restored (one line on stderr says why).
 */
int app_guard_run(const char *app, const char *keep);

#endif
