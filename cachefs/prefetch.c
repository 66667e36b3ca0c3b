// SPDX-License-Identifier: Apache-2.0
/*
 * Prefetch. One I/O thread keeps a few large reads in flight (io_uring, or pread in a loop) into an
 * anonymous buffer the size of the file, tracks the prefix of the file that has arrived, parses the
 * metadata as soon as it is in, builds the memfd's index, and hands every frame whose bytes have all
 * arrived to two decoder threads. Each decoder decompresses a frame into its own small buffer, checks
 * it and pwrite()s it into place in the memfd, then drops the compressed pages behind it; the reader
 * stays at most a window ahead of the oldest frame not yet decoded. The memfd is never mapped here:
 * mapping shmem pages one by one costs more than decoding them (measured on these machines), and an
 * unmapped memfd does not count against PID 1's resident memory.
 */
#include "cachefs/prefetch.h"
#include "cachefs/format.h"
#include "cachefs/packmem.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#define CHUNK_DEFAULT (256u << 10)
#define DEPTH_DEFAULT 16u
#define DEPTH_MAX 32u
#define WINDOW (6ull << 20)
#define DECODERS 2
#define HUGE (2u << 20)
#define CLOSE_WAIT_S 1

/*
 * Buffers for compressed and decoded bytes live on transparent huge pages where the kernel allows
 * them: a page fault costs microseconds on these VMs, so 2 MiB pages save hundreds of faults.
 */
struct hbuf {
	uint8_t *base;
	size_t len;
	uint8_t *p;
};

struct prefetch_run {
	struct prefetch *p; /* = &res while running */
	struct prefetch res; /* results, copied to *caller at the end unless orphaned */
	struct prefetch *caller;
	int published; /* under lock: *caller holds the results */
	int orphaned; /* under lock: prefetch_close() gave up waiting; the thread frees the run */
	char *path;
	struct pack_identity want;
	int have_want;
	int force_pread;
	uint32_t chunk, depth;
	pthread_t io_thread;
	int joined;
	struct timespec t0;

	int fd;
	uint64_t file_size;
	struct hbuf rbuf;
	uint8_t *buf;
	struct io_uring ring;
	int use_uring;

	uint32_t n_chunks;
	uint32_t next_chunk;
	uint32_t inflight;
	uint32_t *chunk_got; /* bytes arrived per chunk */
	uint32_t contig_chunks; /* chunks [0, contig_chunks) complete */
	uint64_t contig; /* bytes from offset 0 that have arrived */

	struct pack meta;
	int have_meta;
	struct packmem_layout layout;
	uint64_t max_frame_raw;

	/* Shared with the decoders, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t next_ready; /* frames [0, next_ready) are fully read */
	uint32_t next_take; /* next frame a decoder takes */
	uint8_t *decoded;
	uint32_t low_frame; /* lowest frame not yet decoded */
	int stop;
	int err;
	pthread_t decoders[DECODERS];
	int n_decoders;
};

static int hbuf_alloc(struct hbuf *b, size_t len)
{
	uintptr_t a;

	/* Whole huge pages only: the kernel backs nothing smaller with one. */
	len = (len + HUGE - 1) & ~(size_t)(HUGE - 1);
	b->len = len + HUGE;
	b->base = mmap(NULL, b->len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (b->base == MAP_FAILED) {
		b->base = NULL;
		return -errno;
	}
	a = ((uintptr_t)b->base + HUGE - 1) & ~(uintptr_t)(HUGE - 1);
	b->p = (uint8_t *)a;
	madvise(b->p, len, MADV_HUGEPAGE);
	return 0;
}

static void hbuf_free(struct hbuf *b)
{
	if (b->base)
		munmap(b->base, b->len);
	b->base = NULL;
	b->p = NULL;
}

static int run_fail(struct prefetch_run *r, int err, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->lock);
	if (!r->err) {
		r->err = err;
		va_start(ap, fmt);
		vsnprintf(r->p->reason, sizeof(r->p->reason), fmt, ap);
		va_end(ap);
	}
	r->stop = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return err;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

static uint64_t chunk_off(const struct prefetch_run *r, uint32_t k)
{
	return (uint64_t)k * r->chunk;
}

static uint32_t chunk_len(const struct prefetch_run *r, uint32_t k)
{
	uint64_t end = chunk_off(r, k) + r->chunk;

	return (uint32_t)((end > r->file_size ? r->file_size : end) - chunk_off(r, k));
}

/* pwrite() all of @buf at @off; sets errno on failure. */
static int write_all(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		buf += n;
		len -= n;
		off += n;
	}
	return 0;
}

