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
#define PACK_MAX_KEY 4096

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
		r = pack_extract_kind(&p, n->dir, PACK_KIND_NCC_FILE, why, sizeof(why));
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

/* A startup snapshot (kinds 7 and 8) in the old pack stays in the new one: it was built once, at
 * `cache warm`, and a pod's write-back only refreshes the compile cache. */
static int keep_snapshot(struct ncc *n, struct pack_writer *w)
{
	static const uint32_t kinds[] = { PACK_KIND_SNAPSHOT_BLOB, PACK_KIND_SNAPSHOT_ENV };
	struct pack_entry e;
	struct pack p;
	int r = 0;

	memset(&p, 0, sizeof(p));
	if (pack_open(&p, n->pack) < 0)
		return 0;
	for (uint32_t i = 0; i < p.entry_count && r == 0; i++) {
		uint8_t *data;
		char key[PACK_MAX_KEY];

		pack_entry_get(&p, i, &e);
		if (e.kind != kinds[0] && e.kind != kinds[1])
			continue;
		if (e.path_len >= sizeof(key) || (r = pack_entry_data(&p, &e, &data)) < 0)
			break;
		memcpy(key, e.path, e.path_len);
		key[e.path_len] = '\0';
		r = pack_writer_add(w, e.kind, key, e.content_hash, data, e.raw_size);
		free(data);
	}
	pack_close(&p);
	return r;
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
			r = keep_snapshot(n, &w);
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
