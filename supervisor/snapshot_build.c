// SPDX-License-Identifier: Apache-2.0
#include "supervisor/snapshot_build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cachefs/pack.h"
#include "supervisor/snapshot.h"
#include "cachefs/writer.h"

extern const char knext_snapshot_record_js[];
extern const char knext_snapshot_build_js[];

/* A module that breaks the build is named by bisection over the recorded list; each try is one
 * build (about a second), so the list is cut at most this many times. */
#define BISECT_MAX_TRIES 12

int snapshot_find_exe(const char *name, char *out)
{
	const char *path = getenv("PATH");
	char cand[PATH_MAX];

	if (strchr(name, '/'))
		return realpath(name, out) ? 0 : -ENOENT;
	for (path = path ? path : "/usr/local/bin:/usr/bin:/bin"; *path;) {
		size_t n = strcspn(path, ":");

		if (n > 0 &&
		    (size_t)snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, path, name) <
			    sizeof(cand) &&
		    access(cand, X_OK) == 0 && realpath(cand, out))
			return 0;
		path += n + (path[n] == ':');
	}
	return -ENOENT;
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "we");
	int err = 0;

	if (!f)
		return -errno;
	if (fwrite(data, 1, len, f) != len)
		err = -EIO;
	if (fclose(f) != 0 && !err)
		err = -errno;
	return err;
}

/* The whole of @path, NUL-terminated, into a malloc()ed buffer. */
static int read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return -errno;
	for (;;) {
		if (n + 65536 + 1 > cap) {
			char *b = realloc(buf, cap = (n + 65536 + 1) * 2);

			if (!b) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = b;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);

		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

static void path_in(const struct snapshot_build *b, const char *name, char *out)
{
	snprintf(out, PATH_MAX, "%.*s/%s", PATH_MAX - 64, b->dir, name);
}

int snapshot_build_init(struct snapshot_build *b)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX];
	int r;

	snprintf(b->dir, sizeof(b->dir), "%s/knext-snapshot.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(b->dir)) {
		r = -errno;
		b->dir[0] = '\0';
		return r;
	}
	path_in(b, "record.js", path);
	r = write_file(path, knext_snapshot_record_js, strlen(knext_snapshot_record_js));
	path_in(b, "build.js", path);
	if (!r)
		r = write_file(path, knext_snapshot_build_js, strlen(knext_snapshot_build_js));
	return r;
}

int snapshot_build_record_env(const struct snapshot_build *b)
{
	const char *old = getenv("NODE_OPTIONS");
	char opts[PATH_MAX * 2], path[PATH_MAX];

	/* knext-node's bootstrap records by itself and knext-node turns require(esm) off (a flag,
	 * not NODE_OPTIONS, which is part of the pack's identity); the node CLI preloads record.js. */
	if (!b->embedded) {
		path_in(b, "record.js", path);
		if ((size_t)snprintf(opts, sizeof(opts),
				     "%s%s--require=%s --no-experimental-require-module",
				     old ? old : "", old && *old ? " " : "", path) >= sizeof(opts))
			return -ENAMETOOLONG;
		setenv("NODE_OPTIONS", opts, 1);
	}
	path_in(b, "modules", path);
	setenv("KNEXT_SNAPSHOT_RECORD", path, 1);
	return 0;
}

/*
 * One build of the modules listed in @list into @blob, by @node, in the builder's minimal
 * environment: nothing of the caller's environment (where build secrets live) reaches the
 * modules, so nothing of it lands in the blob. @err gets the builder's stderr.
 * Returns the exit status as waitpid() gives it, or -errno.
 */
static int build_once(const struct snapshot_build *b, const char *app, const char *node,
		      const char *list, const char *blob, const char *err, bool warm)
{
	char envs[4][PATH_MAX + 32], js[PATH_MAX], rec[PATH_MAX];
	char warmup[sizeof(b->warmup) + 32];
	char *envp[8] = { envs[0], envs[1], envs[2] }, **e = envp + 3;
	/* knext-node builds in its own mode (KNEXT_SNAPSHOT_OUT), so that its bootstrap runs at
	 * restore; the node CLI with --build-snapshot. */
	char *argv[] = { (char *)node,
			 "--no-experimental-require-module",
			 "--expose-internals",
			 b->embedded ? js : "--snapshot-blob",
			 (char *)blob,
			 "--build-snapshot",
			 js,
			 NULL };
	int status, fd;
	pid_t pid;

	if (b->embedded)
		argv[4] = NULL;
	snprintf(envs[3], sizeof(envs[3]), "KNEXT_SNAPSHOT_OUT=%s", blob);
	path_in(b, "build.js", js);
	path_in(b, "env", rec);
	snprintf(envs[0], sizeof(envs[0]), "KNEXT_APP_DIR=%s", app);
	snprintf(envs[1], sizeof(envs[1]), "KNEXT_SNAPSHOT_MODULES=%s", list);
	snprintf(envs[2], sizeof(envs[2]), "KNEXT_SNAPSHOT_ENV=%s", rec);
	snprintf(warmup, sizeof(warmup), "KNEXT_SNAPSHOT_WARMUP=%s", b->warmup);
	if (b->embedded)
		*e++ = envs[3];
	if (b->embedded && b->no_bytecode)
		*e++ = "KNEXT_SNAPSHOT_BYTECODE=0";
	if (warm && b->warmup[0])
		*e++ = warmup;
	if (warm && b->warmup[0] && b->warmup_manifest)
		*e++ = "KNEXT_SNAPSHOT_WARMUP_MANIFEST=1";
	*e = NULL;
	unlink(blob);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		fd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd >= 0)
			dup2(fd, STDOUT_FILENO);
		if (chdir(app) < 0)
			_exit(127);
		execve(node, argv, envp);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return status;
}

