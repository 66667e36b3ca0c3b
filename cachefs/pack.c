// SPDX-License-Identifier: Apache-2.0
/*
 * Pack reader: bounds, checksums, lookups. Layout in FORMAT.md; constants in format.h.
 */
#include "cachefs/pack.h"
#include "cachefs/format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>
#include <zstd.h>

/*
 * Fuzzing builds (fuzz.sh) accept any checksum, so that mutated inputs get past the hashes and
 * exercise the bounds checks and the decoder behind them. Never defined in a real build.
 */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define hash_differs(a, b) ((void)(a), (void)(b), 0)
#else
#define hash_differs(a, b) ((a) != (b))
#endif

static int fail(struct pack *p, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
	return err;
}

/* Copies a NUL-padded header string; the field must hold a NUL. */
static int get_str(char *dst, size_t dst_len, const uint8_t *src, size_t src_len)
{
	const void *nul = memchr(src, 0, src_len);

	if (!nul || src_len > dst_len)
		return -EBADMSG;
	memset(dst, 0, dst_len);
	memcpy(dst, src, (const uint8_t *)nul - src);
	return 0;
}

int pack_path_valid(const char *path, size_t len)
{
	size_t i = 0;

	if (len == 0 || len > PACK_MAX_PATH || path[0] == '/')
		return 0;
	while (i < len) {
		size_t j = i;

		while (j < len && path[j] != '/') {
			if (path[j] == '\0')
				return 0;
			j++;
		}
		if (j == i)
			return 0;
		if ((j - i == 1 && path[i] == '.') ||
		    (j - i == 2 && path[i] == '.' && path[i + 1] == '.'))
			return 0;
		if (j == len)
			break;
		i = j + 1;
		if (i == len)
			return 0;
	}
	return 1;
}

const char *pack_kind_name(uint32_t kind)
{
	switch (kind) {
	case PACK_KIND_CODE_CACHE:
		return "code-cache";
	case PACK_KIND_SOURCE:
		return "source";
	case PACK_KIND_RESOLUTION:
		return "resolution";
	case PACK_KIND_NCC_FILE:
		return "ncc-file";
	case PACK_KIND_IMPORT_SITES:
		return "import-sites";
	case PACK_KIND_BUILTIN_CODE_CACHE:
		return "builtin-code-cache";
	case PACK_KIND_SNAPSHOT_BLOB:
		return "snapshot-blob";
	case PACK_KIND_SNAPSHOT_ENV:
		return "snapshot-env";
	}
	return "unknown";
}

/* Hash of [8, payload_offset) with the meta_hash field read as zero. */
static uint64_t meta_hash(const uint8_t *base, uint64_t payload_offset)
{
	static const uint8_t zero[8];
	XXH3_state_t st;
	size_t field = PACK_HEADER_OFF + PH_META_HASH;

	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, base + PACK_HEADER_OFF, field - PACK_HEADER_OFF);
	XXH3_64bits_update(&st, zero, sizeof(zero));
	XXH3_64bits_update(&st, base + field + 8, payload_offset - field - 8);
	return XXH3_64bits_digest(&st);
}

