// SPDX-License-Identifier: Apache-2.0
#include "supervisor/pid1.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor/announce.h"
#include "supervisor/log.h"
#include "supervisor/child.h"

/* The JS files Debian's libnode reads from fixed paths at start; without them it aborts. The
 * official Node.js carries all of its JavaScript. */
static const char *const libnode_js_files[] = {
#ifdef KNEXT_RUNTIME_LIBNODE18
	"/usr/share/nodejs/acorn/dist/acorn.js",
	"/usr/share/nodejs/acorn-walk/dist/walk.js",
	"/usr/share/nodejs/cjs-module-lexer/lexer.js",
	"/usr/share/nodejs/cjs-module-lexer/dist/lexer.js",
	"/usr/share/nodejs/undici/undici-fetch.js",
#endif
	NULL,
};

#ifdef KNEXT_RUNTIME_LIBNODE18
#define KNEXT_RUNTIME_LIBRARY "libnode.so.108"
#else
#define KNEXT_RUNTIME_LIBRARY "libknext-node.so"
#endif

/* knext-node exiting 127 before it reported libnode loaded is the dynamic loader failing. */
static bool libnode_failed(const struct pid1 *p)
{
	int st = p->reaper.main_status;

	return p->cfg->mode == CONFIG_MODE_EMBEDDED && WIFEXITED(st) && WEXITSTATUS(st) == 127 &&
	       !p->state.phase_ns[PROBE_PHASE_LIBNODE_LOADED];
}

static void finish(struct pid1 *p)
{
	if (!p->reaper.main_done || libnode_failed(p))
		p->exit_code = 1;
	else
		p->exit_code = config_exit_code(p->cfg, p->reaper.main_status);
	uv_stop(&p->loop);
}

static void grace_cb(uv_timer_t *t)
{
	struct pid1 *p = t->data;
	int n;

	p->stage = PID1_KILLING;
	n = reap_signal_descendants(SIGKILL, 0, 0);
	log_event(LOG_WARN, "grace_expired", "\"grace_ms\":%u,\"killed\":%d", p->cfg->grace_ms, n);
}

/* TERM everything still running (the main child only if it was not signalled already), then
 * wait a bounded grace before KILL. */
static void begin_shutdown(struct pid1 *p, const char *why)
{
	pid_t skip = 0, skip_pg = 0;
	int n;

	if (p->stage != PID1_RUNNING)
		return;
	p->stage = PID1_DRAINING;
	probe_state_set_draining(&p->state);
	if (!p->reaper.main_done) {
		skip = p->reaper.main_pid;
		skip_pg = p->cfg->kill_group ? p->reaper.main_pid : 0;
	}
	n = reap_signal_descendants(SIGTERM, skip, skip_pg);
	log_event(LOG_INFO, "shutdown", "\"reason\":\"%s\",\"terminated\":%d,\"grace_ms\":%u", why,
		  n, p->cfg->grace_ms);
	if (p->cfg->grace_ms == 0)
		grace_cb(&p->grace_timer);
	else
		uv_timer_start(&p->grace_timer, grace_cb, p->cfg->grace_ms, 0);
}

/*
 * The main child ended before its server ever listened, and it had begun from the pack's startup
 * snapshot: the blob may be what killed it (V8 aborts on one it cannot read), and a pod restarted
 * as it is would fail the same way forever. One more start without the snapshot decides.
 */
