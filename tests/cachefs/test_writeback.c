// SPDX-License-Identifier: Apache-2.0
/*
 * Write-back: atomic replace, lock, budget, a full tmpfs, a read-only bind mount, and three
 * concurrent writers against verifying readers.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/cachefs/helpers.h"
#include "cachefs/pack.h"
#include "cachefs/writer.h"

#define SKIP_CODE 77

static char *dir;

static void setup(void)
{
	dir = test_tmpdir("wb");
}

static void teardown(void)
{
	rm_rf(dir);
	free(dir);
}

TestSuite(writeback, .init = setup, .fini = teardown);

static int write_sample(const char *d, unsigned seed, unsigned n, int level)
{
	struct pack_writer w;
	char reason[256];
	int err;

	sample_writer(&w, seed, n, level);
	err = pack_writeback(d, "cache.pack", &w, 0, reason, sizeof(reason));
	pack_writer_close(&w);
	return err;
}

/* Entries in @d other than the pack and its lock: leftovers of a failed write. */
static int stray_files(const char *d)
{
	DIR *dh = opendir(d);
	struct dirent *e;
	int n = 0;

	while (dh && (e = readdir(dh))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, "cache.pack") && strcmp(e->d_name, ".cache.pack.lock"))
			n++;
	}
	if (dh)
		closedir(dh);
	return n;
}

static uint8_t *read_pack(const char *d, size_t *len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/cache.pack", d);
	return slurp(path, len);
}

Test(writeback, replaces_atomically)
{
	char path[512];
	struct pack p;

	cr_assert_eq(write_sample(dir, 1, 50, 3), 0);
	cr_assert_eq(write_sample(dir, 2, 80, 3), 0);
	snprintf(path, sizeof(path), "%s/cache.pack", dir);
	cr_assert_eq(pack_open(&p, path), 0, "%s", p.reason);
	cr_assert_eq(pack_verify(&p), 0);
	cr_assert_eq(p.entry_count, 80);
	pack_close(&p);
	cr_assert_eq(stray_files(dir), 0);
}

Test(writeback, busy_lock_and_budget_keep_the_old_pack)
{
	char lock[512], reason[256];
	struct pack_writer w;
	size_t l0, l1;
	uint8_t *before, *after;
	int fd;

	cr_assert_eq(write_sample(dir, 1, 50, 3), 0);
	before = read_pack(dir, &l0);
	snprintf(lock, sizeof(lock), "%s/.cache.pack.lock", dir);
	fd = open(lock, O_RDWR);
	cr_assert_eq(flock(fd, LOCK_EX), 0);
	sample_writer(&w, 3, 50, 3);
	cr_assert_eq(pack_writeback(dir, "cache.pack", &w, 0, reason, sizeof(reason)), -EBUSY);
	cr_assert(strstr(reason, "another replica"), "%s", reason);
	close(fd);
	cr_assert_eq(pack_writeback(dir, "cache.pack", &w, 1000, reason, sizeof(reason)), -EFBIG);
	cr_assert(strstr(reason, "budget"), "%s", reason);
	pack_writer_close(&w);
	after = read_pack(dir, &l1);
	cr_assert_eq(l0, l1);
	cr_assert_eq(memcmp(before, after, l0), 0, "old pack changed");
	cr_assert_eq(stray_files(dir), 0);
	free(before);
	free(after);
}

/*
 * Runs @fn in a child inside its own mount namespace (so mounts vanish with it). The child exits
 * SKIP_CODE when the machine does not allow the mount.
 */
static int in_mount_ns(int (*fn)(const char *), const char *d)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			_exit(SKIP_CODE);
		_exit(fn(d));
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static int enospc_child(const char *d)
{
	char mnt[512];
	size_t l0, l1;
	uint8_t *before, *after;
	struct pack_writer w;
	char reason[256];
	unsigned i;
	int err;

	snprintf(mnt, sizeof(mnt), "%s/small", d);
	mkdir(mnt, 0755);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=96k"))
		return SKIP_CODE;
	if (write_sample(mnt, 1, 20, 3))
		return 1;
	before = read_pack(mnt, &l0);
	/* Incompressible entries, far more than the volume holds. */
	pack_writer_init(&w, &test_id, 1);
	for (i = 0; i < 40; i++) {
		uint8_t buf[8192];
		char key[32];
		size_t k;

		for (k = 0; k < sizeof(buf); k++)
			buf[k] = (uint8_t)(rand() >> 7);
		snprintf(key, sizeof(key), "big/%u.js", i);
		pack_writer_add(&w, PACK_KIND_CODE_CACHE, key, i, buf, sizeof(buf));
	}
	err = pack_writeback(mnt, "cache.pack", &w, 0, reason, sizeof(reason));
	pack_writer_close(&w);
	if (err != -ENOSPC)
		return 2;
	after = read_pack(mnt, &l1);
	if (l0 != l1 || memcmp(before, after, l0))
		return 3;
	if (stray_files(mnt))
		return 4;
	/* The volume still works for a pack that fits. */
	if (write_sample(mnt, 2, 20, 3))
		return 5;
	umount(mnt);
	return 0;
}

