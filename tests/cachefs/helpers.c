// SPDX-License-Identifier: Apache-2.0
#include "tests/cachefs/helpers.h"
#include "cachefs/format.h"
#include "cachefs/packmem.h"
#include "cachefs/writer.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

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

int craft_pack(int fd, const struct pack_identity *id, uint32_t entry_len, uint64_t frame_raw,
	       uint64_t comp_len)
{
	static const char path[] = "x.js";
	const uint64_t strings_off = PACK_INDEX_OFF + PACK_ENTRY_SIZE;
	const uint64_t frames_off = strings_off + sizeof(path) - 1;
	const uint64_t payload_off = frames_off + PACK_FRAME_SIZE;
	uint64_t file_size = payload_off + comp_len + PACK_TRAILER_SIZE, done;
	uint8_t meta[PACK_INDEX_OFF + PACK_ENTRY_SIZE + 8 + PACK_FRAME_SIZE] = { 0 };
	uint8_t *raw = calloc(1, frame_raw + 1), *zeros = calloc(1, 1 << 20), *comp = NULL;
	uint8_t *e = meta + PACK_INDEX_OFF, *f = meta + frames_off;
	uint8_t trailer[PACK_TRAILER_SIZE] = { 0 };
	XXH3_state_t st;
	size_t stored = 0;
	int err = -1;

	if (!raw || !zeros || entry_len > frame_raw)
		goto out;
	memset(raw, 'a', entry_len);
	comp = malloc(pack_stored_bound(frame_raw));
	if (!comp)
		goto out;
	stored = pack_stored_frame(comp, raw, frame_raw);
	if (comp_len < stored)
		goto out;
	pack_header_put(meta, id,
			&(struct pack_layout){ .entry_count = 1,
					       .frame_count = 1,
					       .strings_off = strings_off,
					       .strings_size = sizeof(path) - 1,
					       .frames_off = frames_off,
					       .payload_off = payload_off,
					       .payload_size = comp_len,
					       .raw_size = frame_raw,
					       .file_size = file_size });
	le32_put(e + PE_KIND, PACK_KIND_SOURCE);
	le64_put(e + PE_PATH_HASH, XXH3_64bits(path, sizeof(path) - 1));
	le32_put(e + PE_RAW_SIZE, entry_len);
	le32_put(e + PE_PATH_LEN, sizeof(path) - 1);
	le64_put(e + PE_CHECKSUM, XXH3_64bits(raw, entry_len));
	memcpy(meta + strings_off, path, sizeof(path) - 1);
	le64_put(f + PF_FILE_OFFSET, payload_off);
	le64_put(f + PF_COMP_SIZE, comp_len);
	le64_put(f + PF_RAW_SIZE, frame_raw);
	/* The compressed bytes are the stored frame and then zeros, a hole in the file. */
	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, comp, stored);
	for (done = stored; done < comp_len;) {
		size_t n = comp_len - done > (1 << 20) ? (1 << 20) : comp_len - done;

		XXH3_64bits_update(&st, zeros, n);
		done += n;
	}
	le64_put(f + PF_COMP_HASH, XXH3_64bits_digest(&st));
	le64_put(f + PF_RAW_HASH, XXH3_64bits(raw, frame_raw));
	pack_seal(meta, payload_off, trailer, file_size);
	if (ftruncate(fd, (off_t)file_size) == 0 &&
	    pwrite(fd, meta, payload_off, 0) == (ssize_t)payload_off &&
	    pwrite(fd, comp, stored, (off_t)payload_off) == (ssize_t)stored &&
	    pwrite(fd, trailer, sizeof(trailer), (off_t)(file_size - PACK_TRAILER_SIZE)) ==
		    (ssize_t)sizeof(trailer))
		err = 0;
out:
	free(comp);
	free(zeros);
	free(raw);
	return err;
}
