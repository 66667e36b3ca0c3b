// SPDX-License-Identifier: Apache-2.0
/*
 * Pack format: round trip, truncation at every boundary, bit flips, overflowing counts and offsets,
 * wrong magic, version and identity, the memfd lookup on good and damaged images.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "cachefs/format.h"
#include "tests/cachefs/helpers.h"
#include "cachefs/pack.h"
#include "cachefs/packmem.h"
#include "cachefs/writer.h"

/* Recomputes meta_hash and the trailer, so only the structural checks can catch an edit. */
static void rehash(uint8_t *b, size_t len)
{
	uint8_t *h = b + PACK_HEADER_OFF;
	uint64_t payload_off = le64_get(h + PH_PAYLOAD_OFF), mh;

	if (payload_off > len)
		payload_off = len - PACK_TRAILER_SIZE;
	le64_put(h + PH_META_HASH, 0);
	mh = XXH3_64bits(h, payload_off - PACK_HEADER_OFF);
	le64_put(h + PH_META_HASH, mh);
	le64_put(b + len - PACK_TRAILER_SIZE + 8, mh);
}

static void check_all_entries(struct pack *p, unsigned seed)
{
	uint8_t *buf = malloc(p->raw_size + 1);
	struct pack_frame f;
	uint32_t i;

	for (i = 0; i < p->frame_count; i++) {
		pack_frame_get(p, i, &f);
		cr_assert_eq(pack_frame_decode(p, i, buf + f.raw_offset, f.raw_size), 0, "%s",
			     p->reason);
	}
	for (i = 0; i < p->entry_count; i++) {
		struct pack_entry e;
		char path[128];
		uint64_t h;
		uint8_t *d;
		size_t len;

		sample_entry(seed, i, path, sizeof(path), &h, &d, &len);
		cr_assert_eq(pack_find(p, 1 + i % 4, path, strlen(path), h, &e), 0, "entry %u", i);
		cr_assert_eq(e.raw_size, len);
		cr_assert_eq(memcmp(buf + e.raw_offset, d, len), 0);
		cr_assert_eq(pack_find(p, 1 + (i + 1) % 4, path, strlen(path), h, &e), -ENOENT);
		cr_assert_eq(pack_find(p, 1 + i % 4, path, strlen(path), h + 1, &e), -ENOENT);
		free(d);
	}
	free(buf);
}

Test(format, round_trip)
{
	size_t len;
	uint8_t *b = sample_pack(1, 200, &len);
	struct pack p;

	cr_assert_eq(pack_open_mem(&p, b, len), 0, "%s", p.reason);
	cr_assert_eq(pack_verify(&p), 0, "%s", p.reason);
	cr_assert_eq(p.entry_count, 200);
	cr_assert_geq(p.frame_count, 2, "two frames at least, for two decoders");
	cr_assert_eq(pack_identity_match(&p.id, &test_id, NULL, 0), 0);
	cr_assert_str_eq(p.id.build_id, "test-build-1");
	check_all_entries(&p, 1);
	pack_close(&p);
	free(b);
}

Test(format, empty_and_single)
{
	struct pack_writer w;
	struct pack p;

	pack_writer_init(&w, &test_id, 1);
	cr_assert_eq(pack_writer_build(&w), 0);
	cr_assert_eq(pack_open_mem(&p, w.out, w.out_len), 0, "%s", p.reason);
	cr_assert_eq(pack_verify(&p), 0);
	cr_assert_eq(p.entry_count, 0);
	pack_writer_close(&w);

	pack_writer_init(&w, &test_id, 1);
	cr_assert_eq(pack_writer_add(&w, PACK_KIND_SOURCE, "a.js", 7, "", 0), 0);
	cr_assert_eq(pack_writer_build(&w), 0);
	cr_assert_eq(pack_open_mem(&p, w.out, w.out_len), 0, "%s", p.reason);
	cr_assert_eq(pack_verify(&p), 0, "%s", p.reason);
	pack_writer_close(&w);
}

