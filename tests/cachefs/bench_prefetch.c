// SPDX-License-Identifier: Apache-2.0
/*
 * Benchmark helper, one measurement per process so runs can be interleaved by bench.sh:
 *   bench_prefetch prefetch PACK [--cold] [--pread]   prefetch into the sealed memfd
 *   bench_prefetch files DIR [--cold]                  read every file under DIR one by one
 * --cold drops the file(s) from the page cache first (POSIX_FADV_DONTNEED). Prints one JSON line.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cachefs/prefetch.h"

static char **files;
static size_t nfiles, capfiles;

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void evict(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return;
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

static int collect_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if (type != FTW_F)
		return 0;
	if (nfiles == capfiles) {
		capfiles = capfiles ? capfiles * 2 : 1024;
		files = realloc(files, capfiles * sizeof(*files));
	}
	files[nfiles++] = strdup(path);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Peak RSS of this process image (VmHWM; ru_maxrss would carry the parent's over fork+exec). */
static long maxrss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	int cold = 0, pread_only = 0, i;
	double t0, t1;

	for (i = 3; i < argc; i++) {
		cold |= strcmp(argv[i], "--cold") == 0;
		pread_only |= strcmp(argv[i], "--pread") == 0;
	}
	if (argc < 3)
		return 2;
	if (strcmp(argv[1], "prefetch") == 0) {
		struct prefetch_opts o = { .force_pread = pread_only };
		const char *chunk = getenv("BENCH_CHUNK"), *depth = getenv("BENCH_DEPTH");
		struct prefetch p;
		long rss0 = maxrss_kb();

		if (chunk)
			o.chunk_size = (uint32_t)strtoul(chunk, NULL, 0);
		if (depth)
			o.depth = (uint32_t)strtoul(depth, NULL, 0);
		if (cold)
			evict(argv[2]);
		t0 = now_ms();
		if (prefetch_run_sync(&p, argv[2], &o)) {
			fprintf(stderr, "prefetch: %s\n", p.reason);
			return 1;
		}
		t1 = now_ms();
		printf("{\"ms\":%.3f,\"rss_kb\":%ld,\"rss0_kb\":%ld,\"raw\":%llu,\"memfd\":%llu,"
		       "\"file\":%llu,\"fallback\":%d}\n",
		       t1 - t0, maxrss_kb(), rss0, (unsigned long long)p.raw_size,
		       (unsigned long long)p.size, (unsigned long long)p.file_size,
		       p.used_fallback);
		prefetch_close(&p);
		return 0;
	}
	if (strcmp(argv[1], "files") == 0) {
		static char buf[1 << 20];
		size_t k, bytes = 0;

		nftw(argv[2], collect_cb, 32, FTW_PHYS);
		qsort(files, nfiles, sizeof(*files), cmp);
		if (cold)
			for (k = 0; k < nfiles; k++)
				evict(files[k]);
		t0 = now_ms();
		for (k = 0; k < nfiles; k++) {
			int fd = open(files[k], O_RDONLY);
			ssize_t n;

			if (fd < 0)
				return 1;
			while ((n = read(fd, buf, sizeof(buf))) > 0)
				bytes += n;
			close(fd);
		}
		t1 = now_ms();
		printf("{\"ms\":%.3f,\"files\":%zu,\"bytes\":%zu}\n", t1 - t0, nfiles, bytes);
		return 0;
	}
	return 2;
}