static bool snapshot_start_failed(const struct pid1 *p)
{
	int st = p->reaper.main_status;

	return p->cfg->snapshot && p->snapshot_tried && p->stage == PID1_RUNNING &&
	       !p->state.ever_ready && !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void on_sigchld(struct pid1 *p)
{
	bool was_done = p->reaper.main_done;
	int r = reap_children(&p->reaper);

	if (r < 0)
		log_event(LOG_ERROR, "waitpid", "\"errno\":%d", -r);
	if (p->reaper.main_done && !was_done) {
		int st = p->reaper.main_status;

		/* What the child said just before it went (that it was restoring, that it listened)
		 * is read before its exit is judged. */
		notify_server_drain(&p->notify);
		probe_state_set_child_exit(&p->state, st);
		if (WIFSIGNALED(st))
			log_event(LOG_INFO, "exit", "\"pid\":%d,\"signal\":%d", p->reaper.main_pid,
				  WTERMSIG(st));
		else
			log_event(LOG_INFO, "exit", "\"pid\":%d,\"code\":%d", p->reaper.main_pid,
				  WEXITSTATUS(st));
		/* Node writes its compile cache as it exits: collect it now, before the rest. */
		ncc_collect(&p->ncc);
		if (libnode_failed(p))
			log_event(
				LOG_ERROR, "libnode",
				"\"msg\":\"knext-node could not start: " KNEXT_RUNTIME_LIBRARY
				" or a library it needs is missing (the loader names it above)\"");
		if (snapshot_start_failed(p)) {
			p->retry_without_snapshot = true;
			log_event(
				LOG_WARN, "snapshot_failed",
				"\"msg\":\"the start from the pack's startup snapshot ended before "
				"the app listened; starting once more without it "
				"(KNEXT_SNAPSHOT=0)\"");
			/* Whatever the failed start left running goes with it, at once. */
			reap_signal_descendants(SIGKILL, 0, 0);
		}
	}
	if (r == 1) {
		/* Nothing left at all: the common, fast end. */
		finish(p);
		return;
	}
	if (p->reaper.main_done)
		begin_shutdown(p, "main child exited");
}

/* Faults the kernel raises for a process's own bad access; a user may still send them. */
static bool is_fault_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
	       sig == SIGABRT || sig == SIGTRAP || sig == SIGSYS;
}

static void handle_signal(struct pid1 *p, const struct signalfd_siginfo *si)
{
	int sig = (int)si->ssi_signo;
	pid_t target;

	if (sig == SIGCHLD) {
		on_sigchld(p);
		return;
	}
	/* A probe client that went away makes a write of ours raise SIGPIPE on ourselves: not the
	 * app's business. */
	if (sig == SIGPIPE && si->ssi_pid == (uint32_t)getpid())
		return;
	/* Only user-sent (SI_USER, SI_QUEUE, SI_TKILL: si_code <= 0) faults are forwarded. */
	if (is_fault_signal(sig) && si->ssi_code > 0)
		return;
	if (!p->reaper.main_done) {
		target = p->cfg->kill_group ? -p->reaper.main_pid : p->reaper.main_pid;
		if (kill(target, sig) == 0)
			probe_state_signal_forwarded(&p->state, sig);
		log_event(LOG_DEBUG, "forward", "\"signal\":%d,\"to\":%d,\"from\":%u", sig, target,
			  si->ssi_pid);
	}
	if (sig == SIGTERM)
		begin_shutdown(p, "SIGTERM");
}

static void signal_cb(uv_poll_t *h, int status, int events)
{
	struct pid1 *p = h->data;
	struct signalfd_siginfo si[16];

	(void)events;
	if (status < 0)
		return;
	for (;;) {
		ssize_t n = read(p->sigfd, si, sizeof(si));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++)
			handle_signal(p, &si[i]);
	}
}

static void notify_cb(struct notify_server *n, const struct notify_event *ev)
{
	struct pid1 *p = n->data;
	char text[256], buf[2 * sizeof(text) + 8];
	size_t len;

	switch (ev->type) {
	case NOTIFY_EV_READY:
		log_event(LOG_INFO, "listening", "\"port\":%d", p->cfg->port);
		break;
	case NOTIFY_EV_PHASE:
		/* READY=1 already stands for the listening phase. */
		if (ev->phase != PROBE_PHASE_SERVER_LISTENING)
			log_event(LOG_INFO, probe_phase_name(ev->phase), NULL);
		break;
	case NOTIFY_EV_STATUS:
		len = ev->text_len < sizeof(text) - 1 ? ev->text_len : sizeof(text) - 1;
		memcpy(text, ev->text, len);
		text[len] = '\0';
		log_event(LOG_DEBUG, "status", "\"text\":%s", log_json_str(buf, sizeof(buf), text));
		break;
	case NOTIFY_EV_WRITEBACK:
		len = ev->text_len < sizeof(text) - 1 ? ev->text_len : sizeof(text) - 1;
		memcpy(text, ev->text, len);
		text[len] = '\0';
		if (ev->err == 0)
			log_event(LOG_INFO, "writeback", "\"pack\":%s",
				  log_json_str(buf, sizeof(buf), text));
		else
			log_event(ev->err == -EBUSY ? LOG_INFO : LOG_WARN,
				  ev->err == -EBUSY ? "writeback_busy" : "writeback_failed",
				  "\"reason\":%s", log_json_str(buf, sizeof(buf), text));
		break;
	case NOTIFY_EV_SNAPSHOT:
		len = ev->text_len < sizeof(text) - 1 ? ev->text_len : sizeof(text) - 1;
		memcpy(text, ev->text, len);
		text[len] = '\0';
		/* knext-node is about to restore: the result ("restored") follows. */
		if (!strcmp(text, "restoring")) {
			p->snapshot_tried = true;
			break;
		}
		log_event(LOG_INFO, "snapshot", "\"result\":%s",
			  log_json_str(buf, sizeof(buf), text));
		break;
	case NOTIFY_EV_INVALID:
		log_event(LOG_WARN, "notify_invalid", "\"reason\":%s",
			  log_json_str(buf, sizeof(buf), ev->text ? ev->text : "?"));
		break;
	case NOTIFY_EV_CACHE:
		log_event(LOG_INFO, "cache",
			  "\"hit\":%llu,\"miss\":%llu,\"rejected\":%llu,\"bytes\":%llu",
			  (unsigned long long)ev->hit, (unsigned long long)ev->miss,
			  (unsigned long long)ev->rejected, (unsigned long long)ev->bytes);
		break;
	default:
		break;
	}
}