Test(format, writer_rejects_bad_keys)
{
	struct pack_writer w;

	pack_writer_init(&w, &test_id, 1);
	cr_assert_eq(pack_writer_add(&w, 9, "a.js", 1, "x", 1), -EINVAL);
	cr_assert_eq(pack_writer_add(&w, 1, "/etc/passwd", 1, "x", 1), -EINVAL);
	cr_assert_eq(pack_writer_add(&w, 1, "a/../../b", 1, "x", 1), -EINVAL);
	cr_assert_eq(pack_writer_add(&w, 1, "a//b", 1, "x", 1), -EINVAL);
	cr_assert_eq(pack_writer_add(&w, 1, "", 1, "x", 1), -EINVAL);
	cr_assert_eq(pack_writer_add(&w, 1, "a/./b", 1, "x", 1), -EINVAL);
	cr_assert_eq(pack_writer_add(&w, 1, "a/b/", 1, "x", 1), -EINVAL);
	cr_assert_eq(w.count, 0);
	pack_writer_close(&w);
}

Test(format, truncation_at_every_boundary)
{
	size_t len, i, nb = 0;
	uint8_t *b = sample_pack(2, 40, &len);
	size_t bounds[4096];
	struct pack p;
	struct pack_frame f;

	cr_assert_eq(pack_open_mem(&p, b, len), 0);
	for (i = 0; i <= PACK_INDEX_OFF; i += 4)
		bounds[nb++] = i;
	for (i = 0; i <= p.entry_count; i++)
		bounds[nb++] = p.index_offset + i * PACK_ENTRY_SIZE;
	bounds[nb++] = p.strings_offset + p.strings_size / 2;
	for (i = 0; i <= p.frame_count; i++)
		bounds[nb++] = p.frames_offset + i * PACK_FRAME_SIZE;
	for (i = 0; i < p.frame_count; i++) {
		pack_frame_get(&p, i, &f);
		bounds[nb++] = f.file_offset;
		bounds[nb++] = f.file_offset + 1;
		bounds[nb++] = f.file_offset + f.comp_size - 1;
	}
	for (i = 1; i <= PACK_TRAILER_SIZE; i++)
		bounds[nb++] = len - i;
	for (i = 0; i < nb; i++) {
		struct pack q;
		uint8_t *t = malloc(bounds[i] + 1);

		memcpy(t, b, bounds[i]);
		cr_assert_neq(pack_open_mem(&q, t, bounds[i]), 0, "truncated at %zu accepted",
			      bounds[i]);
		cr_assert_neq(q.reason[0], '\0', "no reason at %zu", bounds[i]);
		free(t);
	}
	/* And, for good measure, every length of a small pack. */
	free(b);
	b = sample_pack(3, 3, &len);
	for (i = 0; i < len; i++) {
		struct pack q;
		uint8_t *t = malloc(i + 1);

		memcpy(t, b, i);
		cr_assert_neq(pack_open_mem(&q, t, i), 0, "truncated at %zu accepted", i);
		free(t);
	}
	free(b);
}

Test(format, every_bit_flip_is_caught)
{
	size_t len, i;
	uint8_t *b = sample_pack(4, 4, &len);
	int bit;

	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			struct pack q;
			int err;

			b[i] ^= 1u << bit;
			err = pack_open_mem(&q, b, len);
			if (!err)
				err = pack_verify(&q);
			cr_assert_neq(err, 0, "flip of bit %d at byte %zu not detected", bit, i);
			cr_assert_neq(q.reason[0], '\0');
			b[i] ^= 1u << bit;
		}
	}
	free(b);
}

Test(format, random_flips_in_a_larger_pack)
{
	size_t len, i;
	uint8_t *b = sample_pack(5, 300, &len);
	uint32_t s = 99;

	for (i = 0; i < 3000; i++) {
		struct pack q;
		size_t at;
		int err;

		s = s * 1103515245 + 12345;
		at = (s >> 4) % len;
		b[at] ^= 1u << (s & 7);
		err = pack_open_mem(&q, b, len);
		if (!err)
			err = pack_verify(&q);
		cr_assert_neq(err, 0, "flip at %zu not detected", at);
		b[at] ^= 1u << (s & 7);
	}
	free(b);
}

/* Each edit is applied to a fresh copy, rehashed so checksums pass, and must be rejected. */
struct edit {
	const char *what;
	size_t off; /* from the header when hdr, else index record 0 / frame record 0 */
	int where; /* 0 header, 1 first index record, 2 first frame record */
	int width;
	uint64_t value;
};