static void *decode_cb(void *arg)
{
	struct prefetch_run *r = arg;
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	long page = sysconf(_SC_PAGESIZE);
	struct hbuf ob = { 0 };
	uint8_t *out = NULL;

	if (dc && hbuf_alloc(&ob, r->max_frame_raw ? r->max_frame_raw : 1) == 0)
		out = ob.p;
	if (!dc || !out) {
		run_fail(r, -ENOMEM, "out of memory for a decoder");
		goto out;
	}
	for (;;) {
		struct pack_frame f;
		const uint8_t *src;
		uint64_t lo, hi;
		uint32_t i;
		size_t n;

		pthread_mutex_lock(&r->lock);
		while (!r->stop && r->next_take >= r->next_ready &&
		       r->next_take < r->meta.frame_count)
			pthread_cond_wait(&r->cond, &r->lock);
		if (r->stop || r->next_take >= r->meta.frame_count) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		i = r->next_take++;
		pthread_mutex_unlock(&r->lock);

		pack_frame_get(&r->meta, i, &f);
		src = r->buf + f.file_offset;
		if (XXH3_64bits(src, f.comp_size) != f.comp_hash) {
			run_fail(r, -EBADMSG, "frame %u: compressed checksum mismatch", i);
			break;
		}
		n = ZSTD_decompressDCtx(dc, out, f.raw_size, src, f.comp_size);
		if (ZSTD_isError(n)) {
			run_fail(r, -EBADMSG, "frame %u: zstd: %s", i, ZSTD_getErrorName(n));
			break;
		}
		if (n != f.raw_size) {
			run_fail(r, -EBADMSG, "frame %u: %zu bytes decoded, %llu expected", i, n,
				 (unsigned long long)f.raw_size);
			break;
		}
		/*
		 * comp_hash vouches only for the input: a crafted pack can carry a sound compressed
		 * frame that decodes to other bytes than the ones its index promises. Nothing
		 * unchecked reaches V8.
		 */
		if (XXH3_64bits(out, n) != f.raw_hash) {
			run_fail(r, -EBADMSG, "frame %u: raw checksum mismatch", i);
			break;
		}
		if (write_all(r->p->memfd, out, n, r->layout.data_offset + f.raw_offset)) {
			run_fail(r, -errno, "memfd write: %s", strerror(errno));
			break;
		}
		/*
		 * A pack larger than the read window gives back the compressed pages that hold only
		 * this frame's bytes, so memory stays bounded; a small one is left whole.
		 */
		lo = (f.file_offset + page - 1) & ~(uint64_t)(page - 1);
		hi = (f.file_offset + f.comp_size) & ~(uint64_t)(page - 1);
		if (r->file_size > WINDOW && hi > lo)
			madvise(r->buf + lo, hi - lo, MADV_DONTNEED);
		pthread_mutex_lock(&r->lock);
		r->decoded[i] = 1;
		while (r->low_frame < r->meta.frame_count && r->decoded[r->low_frame])
			r->low_frame++;
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
	}
out:
	hbuf_free(&ob);
	ZSTD_freeDCtx(dc);
	return NULL;
}

/*
 * Offset below which reads may go: a window past the oldest frame not yet decoded, and at least
 * that frame's end, or a frame larger than the window could never arrive.
 */
