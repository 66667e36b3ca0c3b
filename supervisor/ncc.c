// SPDX-License-Identifier: Apache-2.0
#include "supervisor/ncc.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/defaults.h"
#include "supervisor/log.h"
#include "cachefs/pack.h"
#include "cachefs/writer.h"

#define NCC_RUNTIME "node-ncc"

static void restore(struct ncc *n)
{
	char why[PACK_REASON_MAX + PATH_MAX], buf[2 * sizeof(why) + 8];
	struct pack p;
	int r;

	memset(&p, 0, sizeof(p));
	if (access(n->pack, F_OK) < 0) {
		log_event(LOG_INFO, "ncc", "\"restored\":0,\"reason\":\"no pack yet\"");
		return;
	}
	/* pack_open() checks the structure; every frame's checksums are checked as it is decoded. */
	r = pack_open(&p, n->pack);
	if (!r && strcmp(p.id.runtime_name, NCC_RUNTIME) != 0) {
		snprintf(p.reason, sizeof(p.reason), "not a NODE_COMPILE_CACHE pack (runtime %s)",
			 p.id.runtime_name);
		r = -ESTALE;
	}
	if (!r)
		r = pack_extract(&p, n->dir, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s", p.reason);
	if (r)
		log_event(LOG_WARN, "ncc", "\"restored\":0,\"reason\":%s",
			  log_json_str(buf, sizeof(buf), why));
	else
		log_event(LOG_INFO, "ncc", "\"restored\":%u,\"dir\":%s", p.entry_count,
			  log_json_str(buf, sizeof(buf), n->dir));
	pack_close(&p);
}

int ncc_prepare(struct ncc *n, const struct knext_config *cfg)
{
	const char *pack = cfg->ncc_pack, *scratch = cfg->scratch_dir;

	memset(n, 0, sizeof(*n));
	if (!pack || !*pack)
		return 0;
	n->writeback = cfg->ncc_writeback;
	n->max_bytes = cfg->cache_max_bytes;
	/* Memory first: 360 small files on a disk-backed /tmp took 25-33 ms here, 7 on /dev/shm. */
	if (!scratch || !*scratch)
		scratch = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" :
								 KNEXT_DEFAULT_SCRATCH_DIR;
	if ((size_t)snprintf(n->pack, sizeof(n->pack), "%s", pack) >= sizeof(n->pack) ||
	    (size_t)snprintf(n->dir, sizeof(n->dir), "%s/knext-ncc.XXXXXX", scratch) >=
		    sizeof(n->dir))
		return -ENAMETOOLONG;
	if (!mkdtemp(n->dir)) {
		int err = errno;

		log_event(LOG_WARN, "ncc", "\"error\":\"%s: %s\"", scratch, strerror(err));
		return -err;
	}
	n->on = true;
	restore(n);
	setenv("NODE_COMPILE_CACHE", n->dir, 1);
	return 0;
}

static int remove_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

int ncc_collect(struct ncc *n)
{
	struct pack_identity id = { .runtime_name = NCC_RUNTIME };
	char why[256] = "", buf[2 * sizeof(why) + 8];
	struct pack_writer w;
	int r;

	if (!n->on)
		return 0;
	n->on = false;
	/* Read-only use (KNEXT_NCC_WRITEBACK=0): restore, never write. */
	if (!n->writeback) {
		nftw(n->dir, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
		return 0;
	}
	if ((r = pack_writer_init(&w, &id, PACK_LEVEL_WRITEBACK)) == 0) {
		r = pack_writer_add_dir(&w, n->dir, PACK_KIND_NCC_FILE);
		if (!r)
			r = pack_writeback_file(n->pack, &w, n->max_bytes, why, sizeof(why));
		pack_writer_close(&w);
	}
	if (r)
		log_event(LOG_WARN, "ncc_writeback", "\"error\":%s",
			  log_json_str(buf, sizeof(buf), why[0] ? why : strerror(-r)));
	else
		log_event(LOG_INFO, "ncc_writeback", "\"pack\":%s",
			  log_json_str(buf, sizeof(buf), n->pack));
	nftw(n->dir, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
	return r;
}