Test(format, overflowing_counts_and_offsets)
{
	static const struct edit edits[] = {
		{ "entry_count max", PH_ENTRY_COUNT, 0, 4, 0xffffffffu },
		{ "entry_count +1", PH_ENTRY_COUNT, 0, 4, 41 },
		{ "frame_count max", PH_FRAME_COUNT, 0, 4, 0xffffffffu },
		{ "frame_count 0", PH_FRAME_COUNT, 0, 4, 0 },
		{ "index offset", PH_INDEX_OFF, 0, 8, UINT64_MAX - 8 },
		{ "strings size", PH_STRINGS_SIZE, 0, 8, UINT64_MAX },
		{ "strings offset", PH_STRINGS_OFF, 0, 8, UINT64_MAX - 100 },
		{ "frames offset", PH_FRAMES_OFF, 0, 8, 1ull << 63 },
		{ "payload offset", PH_PAYLOAD_OFF, 0, 8, UINT64_MAX },
		{ "payload size", PH_PAYLOAD_SIZE, 0, 8, UINT64_MAX - 20 },
		{ "raw size", PH_RAW_SIZE, 0, 8, UINT64_MAX },
		{ "file size", PH_FILE_SIZE, 0, 8, UINT64_MAX },
		{ "header size", PH_HEADER_SIZE, 0, 4, 0xffffffffu },
		{ "flags", PH_FLAGS, 0, 4, 1 },
		{ "entry kind", PE_KIND, 1, 4, 77 },
		{ "entry frame", PE_FRAME, 1, 4, 0xffffffffu },
		{ "entry raw offset", PE_RAW_OFFSET, 1, 8, UINT64_MAX - 15 },
		{ "entry raw offset unaligned", PE_RAW_OFFSET, 1, 8, 8 },
		{ "entry raw size", PE_RAW_SIZE, 1, 4, 0xffffffffu },
		{ "entry path len", PE_PATH_LEN, 1, 4, 0xffffffffu },
		{ "entry path len 0", PE_PATH_LEN, 1, 4, 0 },
		{ "entry path offset", PE_PATH_OFFSET, 1, 8, UINT64_MAX - 3 },
		{ "entry path hash", PE_PATH_HASH, 1, 8, 12345 },
		{ "frame file offset", PF_FILE_OFFSET, 2, 8, UINT64_MAX - 4 },
		{ "frame comp size", PF_COMP_SIZE, 2, 8, UINT64_MAX },
		{ "frame comp size 0", PF_COMP_SIZE, 2, 8, 0 },
		{ "frame raw offset", PF_RAW_OFFSET, 2, 8, UINT64_MAX - 1 },
		{ "frame raw size", PF_RAW_SIZE, 2, 8, UINT64_MAX },
		{ "frame raw size big", PF_RAW_SIZE, 2, 8, 1ull << 40 },
	};
	size_t len, i;
	uint8_t *b = sample_pack(6, 40, &len);
	struct pack p;

	cr_assert_eq(pack_open_mem(&p, b, len), 0);
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		const struct edit *e = &edits[i];
		uint8_t *c = malloc(len);
		uint8_t *at;
		struct pack q;
		int err;

		memcpy(c, b, len);
		at = e->where == 0 ? c + PACK_HEADER_OFF :
		     e->where == 1 ? c + p.index_offset :
				     c + p.frames_offset;
		if (e->width == 4)
			le32_put(at + e->off, (uint32_t)e->value);
		else
			le64_put(at + e->off, e->value);
		rehash(c, len);
		err = pack_open_mem(&q, c, len);
		if (!err)
			err = pack_verify(&q);
		cr_assert_eq(err, -EBADMSG, "%s: accepted (%d)", e->what, err);
		cr_assert_neq(q.reason[0], '\0');
		free(c);
	}
	pack_close(&p);
	free(b);
}

Test(format, wrong_magic_and_version)
{
	size_t len;
	uint8_t *b = sample_pack(7, 5, &len);
	struct pack q;

	b[PACK_HEADER_OFF] = 'X';
	rehash(b, len);
	cr_assert_eq(pack_open_mem(&q, b, len), -EBADMSG);
	cr_assert(strstr(q.reason, "magic"), "%s", q.reason);
	b[PACK_HEADER_OFF] = 'K';
	le32_put(b + PACK_HEADER_OFF + PH_VERSION, 2);
	rehash(b, len);
	cr_assert_eq(pack_open_mem(&q, b, len), -EBADMSG);
	cr_assert(strstr(q.reason, "version"), "%s", q.reason);
	le32_put(b + PACK_HEADER_OFF + PH_VERSION, 1);
	rehash(b, len);
	cr_assert_eq(pack_open_mem(&q, b, len), 0, "%s", q.reason);
	le32_put(b, 0xFD2FB528); /* a plain zstd frame is not a pack */
	cr_assert_eq(pack_open_mem(&q, b, len), -EBADMSG);
	free(b);
}

