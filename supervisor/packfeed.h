/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PID 1's side of the compile cache: choose the pack (KNEXT_PACK → PVC → image → none), prefetch it
 * with io_uring into a sealed memfd while the Node child boots, and hand the memfd to the child
 * over the notify socket (SCM_RIGHTS) the moment it is complete. A prefetch that fails (a frame
 * that does not check) falls back to the next candidate; both are logged. Exactly one message is sent:
 * "X_KNEXT_PACK=1" with the descriptor, or "X_KNEXT_PACK=0" with the reason.
 */
#ifndef KNEXT_PACKFEED_H
#define KNEXT_PACKFEED_H

#include <stdbool.h>
#include <uv.h>

#include "cachefs/prefetch.h"
#include "cachefs/source.h"
#include "supervisor/config.h"

/**
 * struct packfeed - one prefetch and its delivery.
 * @src:      the pack chosen
 * @want:     the identity it was checked against
 * @want_pvc: @want bound to KNEXT_IMAGE, for the PVC's pack
 * @pf:       the prefetch
 * @work:     waits for the prefetch on libuv's thread pool
 * @sock:     PID 1's end of the notify socket
 * @cfg:      the configuration (for the next candidate after a failed prefetch)
 * @loop:     PID 1's loop
 * @force_pread: KNEXT_IO=pread
 * @active:   a prefetch was started and must be closed
 * @done_cb:  called on the loop when the prefetch ended (may be NULL)
 * @data:     the caller's pointer
 */
struct packfeed {
	struct pack_source src;
	struct pack_identity want;
	struct pack_identity want_pvc;
	struct prefetch pf;
	uv_work_t work;
	int sock;
	const struct knext_config *cfg;
	uv_loop_t *loop;
	bool force_pread;
	bool active;
	void (*done_cb)(struct packfeed *f);
	void *data;
};

/**
 * packfeed_select() - choose the pack for the app; cheap (one header read per candidate).
 * @f:   state to fill
 * @cfg: the configuration (app directory, KNEXT_PACK, KNEXT_CACHE_DIR, KNEXT_IO, NODE_OPTIONS)
 *
 * Return: true when there is a pack to prefetch (the child should then wait for the message).
 */
bool packfeed_select(struct packfeed *f, const struct knext_config *cfg);

/**
 * packfeed_start() - start the prefetch and its delivery to the child.
 * @f:    a selected packfeed
 * @loop: PID 1's loop
 * @sock: the notify socket's PID-1 end
 *
 * Return: 0, or -errno (the "no pack" message has then been sent already).
 */
int packfeed_start(struct packfeed *f, uv_loop_t *loop, int sock);

/**
 * packfeed_close() - wait for and release the prefetch; idempotent.
 * @f: state
 */
void packfeed_close(struct packfeed *f);

#endif