static uint64_t read_limit(struct prefetch_run *r)
{
	struct pack_frame f;
	uint64_t limit;

	if (!r->have_meta)
		return r->contig + WINDOW;
	pthread_mutex_lock(&r->lock);
	if (r->low_frame >= r->meta.frame_count) {
		limit = r->file_size;
	} else {
		pack_frame_get(&r->meta, r->low_frame, &f);
		limit = f.file_offset + f.comp_size;
		if (limit < f.file_offset + WINDOW)
			limit = f.file_offset + WINDOW;
	}
	pthread_mutex_unlock(&r->lock);
	return limit;
}

static int setup_memfd(struct prefetch_run *r)
{
	struct prefetch *p = r->p;
	char why[PACK_REASON_MAX];
	uint8_t *index;
	int i, err;

	if (r->have_want && pack_identity_match(&r->meta.id, &r->want, why, sizeof(why)))
		return run_fail(r, -ESTALE, "%s", why);
	if (packmem_layout(&r->meta, &r->layout))
		return run_fail(r, -EFBIG, "pack too large for memory");
	p->memfd = memfd_create("knext-pack", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (p->memfd < 0)
		return run_fail(r, -errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(p->memfd, r->layout.total_size) < 0)
		return run_fail(r, -errno, "memfd size: %s", strerror(errno));
	/* Header, hash table, records and paths: built in memory, written once. */
	index = calloc(1, r->layout.data_offset);
	r->decoded = calloc(r->meta.frame_count + 1, 1);
	if (!index || !r->decoded) {
		free(index);
		return run_fail(r, -ENOMEM, "out of memory");
	}
	packmem_build_index(&r->meta, &r->layout, index);
	err = write_all(p->memfd, index, r->layout.data_offset, 0) ? -errno : 0;
	free(index);
	if (err)
		return run_fail(r, err, "memfd write: %s", strerror(-err));
	for (i = 0; i < (int)r->meta.frame_count; i++) {
		struct pack_frame f;

		pack_frame_get(&r->meta, i, &f);
		if (f.raw_size > r->max_frame_raw)
			r->max_frame_raw = f.raw_size;
	}
	p->size = r->layout.total_size;
	p->entry_count = r->meta.entry_count;
	p->raw_size = r->meta.raw_size;
	for (i = 0; i < DECODERS && r->meta.frame_count; i++) {
		err = pthread_create(&r->decoders[i], NULL, decode_cb, r);
		if (err)
			return run_fail(r, -err, "decoder thread: %s", strerror(err));
		r->n_decoders++;
	}
	return 0;
}

/* Records @n bytes of chunk @k; parses metadata and publishes frames as the prefix grows. */
static int arrived(struct prefetch_run *r, uint32_t k, uint32_t n)
{
	uint32_t ready;
	int err;

	r->chunk_got[k] += n;
	while (r->contig_chunks < r->n_chunks &&
	       r->chunk_got[r->contig_chunks] == chunk_len(r, r->contig_chunks))
		r->contig_chunks++;
	r->contig = r->contig_chunks == r->n_chunks ? r->file_size : chunk_off(r, r->contig_chunks);
	if (!r->have_meta) {
		err = pack_parse_meta(&r->meta, r->buf, r->contig, r->file_size);
		if (err == -EAGAIN)
			return 0;
		if (err)
			return run_fail(r, err, "%s", r->meta.reason);
		r->have_meta = 1;
		err = setup_memfd(r);
		if (err)
			return err;
	}
	ready = r->next_ready;
	while (ready < r->meta.frame_count) {
		struct pack_frame f;

		pack_frame_get(&r->meta, ready, &f);
		if (f.file_offset + f.comp_size > r->contig)
			break;
		ready++;
	}
	if (ready != r->next_ready) {
		pthread_mutex_lock(&r->lock);
		r->next_ready = ready;
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
	}
	return 0;
}

/* Waits until decoders free some window, when nothing is in flight to wait for instead. */
static void wait_for_window(struct prefetch_run *r)
{
	uint32_t low;

	pthread_mutex_lock(&r->lock);
	low = r->low_frame;
	while (!r->stop && r->low_frame == low && low < r->meta.frame_count)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
}

static int stopped(struct prefetch_run *r)
{
	int s;

	pthread_mutex_lock(&r->lock);
	s = r->stop;
	pthread_mutex_unlock(&r->lock);
	return s;
}

/*
 * Reads every chunk not yet complete, from where it stopped: all of them, or the rest after a
 * ring failed part of the way through.
 */
static int read_pread(struct prefetch_run *r)
{
	uint32_t k = r->contig_chunks;

	while (k < r->n_chunks && !stopped(r)) {
		uint32_t len = chunk_len(r, k), got = r->chunk_got[k], from = got;
		ssize_t n;
		int err;

		if (got == len) {
			k++;
			continue;
		}
		if (chunk_off(r, k) >= read_limit(r)) {
			wait_for_window(r);
			continue;
		}
		while (got < len) {
			n = pread(r->fd, r->buf + chunk_off(r, k) + got, len - got,
				  chunk_off(r, k) + got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return run_fail(r, n < 0 ? -errno : -EIO, "read: %s",
						n < 0 ? strerror(errno) : "file shrank");
			got += n;
		}
		err = arrived(r, k, len - from);
		if (err)
			return err;
		k++;
	}
	return 0;
}

static void queue_read(struct prefetch_run *r, uint32_t k, uint32_t skip)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	io_uring_prep_read(sqe, r->fd, r->buf + chunk_off(r, k) + skip, chunk_len(r, k) - skip,
			   chunk_off(r, k) + skip);
	io_uring_sqe_set_data64(sqe, k);
	r->inflight++;
}

/*
 * Set once a ring could not be set up or entered in this process (a seccomp profile that allows
 * io_uring_setup but refuses io_uring_enter, a kernel that disables it): later prefetches go
 * straight to pread, and say why.
 */
static char uring_refused[96];
static pthread_mutex_t uring_refused_lock = PTHREAD_MUTEX_INITIALIZER;

void prefetch_refuse_uring(const char *reason)
{
	pthread_mutex_lock(&uring_refused_lock);
	if (!uring_refused[0])
		snprintf(uring_refused, sizeof(uring_refused), "%s", reason);
	pthread_mutex_unlock(&uring_refused_lock);
}

/*
 * Drops the ring after it failed with @err. Reads already in flight are waited for first (the
 * buffer they fill stays); reads never submitted were never seen by the kernel.
 */
static void uring_give_up(struct prefetch_run *r, const char *what, int err)
{
	struct io_uring_cqe *cqe;

	snprintf(r->p->fallback_reason, sizeof(r->p->fallback_reason), "%s: %s", what,
		 strerror(-err));
	if (strcmp(what, "io_uring submit") == 0)
		prefetch_refuse_uring(r->p->fallback_reason);
	while (r->inflight && io_uring_sq_ready(&r->ring) < r->inflight &&
	       io_uring_wait_cqe(&r->ring, &cqe) == 0) {
		io_uring_cqe_seen(&r->ring, cqe);
		r->inflight--;
	}
	io_uring_queue_exit(&r->ring);
	r->use_uring = 0;
	r->inflight = 0;
	r->p->used_fallback = 1;
}

/*
 * Returns 0 or -errno. A ring that fails is dropped (use_uring becomes 0) and 0 returned: the
 * rest is for pread to read.
 */
static int read_uring(struct prefetch_run *r)
{
	struct io_uring_cqe *cqe;
	int err = 0, ring_err = 0;

	while ((r->next_chunk < r->n_chunks || r->inflight) && !err && !ring_err) {
		uint64_t limit = read_limit(r);

		while (r->inflight < r->depth && r->next_chunk < r->n_chunks &&
		       chunk_off(r, r->next_chunk) < limit && !stopped(r))
			queue_read(r, r->next_chunk++, 0);
		if (!r->inflight) {
			if (stopped(r))
				break;
			wait_for_window(r);
			continue;
		}
		err = io_uring_submit_and_wait(&r->ring, 1);
		if (err == -EINTR) {
			err = 0;
			continue;
		}
		if (err < 0) {
			uring_give_up(r, "io_uring submit", err);
			return 0;
		}
		err = 0;
		while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
			uint32_t k = (uint32_t)io_uring_cqe_get_data64(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&r->ring, cqe);
			r->inflight--;
			if (err || ring_err)
				continue;
			if (res == -EINTR || res == -EAGAIN) {
				queue_read(r, k, r->chunk_got[k]);
				continue;
			}
			if (res == 0) {
				err = run_fail(r, -EIO, "read: file shrank");
				continue;
			}
			/* A read the ring refused is tried again with pread, which says if the
			 * file itself is at fault. */
			if (res < 0) {
				ring_err = res;
				continue;
			}
			err = arrived(r, k, res);
			/* A short read: ask for the rest of the chunk. */
			if (!err && r->chunk_got[k] < chunk_len(r, k))
				queue_read(r, k, r->chunk_got[k]);
		}
	}
	if (ring_err && !err) {
		uring_give_up(r, "io_uring read", ring_err);
		return 0;
	}
	/* Never leave a read in flight into a buffer that is about to be unmapped. */
	while (r->inflight && io_uring_wait_cqe(&r->ring, &cqe) == 0) {
		io_uring_cqe_seen(&r->ring, cqe);
		r->inflight--;
	}
	return err;
}

