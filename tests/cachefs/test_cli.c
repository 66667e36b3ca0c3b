// SPDX-License-Identifier: Apache-2.0
/*
 * `knext-init cache`: directory mode (a NODE_COMPILE_CACHE tree) pack -> unpack (onto a tmpfs when
 * one can be mounted), inspect (human and JSON), verify, and exit codes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cachefs/cli.h"
#include "tests/cachefs/helpers.h"

static char *dir;

static void setup(void)
{
	dir = test_tmpdir("cli");
}

static void teardown(void)
{
	rm_rf(dir);
	free(dir);
}

TestSuite(cli, .init = setup, .fini = teardown);

/* Runs cache_cli_main in a child with stdout and stderr in @out; returns the exit code. */
static int run(const char *out, ...)
{
	char *argv[16];
	int argc = 0, status;
	va_list ap;
	pid_t pid;

	va_start(ap, out);
	argv[argc++] = "cache";
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	pid = fork();
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int rc;

		dup2(fd, 1);
		dup2(fd, 2);
		rc = cache_cli_main(argc, argv);
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *ncc_files[] = {
	"v22.12.0-x64-5a1b2c3d-0/1f2e3d4c",
	"v22.12.0-x64-5a1b2c3d-0/9a8b7c6d",
	"v22.12.0-x64-5a1b2c3d-0/00000001",
	"v22.12.0-x64-5a1b2c3d-0/sub/deeper/abcdef01",
};

static void make_ncc_tree(const char *root)
{
	char path[512];
	unsigned i;

	snprintf(path, sizeof(path), "%s/v22.12.0-x64-5a1b2c3d-0/sub/deeper", root);
	mkdir(root, 0755);
	snprintf(path, sizeof(path), "%s/v22.12.0-x64-5a1b2c3d-0", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/v22.12.0-x64-5a1b2c3d-0/sub", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/v22.12.0-x64-5a1b2c3d-0/sub/deeper", root);
	mkdir(path, 0755);
	for (i = 0; i < 4; i++) {
		char p[128];
		uint64_t h;
		uint8_t *d;
		size_t len;

		sample_entry(21, i, p, sizeof(p), &h, &d, &len);
		snprintf(path, sizeof(path), "%s/%s", root, ncc_files[i]);
		cr_assert_eq(write_file(path, d, len), 0);
		free(d);
	}
}

static void same_tree(const char *a, const char *b)
{
	unsigned i;

	for (i = 0; i < 4; i++) {
		char pa[512], pb[512];
		size_t la, lb;
		uint8_t *da, *db;

		snprintf(pa, sizeof(pa), "%s/%s", a, ncc_files[i]);
		snprintf(pb, sizeof(pb), "%s/%s", b, ncc_files[i]);
		da = slurp(pa, &la);
		db = slurp(pb, &lb);
		cr_assert(da && db, "%s missing", pb);
		cr_assert_eq(la, lb);
		cr_assert_eq(memcmp(da, db, la), 0, "%s differs", pb);
		free(da);
		free(db);
	}
}

Test(cli, directory_mode_round_trip)
{
	char src[512], pack[512], dst[512], out[512], tmpfs[512];
	json_error_t jerr;
	json_t *j;
	int on_tmpfs = 0;

	snprintf(src, sizeof(src), "%s/ncc", dir);
	snprintf(pack, sizeof(pack), "%s/ncc.pack", dir);
	snprintf(dst, sizeof(dst), "%s/restored", dir);
	snprintf(out, sizeof(out), "%s/out.txt", dir);
	make_ncc_tree(src);
	cr_assert_eq(run(out, "pack", src, "-o", pack, "--level", "5", "--build-id", "b1", NULL),
		     0);
	cr_assert_eq(run(out, "verify", pack, NULL), 0);
	cr_assert_eq(run(out, "unpack", pack, "-o", dst, NULL), 0);
	same_tree(src, dst);

	/* Restore onto a tmpfs, as exec mode does, in a private mount namespace. */
	snprintf(tmpfs, sizeof(tmpfs), "%s/tmpfs", dir);
	mkdir(tmpfs, 0755);
	if (fork() == 0) {
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", tmpfs, "tmpfs", 0, "size=4m"))
			_exit(77);
		if (run(out, "unpack", pack, "-o", tmpfs, NULL) != 0)
			_exit(1);
		same_tree(src, tmpfs);
		_exit(0);
	} else {
		int status;

		wait(&status);
		cr_assert(WIFEXITED(status));
		cr_assert(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 77);
		on_tmpfs = WEXITSTATUS(status) == 0;
	}
	cr_log_info("unpack onto tmpfs: %s", on_tmpfs ? "done" : "skipped, no mount");

	cr_assert_eq(run(out, "inspect", pack, "--json", NULL), 0);
	j = json_load_file(out, 0, &jerr);
	cr_assert_not_null(j, "inspect --json: %s", jerr.text);
	cr_assert_eq(json_integer_value(json_object_get(j, "entries_count")), 4);
	cr_assert_str_eq(json_string_value(json_object_get(j, "build_id")), "b1");
	cr_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(json_object_get(j, "entries"), 0), "kind")),
			 "ncc-file");
	json_decref(j);
	cr_assert_eq(run(out, "inspect", pack, NULL), 0);
}

Test(cli, verify_reports_the_reason)
{
	char src[512], pack[512], out[512];
	size_t len;
	uint8_t *b, *o;

	snprintf(src, sizeof(src), "%s/ncc", dir);
	snprintf(pack, sizeof(pack), "%s/ncc.pack", dir);
	snprintf(out, sizeof(out), "%s/out.txt", dir);
	make_ncc_tree(src);
	cr_assert_eq(run(out, "pack", src, "-o", pack, NULL), 0);
	b = slurp(pack, &len);
	b[len - 40] ^= 0x40;
	write_file(pack, b, len);
	cr_assert_eq(run(out, "verify", pack, NULL), 1);
	o = slurp(out, &len);
	o[len] = 0;
	cr_assert(strstr((char *)o, "invalid: frame"), "%s", o);
	free(o);
	cr_assert_eq(run(out, "unpack", pack, "-o", src, NULL), 1, "a bad pack was unpacked");
	write_file(pack, b, 100);
	cr_assert_eq(run(out, "verify", pack, NULL), 1);
	cr_assert_eq(run(out, "inspect", pack, NULL), 1);
	free(b);
}

Test(cli, usage_and_warm)
{
	char out[512];

	snprintf(out, sizeof(out), "%s/out.txt", dir);
	cr_assert_eq(run(out, "warm", NULL), 2);
	cr_assert_eq(run(out, "frobnicate", NULL), 2);
	cr_assert_eq(run(out, "pack", "x", NULL), 2);
	cr_assert_eq(run(out, "verify", NULL), 2);
	cr_assert_eq(run(out, "unpack", "x", NULL), 2);
	cr_assert_eq(run(out, "verify", "/nonexistent.pack", NULL), 1);
}