Test(format, identity_from_another_runtime_or_app)
{
	struct pack_identity o;
	char why[PACK_REASON_MAX];
	int field;

	for (field = 0; field < 7; field++) {
		o = test_id;
		switch (field) {
		case 0:
			strcpy(o.runtime_name, "bun");
			break;
		case 1:
			strcpy(o.runtime_version, "20.20.2");
			break;
		case 2:
			o.v8_tag++;
			break;
		case 3:
			o.v8_flags_hash++;
			break;
		case 4:
			strcpy(o.arch, "aarch64");
			break;
		case 5:
			strcpy(o.build_id, "other-build");
			break;
		case 6:
			o.app_files_hash++;
			break;
		}
		why[0] = 0;
		cr_assert_eq(pack_identity_match(&test_id, &o, why, sizeof(why)), -ESTALE);
		cr_assert(strstr(why, "another runtime or app"), "%s", why);
	}
	cr_assert_eq(pack_identity_match(&test_id, &test_id, why, sizeof(why)), 0);
}

/* Builds the memfd image of a pack in plain memory. */
static uint8_t *image_of(const uint8_t *b, size_t len, size_t *img_len)
{
	struct packmem_layout l;
	struct pack p;
	uint8_t *img;
	uint32_t i;

	cr_assert_eq(pack_open_mem(&p, b, len), 0);
	cr_assert_eq(packmem_layout(&p, &l), 0);
	img = calloc(1, l.total_size);
	packmem_build_index(&p, &l, img);
	for (i = 0; i < p.frame_count; i++) {
		struct pack_frame f;

		pack_frame_get(&p, i, &f);
		cr_assert_eq(
			pack_frame_decode(&p, i, img + l.data_offset + f.raw_offset, f.raw_size),
			0);
	}
	*img_len = l.total_size;
	return img;
}

Test(packmem, lookup_every_entry)
{
	size_t len, il;
	uint8_t *b = sample_pack(8, 500, &len), *img = image_of(b, len, &il);
	unsigned i;

	for (i = 0; i < 500; i++) {
		char path[128];
		uint64_t h;
		uint8_t *d;
		size_t dl, got_len;
		const void *got;

		sample_entry(8, i, path, sizeof(path), &h, &d, &dl);
		cr_assert_eq(
			packmem_find(img, il, 1 + i % 4, path, strlen(path), h, &got, &got_len), 0,
			"entry %u", i);
		cr_assert_eq(got_len, dl);
		cr_assert_eq(((uintptr_t)got - (uintptr_t)img) % 16, 0, "16-byte aligned");
		cr_assert_eq(memcmp(got, d, dl), 0);
		cr_assert_eq(
			packmem_find(img, il, 1 + i % 4, path, strlen(path), h ^ 1, &got, &got_len),
			-ENOENT);
		free(d);
	}
	cr_assert_eq(packmem_find(img, il, 1, "nope.js", 7, 0, NULL, NULL), -ENOENT);
	free(img);
	free(b);
}

Test(packmem, damaged_images_never_crash)
{
	size_t len, il, i;
	uint8_t *b = sample_pack(9, 60, &len), *img = image_of(b, len, &il);
	uint8_t *c = malloc(il);
	uint32_t s = 7;
	char path[128];
	uint64_t h;
	uint8_t *d;
	size_t dl;

	sample_entry(9, 5, path, sizeof(path), &h, &d, &dl);
	cr_assert_eq(packmem_find(img, 10, 2, path, strlen(path), h, NULL, NULL), -EBADMSG);
	cr_assert_eq(packmem_find(NULL, 0, 2, path, strlen(path), h, NULL, NULL), -EBADMSG);
	for (i = 0; i < 20000; i++) {
		const void *got;
		size_t gl, k, cut;
		int err;

		memcpy(c, img, il);
		for (k = 0; k < 4; k++) {
			s = s * 1103515245 + 12345;
			/* Damage the index part, where the lookup reads. */
			c[(s >> 3) % 4096] ^= (uint8_t)(s >> 16) | 1;
		}
		cut = i % 3 == 0 ? (s >> 5) % il : il;
		err = packmem_find(c, cut, 2, path, strlen(path), h, &got, &gl);
		if (err == 0)
			cr_assert((const uint8_t *)got + gl <= c + cut);
	}
	free(c);
	free(d);
	free(img);
	free(b);
}