static int parse_header(struct pack *p, const uint8_t *b, size_t len, uint64_t file_size)
{
	const uint8_t *h = b + PACK_HEADER_OFF;
	uint64_t v;

	if (len < PACK_INDEX_OFF)
		return -EAGAIN;
	if (le32_get(b) != PACK_SKIPPABLE_MAGIC || memcmp(h + PH_MAGIC, PACK_MAGIC, 8) != 0)
		return fail(p, -EBADMSG, "not a pack (wrong magic)");
	if (le32_get(h + PH_VERSION) != PACK_VERSION)
		return fail(p, -EBADMSG, "unsupported pack version %u", le32_get(h + PH_VERSION));
	if (le32_get(h + PH_HEADER_SIZE) != PACK_HEADER_SIZE)
		return fail(p, -EBADMSG, "bad header size %u", le32_get(h + PH_HEADER_SIZE));
	p->meta_hash = le64_get(h + PH_META_HASH);
	p->created_ms = le64_get(h + PH_CREATED);
	p->entry_count = le32_get(h + PH_ENTRY_COUNT);
	p->frame_count = le32_get(h + PH_FRAME_COUNT);
	p->index_offset = le64_get(h + PH_INDEX_OFF);
	p->strings_offset = le64_get(h + PH_STRINGS_OFF);
	p->strings_size = le64_get(h + PH_STRINGS_SIZE);
	p->frames_offset = le64_get(h + PH_FRAMES_OFF);
	p->payload_offset = le64_get(h + PH_PAYLOAD_OFF);
	p->payload_size = le64_get(h + PH_PAYLOAD_SIZE);
	p->raw_size = le64_get(h + PH_RAW_SIZE);
	if (p->entry_count > PACK_MAX_ENTRIES || p->frame_count > PACK_MAX_FRAMES)
		return fail(p, -EBADMSG, "too many entries (%u) or frames (%u)", p->entry_count,
			    p->frame_count);
	if (p->frame_count == 0 && p->entry_count != 0)
		return fail(p, -EBADMSG, "entries without frames");
	if (le64_get(h + PH_FILE_SIZE) != file_size)
		return fail(p, -EBADMSG, "file size %llu, header says %llu (truncated?)",
			    (unsigned long long)file_size,
			    (unsigned long long)le64_get(h + PH_FILE_SIZE));
	/* Counts are bounded above, so these sums cannot overflow before the comparisons. */
	if (p->index_offset != PACK_INDEX_OFF ||
	    p->strings_offset != p->index_offset + (uint64_t)p->entry_count * PACK_ENTRY_SIZE)
		return fail(p, -EBADMSG, "index or string table out of place");
	if (p->strings_size > file_size || p->frames_offset != p->strings_offset + p->strings_size)
		return fail(p, -EBADMSG, "frame table out of place");
	if (p->payload_offset != p->frames_offset + (uint64_t)p->frame_count * PACK_FRAME_SIZE ||
	    p->payload_offset > file_size)
		return fail(p, -EBADMSG, "payload out of place");
	if (le32_get(b + 4) != p->payload_offset - 8)
		return fail(p, -EBADMSG, "metadata frame size mismatch");
	if (p->payload_size > file_size ||
	    p->payload_offset + p->payload_size + PACK_TRAILER_SIZE != file_size)
		return fail(p, -EBADMSG, "payload size does not match the file size");
	if (p->raw_size > PACK_MAX_RAW)
		return fail(p, -EBADMSG, "raw size %llu too large",
			    (unsigned long long)p->raw_size);
	p->id.v8_tag = le32_get(h + PH_V8_TAG);
	p->id.v8_flags_hash = le64_get(h + PH_V8_FLAGS_HASH);
	p->id.app_files_hash = le64_get(h + PH_APP_FILES_HASH);
	if (le32_get(h + PH_FLAGS) != 0)
		return fail(p, -EBADMSG, "unknown flags");
	if (get_str(p->id.runtime_name, sizeof(p->id.runtime_name), h + PH_RUNTIME_NAME, 16) ||
	    get_str(p->id.runtime_version, sizeof(p->id.runtime_version), h + PH_RUNTIME_VERSION,
		    32) ||
	    get_str(p->id.arch, sizeof(p->id.arch), h + PH_ARCH, 16) ||
	    get_str(p->id.build_id, sizeof(p->id.build_id), h + PH_BUILD_ID, 64))
		return fail(p, -EBADMSG, "identity string not terminated");
	v = p->payload_offset;
	if (len < v)
		return -EAGAIN;
	if (hash_differs(meta_hash(b, v), p->meta_hash))
		return fail(p, -EBADMSG, "metadata checksum mismatch");
	return 0;
}

static int check_frames(struct pack *p)
{
	uint64_t file_off = p->payload_offset, raw_off = 0;
	struct pack_frame f;
	uint32_t i;

	for (i = 0; i < p->frame_count; i++) {
		pack_frame_get(p, i, &f);
		if (f.file_offset != file_off || f.comp_size == 0 ||
		    f.comp_size > p->payload_size - (file_off - p->payload_offset))
			return fail(p, -EBADMSG, "frame %u: bad compressed range", i);
		if (f.raw_offset != raw_off || f.raw_size > PACK_MAX_FRAME_RAW ||
		    f.raw_size > p->raw_size - raw_off)
			return fail(p, -EBADMSG, "frame %u: bad raw range", i);
		/*
		 * No zstd encoder makes a frame larger than this bound (nor do stored frames come
		 * near it), and a reader must not fetch a gigabyte to learn that a frame of a few
		 * bytes is damaged: refused here, before any of it is read.
		 */
		if (f.comp_size > ZSTD_compressBound(f.raw_size))
			return fail(
				p, -EBADMSG,
				"frame %u: %llu compressed bytes for %llu raw, more than zstd makes",
				i, (unsigned long long)f.comp_size, (unsigned long long)f.raw_size);
		file_off += f.comp_size;
		raw_off += f.raw_size;
	}
	if (file_off != p->payload_offset + p->payload_size || raw_off != p->raw_size)
		return fail(p, -EBADMSG, "frames do not cover the payload");
	return 0;
}

