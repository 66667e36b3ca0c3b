// SPDX-License-Identifier: Apache-2.0
/*
 * Start-up search order for the pack (source.h).
 */
#include "cachefs/source.h"
#include "cachefs/format.h"
#include "common/defaults.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *pack_origin_name(enum pack_origin o)
{
	switch (o) {
	case PACK_ORIGIN_EXPLICIT:
		return "explicit";
	case PACK_ORIGIN_PVC:
		return "pvc";
	case PACK_ORIGIN_IMAGE:
		return "image";
	case PACK_ORIGIN_NONE:
		break;
	}
	return "none";
}

/*
 * @image_bound: @want carries an image reference (appid_bind_image()); a pack that differs from it
 * in the bound hash alone was recorded under another image, or for another build of the app.
 */
static int check(const char *path, const struct pack_identity *want, bool image_bound, char *why,
		 size_t why_len)
{
	uint8_t head[PACK_INDEX_OFF];
	struct pack meta;
	struct stat st;
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(why, why_len, "%s: %s", path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(why, why_len, "%s: not a regular file", path);
		return -EBADMSG;
	}
	n = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (n != (ssize_t)sizeof(head)) {
		snprintf(why, why_len, "%s: too short for a pack", path);
		return -EBADMSG;
	}
	/* -EAGAIN means the header is sound and the rest simply was not read. */
	err = pack_parse_meta(&meta, head, sizeof(head), st.st_size);
	if (err && err != -EAGAIN) {
		snprintf(why, why_len, "%s: %s", path, meta.reason);
		return err;
	}
	if (want) {
		char r[PACK_REASON_MAX];

		struct pack_identity other = *want;

		err = pack_identity_match(&meta.id, want, r, sizeof(r));
		other.app_files_hash = meta.id.app_files_hash;
		if (err && image_bound && !pack_identity_match(&meta.id, &other, NULL, 0))
			snprintf(r, sizeof(r),
				 "recorded under another image than KNEXT_IMAGE (or for "
				 "another build of the app)");
		if (err) {
			snprintf(why, why_len, "%s: %s", path, r);
			return err;
		}
	}
	return 0;
}

int pack_source_check(const char *path, const struct pack_identity *want, char *why, size_t why_len)
{
	return check(path, want, false, why, why_len);
}

/* Appends as much of @src as fits, keeping @dst terminated. */
static void append(char *dst, size_t cap, const char *src)
{
	size_t used = strlen(dst), n = strlen(src);

	if (n > cap - 1 - used)
		n = cap - 1 - used;
	memcpy(dst + used, src, n);
	dst[used + n] = '\0';
}

static int try(struct pack_source *s, enum pack_origin o, const char *path,
	       const struct pack_identity *want, bool image_bound)
{
	char why[PACK_REASON_MAX + PATH_MAX];
	size_t used;

	if (check(path, want, image_bound, why, sizeof(why)) == 0) {
		s->origin = o;
		snprintf(s->path, sizeof(s->path), "%s", path);
		return 1;
	}
	used = strlen(s->skipped);
	append(s->skipped, sizeof(s->skipped), used ? "; " : "");
	append(s->skipped, sizeof(s->skipped), pack_origin_name(o));
	append(s->skipped, sizeof(s->skipped), ": ");
	append(s->skipped, sizeof(s->skipped), why);
	return 0;
}

/* Tries the candidates that come after @after in the start-up order. */
static int select_after(struct pack_source *s, enum pack_origin after,
			const struct pack_identity *want, const struct pack_identity *want_pvc,
			const char *pack, const char *cache_dir, const char *app_dir)
{
	char path[PATH_MAX];
	bool bound = want_pvc && want && want_pvc->app_files_hash != want->app_files_hash;

	s->origin = PACK_ORIGIN_NONE;
	s->path[0] = '\0';
	if (after < PACK_ORIGIN_EXPLICIT && pack && *pack &&
	    try(s, PACK_ORIGIN_EXPLICIT, pack, want, false))
		return 0;
	if (!cache_dir || !*cache_dir)
		cache_dir = KNEXT_DEFAULT_CACHE_DIR;
	if (after < PACK_ORIGIN_PVC &&
	    snprintf(path, sizeof(path), "%s/%s", cache_dir, KNEXT_PACK_FILE_NAME) <
		    (int)sizeof(path) &&
	    try(s, PACK_ORIGIN_PVC, path, want_pvc ? want_pvc : want, bound))
		return 0;
	if (!app_dir || !*app_dir)
		app_dir = KNEXT_DEFAULT_APP_DIR;
	if (after < PACK_ORIGIN_IMAGE &&
	    snprintf(path, sizeof(path), "%s/%s", app_dir, KNEXT_DEFAULT_BAKED_PACK) <
		    (int)sizeof(path) &&
	    try(s, PACK_ORIGIN_IMAGE, path, want, false))
		return 0;
	return 0;
}

int pack_source_select(struct pack_source *s, const struct pack_identity *want,
		       const struct pack_identity *want_pvc, const char *pack,
		       const char *cache_dir, const char *app_dir)
{
	memset(s, 0, sizeof(*s));
	return select_after(s, PACK_ORIGIN_NONE, want, want_pvc, pack, cache_dir, app_dir);
}

int pack_source_next(struct pack_source *s, const struct pack_identity *want,
		     const struct pack_identity *want_pvc, const char *pack, const char *cache_dir,
		     const char *app_dir)
{
	s->skipped[0] = '\0';
	if (s->origin == PACK_ORIGIN_NONE)
		return 0;
	return select_after(s, s->origin, want, want_pvc, pack, cache_dir, app_dir);
}
