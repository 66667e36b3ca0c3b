/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A seccomp profile that allows io_uring_setup but refuses io_uring_enter makes a ring that can
 * be set up and never used. libuv (1.45 and later, as in the official Node.js) then aborts at its
 * first event-loop batch ("io_uring_enter(getevents): Operation not permitted"), and a prefetch
 * that trusts the ring fails. PID 1 tries both calls once before it starts the app; when enter is
 * refused, prefetch reads with pread and the app starts under one more filter that refuses
 * io_uring_setup with ENOSYS, which libuv takes as "no io_uring" and falls back to epoll.
 */
#ifndef KNEXT_URING_GUARD_H
#define KNEXT_URING_GUARD_H

#include <linux/filter.h>
#include <stdbool.h>

/**
 * struct uring_guard - what the probe found.
 * @refused: io_uring_setup works and io_uring_enter does not
 * @reason:  e.g. "io_uring_enter: Operation not permitted", for the one log line
 * @prog:    the filter for the app (valid when @refused and @prog.filter is not NULL)
 */
struct uring_guard {
	bool refused;
	char reason[96];
	struct sock_fprog prog;
};

/**
 * uring_guard_init() - probe io_uring_setup and io_uring_enter; when only enter is refused, tell
 * prefetch to read with pread and build the app's filter.
 * @g: state to fill
 *
 * Costs one ring of one entry (no mapping) when io_uring works.
 *
 * Return: 0, or -errno when the filter could not be built (@g->refused is still set then).
 */
int uring_guard_init(struct uring_guard *g);

/**
 * uring_guard_close() - free the filter; idempotent.
 * @g: state
 */
void uring_guard_close(struct uring_guard *g);

#endif
