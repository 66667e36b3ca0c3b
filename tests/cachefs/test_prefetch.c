// SPDX-License-Identifier: Apache-2.0
/*
 * Prefetch: io_uring and forced pread give the same sealed memfd; seccomp-blocked io_uring falls
 * back; damaged or foreign packs yield no memfd at all.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <liburing.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "cachefs/format.h"
#include "tests/cachefs/helpers.h"
#include "cachefs/packmem.h"
#include "cachefs/prefetch.h"

static char *dir;

static void setup(void)
{
	dir = test_tmpdir("prefetch");
}

static void teardown(void)
{
	rm_rf(dir);
	free(dir);
}

static char *make_pack(unsigned seed, unsigned n, const char *name)
{
	char *path = malloc(512);
	size_t len;
	uint8_t *b = sample_pack(seed, n, &len);

	snprintf(path, 512, "%s/%s", dir, name);
	cr_assert_eq(write_file(path, b, len), 0);
	free(b);
	return path;
}

static int uring_works(void)
{
	struct io_uring r;

	if (io_uring_queue_init(2, &r, 0))
		return 0;
	io_uring_queue_exit(&r);
	return 1;
}

/* Maps the memfd and checks seals and every entry; returns the number of entries checked. */
static unsigned check_memfd(struct prefetch *p, unsigned seed, unsigned n)
{
	int seals = fcntl(p->memfd, F_GET_SEALS);
	const uint8_t *m;
	unsigned i;

	cr_assert_eq(seals, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	cr_assert_eq(ftruncate(p->memfd, 0), -1, "sealed memfd shrank");
	cr_assert_eq(mmap(NULL, p->size, PROT_WRITE, MAP_SHARED, p->memfd, 0), MAP_FAILED);
	m = mmap(NULL, p->size, PROT_READ, MAP_SHARED, p->memfd, 0);
	cr_assert_neq(m, MAP_FAILED);
	for (i = 0; i < n; i++) {
		char path[128];
		uint64_t h;
		uint8_t *d;
		size_t dl, gl;
		const void *got;

		sample_entry(seed, i, path, sizeof(path), &h, &d, &dl);
		cr_assert_eq(packmem_find(m, p->size, 1 + i % 4, path, strlen(path), h, &got, &gl),
			     0, "entry %u missing", i);
		cr_assert_eq(gl, dl);
		cr_assert_eq(memcmp(got, d, dl), 0, "entry %u differs", i);
		free(d);
	}
	munmap((void *)m, p->size);
	return i;
}

TestSuite(prefetch, .init = setup, .fini = teardown);

Test(prefetch, io_uring_into_sealed_memfd)
{
	char *path = make_pack(11, 400, "a.pack");
	struct prefetch p;

	cr_assert_eq(prefetch_start(&p, path, NULL), 0);
	cr_assert_eq(prefetch_wait(&p), 0, "%s", p.reason);
	cr_assert_eq(p.used_fallback, !uring_works(), "%s", p.fallback_reason);
	cr_assert_eq(p.entry_count, 400);
	check_memfd(&p, 11, 400);
	prefetch_close(&p);
	prefetch_close(&p);
	cr_assert_eq(p.memfd, -1);
	free(path);
}

Test(prefetch, small_reads_and_window)
{
	char *path = make_pack(12, 3000, "b.pack");
	struct prefetch_opts o = { .chunk_size = 4096, .depth = 3 };
	struct prefetch p;

	cr_assert_eq(prefetch_run_sync(&p, path, &o), 0, "%s", p.reason);
	check_memfd(&p, 12, 3000);
	prefetch_close(&p);
	o.force_pread = 1;
	o.chunk_size = 8192;
	cr_assert_eq(prefetch_run_sync(&p, path, &o), 0, "%s", p.reason);
	cr_assert_eq(p.used_fallback, 1);
	check_memfd(&p, 12, 3000);
	prefetch_close(&p);
	free(path);
}

Test(prefetch, forced_pread_by_env)
{
	char *path = make_pack(13, 300, "c.pack");
	struct prefetch_opts o = { .force_pread = 1 }; /* KNEXT_IO=pread */
	struct prefetch p;

	cr_assert_eq(prefetch_run_sync(&p, path, &o), 0, "%s", p.reason);
	cr_assert_eq(p.used_fallback, 1);
	cr_assert_str_eq(p.fallback_reason, "KNEXT_IO=pread");
	check_memfd(&p, 13, 300);
	prefetch_close(&p);
	free(path);
}

/*
 * Makes syscall @nr fail with @err: io_uring_setup with EPERM as Docker's and containerd's
 * profiles do, or ENOSYS; io_uring_enter alone, as a profile that forgot it does.
 */
static int block_syscall(int nr, int err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* The child a seccomp case forked (filters cannot be lifted) exited 0; its code says which step
 * failed otherwise. */
static void expect_child_ok(pid_t pid)
{
	int status;

	cr_assert_gt(pid, 0);
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status), "child died");
	cr_assert_eq(WEXITSTATUS(status), 0, "child failed with %d", WEXITSTATUS(status));
}

