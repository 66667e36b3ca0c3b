// SPDX-License-Identifier: Apache-2.0
#include "tests/cachefs/helpers.h"
#include "cachefs/packmem.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const struct pack_identity test_id = {
	.runtime_name = "node",
	.runtime_version = "18.20.4",
	.v8_tag = 0x1234abcd,
	.v8_flags_hash = 0x1111222233334444ull,
	.arch = "x86_64",
	.build_id = "test-build-1",
	.app_files_hash = 0x5555666677778888ull,
};

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

void sample_entry(unsigned seed, unsigned i, char *path, size_t path_len, uint64_t *hash,
		  uint8_t **data, size_t *len)
{
	static const char *words[] = { "function ", "return ", "const ", "module.exports",
				       "(a,b)",	    "{",       "}",	 ";\n",
				       "require(",  "'react'", "0x",	 "this." };
	uint32_t s = seed * 2654435761u + i * 40503u + 1;
	size_t n = 100 + rnd(&s) % 3000, k = 0;
	uint8_t *d = malloc(n);

	while (k < n) {
		const char *w = words[rnd(&s) % 12];
		size_t wl = strlen(w);

		if (rnd(&s) % 7 == 0) {
			d[k++] = (uint8_t)rnd(&s);
			continue;
		}
		if (wl > n - k)
			wl = n - k;
		memcpy(d + k, w, wl);
		k += wl;
	}
	snprintf(path, path_len, "node_modules/pkg%u/lib/file%u.js", i % 7, i);
	*hash = packmem_hash64(d, n) ^ seed;
	*data = d;
	*len = n;
}

void sample_writer(struct pack_writer *w, unsigned seed, unsigned n, int level)
{
	unsigned i;

	pack_writer_init(w, &test_id, level);
	w->frame_target = 16 << 10;
	for (i = 0; i < n; i++) {
		char path[128];
		uint64_t h;
		uint8_t *d;
		size_t len;

		sample_entry(seed, i, path, sizeof(path), &h, &d, &len);
		pack_writer_add(w, 1 + i % 4, path, h, d, len);
		free(d);
	}
}

uint8_t *sample_pack(unsigned seed, unsigned n, size_t *len)
{
	struct pack_writer w;
	uint8_t *out;

	sample_writer(&w, seed, n, 3);
	pack_writer_build(&w);
	out = malloc(w.out_len);
	memcpy(out, w.out, w.out_len);
	*len = w.out_len;
	pack_writer_close(&w);
	return out;
}

char *test_tmpdir(const char *tag)
{
	char *p = malloc(256);

	snprintf(p, 256, "/tmp/knext-cachefs-%s-XXXXXX", tag);
	if (!mkdtemp(p))
		abort();
	return p;
}

int write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, buf, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	fstat(fd, &st);
	b = malloc(st.st_size + 1);
	*len = read(fd, b, st.st_size);
	close(fd);
	return b;
}

static int rm_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	remove(path);
	return 0;
}

void rm_rf(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}