/* The line of the builder's stderr that names the module it failed on, if it printed one. */
static void print_failure(const char *err)
{
	char *text, *line;
	size_t len;

	if (read_file(err, &text, &len) < 0)
		return;
	line = strstr(text, "snapshot: loading ");
	if (!line)
		line = strstr(text, "snapshot: the warm-up ");
	if (line) {
		line[strcspn(line, "\n")] = '\0';
		fprintf(stderr, "cache warm: %s\n", line);
	} else {
		/* Node's own message: its last lines. */
		for (int n = 0; len > 0 && n < 4; len--)
			n += text[len - 1] == '\n';
		fprintf(stderr, "%s\n", text + len);
	}
	free(text);
}

/* @what ended as waitpid()'s @status says, one line. */
static void print_status(const char *what, int status)
{
	fprintf(stderr, "cache warm: %s %s %d\n", what,
		status > 0 && WIFSIGNALED(status) ? "was killed by signal" : "exited with",
		status < 0	    ? status :
		WIFSIGNALED(status) ? WTERMSIG(status) :
				      WEXITSTATUS(status));
}

/*
 * The builder's line for each warm-up request it served (URL, status, size, time) or skipped;
 * how many it served.
 */
static int print_warmup(const char *err)
{
	static const char served[] = "snapshot: warm-up ", skipped[] = "snapshot: no warm-up ";
	char *text, *line, *end;
	size_t len;
	int n = 0;

	if (read_file(err, &text, &len) < 0)
		return 0;
	for (line = text; *line; line = *end ? end + 1 : end) {
		end = line + strcspn(line, "\n");
		if (strncmp(line, served, sizeof(served) - 1) &&
		    strncmp(line, skipped, sizeof(skipped) - 1))
			continue;
		printf("cache warm: %.*s\n", (int)(end - line), line);
		n += !strncmp(line, served, sizeof(served) - 1);
	}
	free(text);
	return n;
}

/*
 * The builder aborted while serialising (it cannot say which module made the object it could
 * not serialise): the first module whose loading makes a build fail, by bisection over the list
 * in load order.
 */
static void name_breaking_module(const struct snapshot_build *b, const char *app, const char *node,
				 char *mods, size_t len)
{
	char list[PATH_MAX], blob[PATH_MAX], err[PATH_MAX];
	size_t lines = 0, lo = 0, hi, cut;
	char *p;

	for (p = mods; p < mods + len; p++)
		lines += *p == '\n';
	hi = lines; /* the whole list fails; the first lo lines do not */
	path_in(b, "bisect.list", list);
	path_in(b, "bisect.blob", blob);
	path_in(b, "bisect.err", err);
	for (int tries = 0; hi - lo > 1 && tries < BISECT_MAX_TRIES; tries++) {
		size_t mid = lo + (hi - lo) / 2, n = 0;

		for (cut = 0; cut < len && n < mid; cut++)
			n += mods[cut] == '\n';
		if (write_file(list, mods, cut) < 0)
			return;
		if (build_once(b, app, node, list, blob, err, false) == 0)
			lo = mid;
		else
			hi = mid;
	}
	if (hi - lo != 1)
		return;
	p = mods;
	for (size_t n = 1; n < hi; n++)
		p = strchr(p, '\n') + 1;
	fprintf(stderr, "cache warm: loading %.*s breaks the snapshot build\n",
		(int)strcspn(p, "\n"), p);
}

/* The blob's content hash from the record's "node vX.Y.Z" and "arch A" lines. */
static uint64_t record_blob_hash(const char *rec)
{
	char version[40] = "", arch[24] = "";
	const char *v = strstr(rec, "\nnode v"), *a = strstr(rec, "\narch ");

	if (v)
		snprintf(version, sizeof(version), "%.*s", (int)strcspn(v + 7, "\n"), v + 7);
	if (a)
		snprintf(arch, sizeof(arch), "%.*s", (int)strcspn(a + 6, "\n"), a + 6);
	return snapshot_blob_hash(version, arch);
}

