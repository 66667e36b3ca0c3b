// SPDX-License-Identifier: Apache-2.0
/*
 * Pack writer: lays entries out 16-byte aligned in the raw payload, cuts it into frames at entry
 * boundaries, compresses the frames on two threads and emits header, index, strings, frame table,
 * frames and trailer (FORMAT.md).
 */
#include "cachefs/writer.h"
#include "cachefs/format.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#define FRAME_TARGET_DEFAULT (512u << 10)

struct pack_wentry {
	uint32_t kind;
	uint64_t hash;
	char *path;
	uint32_t path_len;
	uint8_t *data;
	uint32_t len;
	uint64_t raw_offset;
	uint32_t frame;
};

struct wframe {
	uint64_t raw_offset;
	uint64_t raw_size;
	bool stored;
	void *comp;
	size_t comp_size;
};

struct build_job {
	struct wframe *frames;
	uint32_t frame_count;
	const uint8_t *raw;
	int level;
	atomic_uint next;
	atomic_int err;
};

static uint64_t align16(uint64_t v)
{
	return (v + 15) & ~(uint64_t)15;
}

static void put_str(uint8_t *dst, const char *src, size_t field)
{
	memcpy(dst, src, strnlen(src, field - 1));
}

static void drop_output(struct pack_writer *w)
{
	free(w->out);
	w->out = NULL;
	w->out_len = 0;
}

int pack_writer_init(struct pack_writer *w, const struct pack_identity *id, int level)
{
	struct timespec ts;

	memset(w, 0, sizeof(*w));
	if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
		return -EINVAL;
	w->id = *id;
	w->level = level;
	w->frame_target = FRAME_TARGET_DEFAULT;
	clock_gettime(CLOCK_REALTIME, &ts);
	w->created_ms = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return 0;
}

int pack_writer_add(struct pack_writer *w, uint32_t kind, const char *key, uint64_t hash,
		    const void *data, size_t len)
{
	size_t path_len = strlen(key);
	struct pack_wentry *e;

	if (kind < PACK_KIND_CODE_CACHE || kind > PACK_KIND_LAST || !pack_path_valid(key, path_len))
		return -EINVAL;
	if (len > UINT32_MAX || w->count >= PACK_MAX_ENTRIES ||
	    w->raw_bytes + align16(len) > PACK_MAX_RAW || align16(len) > PACK_MAX_FRAME_RAW)
		return -EFBIG;
	if (w->count == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		void *n = realloc(w->entries, cap * sizeof(*w->entries));

		if (!n)
			return -ENOMEM;
		w->entries = n;
		w->cap = cap;
	}
	e = &w->entries[w->count];
	e->path = strdup(key);
	e->data = malloc(len ? len : 1);
	if (!e->path || !e->data) {
		free(e->path);
		free(e->data);
		return -ENOMEM;
	}
	memcpy(e->data, data, len);
	e->kind = kind;
	e->hash = hash;
	e->path_len = (uint32_t)path_len;
	e->len = (uint32_t)len;
	w->count++;
	w->raw_bytes += align16(len);
	w->strings_bytes += path_len + 1;
	drop_output(w);
	return 0;
}

#define ZSTD_RAW_BLOCK_MAX (128u << 10)

/*
 * A zstd frame of raw blocks (RFC 8878: 8-byte content size, single segment, no checksum; blocks of
 * type 0): any zstd decoder reads it back at memory speed. The writer's "stored" frames.
 */
size_t pack_stored_bound(size_t len)
{
	return 13 + 3 * (len / ZSTD_RAW_BLOCK_MAX + 1) + len;
}

size_t pack_stored_frame(uint8_t *dst, const uint8_t *src, size_t len)
{
	uint8_t *p = dst;

	le32_put(p, 0xFD2FB528u);
	p[4] = 0xE0;
	le64_put(p + 5, len);
	p += 13;
	do {
		size_t n = len > ZSTD_RAW_BLOCK_MAX ? ZSTD_RAW_BLOCK_MAX : len;
		uint32_t h = (uint32_t)(n << 3) | (n == len);

		p[0] = (uint8_t)h;
		p[1] = (uint8_t)(h >> 8);
		p[2] = (uint8_t)(h >> 16);
		memcpy(p + 3, src, n);
		p += 3 + n;
		src += n;
		len -= n;
	} while (len);
	return (size_t)(p - dst);
}

static void *compress_cb(void *arg)
{
	struct build_job *job = arg;
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	unsigned i;

	if (!cc) {
		atomic_store(&job->err, -ENOMEM);
		return NULL;
	}
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, job->level);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1);
	while ((i = atomic_fetch_add(&job->next, 1)) < job->frame_count &&
	       !atomic_load(&job->err)) {
		struct wframe *f = &job->frames[i];
		size_t cap = f->stored ? pack_stored_bound(f->raw_size) :
					 ZSTD_compressBound(f->raw_size),
		       n;

		f->comp = malloc(cap);
		if (!f->comp) {
			atomic_store(&job->err, -ENOMEM);
			break;
		}
		if (f->stored) {
			f->comp_size =
				pack_stored_frame(f->comp, job->raw + f->raw_offset, f->raw_size);
			continue;
		}
		n = ZSTD_compress2(cc, f->comp, cap, job->raw + f->raw_offset, f->raw_size);
		if (ZSTD_isError(n)) {
			atomic_store(&job->err, -EIO);
			break;
		}
		f->comp_size = n;
	}
	ZSTD_freeCCtx(cc);
	return NULL;
}