/*
 * A frame holds no more raw bytes than its entries reach (the writer pads each entry to 16
 * bytes): frame @i, whose entries end at @reach, and every frame before @next that holds none.
 */
static int check_frame_reach(struct pack *p, uint32_t i, uint32_t next, uint64_t reach)
{
	struct pack_frame f;

	for (; i < next; i++) {
		pack_frame_get(p, i, &f);
		if (reach < f.raw_offset)
			reach = f.raw_offset;
		reach = (reach + 15) & ~(uint64_t)15;
		if (f.raw_size > reach - f.raw_offset)
			return fail(p, -EBADMSG, "frame %u: %llu raw bytes, its entries hold %llu",
				    i, (unsigned long long)f.raw_size,
				    (unsigned long long)(reach - f.raw_offset));
		reach = 0;
	}
	return 0;
}

static int check_entries(struct pack *p)
{
	uint64_t prev_end = 0, reach = 0;
	struct pack_entry e;
	struct pack_frame f;
	uint32_t i, cur = 0;
	int err;

	for (i = 0; i < p->entry_count; i++) {
		const uint8_t *r = p->base + p->index_offset + (uint64_t)i * PACK_ENTRY_SIZE;
		uint64_t path_off = le64_get(r + PE_PATH_OFFSET);

		e.kind = le32_get(r + PE_KIND);
		e.frame = le32_get(r + PE_FRAME);
		e.raw_offset = le64_get(r + PE_RAW_OFFSET);
		e.raw_size = le32_get(r + PE_RAW_SIZE);
		e.path_len = le32_get(r + PE_PATH_LEN);
		if (e.kind < PACK_KIND_CODE_CACHE || e.kind > PACK_KIND_LAST)
			return fail(p, -EBADMSG, "entry %u: unknown kind %u", i, e.kind);
		if (e.frame >= p->frame_count)
			return fail(p, -EBADMSG, "entry %u: frame %u out of range", i, e.frame);
		if (e.path_len == 0 || e.path_len > PACK_MAX_PATH || path_off > p->strings_size ||
		    e.path_len > p->strings_size - path_off)
			return fail(p, -EBADMSG, "entry %u: path out of bounds", i);
		e.path = (const char *)p->base + p->strings_offset + path_off;
		if (!pack_path_valid(e.path, e.path_len))
			return fail(p, -EBADMSG, "entry %u: unsafe path", i);
		if (hash_differs(XXH3_64bits(e.path, e.path_len), le64_get(r + PE_PATH_HASH)))
			return fail(p, -EBADMSG, "entry %u: path hash mismatch", i);
		pack_frame_get(p, e.frame, &f);
		if ((e.raw_offset & 15) || e.raw_offset < prev_end || e.raw_offset < f.raw_offset ||
		    e.raw_offset - f.raw_offset > f.raw_size ||
		    e.raw_size > f.raw_size - (e.raw_offset - f.raw_offset))
			return fail(p, -EBADMSG, "entry %u: data out of its frame", i);
		/* Sorted by offset, so by frame too: the frames before this one are complete. */
		if (e.frame < cur)
			return fail(p, -EBADMSG, "entry %u: frame %u after frame %u", i, e.frame,
				    cur);
		if (e.frame != cur) {
			err = check_frame_reach(p, cur, e.frame, reach);
			if (err)
				return err;
			cur = e.frame;
		}
		prev_end = e.raw_offset + e.raw_size;
		reach = prev_end;
	}
	return check_frame_reach(p, cur, p->frame_count, reach);
}

int pack_parse_meta(struct pack *p, const void *buf, size_t len, uint64_t file_size)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->base = buf;
	p->size = len;
	if (file_size < PACK_INDEX_OFF + PACK_TRAILER_SIZE)
		return fail(p, -EBADMSG, "file too short for a pack (%llu bytes)",
			    (unsigned long long)file_size);
	err = parse_header(p, buf, len, file_size);
	if (err)
		return err;
	err = check_frames(p);
	if (err)
		return err;
	return check_entries(p);
}

