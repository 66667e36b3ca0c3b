// SPDX-License-Identifier: Apache-2.0
/*
 * Cold runs: drop files from the page cache with POSIX_FADV_DONTNEED, one file at a time, with
 * no root and no global cache drop. Pages that are dirty, or mapped by a running process, stay.
 * Warm runs: read the same files back in first, so that a warm run never inherits what the cold
 * run before it dropped and did not read back (a pack's source replay leaves the app's files out).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench.h"

static unsigned int evicted;
static bool warming;

static int evict_fd(int fd)
{
	/* Written pages must reach the disk before the kernel can drop them. */
	fdatasync(fd);
	return -posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

/* Reads the whole file: readahead() may return before its pages are in. */
static int warm_fd(int fd)
{
	static char buf[1 << 20];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	return n < 0 ? -errno : 0;
}

static int evict_one(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int err;

	if (fd < 0)
		return -errno;
	err = warming ? warm_fd(fd) : evict_fd(fd);
	close(fd);
	if (!err)
		evicted++;
	return err;
}

static int evict_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (type == FTW_F && S_ISREG(st->st_mode))
		evict_one(path);
	return 0;
}

/* Drops or reads (warming) @path, a file or every regular file under a directory. */
static int walk(const char *path, unsigned int *nfiles)
{
	struct stat st;
	int err = 0;

	evicted = 0;
	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode)) {
		if (nftw(path, evict_cb, 32, FTW_PHYS) < 0)
			err = -errno;
	} else {
		err = evict_one(path);
	}
	if (nfiles)
		*nfiles = evicted;
	return err;
}

/**
 * bench_evict_path() - drop a file, or every regular file under a directory, from the page cache.
 * @path:   a file or a directory (walked without following symbolic links)
 * @nfiles: if not NULL, the number of files advised
 *
 * Files that cannot be opened are skipped.
 *
 * Return: 0 or -errno when @path itself cannot be used.
 */
int bench_evict_path(const char *path, unsigned int *nfiles)
{
	warming = false;
	return walk(path, nfiles);
}

/**
 * bench_warm_path() - read a file, or every regular file under a directory, into the page cache.
 * @path:   a file or a directory (walked without following symbolic links)
 * @nfiles: if not NULL, the number of files read
 *
 * Return: 0 or -errno when @path itself cannot be used.
 */
int bench_warm_path(const char *path, unsigned int *nfiles)
{
	warming = true;
	return walk(path, nfiles);
}