/* The pack at @path with the blob and its record added, written back atomically. */
static int add_to_pack(const char *path, const char *blob, size_t blob_len, const char *rec,
		       size_t rec_len, bool stored)
{
	struct pack_writer w;
	struct pack_entry e;
	char why[256] = "", key[PATH_MAX];
	struct pack p;
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = pack_open(&p, path)) < 0) {
		fprintf(stderr, "cache warm: %s: %s\n", path, p.reason);
		return r;
	}
	if ((r = pack_writer_init(&w, &p.id, PACK_LEVEL_WRITEBACK)) < 0) {
		pack_close(&p);
		return r;
	}
	if (stored)
		w.stored_kind = PACK_KIND_SNAPSHOT_BLOB;
	for (uint32_t i = 0; i < p.entry_count && r == 0; i++) {
		uint8_t *data;

		pack_entry_get(&p, i, &e);
		if (e.kind == PACK_KIND_SNAPSHOT_BLOB || e.kind == PACK_KIND_SNAPSHOT_ENV ||
		    e.path_len >= sizeof(key))
			continue;
		if ((r = pack_entry_data(&p, &e, &data)) < 0)
			break;
		memcpy(key, e.path, e.path_len);
		key[e.path_len] = '\0';
		r = pack_writer_add(&w, e.kind, key, e.content_hash, data, e.raw_size);
		free(data);
	}
	pack_close(&p);
	if (!r)
		r = pack_writer_add(&w, PACK_KIND_SNAPSHOT_ENV, SNAPSHOT_ENV_PATH,
				    SNAPSHOT_ENV_HASH, rec, rec_len);
	if (!r)
		r = pack_writer_add(&w, PACK_KIND_SNAPSHOT_BLOB, SNAPSHOT_BLOB_PATH,
				    record_blob_hash(rec), blob, blob_len);
	if (!r)
		r = pack_writeback_file(path, &w, UINT64_MAX, why, sizeof(why));
	if (r)
		fprintf(stderr, "cache warm: the snapshot was not added to %s: %s\n", path,
			why[0] ? why : strerror(-r));
	pack_writer_close(&w);
	return r;
}

int snapshot_build_run(struct snapshot_build *b, const char *app, const char *node,
		       const char *pack)
{
	char exe[PATH_MAX], list[PATH_MAX], blob[PATH_MAX], err[PATH_MAX], rec[PATH_MAX];
	char *mods = NULL, *blob_data = NULL, *rec_data = NULL;
	size_t mods_len, blob_len, rec_len;
	bool warm = b->warmup[0] != '\0';
	int r, status;

	path_in(b, "modules", list);
	path_in(b, "blob", blob);
	path_in(b, "build.err", err);
	path_in(b, "env", rec);
	if (snapshot_find_exe(node, exe) < 0) {
		fprintf(stderr, "cache warm: no snapshot: %s not found\n", node);
		return -ENOENT;
	}
	if ((r = read_file(list, &mods, &mods_len)) < 0) {
		fprintf(stderr, "cache warm: no snapshot: the warm-up run recorded no modules "
				"(no response finished)\n");
		return r;
	}
	status = build_once(b, app, exe, list, blob, err, warm);
	/* Loading the modules broke it (exit 3): the same without warm-up. */
	if (status != 0 && warm && !(status > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 3)) {
		/* The loaded server's snapshot is still worth having. */
		print_status("the snapshot's warm-up failed: the build", status);
		print_failure(err);
		fprintf(stderr, "cache warm: building the snapshot without warm-up\n");
		warm = false;
		status = build_once(b, app, exe, list, blob, err, false);
	}
	if (status != 0) {
		print_status("no snapshot: the build", status);
		print_failure(err);
		if (status > 0 && WIFSIGNALED(status))
			name_breaking_module(b, app, exe, mods, mods_len);
		r = -ECANCELED;
		goto out;
	}
	if ((r = read_file(blob, &blob_data, &blob_len)) < 0 ||
	    (r = read_file(rec, &rec_data, &rec_len)) < 0) {
		fprintf(stderr, "cache warm: no snapshot: %s\n", strerror(-r));
		goto out;
	}
	warm = warm && print_warmup(err) > 0;
	r = add_to_pack(pack, blob_data, blob_len, rec_data, rec_len, b->stored);
	if (!r)
		printf("cache warm: snapshot of %zu bytes added to %s%s\n", blob_len, pack,
		       warm ? " (warmed up)" : "");
out:
	free(mods);
	free(blob_data);
	free(rec_data);
	return r;
}

static int remove_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

int snapshot_build_record(const struct snapshot_build *b, char **rec, size_t *len)
{
	char path[PATH_MAX];

	path_in(b, "env", path);
	return read_file(path, rec, len);
}

void snapshot_build_close(struct snapshot_build *b)
{
	if (b->dir[0])
		nftw(b->dir, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
	b->dir[0] = '\0';
}
