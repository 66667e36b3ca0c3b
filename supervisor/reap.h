/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reaping and finding descendants: every process below knext-init, including those that left
 * their session with setsid() and were reparented to us.
 */
#ifndef KNEXT_REAP_H
#define KNEXT_REAP_H

#include <stdbool.h>
#include <sys/types.h>

/**
 * struct reaper - the reaping state.
 * @main_pid:    the main child
 * @main_status: its wait status, valid once @main_done
 * @main_done:   the main child has been reaped
 * @warn:        log every other process reaped (-w)
 * @reaped:      how many processes were reaped, the main child included
 */
struct reaper {
	pid_t main_pid;
	int main_status;
	bool main_done;
	bool warn;
	unsigned long reaped;
};

/**
 * reap_children() - waitpid(-1, WNOHANG) until nothing more is waiting.
 * @r: state; @r->main_status and @r->main_done are set when the main child is reaped
 *
 * Coalesced SIGCHLDs lose nothing: every call drains all exited children.
 *
 * Return: 1 when no child is left at all (ECHILD), 0 when some still run, -errno on error.
 */
int reap_children(struct reaper *r);

/**
 * reap_signal_descendants() - send @sig to every descendant of this process.
 * @sig:     signal
 * @skip:    a pid to leave out (the main child when it was signalled already), or 0
 * @skip_pg: leave out members of this process group too, or 0
 *
 * Descendants are found through /proc (parent links), so those that called setsid() and those
 * reparented to us as subreaper are included.
 *
 * Return: the number of processes signalled, or -errno when /proc cannot be read.
 */
int reap_signal_descendants(int sig, pid_t skip, pid_t skip_pg);

#endif