static int open_pack(struct prefetch_run *r)
{
	struct stat st;
	int err;

	r->fd = open(r->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (r->fd < 0)
		return run_fail(r, -errno, "open %s: %s", r->path, strerror(errno));
	if (fstat(r->fd, &st) < 0)
		return run_fail(r, -errno, "stat %s: %s", r->path, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)(PACK_INDEX_OFF + PACK_TRAILER_SIZE))
		return run_fail(r, -EBADMSG, "%s: not a regular file of pack size", r->path);
	r->file_size = st.st_size;
	r->p->file_size = r->file_size;
	posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	r->n_chunks = (uint32_t)((r->file_size + r->chunk - 1) / r->chunk);
	r->chunk_got = calloc(r->n_chunks, sizeof(*r->chunk_got));
	if (!r->chunk_got)
		return run_fail(r, -ENOMEM, "out of memory");
	err = hbuf_alloc(&r->rbuf, r->file_size);
	if (err)
		return run_fail(r, err, "mmap: %s", strerror(-err));
	r->buf = r->rbuf.p;
	pthread_mutex_lock(&uring_refused_lock);
	snprintf(r->p->fallback_reason, sizeof(r->p->fallback_reason), "%s", uring_refused);
	pthread_mutex_unlock(&uring_refused_lock);
	if (r->force_pread) {
		snprintf(r->p->fallback_reason, sizeof(r->p->fallback_reason), "KNEXT_IO=pread");
	} else if (!r->p->fallback_reason[0]) {
		err = io_uring_queue_init(r->depth * 2, &r->ring, 0);
		if (err == 0)
			r->use_uring = 1;
		else
			snprintf(r->p->fallback_reason, sizeof(r->p->fallback_reason),
				 "io_uring_queue_init: %s", strerror(-err));
	}
	r->p->used_fallback = !r->use_uring;
	return 0;
}