static void listen_found_cb(struct listenwatch *w)
{
	struct pid1 *p = w->data;

	log_event(LOG_INFO, "listening", "\"port\":%d,\"detected\":\"socket\"", p->cfg->port);
}

/* The probe server, and in exec mode the two ways to learn readiness from an app that is not
 * ours: sd_notify through NOTIFY_SOCKET, or its listening socket on PORT. */
static int start_probes(struct pid1 *p)
{
	const struct knext_config *cfg = p->cfg;
	char why[160], msg[2 * sizeof(why)], path[64];
	uint64_t nonce;
	int r;

	if (probe_port_check(cfg->probe_port, cfg->port, why, sizeof(why)) < 0) {
		/* JSON escaping can only lengthen the text: the buffer is twice its size. */
		log_event(LOG_ERROR, "probe_port", "\"msg\":%s",
			  log_json_str(msg, sizeof(msg), why));
		return -EINVAL;
	}
	if ((r = probe_server_init(&p->probes, &p->loop, &p->state, "0.0.0.0", cfg->probe_port)) <
	    0) {
		log_event(LOG_ERROR, "probe_server", "\"port\":%d,\"error\":\"%s\"",
			  cfg->probe_port, strerror(-r));
		return r;
	}
	p->probes_on = true;
	log_event(LOG_DEBUG, "probe_server", "\"port\":%d", cfg->probe_port);
	if (cfg->mode != CONFIG_MODE_EXEC)
		return 0;

	/* Abstract, so a read-only root works; random, because containers of a pod share the
	 * network namespace (and so the abstract socket namespace) and each is PID 1 of its own. */
	if (getrandom(&nonce, sizeof(nonce), GRND_NONBLOCK) != sizeof(nonce))
		nonce = log_now_ns() ^ ((uint64_t)getpid() << 32);
	snprintf(path, sizeof(path), "@knext-notify-%016llx", (unsigned long long)nonce);
	if (notify_server_bind(&p->notify, &p->loop, path, &p->state, notify_cb) == 0) {
		p->notify.data = p;
		setenv("NOTIFY_SOCKET", path, 1);
	}
	if (listenwatch_init(&p->listen_watch, &p->loop, &p->state, cfg->port, 2,
			     listen_found_cb) == 0) {
		p->listen_watch.data = p;
		p->listen_watch_on = true;
	}
	return 0;
}