static void seccomp_case(int errnum, unsigned seed)
{
	char *path = make_pack(seed, 300, "d.pack");
	pid_t pid = fork();

	if (pid == 0) {
		struct prefetch p;
		struct io_uring r;

		if (block_syscall(__NR_io_uring_setup, errnum))
			_exit(10);
		if (io_uring_queue_init(2, &r, 0) != -errnum)
			_exit(11);
		if (prefetch_run_sync(&p, path, NULL))
			_exit(12);
		if (!p.used_fallback || !strstr(p.fallback_reason, "io_uring_queue_init") ||
		    !strstr(p.fallback_reason, strerror(errnum)))
			_exit(13);
		check_memfd(&p, seed, 300);
		prefetch_close(&p);
		_exit(0);
	}
	expect_child_ok(pid);
	free(path);
}

Test(prefetch, seccomp_blocked_io_uring_falls_back)
{
	seccomp_case(EPERM, 14);
}

Test(prefetch, io_uring_enosys_falls_back)
{
	seccomp_case(ENOSYS, 16);
}

/*
 * io_uring_setup allowed, io_uring_enter refused: the ring is made and fails at the first
 * submit; the reads go on with pread, and the next prefetch does not try the ring again.
 */
Test(prefetch, io_uring_enter_refused_falls_back)
{
	char *path = make_pack(17, 300, "e.pack");
	pid_t pid = fork();

	if (pid == 0) {
		struct prefetch p;
		struct io_uring r;

		if (block_syscall(__NR_io_uring_enter, EPERM))
			_exit(10);
		if (io_uring_queue_init(2, &r, 0) != 0)
			_exit(11);
		io_uring_queue_exit(&r);
		if (prefetch_run_sync(&p, path, NULL))
			_exit(12);
		if (!p.used_fallback || !strstr(p.fallback_reason, "io_uring submit") ||
		    !strstr(p.fallback_reason, strerror(EPERM)))
			_exit(13);
		check_memfd(&p, 17, 300);
		prefetch_close(&p);
		if (prefetch_run_sync(&p, path, NULL) || !p.used_fallback ||
		    !strstr(p.fallback_reason, "io_uring submit"))
			_exit(14);
		check_memfd(&p, 17, 300);
		prefetch_close(&p);
		_exit(0);
	}
	expect_child_ok(pid);
	free(path);
}

static void expect_failure(const char *path, const struct prefetch_opts *o, int err)
{
	struct prefetch p;
	int got = prefetch_run_sync(&p, path, o);

	cr_assert_eq(got, err, "got %d (%s), want %d", got, p.reason, err);
	cr_assert_eq(p.memfd, -1, "a bad pack left a memfd");
	cr_assert_neq(p.reason[0], '\0');
	prefetch_close(&p);
}

