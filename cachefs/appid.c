// SPDX-License-Identifier: Apache-2.0
#include "cachefs/appid.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

/* Reads at most @cap - 1 bytes of @path into @buf; returns the length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)got < cap - 1 && (n = read(fd, buf + got, cap - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

static uint64_t hash_file(const char *path)
{
	XXH3_state_t st;
	char buf[16384];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return 0;
	XXH3_64bits_reset(&st);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		XXH3_64bits_update(&st, buf, (size_t)n);
	close(fd);
	return XXH3_64bits_digest(&st);
}

int appid_fill(struct pack_identity *id, const char *app_dir, const char *runtime_version,
	       const char *node_options)
{
	char path[PATH_MAX], buf[sizeof(id->build_id)];
	const char *opts = node_options;
	ssize_t n;

	memset(id, 0, sizeof(*id));
	snprintf(id->runtime_name, sizeof(id->runtime_name), "%s", APPID_RUNTIME_NAME);
	snprintf(id->runtime_version, sizeof(id->runtime_version), "%s", runtime_version);
#if defined(__x86_64__)
	snprintf(id->arch, sizeof(id->arch), "x64");
#elif defined(__aarch64__)
	snprintf(id->arch, sizeof(id->arch), "arm64");
#else
	snprintf(id->arch, sizeof(id->arch), "other");
#endif
	id->v8_flags_hash = XXH3_64bits(opts ? opts : "", opts ? strlen(opts) : 0);

	if ((size_t)snprintf(path, sizeof(path), "%s/.next/BUILD_ID", app_dir) >= sizeof(path))
		return -ENAMETOOLONG;
	n = read_small(path, buf, sizeof(buf));
	if (n > 0) {
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
			buf[--n] = '\0';
		memcpy(id->build_id, buf, (size_t)n + 1);
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/.next/required-server-files.json", app_dir) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	id->app_files_hash = hash_file(path);
	return 0;
}

void appid_bind_image(struct pack_identity *id, const char *image)
{
	if (image && *image)
		id->app_files_hash = XXH3_64bits_withSeed(image, strlen(image), id->app_files_hash);
}