/* Cuts the payload into frames at entry boundaries: about frame_target each, two at least. */
static uint32_t plan_frames(struct pack_writer *w, struct wframe *frames, uint64_t *raw_total)
{
	uint64_t target = w->frame_target, off = 0;
	uint32_t nf = 0;
	size_t i;

	if (w->count >= 2 && w->raw_bytes / 2 < target)
		target = w->raw_bytes / 2 ? w->raw_bytes / 2 : 1;
	for (i = 0; i < w->count; i++) {
		struct pack_wentry *e = &w->entries[i];

		/* An entry of a frame's size or more (a snapshot blob) gets a frame of its own, so a
		 * reader decodes it in place without its neighbours. */
		bool big = e->len >= target || (i > 0 && w->entries[i - 1].len >= target);

		if (nf == 0 || (((off - frames[nf - 1].raw_offset >= target) ||
				 (big && off > frames[nf - 1].raw_offset)) &&
				nf < PACK_MAX_FRAMES)) {
			if (nf)
				frames[nf - 1].raw_size = off - frames[nf - 1].raw_offset;
			frames[nf].raw_offset = off;
			nf++;
		}
		e->raw_offset = off;
		e->frame = nf - 1;
		/* A frame of one entry of the stored kind is not compressed. */
		if (e->raw_offset == frames[nf - 1].raw_offset)
			frames[nf - 1].stored = w->stored_kind != 0 && e->kind == w->stored_kind;
		else
			frames[nf - 1].stored = false;
		off = align16(off + e->len);
	}
	if (nf)
		frames[nf - 1].raw_size = off - frames[nf - 1].raw_offset;
	*raw_total = off;
	return nf;
}

void pack_header_put(uint8_t *meta, const struct pack_identity *id, const struct pack_layout *l)
{
	uint8_t *h = meta + PACK_HEADER_OFF;

	le32_put(meta, PACK_SKIPPABLE_MAGIC);
	le32_put(meta + 4, (uint32_t)(l->payload_off - 8));
	memcpy(h + PH_MAGIC, PACK_MAGIC, 8);
	le32_put(h + PH_VERSION, PACK_VERSION);
	le32_put(h + PH_HEADER_SIZE, PACK_HEADER_SIZE);
	le64_put(h + PH_CREATED, l->created_ms);
	le32_put(h + PH_ENTRY_COUNT, l->entry_count);
	le32_put(h + PH_FRAME_COUNT, l->frame_count);
	le64_put(h + PH_INDEX_OFF, PACK_INDEX_OFF);
	le64_put(h + PH_STRINGS_OFF, l->strings_off);
	le64_put(h + PH_STRINGS_SIZE, l->strings_size);
	le64_put(h + PH_FRAMES_OFF, l->frames_off);
	le64_put(h + PH_PAYLOAD_OFF, l->payload_off);
	le64_put(h + PH_PAYLOAD_SIZE, l->payload_size);
	le64_put(h + PH_RAW_SIZE, l->raw_size);
	le64_put(h + PH_FILE_SIZE, l->file_size);
	le32_put(h + PH_V8_TAG, id->v8_tag);
	le64_put(h + PH_V8_FLAGS_HASH, id->v8_flags_hash);
	le64_put(h + PH_APP_FILES_HASH, id->app_files_hash);
	/* Identity strings are truncated so that each field keeps its terminating NUL. */
	put_str(h + PH_RUNTIME_NAME, id->runtime_name, 16);
	put_str(h + PH_RUNTIME_VERSION, id->runtime_version, 32);
	put_str(h + PH_ARCH, id->arch, 16);
	put_str(h + PH_BUILD_ID, id->build_id, 64);
}

void pack_seal(uint8_t *meta, uint64_t payload_off, uint8_t *trailer, uint64_t file_size)
{
	uint64_t mh = XXH3_64bits(meta + PACK_HEADER_OFF, payload_off - PACK_HEADER_OFF);

	le64_put(meta + PACK_HEADER_OFF + PH_META_HASH, mh);
	le32_put(trailer, PACK_SKIPPABLE_MAGIC);
	le32_put(trailer + 4, PACK_TRAILER_SIZE - 8);
	le64_put(trailer + 8, mh);
	le64_put(trailer + 16, file_size);
	memcpy(trailer + 24, PACK_TRAILER_MAGIC, 8);
}