int pack_check_trailer(struct pack *p, const void *trailer)
{
	const uint8_t *t = trailer;

	if (le32_get(t) != PACK_SKIPPABLE_MAGIC || le32_get(t + 4) != PACK_TRAILER_SIZE - 8 ||
	    memcmp(t + 24, PACK_TRAILER_MAGIC, 8) != 0)
		return fail(p, -EBADMSG, "bad trailer");
	if (hash_differs(le64_get(t + 8), p->meta_hash) ||
	    le64_get(t + 16) != p->payload_offset + p->payload_size + PACK_TRAILER_SIZE)
		return fail(p, -EBADMSG, "trailer does not match the header");
	return 0;
}

int pack_open_mem(struct pack *p, const void *buf, size_t len)
{
	int err = pack_parse_meta(p, buf, len, len);

	if (err == -EAGAIN)
		err = fail(p, -EBADMSG, "truncated metadata");
	if (err)
		return err;
	return pack_check_trailer(p, (const uint8_t *)buf + len - PACK_TRAILER_SIZE);
}

int pack_open(struct pack *p, const char *path)
{
	struct stat st;
	void *map;
	int fd, err;

	memset(p, 0, sizeof(*p));
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		return fail(p, err, "open %s: %s", path, strerror(-err));
	}
	if (fstat(fd, &st) < 0) {
		err = -errno;
		close(fd);
		return fail(p, err, "stat %s: %s", path, strerror(-err));
	}
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)(PACK_INDEX_OFF + PACK_TRAILER_SIZE)) {
		close(fd);
		return fail(p, -EBADMSG, "%s: not a regular file of pack size", path);
	}
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	err = -errno;
	close(fd);
	if (map == MAP_FAILED)
		return fail(p, err, "mmap %s: %s", path, strerror(-err));
	err = pack_open_mem(p, map, st.st_size);
	p->map_len = st.st_size;
	if (err) {
		char reason[PACK_REASON_MAX];

		memcpy(reason, p->reason, sizeof(reason));
		pack_close(p);
		memcpy(p->reason, reason, sizeof(reason));
	}
	return err;
}

int pack_entry_get(const struct pack *p, uint32_t i, struct pack_entry *e)
{
	const uint8_t *r;

	if (i >= p->entry_count)
		return -ERANGE;
	r = p->base + p->index_offset + (uint64_t)i * PACK_ENTRY_SIZE;
	e->kind = le32_get(r + PE_KIND);
	e->frame = le32_get(r + PE_FRAME);
	e->content_hash = le64_get(r + PE_CONTENT_HASH);
	e->raw_offset = le64_get(r + PE_RAW_OFFSET);
	e->raw_size = le32_get(r + PE_RAW_SIZE);
	e->path_len = le32_get(r + PE_PATH_LEN);
	e->path = (const char *)p->base + p->strings_offset + le64_get(r + PE_PATH_OFFSET);
	e->checksum = le64_get(r + PE_CHECKSUM);
	return 0;
}

int pack_frame_get(const struct pack *p, uint32_t i, struct pack_frame *f)
{
	const uint8_t *r;

	if (i >= p->frame_count)
		return -ERANGE;
	r = p->base + p->frames_offset + (uint64_t)i * PACK_FRAME_SIZE;
	f->file_offset = le64_get(r + PF_FILE_OFFSET);
	f->comp_size = le64_get(r + PF_COMP_SIZE);
	f->raw_offset = le64_get(r + PF_RAW_OFFSET);
	f->raw_size = le64_get(r + PF_RAW_SIZE);
	f->comp_hash = le64_get(r + PF_COMP_HASH);
	f->raw_hash = le64_get(r + PF_RAW_HASH);
	return 0;
}

int pack_find(const struct pack *p, uint32_t kind, const char *path, size_t path_len,
	      uint64_t content_hash, struct pack_entry *e)
{
	uint64_t ph = XXH3_64bits(path, path_len);
	uint32_t i;

	for (i = 0; i < p->entry_count; i++) {
		const uint8_t *r = p->base + p->index_offset + (uint64_t)i * PACK_ENTRY_SIZE;

		if (le32_get(r + PE_KIND) != kind || le64_get(r + PE_PATH_HASH) != ph ||
		    le64_get(r + PE_CONTENT_HASH) != content_hash ||
		    le32_get(r + PE_PATH_LEN) != path_len)
			continue;
		pack_entry_get(p, i, e);
		if (memcmp(e->path, path, path_len) == 0)
			return 0;
	}
	return -ENOENT;
}

