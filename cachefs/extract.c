// SPDX-License-Identifier: Apache-2.0
/*
 * Restoring a pack's entries as files: `knext-init cache unpack`, and the NODE_COMPILE_CACHE
 * directory knext-init materialises for a modern `node` in exec mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cachefs/pack.h"
#include "cachefs/packmem.h"

/* mkdir -p of the parent directories of @path (which is below an existing directory). */
static int make_parents(char *path)
{
	char *s;

	for (s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			*s = '/';
			return -errno;
		}
		*s = '/';
	}
	return 0;
}

static int write_out(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644), err = 0;
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0) {
			err = -errno;
			break;
		}
		done += n;
	}
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

int pack_extract(struct pack *p, const char *dir, char *why, size_t why_len)
{
	return pack_extract_kind(p, dir, 0, why, why_len);
}

int pack_extract_kind(struct pack *p, const char *dir, uint32_t kind, char *why, size_t why_len)
{
	struct pack_entry e;
	struct pack_frame f;
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	uint32_t i, fi = UINT32_MAX;
	size_t cap = 0;
	int err = 0;

	for (i = 0; i < p->frame_count; i++) {
		pack_frame_get(p, i, &f);
		cap = f.raw_size > cap ? f.raw_size : cap;
	}
	buf = malloc(cap ? cap : 1);
	if (!buf) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		err = -errno;
		snprintf(why, why_len, "%s: %s", dir, strerror(-err));
		goto out;
	}
	for (i = 0; i < p->entry_count; i++) {
		pack_entry_get(p, i, &e);
		if (kind != 0 && e.kind != kind)
			continue;
		if (e.frame != fi) {
			err = pack_frame_decode(p, e.frame, buf, cap);
			if (err) {
				snprintf(why, why_len, "%s", p->reason);
				goto out;
			}
			fi = e.frame;
		}
		pack_frame_get(p, e.frame, &f);
		/* Directory mode restores NCC files at their path; other kinds go by kind. */
		if (e.kind == PACK_KIND_NCC_FILE)
			snprintf(path, sizeof(path), "%s/%.*s", dir, (int)e.path_len, e.path);
		else
			snprintf(path, sizeof(path), "%s/%s/%.*s", dir, pack_kind_name(e.kind),
				 (int)e.path_len, e.path);
		err = make_parents(path);
		if (!err)
			err = write_out(path, buf + (e.raw_offset - f.raw_offset), e.raw_size);
		if (err) {
			snprintf(why, why_len, "%s: %s", path, strerror(-err));
			goto out;
		}
	}
out:
	free(buf);
	return err;
}

int pack_entry_data(struct pack *p, const struct pack_entry *e, uint8_t **data)
{
	struct pack_frame f;
	uint8_t *buf, *out;
	int err;

	*data = NULL;
	if ((err = pack_frame_get(p, e->frame, &f)) < 0)
		return err;
	/* An entry that fills its frame (a snapshot blob does) is decoded in place, no copy. */
	buf = malloc(f.raw_size + 1);
	if (!buf)
		return -ENOMEM;
	if ((err = pack_frame_decode(p, e->frame, buf, f.raw_size)) < 0) {
		free(buf);
		return err;
	}
	if (e->raw_offset == f.raw_offset) {
		out = buf;
	} else {
		out = malloc((size_t)e->raw_size + 1);
		if (!out) {
			free(buf);
			return -ENOMEM;
		}
		memcpy(out, buf + (e->raw_offset - f.raw_offset), e->raw_size);
		free(buf);
	}
	if (packmem_hash64(out, e->raw_size) != e->checksum) {
		snprintf(p->reason, sizeof(p->reason), "entry %.*s: checksum mismatch",
			 (int)e->path_len, e->path);
		free(out);
		return -EBADMSG;
	}
	out[e->raw_size] = '\0';
	*data = out;
	return 0;
}