int pid1_init(struct pid1 *p, const struct knext_config *cfg, uint64_t t0_ns)
{
	sigset_t all;
	int r;

	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->sigfd = -1;
	p->notify_fds[0] = p->notify_fds[1] = -1;
	p->snap.fd = -1;
	p->exit_code = 1;

	/* Every signal is read from the signalfd; none is ever handled asynchronously. */
	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, &p->orig_mask) < 0)
		return -errno;

	p->is_pid1 = getpid() == 1;
	if (cfg->pdeath_sig && prctl(PR_SET_PDEATHSIG, cfg->pdeath_sig) < 0)
		log_event(LOG_WARN, "pdeathsig", "\"errno\":%d", errno);
	if (!p->is_pid1) {
		if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
			log_event(
				LOG_WARN, "subreaper",
				"\"msg\":\"knext-init is not running as PID 1 and isn't registered "
				"as a child subreaper. Zombie processes will not be re-parented to "
				"knext-init, so zombie reaping won't work.\"");
		else
			log_event(LOG_DEBUG, "subreaper", NULL);
	}

	p->sigfd = signalfd(-1, &all, SFD_NONBLOCK | SFD_CLOEXEC);
	if (p->sigfd < 0)
		return -errno;
	if ((r = uv_loop_init(&p->loop)) < 0)
		return r;
	p->loop_ready = true;
	uv_poll_init(&p->loop, &p->sig_poll, p->sigfd);
	p->sig_poll.data = p;
	uv_timer_init(&p->loop, &p->grace_timer);
	p->grace_timer.data = p;
	/* The grace timer alone must not keep the loop alive once everything is reaped. */
	uv_unref((uv_handle_t *)&p->grace_timer);

	probe_state_init(&p->state, t0_ns, cfg->heartbeat_ms, cfg->liveness_timeout_ms);
	if (cfg->mode == CONFIG_MODE_EMBEDDED) {
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, p->notify_fds) < 0)
			return -errno;
		if ((r = notify_server_init(&p->notify, &p->loop, p->notify_fds[0], &p->state,
					    notify_cb)) < 0)
			return r;
		p->notify.data = p;
		/* The bootstrap heartbeats from its first turn of the event loop. */
		p->state.expect_heartbeat = true;
	}
	if (cfg->probe_port)
		return start_probes(p);
	return 0;
}

/* knext-node lives beside knext-init unless KNEXT_NODE_HELPER says otherwise. */
static int helper_path(const struct knext_config *cfg, char *buf, size_t n)
{
	ssize_t len;
	char *slash;

	if (cfg->node_helper) {
		if ((size_t)snprintf(buf, n, "%s", cfg->node_helper) >= n)
			return -ENAMETOOLONG;
		return 0;
	}
	len = readlink("/proc/self/exe", buf, n - 1);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	slash = strrchr(buf, '/');
	if (!slash || (size_t)(slash - buf) + sizeof("/knext-node") > n)
		return -ENAMETOOLONG;
	strcpy(slash, "/knext-node");
	return 0;
}

static int check_file(const char *what, const char *path, int mode)
{
	char buf[2 * PATH_MAX + 8];

	if (access(path, mode) == 0)
		return 0;
	log_event(LOG_ERROR, "missing", "\"what\":\"%s\",\"path\":%s,\"error\":\"%s\"", what,
		  log_json_str(buf, sizeof(buf), path), strerror(errno));
	return -ENOENT;
}

/* Embedded mode: the app, knext-node and libnode's JS files must be there. */
static int prepare_embedded(struct pid1 *p, char *helper, size_t n)
{
	const struct knext_config *cfg = p->cfg;
	char entry[PATH_MAX];
	int r;

	if (check_file("app directory (KNEXT_APP_DIR)", cfg->app_dir, X_OK) < 0)
		return -ENOENT;
	if ((size_t)snprintf(entry, sizeof(entry), "%s/%s", cfg->app_dir, cfg->entry) >=
	    sizeof(entry))
		return -ENAMETOOLONG;
	if (check_file("app entry (KNEXT_ENTRY)", entry, R_OK) < 0)
		return -ENOENT;
	if ((r = helper_path(cfg, helper, n)) < 0)
		return r;
	if (check_file("Node.js helper (KNEXT_NODE_HELPER)", helper, X_OK) < 0)
		return -ENOENT;
	for (size_t i = 0; libnode_js_files[i]; i++)
		if (check_file("libnode JS file", libnode_js_files[i], R_OK) < 0)
			return -ENOENT;

	return 0;
}

static void prefetch_done_cb(struct packfeed *f)
{
	struct pid1 *p = f->data;

	probe_state_mark_phase(&p->state, PROBE_PHASE_PREFETCH_DONE, log_now_ns());
}