Test(writeback, full_tmpfs_keeps_the_old_pack)
{
	int rc = in_mount_ns(enospc_child, dir);

	if (rc == SKIP_CODE)
		cr_skip_test("cannot mount a tmpfs in a new mount namespace here");
	cr_assert_eq(rc, 0, "child check %d failed", rc);
}

static int erofs_child(const char *d)
{
	char mnt[512];
	size_t l0, l1;
	uint8_t *before, *after;
	struct pack_writer w;
	char reason[256];
	int err;

	snprintf(mnt, sizeof(mnt), "%s/ro", d);
	mkdir(mnt, 0755);
	if (write_sample(mnt, 1, 20, 3))
		return 1;
	before = read_pack(mnt, &l0);
	if (mount(mnt, mnt, NULL, MS_BIND, NULL) ||
	    mount(NULL, mnt, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL))
		return SKIP_CODE;
	sample_writer(&w, 2, 20, 3);
	err = pack_writeback(mnt, "cache.pack", &w, 0, reason, sizeof(reason));
	pack_writer_close(&w);
	if (err != -EROFS)
		return 2;
	after = read_pack(mnt, &l1);
	if (l0 != l1 || memcmp(before, after, l0))
		return 3;
	umount(mnt);
	return 0;
}

Test(writeback, read_only_volume_keeps_the_old_pack)
{
	int rc = in_mount_ns(erofs_child, dir);

	if (rc == SKIP_CODE)
		cr_skip_test("cannot make a read-only bind mount here");
	cr_assert_eq(rc, 0, "child check %d failed", rc);
}

/*
 * One writer: 100 successful write-backs of alternating content. A busy lock is the normal answer
 * while another replica writes, so it retries; exit 0 when done, 1 on any other failure.
 */
static void writer_proc(int id)
{
	struct pack_writer w[2];
	char reason[256];
	int done = 0, busy = 0;

	sample_writer(&w[0], 100 + id, 30 + id * 7, 1);
	sample_writer(&w[1], 200 + id, 60 + id * 5, 1);
	while (done < 100) {
		int err =
			pack_writeback(dir, "cache.pack", &w[done & 1], 0, reason, sizeof(reason));

		if (err == 0) {
			done++;
		} else if (err == -EBUSY) {
			busy++;
			usleep(100);
		} else {
			fprintf(stderr, "writer %d: %s\n", id, reason);
			_exit(1);
		}
	}
	fprintf(stderr, "# writer %d: 100 write-backs, %d busy retries\n", id, busy);
	_exit(0);
}

/* One reader: opens and fully verifies the pack until told to stop; exit 0 if never torn. */
static void reader_proc(volatile int *stop, volatile int *reads)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/cache.pack", dir);
	while (!*stop) {
		struct pack p;
		int err = pack_open(&p, path);

		if (!err)
			err = pack_verify(&p);
		if (err) {
			fprintf(stderr, "reader saw a bad pack: %s\n", p.reason);
			_exit(1);
		}
		pack_close(&p);
		__atomic_add_fetch(reads, 1, __ATOMIC_RELAXED);
	}
	_exit(0);
}

Test(writeback, concurrent_writers_and_verifying_readers, .timeout = 120)
{
	volatile int *shared =
		mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t writers[3], readers[2];
	int i, status;

	cr_assert_eq(write_sample(dir, 1, 40, 1), 0);
	for (i = 0; i < 2; i++) {
		readers[i] = fork();
		if (readers[i] == 0)
			reader_proc(&shared[0], &shared[1]);
	}
	for (i = 0; i < 3; i++) {
		writers[i] = fork();
		if (writers[i] == 0)
			writer_proc(i);
	}
	for (i = 0; i < 3; i++) {
		waitpid(writers[i], &status, 0);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d failed", i);
	}
	shared[0] = 1;
	for (i = 0; i < 2; i++) {
		waitpid(readers[i], &status, 0);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "reader %d saw a torn or mixed pack", i);
	}
	cr_assert_gt(shared[1], 0, "readers never read");
	fprintf(stderr, "# 300 write-backs, %d verified reads, none torn\n", shared[1]);
	cr_assert_eq(stray_files(dir), 0);
}

/* In a child: fsync fails with EIO (a dying volume); the write-back must leave the old pack. */
Test(writeback, io_error_keeps_the_old_pack)
{
	int status;
	pid_t pid;

	cr_assert_eq(write_sample(dir, 1, 30, 3), 0);
	pid = fork();
	if (pid == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fsync, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EIO),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
		struct pack_writer w;
		char reason[256];
		size_t l0, l1;
		uint8_t *before = read_pack(dir, &l0), *after;
		int err;

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
			_exit(SKIP_CODE);
		sample_writer(&w, 2, 60, 3);
		err = pack_writeback(dir, "cache.pack", &w, 0, reason, sizeof(reason));
		pack_writer_close(&w);
		if (err != -EIO || !strstr(reason, "fsync"))
			_exit(2);
		after = read_pack(dir, &l1);
		if (l0 != l1 || memcmp(before, after, l0))
			_exit(3);
		_exit(stray_files(dir) ? 4 : 0);
	}
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == SKIP_CODE)
		cr_skip_test("seccomp unavailable");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child check %d failed",
		  WEXITSTATUS(status));
}