static void emit(struct pack_writer *w, struct wframe *frames, uint32_t nf, const uint8_t *raw,
		 uint64_t raw_total)
{
	uint64_t strings_off = PACK_INDEX_OFF + (uint64_t)w->count * PACK_ENTRY_SIZE;
	uint64_t frames_off = strings_off + w->strings_bytes;
	uint64_t payload_off = frames_off + (uint64_t)nf * PACK_FRAME_SIZE, payload = 0, off, spos;
	uint8_t *b = w->out;
	size_t i;

	for (i = 0; i < nf; i++)
		payload += frames[i].comp_size;
	pack_header_put(b, &w->id,
			&(struct pack_layout){ .created_ms = w->created_ms,
					       .entry_count = (uint32_t)w->count,
					       .frame_count = nf,
					       .strings_off = strings_off,
					       .strings_size = w->strings_bytes,
					       .frames_off = frames_off,
					       .payload_off = payload_off,
					       .payload_size = payload,
					       .raw_size = raw_total,
					       .file_size = w->out_len });
	spos = 0;
	for (i = 0; i < w->count; i++) {
		struct pack_wentry *e = &w->entries[i];
		uint8_t *r = b + PACK_INDEX_OFF + i * PACK_ENTRY_SIZE;

		le32_put(r + PE_KIND, e->kind);
		le32_put(r + PE_FRAME, e->frame);
		le64_put(r + PE_CONTENT_HASH, e->hash);
		le64_put(r + PE_PATH_HASH, XXH3_64bits(e->path, e->path_len));
		le64_put(r + PE_RAW_OFFSET, e->raw_offset);
		le32_put(r + PE_RAW_SIZE, e->len);
		le32_put(r + PE_PATH_LEN, e->path_len);
		le64_put(r + PE_PATH_OFFSET, spos);
		le64_put(r + PE_CHECKSUM, XXH3_64bits(e->data, e->len));
		memcpy(b + strings_off + spos, e->path, e->path_len + 1);
		spos += e->path_len + 1;
	}
	off = payload_off;
	for (i = 0; i < nf; i++) {
		uint8_t *r = b + frames_off + i * PACK_FRAME_SIZE;

		le64_put(r + PF_FILE_OFFSET, off);
		le64_put(r + PF_COMP_SIZE, frames[i].comp_size);
		le64_put(r + PF_RAW_OFFSET, frames[i].raw_offset);
		le64_put(r + PF_RAW_SIZE, frames[i].raw_size);
		le64_put(r + PF_COMP_HASH, XXH3_64bits(frames[i].comp, frames[i].comp_size));
		le64_put(r + PF_RAW_HASH,
			 XXH3_64bits(raw + frames[i].raw_offset, frames[i].raw_size));
		memcpy(b + off, frames[i].comp, frames[i].comp_size);
		off += frames[i].comp_size;
	}
	pack_seal(b, payload_off, b + off, w->out_len);
}

int pack_writer_build(struct pack_writer *w)
{
	struct build_job job = { 0 };
	sigset_t all, old;
	struct wframe *frames;
	pthread_t th[2];
	uint64_t raw_total, total;
	uint8_t *raw = NULL;
	uint32_t nf, i;
	int err = 0, started = 0;

	if (w->out)
		return 0;
	frames = calloc(w->count ? w->count : 1, sizeof(*frames));
	if (!frames)
		return -ENOMEM;
	nf = plan_frames(w, frames, &raw_total);
	raw = calloc(1, raw_total ? raw_total : 1);
	if (!raw) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < w->count; i++)
		memcpy(raw + w->entries[i].raw_offset, w->entries[i].data, w->entries[i].len);
	job.frames = frames;
	job.frame_count = nf;
	job.raw = raw;
	job.level = w->level;
	/* Helper threads never take the caller's signals (PID 1 reads them through signalfd). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < 2; i++) {
		if (pthread_create(&th[i], NULL, compress_cb, &job) == 0)
			started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!started)
		compress_cb(&job);
	for (i = 0; i < (uint32_t)started; i++)
		pthread_join(th[i], NULL);
	err = atomic_load(&job.err);
	if (err)
		goto out;
	total = PACK_INDEX_OFF + (uint64_t)w->count * PACK_ENTRY_SIZE + w->strings_bytes +
		(uint64_t)nf * PACK_FRAME_SIZE + PACK_TRAILER_SIZE;
	for (i = 0; i < nf; i++)
		total += frames[i].comp_size;
	w->out = calloc(1, total);
	if (!w->out) {
		err = -ENOMEM;
		goto out;
	}
	w->out_len = total;
	/* meta_hash is computed over the metadata with its own field still zero. */
	emit(w, frames, nf, raw, raw_total);
out:
	for (i = 0; i < nf; i++)
		free(frames[i].comp);
	free(frames);
	free(raw);
	return err;
}

ssize_t pack_writer_size(struct pack_writer *w)
{
	int err = pack_writer_build(w);

	return err ? err : (ssize_t)w->out_len;
}

int pack_writer_write(struct pack_writer *w, int fd)
{
	size_t done = 0;
	int err = pack_writer_build(w);

	if (err)
		return err;
	while (done < w->out_len) {
		ssize_t n = write(fd, w->out + done, w->out_len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += n;
	}
	return 0;
}

void pack_writer_close(struct pack_writer *w)
{
	size_t i;

	for (i = 0; i < w->count; i++) {
		free(w->entries[i].path);
		free(w->entries[i].data);
	}
	free(w->entries);
	drop_output(w);
	memset(w, 0, sizeof(*w));
}