Test(prefetch, damaged_packs_are_never_used)
{
	char *path = make_pack(15, 400, "e.pack");
	struct prefetch_opts o = { .chunk_size = 4096 };
	size_t len, cut;
	uint8_t *b = slurp(path, &len);
	struct pack p;
	uint32_t i;

	cr_assert_eq(pack_open_mem(&p, b, len), 0);
	expect_failure("/nonexistent/x.pack", NULL, -ENOENT);
	/* Truncated in the metadata, in the payload, in the trailer. */
	for (cut = 100; cut < len; cut += len / 7) {
		write_file(path, b, cut);
		expect_failure(path, &o, -EBADMSG);
	}
	write_file(path, b, len - 1);
	expect_failure(path, &o, -EBADMSG);
	/* A flipped bit in each frame, and in the trailer. */
	for (i = 0; i < p.frame_count; i++) {
		struct pack_frame f;

		pack_frame_get(&p, i, &f);
		b[f.file_offset + f.comp_size / 2] ^= 0x10;
		write_file(path, b, len);
		expect_failure(path, &o, -EBADMSG);
		b[f.file_offset + f.comp_size / 2] ^= 0x10;
	}
	b[len - 3] ^= 1;
	write_file(path, b, len);
	expect_failure(path, &o, -EBADMSG);
	b[len - 3] ^= 1;
	write_file(path, b, len);
	{
		struct pack_identity other = test_id;
		struct prefetch_opts w = { .want = &other };
		struct prefetch ok;

		strcpy(other.build_id, "next-build");
		expect_failure(path, &w, -ESTALE);
		w.want = &test_id;
		cr_assert_eq(prefetch_run_sync(&ok, path, &w), 0, "%s", ok.reason);
		prefetch_close(&ok);
	}
	free(b);
	free(path);
}

/* A crafted pack: every checksum sound except that frame 0 decodes to other bytes than its index
 * promises (raw_hash), with the metadata hash and trailer redone to match. */
Test(prefetch, decoded_bytes_are_checked)
{
	char *path = make_pack(16, 300, "r.pack");
	size_t len;
	uint8_t *b = slurp(path, &len), *fr;
	struct pack p;
	uint64_t mh;

	cr_assert_eq(pack_open_mem(&p, b, len), 0);
	fr = b + p.frames_offset + PF_RAW_HASH;
	le64_put(fr, le64_get(fr) ^ 1);
	le64_put(b + PACK_HEADER_OFF + PH_META_HASH, 0);
	mh = XXH3_64bits(b + PACK_HEADER_OFF, p.payload_offset - PACK_HEADER_OFF);
	le64_put(b + PACK_HEADER_OFF + PH_META_HASH, mh);
	le64_put(b + len - PACK_TRAILER_SIZE + 8, mh);
	write_file(path, b, len);
	expect_failure(path, NULL, -EBADMSG);
	free(b);
	free(path);
}