/* A snapshot blob: a frame of its own, stored (raw zstd blocks) or compressed, read back whole. */
Test(format, big_entry_own_frame_stored_or_compressed)
{
	size_t big = 3u << 20;
	uint8_t *blob = malloc(big), *back;

	for (size_t i = 0; i < big; i++)
		blob[i] = (uint8_t)(i * 7 / 13);
	for (int stored = 0; stored < 2; stored++) {
		struct pack_writer w;
		struct pack_entry e;
		struct pack_frame f;
		struct pack p;

		pack_writer_init(&w, &test_id, 3);
		w.stored_kind = stored ? PACK_KIND_SNAPSHOT_BLOB : 0;
		cr_assert_eq(pack_writer_add(&w, PACK_KIND_SOURCE, "a.js", 1, "small", 5), 0);
		cr_assert_eq(pack_writer_add(&w, PACK_KIND_SNAPSHOT_ENV, "snapshot.env", 0, "x", 1),
			     0);
		cr_assert_eq(
			pack_writer_add(&w, PACK_KIND_SNAPSHOT_BLOB, "snapshot.blob", 9, blob, big),
			0);
		cr_assert_eq(pack_writer_add(&w, PACK_KIND_SOURCE, "b.js", 2, "after", 5), 0);
		cr_assert_eq(pack_writer_build(&w), 0);
		cr_assert_eq(pack_open_mem(&p, w.out, w.out_len), 0, "%s", p.reason);
		cr_assert_eq(pack_verify(&p), 0, "%s", p.reason);
		cr_assert_eq(pack_find(&p, PACK_KIND_SNAPSHOT_BLOB, "snapshot.blob", 13, 9, &e), 0);
		pack_frame_get(&p, e.frame, &f);
		cr_assert_eq(f.raw_offset, e.raw_offset, "the blob starts its frame");
		cr_assert_leq(f.raw_size, e.raw_size + 15, "and fills it");
		if (stored)
			cr_assert_geq(f.comp_size, big, "stored: not compressed");
		else
			cr_assert_lt(f.comp_size, big / 4, "compressed");
		cr_assert_eq(pack_entry_data(&p, &e, &back), 0, "%s", p.reason);
		cr_assert_eq(memcmp(back, blob, big), 0);
		free(back);
		cr_assert_eq(pack_find(&p, PACK_KIND_SOURCE, "b.js", 4, 2, &e), 0);
		cr_assert_eq(pack_entry_data(&p, &e, &back), 0);
		cr_assert_eq(memcmp(back, "after", 5), 0);
		free(back);
		pack_close(&p);
		pack_writer_close(&w);
	}
	free(blob);
}

/* A crafted pack of one entry, opened from a file as the readers do. */
static int open_crafted(struct pack *p, uint32_t entry_len, uint64_t frame_raw, uint64_t comp_len)
{
	char *dir = test_tmpdir("craft"), path[256];
	int fd, err;

	snprintf(path, sizeof(path), "%s/p.pack", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(craft_pack(fd, &test_id, entry_len, frame_raw, comp_len), 0);
	close(fd);
	err = pack_open(p, path);
	if (!err)
		err = pack_verify(p);
	rm_rf(dir);
	free(dir);
	return err;
}

Test(format, frame_bounded_by_its_entries_and_zstd)
{
	struct pack p;

	/* The control: every rule holds. */
	cr_assert_eq(open_crafted(&p, 48, 48, 64), 0, "%s", p.reason);
	pack_close(&p);
	/* A frame that decodes to more than its entries hold. */
	cr_assert_eq(open_crafted(&p, 16, 4096, 4096 + 16), -EBADMSG);
	cr_assert(strstr(p.reason, "its entries hold 16"), "%s", p.reason);
	/* A few raw bytes behind a megabyte of compressed ones: refused from the frame table. */
	cr_assert_eq(open_crafted(&p, 16, 16, 1 << 20), -EBADMSG);
	cr_assert(strstr(p.reason, "more than zstd makes"), "%s", p.reason);
}
