// SPDX-License-Identifier: Apache-2.0
/*
 * Directory mode: every regular file below a directory (e.g. a Node >= 22 NODE_COMPILE_CACHE
 * directory) becomes one entry keyed by its relative path and the XXH3-64 of its content.
 */
#include "cachefs/writer.h"
#include "cachefs/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

static int add_file(struct pack_writer *w, int dfd, const char *name, const char *rel,
		    uint32_t kind)
{
	struct stat st;
	uint8_t *data;
	ssize_t got;
	int fd, err = 0;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	data = malloc(st.st_size ? st.st_size : 1);
	if (!data) {
		err = -ENOMEM;
		goto out;
	}
	got = read_upto(fd, data, st.st_size);
	if (got < 0 || got < st.st_size)
		err = got < 0 ? (int)got : -EIO;
	else
		err = pack_writer_add(w, kind, rel, XXH3_64bits(data, got), data, got);
	free(data);
out:
	close(fd);
	return err;
}

/* Walks @dfd in name order; @rel is the path of @dfd below the root ("" at the root). */
static int walk(struct pack_writer *w, int dfd, const char *rel, uint32_t kind, int depth)
{
	struct dirent **names;
	char sub[PATH_MAX];
	int n, i, err = 0;

	if (depth > 64)
		return -ELOOP;
	n = scandirat(dfd, ".", &names, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		struct stat st;

		if (err || !strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", name) >=
		    (int)sizeof(sub)) {
			err = -ENAMETOOLONG;
			continue;
		}
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			err = -errno;
			continue;
		}
		if (S_ISREG(st.st_mode)) {
			err = add_file(w, dfd, name, sub, kind);
		} else if (S_ISDIR(st.st_mode)) {
			int cfd =
				openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

			if (cfd < 0) {
				err = -errno;
				continue;
			}
			err = walk(w, cfd, sub, kind, depth + 1);
			close(cfd);
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}

int pack_writer_add_dir(struct pack_writer *w, const char *dir, uint32_t kind)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;

	if (dfd < 0)
		return -errno;
	err = walk(w, dfd, "", kind, 0);
	close(dfd);
	return err;
}