int pid1_run(struct pid1 *p)
{
	char helper[PATH_MAX];
	char *node_argv[] = { helper, NULL };
	struct child_spec spec = { .mask = &p->orig_mask, .pass_fd = -1 };
	pid_t pid;
	int r;

	if (p->cfg->mode == CONFIG_MODE_EMBEDDED) {
		if (prepare_embedded(p, helper, sizeof(helper)) < 0)
			return 1;
		spec.path = helper;
		spec.argv = node_argv;
		spec.pass_fd = p->notify_fds[1];
		/* Choosing the pack is one header read per candidate; the child must know before it
		 * starts whether to wait for one. */
		p->feed_on = packfeed_select(&p->feed, p->cfg);
		/* The child's settings, resolved, in the one way config.h documents. */
		if ((r = config_export_child(p->cfg, CHILD_NOTIFY_FD, p->feed_on)) < 0) {
			log_event(LOG_ERROR, "init", "\"error\":\"%s\"", strerror(-r));
			return 1;
		}
	} else {
		spec.argv = p->cfg->cmd;
		ncc_prepare(&p->ncc, p->cfg);
		if (p->cfg->snapshot &&
		    snapshot_exec_prepare(&p->snap, p->cfg->ncc_pack, p->cfg->cmd)) {
			spec.argv = p->snap.argv;
			/* Only a server seen listening proves the start (listenwatch, probes on). */
			p->snapshot_tried = p->listen_watch_on;
		}
	}

	/* A ring that can be set up but not entered: prefetch reads with pread, and the child
	 * starts without io_uring, which libuv would otherwise set up and abort on. */
	if ((r = uring_guard_init(&p->uring)) < 0 || p->uring.refused)
		log_event(LOG_WARN, "io_uring_refused", "\"reason\":\"%s\",\"app\":\"%s\"",
			  p->uring.reason,
			  r < 0 ? "runs as it is" : "starts with io_uring_setup refused");
	if (p->uring.prog.filter)
		spec.filter = &p->uring.prog;
	/* Before the child can listen: the first request after scale-from-zero must not wait for
	 * the node to relearn this pod's address. Microseconds; never fails the start. */
	if (p->cfg->announce)
		announce_send("/proc/net/route", "/proc/net/ipv6_route", ANNOUNCE_PORT);
	if ((r = child_spawn(&spec, &pid)) < 0) {
		/* As a shell (and tini) would: one line, 127 not found, 126 not executable. */
		fprintf(stderr, "knext-init: exec %s failed: %s\n",
			spec.path ? spec.path : spec.argv[0], strerror(-r));
		return child_exit_code(-r);
	}
	snapshot_exec_close(&p->snap);
	/* Our copy of the child's end would keep the channel open after the child is gone. */
	if (p->notify_fds[1] >= 0) {
		close(p->notify_fds[1]);
		p->notify_fds[1] = -1;
	}
	p->reaper.main_pid = pid;
	p->reaper.warn = p->cfg->warn_reap;
	probe_state_set_child_alive(&p->state, true, log_now_ns());
	log_event(LOG_INFO, "spawn", "\"pid\":%d,\"pid1\":%s", pid, p->is_pid1 ? "true" : "false");
	/* The pack is read while the child loads libnode and boots V8 (~100 ms before its first
	 * module). Started after the spawn: starting threads and io_uring first delayed the child by
	 * 2-10 ms on two cores. */
	if (p->feed_on) {
		p->feed.data = p;
		p->feed.done_cb = prefetch_done_cb;
		packfeed_start(&p->feed, &p->loop, p->notify_fds[0]);
	}

	uv_poll_start(&p->sig_poll, UV_READABLE, signal_cb);
	uv_run(&p->loop, UV_RUN_DEFAULT);
	return p->exit_code;
}

static void walk_close_cb(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

void pid1_close(struct pid1 *p)
{
	if (p->loop_ready) {
		notify_server_close(&p->notify);
		if (p->probes_on)
			probe_server_close(&p->probes, NULL);
		if (p->listen_watch_on)
			listenwatch_close(&p->listen_watch);
		p->probes_on = p->listen_watch_on = false;
		uv_walk(&p->loop, walk_close_cb, NULL);
		uv_run(&p->loop, UV_RUN_DEFAULT);
		uv_loop_close(&p->loop);
		p->loop_ready = false;
	}
	if (p->feed_on) {
		packfeed_close(&p->feed);
		p->feed_on = false;
	}
	for (int i = 0; i < 2; i++)
		if (p->notify_fds[i] >= 0) {
			close(p->notify_fds[i]);
			p->notify_fds[i] = -1;
		}
	if (p->sigfd >= 0) {
		close(p->sigfd);
		p->sigfd = -1;
	}
	uring_guard_close(&p->uring);
}