Test(prefetch, start_never_blocks_the_caller)
{
	char fifo[600];
	struct prefetch p;
	struct timespec t0, t1;
	int fd;

	/* Opening a FIFO blocks until a writer comes: the I/O thread waits, the caller must not. */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	cr_assert_eq(mkfifo(fifo, 0644), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(prefetch_start(&p, fifo, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_lt((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 50);
	usleep(20000);
	/* The FIFO is now opened without blocking and refused; a writer would release it else. */
	fd = open(fifo, O_WRONLY | O_NONBLOCK);
	if (fd >= 0)
		close(fd);
	cr_assert_eq(prefetch_wait(&p), -EBADMSG);
	cr_assert(strstr(p.reason, "not a regular file"), "%s", p.reason);
	prefetch_close(&p);
}

Test(prefetch, empty_pack)
{
	char path[600];
	struct pack_writer w;
	struct prefetch p;
	const void *d;
	size_t dl;
	void *m;

	pack_writer_init(&w, &test_id, 1);
	cr_assert_eq(pack_writer_build(&w), 0);
	snprintf(path, sizeof(path), "%s/empty.pack", dir);
	cr_assert_eq(write_file(path, w.out, w.out_len), 0);
	pack_writer_close(&w);
	cr_assert_eq(prefetch_run_sync(&p, path, NULL), 0, "%s", p.reason);
	cr_assert_eq(p.entry_count, 0);
	m = mmap(NULL, p.size, PROT_READ, MAP_SHARED, p.memfd, 0);
	cr_assert_neq(m, MAP_FAILED);
	cr_assert_eq(packmem_find(m, p.size, 1, "a.js", 4, 0, &d, &dl), -ENOENT);
	munmap(m, p.size);
	prefetch_close(&p);
}

Test(prefetch, frames_larger_than_the_read_window, .timeout = 60)
{
	char path[600];
	struct pack_writer w;
	struct prefetch p;
	uint32_t s = 1;
	uint8_t *big = malloc(9 << 20);
	size_t i;

	/* Incompressible: one 9 MiB frame stays larger than the 6 MiB read-ahead window. */
	for (i = 0; i < (9u << 20); i++) {
		s ^= s << 13;
		s ^= s >> 17;
		s ^= s << 5;
		big[i] = (uint8_t)s;
	}
	pack_writer_init(&w, &test_id, 1);
	w.frame_target = 32 << 20;
	cr_assert_eq(pack_writer_add(&w, PACK_KIND_SOURCE, "big.js", 1, big, 9 << 20), 0);
	cr_assert_eq(pack_writer_add(&w, PACK_KIND_SOURCE, "small.js", 2, "x", 1), 0);
	cr_assert_eq(pack_writer_add(&w, PACK_KIND_SOURCE, "big2.js", 3, big, 8 << 20), 0);
	snprintf(path, sizeof(path), "%s/big.pack", dir);
	{
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		cr_assert_eq(pack_writer_write(&w, fd), 0);
		close(fd);
	}
	pack_writer_close(&w);
	for (i = 0; i < 2; i++) {
		struct prefetch_opts o = { .force_pread = (int)i };
		const void *d;
		size_t dl;
		void *m;

		cr_assert_eq(prefetch_run_sync(&p, path, &o), 0, "%s", p.reason);
		m = mmap(NULL, p.size, PROT_READ, MAP_SHARED, p.memfd, 0);
		cr_assert_eq(packmem_find(m, p.size, PACK_KIND_SOURCE, "big.js", 6, 1, &d, &dl), 0);
		cr_assert_eq(dl, 9u << 20);
		cr_assert_eq(memcmp(d, big, dl), 0);
		cr_assert_eq(packmem_find(m, p.size, PACK_KIND_SOURCE, "big2.js", 7, 3, &d, &dl),
			     0);
		cr_assert_eq(memcmp(d, big, dl), 0);
		munmap(m, p.size);
		prefetch_close(&p);
	}
	free(big);
}

Test(prefetch, close_never_hangs_on_a_stuck_read)
{
	char fifo[600];
	struct prefetch p;
	struct timespec t0, t1;
	double ms;
	int fd;

	/* A FIFO, which once blocked the I/O thread in open() like a read on a hung volume; it is
	 * now opened without blocking and refused, and close must be as quick either way. */
	snprintf(fifo, sizeof(fifo), "%s/stuck", dir);
	cr_assert_eq(mkfifo(fifo, 0644), 0);
	cr_assert_eq(prefetch_start(&p, fifo, NULL), 0);
	usleep(10000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	prefetch_close(&p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	cr_assert_lt(ms, 1500, "close took %.0f ms", ms);
	cr_assert_eq(p.memfd, -1);
	cr_assert_null(p.run);
	/* Had a thread been left waiting in open(), a writer lets it finish and free itself. */
	fd = open(fifo, O_WRONLY | O_NONBLOCK);
	if (fd >= 0)
		close(fd);
	usleep(200000);
}

Test(prefetch, close_cancels_a_running_prefetch)
{
	char *path = make_pack(17, 2000, "f.pack");
	struct prefetch_opts o = { .chunk_size = 4096, .depth = 1, .force_pread = 1 };
	struct prefetch p;

	cr_assert_eq(prefetch_start(&p, path, &o), 0);
	prefetch_close(&p);
	cr_assert_eq(p.memfd, -1);
	cr_assert_eq(prefetch_run_sync(&p, path, &o), 0, "%s", p.reason);
	prefetch_close(&p);
	free(path);
}
