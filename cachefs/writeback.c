// SPDX-License-Identifier: Apache-2.0
/*
 * Atomic write-back of a pack to the PVC: lock, temporary file, fsync, rename, fsync directory.
 * Any failure leaves the old pack as it was (FORMAT.md, "Writing").
 */
#include "cachefs/writer.h"
#include "common/defaults.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int wb_fail(char *reason, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	if (reason && len) {
		va_start(ap, fmt);
		vsnprintf(reason, len, fmt, ap);
		va_end(ap);
	}
	return err;
}

static uint64_t budget(uint64_t max_bytes)
{
	return max_bytes ? max_bytes : KNEXT_DEFAULT_CACHE_MAX_BYTES;
}

/* Temp files younger than this may belong to a writer on another node whose lock we cannot
 * see (a shared volume without working flock); older ones are a dead writer's. */
#define STALE_TEMP_S 60

/* With the lock held, no live writer of ours has a temp file: those that are left belong to
 * writers killed mid-write (OOM, eviction), and would fill the volume one by one. */
static void remove_stale_temps(const char *dir, const char *name)
{
	char prefix[NAME_MAX + 2];
	size_t plen;
	struct dirent *e;
	struct stat st;
	time_t now = time(NULL);
	DIR *d;

	plen = (size_t)snprintf(prefix, sizeof(prefix), ".%s.", name);
	if (plen >= sizeof(prefix) || !(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		/* ".NAME.XXXXXX": mkostemp's six characters after the prefix; never the lock. */
		if (strncmp(e->d_name, prefix, plen) != 0 || strlen(e->d_name) != plen + 6)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || now - st.st_mtime < STALE_TEMP_S)
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

int pack_writeback(const char *dir, const char *name, struct pack_writer *w, uint64_t max_bytes,
		   char *reason, size_t reason_len)
{
	char lock[PATH_MAX], tmp[PATH_MAX], final[PATH_MAX];
	uint64_t limit = budget(max_bytes);
	int lfd, fd = -1, err;
	ssize_t size;

	if (!name[0] || strchr(name, '/'))
		return wb_fail(reason, reason_len, -EINVAL, "bad pack name '%s'", name);
	if (snprintf(lock, sizeof(lock), "%s/.%s.lock", dir, name) >= (int)sizeof(lock) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= (int)sizeof(tmp) ||
	    snprintf(final, sizeof(final), "%s/%s", dir, name) >= (int)sizeof(final))
		return wb_fail(reason, reason_len, -ENAMETOOLONG, "path too long");
	size = pack_writer_size(w);
	if (size < 0)
		return wb_fail(reason, reason_len, (int)size, "encoding the pack failed: %s",
			       strerror((int)-size));
	if ((uint64_t)size > limit)
		return wb_fail(reason, reason_len, -EFBIG,
			       "pack of %zd bytes is over the budget of %llu bytes", size,
			       (unsigned long long)limit);
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0) {
		err = -errno;
		return wb_fail(reason, reason_len, err, "lock %s: %s", lock, strerror(-err));
	}
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(lfd);
		return wb_fail(reason, reason_len, err, "another replica is writing the pack");
	}
	remove_stale_temps(dir, name);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		wb_fail(reason, reason_len, err, "create %s: %s", tmp, strerror(-err));
		goto err_lock;
	}
	err = pack_writer_write(w, fd);
	if (err) {
		wb_fail(reason, reason_len, err, "write %s: %s", tmp, strerror(-err));
		goto err_tmp;
	}
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
		err = -errno;
		wb_fail(reason, reason_len, err, "fsync %s: %s", tmp, strerror(-err));
		goto err_tmp;
	}
	if (close(fd) < 0) {
		fd = -1;
		err = -errno;
		wb_fail(reason, reason_len, err, "close %s: %s", tmp, strerror(-err));
		goto err_tmp;
	}
	fd = -1;
	if (rename(tmp, final) < 0) {
		err = -errno;
		wb_fail(reason, reason_len, err, "rename to %s: %s", final, strerror(-err));
		goto err_tmp;
	}
	/* The rename is done; a failed directory fsync only weakens durability, not atomicity. */
	err = fsync_dir(dir);
	if (err)
		wb_fail(reason, reason_len, err, "fsync %s: %s", dir, strerror(-err));
	close(lfd);
	return err;

err_tmp:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
err_lock:
	close(lfd);
	return err;
}

int pack_writeback_file(const char *file, struct pack_writer *w, uint64_t max_bytes, char *reason,
			size_t reason_len)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(file, '/');

	if (!slash)
		return pack_writeback(".", file, w, max_bytes, reason, reason_len);
	if ((size_t)(slash - file) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, file, (size_t)(slash - file));
	dir[slash - file] = '\0';
	return pack_writeback(dir[0] ? dir : "/", slash + 1, w, max_bytes, reason, reason_len);
}
