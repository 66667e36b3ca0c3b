/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supervisor: one libuv loop that owns signals (signalfd), reaping, the main child, the
 * notify channel from the child, the probe server and the shutdown state machine.
 */
#ifndef KNEXT_PID1_H
#define KNEXT_PID1_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#include "supervisor/config.h"
#include "probes/listenwatch.h"
#include "supervisor/ncc.h"
#include "probes/notify.h"
#include "supervisor/packfeed.h"
#include "supervisor/reap.h"
#include "supervisor/snapshot.h"
#include "probes/server.h"
#include "probes/state.h"
#include "supervisor/uring_guard.h"

/**
 * enum pid1_stage - the shutdown state machine.
 * @PID1_RUNNING:  the main child runs
 * @PID1_DRAINING: SIGTERM forwarded or the main child exited; the rest got SIGTERM, grace runs
 * @PID1_KILLING:  the grace ran out; SIGKILL sent, reaping what is left
 */
enum pid1_stage { PID1_RUNNING, PID1_DRAINING, PID1_KILLING };

/**
 * struct pid1 - the supervisor's state; caller-allocated, see pid1_init().
 *
 * @snapshot_tried is set when the main child starts from the pack's startup snapshot (knext-node
 * says "restoring"; exec mode: the blob was handed to node and its listening socket is watched).
 * @retry_without_snapshot is set when that child ended before the app listened: the caller
 * starts once more with KNEXT_SNAPSHOT=0 (see pid1_run()).
 */
struct pid1 {
	const struct knext_config *cfg;
	uv_loop_t loop;
	sigset_t orig_mask;
	int sigfd;
	uv_poll_t sig_poll;
	uv_timer_t grace_timer;
	bool loop_ready;
	bool is_pid1;
	enum pid1_stage stage;
	struct reaper reaper;
	int notify_fds[2];
	struct notify_server notify;
	struct probe_state state;
	struct packfeed feed;
	bool feed_on;
	struct ncc ncc;
	struct snapshot_exec snap;
	struct probe_server probes;
	bool probes_on;
	struct listenwatch listen_watch;
	bool listen_watch_on;
	struct uring_guard uring;
	bool snapshot_tried;
	bool retry_without_snapshot;
	int exit_code;
};

/**
 * pid1_init() - become an init: block every signal, read them through a signalfd, register as
 * subreaper when not PID 1, set up the loop and the notify channel.
 * @p:       state to fill
 * @cfg:     configuration (kept by pointer)
 * @t0_ns:   CLOCK_MONOTONIC at exec
 *
 * Return: 0 or -errno.
 */
int pid1_init(struct pid1 *p, const struct knext_config *cfg, uint64_t t0_ns);

/**
 * pid1_run() - start the main child (the embedded Node or cfg->cmd) and supervise it until it and
 * every other descendant are gone.
 * @p: initialised supervisor
 *
 * Return: the exit code for knext-init: the main child's (see config_exit_code()), 1 when it
 * could not be started. When @p->retry_without_snapshot is set after it, the caller should
 * execute itself again with KNEXT_SNAPSHOT=0 instead of exiting (still PID 1, same arguments).
 */
int pid1_run(struct pid1 *p);

/**
 * pid1_close() - release the loop and descriptors; idempotent.
 * @p: supervisor
 */
void pid1_close(struct pid1 *p);

#endif