int pack_frame_decode(struct pack *p, uint32_t i, void *dst, size_t cap)
{
	struct pack_frame f;
	const uint8_t *src;
	size_t n;

	if (pack_frame_get(p, i, &f))
		return fail(p, -ERANGE, "frame %u out of range", i);
	if (cap < f.raw_size)
		return -ENOBUFS;
	if (p->size < f.file_offset + f.comp_size)
		return fail(p, -EBADMSG, "frame %u beyond the data read", i);
	src = p->base + f.file_offset;
	if (hash_differs(XXH3_64bits(src, f.comp_size), f.comp_hash))
		return fail(p, -EBADMSG, "frame %u: compressed checksum mismatch", i);
	if (ZSTD_getFrameContentSize(src, f.comp_size) != f.raw_size ||
	    ZSTD_findFrameCompressedSize(src, f.comp_size) != f.comp_size)
		return fail(p, -EBADMSG, "frame %u: zstd frame header disagrees with the index", i);
	n = ZSTD_decompress(dst, f.raw_size, src, f.comp_size);
	if (ZSTD_isError(n))
		return fail(p, -EBADMSG, "frame %u: zstd: %s", i, ZSTD_getErrorName(n));
	if (n != f.raw_size || hash_differs(XXH3_64bits(dst, n), f.raw_hash))
		return fail(p, -EBADMSG, "frame %u: raw checksum mismatch", i);
	return 0;
}

int pack_verify(struct pack *p)
{
	uint8_t *buf = NULL;
	struct pack_frame f;
	struct pack_entry e;
	uint32_t i, fi = UINT32_MAX;
	size_t cap = 0;
	int err = 0;

	for (i = 0; i < p->frame_count; i++) {
		pack_frame_get(p, i, &f);
		if (f.raw_size > cap)
			cap = f.raw_size;
	}
	buf = malloc(cap ? cap : 1);
	if (!buf)
		return fail(p, -ENOMEM, "out of memory");
	for (i = 0; i < p->frame_count; i++) {
		err = pack_frame_decode(p, i, buf, cap);
		if (err)
			goto out;
	}
	/* Entries are sorted by offset, so each frame is decoded once more at most. */
	for (i = 0; i < p->entry_count; i++) {
		pack_entry_get(p, i, &e);
		if (e.frame != fi) {
			err = pack_frame_decode(p, e.frame, buf, cap);
			if (err)
				goto out;
			fi = e.frame;
		}
		pack_frame_get(p, e.frame, &f);
		if (hash_differs(XXH3_64bits(buf + (e.raw_offset - f.raw_offset), e.raw_size),
				 e.checksum)) {
			err = fail(p, -EBADMSG, "entry %u (%.*s): checksum mismatch", i,
				   (int)(e.path_len > 80 ? 80 : e.path_len), e.path);
			goto out;
		}
	}
out:
	free(buf);
	return err;
}

int pack_identity_match(const struct pack_identity *have, const struct pack_identity *want,
			char *why, size_t why_len)
{
	const char *field = NULL;

	if (strcmp(have->runtime_name, want->runtime_name) != 0)
		field = "runtime name";
	else if (strcmp(have->runtime_version, want->runtime_version) != 0)
		field = "runtime version";
	/* 0 in @want: the caller cannot know the tag (PID 1 never starts V8; the tag also folds
	 * in CPU features); the Node child checks it against V8 itself. */
	else if (want->v8_tag && have->v8_tag != want->v8_tag)
		field = "V8 cachedDataVersionTag";
	else if (have->v8_flags_hash != want->v8_flags_hash)
		field = "V8 flags";
	else if (strcmp(have->arch, want->arch) != 0)
		field = "arch";
	else if (strcmp(have->build_id, want->build_id) != 0)
		field = "app BUILD_ID";
	else if (have->app_files_hash != want->app_files_hash)
		field = "app file list";
	if (!field)
		return 0;
	if (why && why_len)
		snprintf(why, why_len, "pack from another runtime or app: %s differs", field);
	return -ESTALE;
}

void pack_close(struct pack *p)
{
	if (p->map_len)
		munmap((void *)p->base, p->map_len);
	memset(p, 0, sizeof(*p));
}
