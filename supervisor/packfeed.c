// SPDX-License-Identifier: Apache-2.0
#include "supervisor/packfeed.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cachefs/appid.h"
#include "cachefs/handoff.h"
#include "supervisor/node/runtime.h"
#include "supervisor/log.h"

bool packfeed_select(struct packfeed *f, const struct knext_config *cfg)
{
	char buf[2 * sizeof(f->src.skipped) + 8];

	memset(f, 0, sizeof(*f));
	f->pf.memfd = -1;
	f->cfg = cfg;
	/* v8_tag stays 0: only V8 knows it, and V8 rejects code cache of another tag itself. */
	f->force_pread = cfg->io_pread;
	appid_fill(&f->want, cfg->app_dir, KNEXT_RUNTIME_VERSION, cfg->node_options);
	/* PVC packs outlive images: one written under another image is not this app's. */
	f->want_pvc = f->want;
	appid_bind_image(&f->want_pvc, cfg->image);
	pack_source_select(&f->src, &f->want, &f->want_pvc, cfg->pack, cfg->cache_dir,
			   cfg->app_dir);
	if (f->src.skipped[0])
		log_event(LOG_INFO, "cache_skipped", "\"reasons\":%s",
			  log_json_str(buf, sizeof(buf), f->src.skipped));
	if (f->src.origin == PACK_ORIGIN_NONE) {
		log_event(LOG_INFO, "cache", "\"origin\":\"none\"");
		return false;
	}
	return true;
}

/* The one message to the child; a child that is already gone simply never reads it. */
static void send_to_child(int sock, int memfd, const char *reason)
{
	int r = pack_handoff_send(sock, memfd, reason);

	if (r < 0)
		log_event(LOG_DEBUG, "cache_send", "\"errno\":%d", -r);
}

static void work_cb(uv_work_t *w)
{
	struct packfeed *f = w->data;

	prefetch_wait(&f->pf);
}

static void after_cb(uv_work_t *w, int status);

/* Starts reading f->src on the loop's thread pool; 0 or -errno (nothing to close then). */
static int start_prefetch(struct packfeed *f)
{
	struct prefetch_opts opts = { .want = &f->want, .force_pread = f->force_pread };

	if (f->src.origin == PACK_ORIGIN_PVC)
		opts.want = &f->want_pvc;
	int r;

	if ((r = prefetch_start(&f->pf, f->src.path, &opts)) < 0)
		return r;
	f->active = true;
	f->work.data = f;
	if (uv_queue_work(f->loop, &f->work, work_cb, after_cb) < 0) {
		prefetch_wait(&f->pf);
		after_cb(&f->work, 0);
	}
	return 0;
}

/* The chosen pack failed: a damaged PVC pack must not mask a sound one in the image. */
static bool try_next(struct packfeed *f)
{
	char buf[2 * sizeof(f->src.skipped) + 8];
	const struct knext_config *cfg = f->cfg;

	prefetch_close(&f->pf);
	f->active = false;
	pack_source_next(&f->src, &f->want, &f->want_pvc, cfg->pack, cfg->cache_dir, cfg->app_dir);
	if (f->src.skipped[0])
		log_event(LOG_INFO, "cache_skipped", "\"reasons\":%s",
			  log_json_str(buf, sizeof(buf), f->src.skipped));
	while (f->src.origin != PACK_ORIGIN_NONE) {
		log_event(LOG_INFO, "cache_fallback", "\"origin\":\"%s\"",
			  pack_origin_name(f->src.origin));
		if (start_prefetch(f) == 0)
			return true;
		pack_source_next(&f->src, &f->want, &f->want_pvc, cfg->pack, cfg->cache_dir,
				 cfg->app_dir);
	}
	return false;
}

static void after_cb(uv_work_t *w, int status)
{
	struct packfeed *f = w->data;
	char buf[2 * PACK_REASON_MAX + 8];
	int r = status < 0 ? status : f->pf.result;

	if (r == 0 && f->pf.memfd >= 0) {
		send_to_child(f->sock, f->pf.memfd, NULL);
		log_event(LOG_INFO, "prefetch_done",
			  "\"origin\":\"%s\",\"entries\":%u,\"bytes\":%llu,\"file_bytes\":%llu,"
			  "\"ms\":%.3f,\"io\":\"%s\"",
			  pack_origin_name(f->src.origin), f->pf.entry_count,
			  (unsigned long long)f->pf.raw_size, (unsigned long long)f->pf.file_size,
			  f->pf.ms_total, f->pf.used_fallback ? "pread" : "io_uring");
		if (f->pf.used_fallback)
			log_event(LOG_INFO, "io_fallback", "\"reason\":%s",
				  log_json_str(buf, sizeof(buf), f->pf.fallback_reason));
	} else {
		char reason[PACK_REASON_MAX];

		snprintf(reason, sizeof(reason), "%s",
			 f->pf.reason[0] ? f->pf.reason : strerror(r < 0 ? -r : EIO));
		log_event(LOG_WARN, "prefetch_failed", "\"origin\":\"%s\",\"reason\":%s",
			  pack_origin_name(f->src.origin), log_json_str(buf, sizeof(buf), reason));
		if (try_next(f))
			return;
		send_to_child(f->sock, -1, reason);
	}
	if (f->done_cb)
		f->done_cb(f);
}

int packfeed_start(struct packfeed *f, uv_loop_t *loop, int sock)
{
	int r;

	f->sock = sock;
	f->loop = loop;
	if ((r = start_prefetch(f)) < 0) {
		send_to_child(sock, -1, "prefetch did not start");
		log_event(LOG_WARN, "prefetch_failed", "\"error\":\"%s\"", strerror(-r));
		return r;
	}
	return 0;
}

void packfeed_close(struct packfeed *f)
{
	if (!f->active)
		return;
	prefetch_close(&f->pf);
	f->active = false;
}