static int seal_memfd(struct prefetch_run *r)
{
	struct prefetch *p = r->p;

	if (fcntl(p->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) <
	    0)
		return run_fail(r, -errno, "memfd seal: %s", strerror(errno));
	return 0;
}

static void run_free(struct prefetch_run *r);

static void *io_cb(void *arg)
{
	struct prefetch_run *r = arg;
	struct prefetch *p = r->p;
	int err, i, orphan;

	err = open_pack(r);
	if (!err && r->use_uring)
		err = read_uring(r);
	/* No ring, or a ring that failed: pread reads what has not arrived. */
	if (!err && !r->use_uring)
		err = read_pread(r);
	if (!err && !r->have_meta)
		err = run_fail(r, -EBADMSG, "truncated metadata");
	for (i = 0; i < r->n_decoders; i++)
		pthread_join(r->decoders[i], NULL);
	pthread_mutex_lock(&r->lock);
	err = r->err;
	pthread_mutex_unlock(&r->lock);
	if (!err)
		err = pack_check_trailer(&r->meta, r->buf + r->file_size - PACK_TRAILER_SIZE);
	if (err && !r->err)
		run_fail(r, err, "%s", r->meta.reason);
	if (!err)
		err = seal_memfd(r);
	if (r->use_uring)
		io_uring_queue_exit(&r->ring);
	hbuf_free(&r->rbuf);
	if (r->fd >= 0)
		close(r->fd);
	if (err && p->memfd >= 0) {
		close(p->memfd);
		p->memfd = -1;
	}
	r->buf = NULL;
	r->fd = -1;
	p->result = err;
	p->ms_total = ms_since(&r->t0);
	pthread_mutex_lock(&r->lock);
	orphan = r->orphaned;
	if (!orphan) {
		/* Everything but ->run, which the caller's thread owns (and which comes last). */
		memcpy(r->caller, &r->res, offsetof(struct prefetch, run));
		r->published = 1;
	}
	pthread_mutex_unlock(&r->lock);
	if (orphan) {
		if (r->res.memfd >= 0)
			close(r->res.memfd);
		run_free(r);
	}
	return NULL;
}

static void run_free(struct prefetch_run *r)
{
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r->chunk_got);
	free(r->decoded);
	free(r->path);
	free(r);
}

int prefetch_start(struct prefetch *p, const char *path, const struct prefetch_opts *opts)
{
	struct prefetch_run *r;
	sigset_t all, old;
	int err;

	memset(p, 0, sizeof(*p));
	p->memfd = -1;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->caller = p;
	r->p = &r->res;
	r->res.memfd = -1;
	r->fd = -1;
	r->path = strdup(path);
	r->chunk = opts && opts->chunk_size ? opts->chunk_size : CHUNK_DEFAULT;
	r->depth = opts && opts->depth ? opts->depth : DEPTH_DEFAULT;
	if (r->depth > DEPTH_MAX)
		r->depth = DEPTH_MAX;
	r->chunk = (r->chunk + 4095) & ~4095u;
	if (opts && opts->want) {
		r->want = *opts->want;
		r->have_want = 1;
	}
	r->force_pread = opts ? opts->force_pread : 0;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (!r->path) {
		run_free(r);
		return -ENOMEM;
	}
	/* Set before the thread exists: it keeps p->run when it copies its results out. */
	p->run = r;
	/* Signals belong to PID 1's loop: the threads start (and stay) with all of them blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&r->io_thread, NULL, io_cb, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		p->run = NULL;
		run_free(r);
		return -err;
	}
	return 0;
}

int prefetch_wait(struct prefetch *p)
{
	struct prefetch_run *r = p->run;

	if (!r)
		return p->result;
	if (!r->joined) {
		pthread_join(r->io_thread, NULL);
		r->joined = 1;
	}
	return p->result;
}

int prefetch_run_sync(struct prefetch *p, const char *path, const struct prefetch_opts *opts)
{
	int err = prefetch_start(p, path, opts);

	if (err) {
		snprintf(p->reason, sizeof(p->reason), "prefetch thread: %s", strerror(-err));
		return err;
	}
	return prefetch_wait(p);
}

void prefetch_close(struct prefetch *p)
{
	struct prefetch_run *r = p->run;
	struct timespec deadline;
	int orphan = 0;

	if (r && !r->joined) {
		/*
		 * Stop the reads and give the thread a second: on a hung volume a read may never
		 * return, and closing must not hang PID 1. The thread then frees itself when the
		 * read comes back.
		 */
		run_fail(r, -ECANCELED, "prefetch closed before it finished");
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += CLOSE_WAIT_S;
		if (pthread_timedjoin_np(r->io_thread, NULL, &deadline) == 0) {
			r->joined = 1;
		} else {
			pthread_mutex_lock(&r->lock);
			orphan = !r->published;
			r->orphaned = orphan;
			pthread_mutex_unlock(&r->lock);
			if (orphan)
				pthread_detach(r->io_thread);
			else
				pthread_join(r->io_thread, NULL);
		}
	}
	if (r && !orphan)
		run_free(r);
	p->run = NULL;
	if (p->memfd >= 0)
		close(p->memfd);
	p->memfd = -1;
}
