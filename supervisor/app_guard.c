// SPDX-License-Identifier: Apache-2.0
#include "supervisor/app_guard.h"
#include "cachefs/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The directory Next.js writes into (distDir): its files are copied, everything is recorded. */
#define GUARD_COPY_DIR ".next/"

struct guard_entry {
	char *rel; /* "" for the app directory itself */
	mode_t mode;
	off_t size;
	struct timespec mtime;
	ino_t ino;
	char *data; /* a copy of a file under GUARD_COPY_DIR, or a symlink's target */
	size_t len;
	bool has_data;
	bool seen;
	bool changed;
};

struct guard {
	const char *app;
	size_t app_len;
	const char *keep_rel; /* NULL when the pack is written outside the app */
	struct stat out[2]; /* our stdout and stderr: a log the caller keeps in the app */
	bool out_ok[2];
	struct guard_entry *v;
	size_t n, cap;
	size_t removed, restored;
	char why[PATH_MAX + 128];
};

/* nftw() passes no context: the one guard at work in this process. */
static struct guard *cur;

static int fail(struct guard *g, int err, const char *what, const char *rel)
{
	if (!g->why[0])
		snprintf(g->why, sizeof(g->why), "%s %s/%s: %s", what, g->app, rel, strerror(err));
	return -err;
}

static const char *rel_of(const struct guard *g, const char *path)
{
	const char *rel = path + g->app_len;

	return *rel == '/' ? rel + 1 : rel;
}

static int read_all(const char *path, size_t len, char **out)
{
	char *buf = malloc(len ? len : 1);
	ssize_t got;
	int fd;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	got = read_upto(fd, buf, len);
	close(fd);
	if (got < 0 || (size_t)got < len) {
		free(buf);
		return got < 0 ? (int)got : -EIO;
	}
	*out = buf;
	return 0;
}

/* `cache warm ... >APP/warm.log`: the command's own output is not the warm-up's doing. */
static bool is_output(const struct guard *g, const struct stat *st)
{
	for (int i = 0; i < 2; i++)
		if (g->out_ok[i] && S_ISREG(st->st_mode) && st->st_dev == g->out[i].st_dev &&
		    st->st_ino == g->out[i].st_ino)
			return true;
	return false;
}

static int record_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct guard *g = cur;
	const char *rel = rel_of(g, path);
	struct guard_entry *e;
	int err;

	(void)ftw;
	if (flag == FTW_NS || flag == FTW_DNR)
		return fail(g, EACCES, "cannot read", rel);
	if (is_output(g, st))
		return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 1024;
		struct guard_entry *v = realloc(g->v, cap * sizeof(*v));

		if (!v)
			return fail(g, ENOMEM, "recording", rel);
		g->v = v;
		g->cap = cap;
	}
	e = &g->v[g->n];
	memset(e, 0, sizeof(*e));
	e->rel = strdup(rel);
	if (!e->rel)
		return fail(g, ENOMEM, "recording", rel);
	g->n++;
	e->mode = st->st_mode;
	e->size = st->st_size;
	e->mtime = st->st_mtim;
	e->ino = st->st_ino;
	if (S_ISLNK(st->st_mode)) {
		e->data = calloc(1, PATH_MAX);
		if (!e->data)
			return fail(g, ENOMEM, "recording", rel);
		if (readlink(path, e->data, PATH_MAX - 1) < 0)
			return fail(g, errno, "cannot read the link", rel);
		e->has_data = true;
	} else if (S_ISREG(st->st_mode) && !strncmp(rel, GUARD_COPY_DIR, strlen(GUARD_COPY_DIR))) {
		err = read_all(path, st->st_size, &e->data);
		if (err)
			return fail(g, -err, "cannot copy", rel);
		e->len = st->st_size;
		e->has_data = true;
	}
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct guard_entry *)a)->rel, ((const struct guard_entry *)b)->rel);
}

static struct guard_entry *find(struct guard *g, const char *rel)
{
	struct guard_entry key = { .rel = (char *)rel };

	return bsearch(&key, g->v, g->n, sizeof(key), cmp_entry);
}

/* The pack, and the directories made to hold it. */
static bool kept(struct guard *g, const char *rel)
{
	size_t n = strlen(rel);

	if (!g->keep_rel)
		return false;
	if (!strcmp(rel, g->keep_rel))
		return true;
	return n && !strncmp(g->keep_rel, rel, n) && g->keep_rel[n] == '/' && !find(g, rel);
}

static int sweep_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct guard *g = cur;
	const char *rel = rel_of(g, path);
	struct guard_entry *e;

	(void)ftw;
	if (flag == FTW_NS || flag == FTW_DNR)
		return fail(g, EACCES, "cannot read", rel);
	if (kept(g, rel) || is_output(g, st))
		return 0;
	e = find(g, rel);
	if (e && (e->mode & S_IFMT) == (st->st_mode & S_IFMT)) {
		e->seen = true;
		e->changed =
			e->mode != st->st_mode ||
			(S_ISREG(st->st_mode) && (e->size != st->st_size || e->ino != st->st_ino ||
						  e->mtime.tv_sec != st->st_mtim.tv_sec ||
						  e->mtime.tv_nsec != st->st_mtim.tv_nsec));
		return 0;
	}
	/* Added by the warm-up (or changed type): depth first, so a directory is empty by now. */
	if ((S_ISDIR(st->st_mode) ? rmdir(path) : unlink(path)) < 0)
		fail(g, errno, "cannot remove", rel);
	else
		g->removed++;
	return 0;
}

static int write_back(struct guard *g, const struct guard_entry *e, const char *path)
{
	size_t off = 0;
	int fd;

	/* A fresh file: the one there may be read-only, or another file renamed over it. */
	if (unlink(path) < 0 && errno != ENOENT)
		return fail(g, errno, "cannot restore", e->rel);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fail(g, errno, "cannot restore", e->rel);
	while (off < e->len) {
		ssize_t n = write(fd, e->data + off, e->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;

			close(fd);
			return fail(g, err, "cannot restore", e->rel);
		}
		off += n;
	}
	if (close(fd) < 0)
		return fail(g, errno, "cannot restore", e->rel);
	return 0;
}

/* Puts back entry @e, which the warm-up removed or changed. */
static int put_back(struct guard *g, struct guard_entry *e, const char *path)
{
	int err = 0;

	if (!e->seen && S_ISDIR(e->mode)) {
		if (mkdir(path, 0700) < 0)
			return fail(g, errno, "cannot restore", e->rel);
	} else if (!e->seen && S_ISLNK(e->mode)) {
		if (symlink(e->data, path) < 0)
			return fail(g, errno, "cannot restore", e->rel);
	} else if (S_ISREG(e->mode) && e->has_data && (e->changed || !e->seen)) {
		err = write_back(g, e, path);
	} else if (S_ISREG(e->mode) && (e->changed || !e->seen)) {
		if (!g->why[0])
			snprintf(g->why, sizeof(g->why),
				 "%s/%s was %s by the warm-up and cannot be restored", g->app,
				 e->rel, e->seen ? "changed" : "removed");
		return -EEXIST;
	}
	if (!err && !S_ISLNK(e->mode) && chmod(path, e->mode & 07777) < 0)
		return fail(g, errno, "cannot restore the mode of", e->rel);
	g->restored += !err;
	return err;
}

/* Does all it can: an entry that cannot be put back is reported (the first), the rest goes on. */
static int restore(struct guard *g)
{
	char path[PATH_MAX];
	size_t i;
	int err = 0, r;

	cur = g;
	if (nftw(g->app, sweep_cb, 32, FTW_PHYS | FTW_DEPTH) != 0 || g->why[0])
		err = -EIO;
	/* Sorted, so a directory comes before what it holds. */
	for (i = 0; i < g->n; i++) {
		struct guard_entry *e = &g->v[i];

		if ((e->seen && !e->changed) || (g->keep_rel && !strcmp(e->rel, g->keep_rel)))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", g->app, e->rel[0] ? "/" : "", e->rel);
		r = put_back(g, e, path);
		err = err ? err : r;
	}
	/* Last: adding and removing entries moved the directories' times. */
	for (i = g->n; i-- > 0;) {
		const struct guard_entry *e = &g->v[i];
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, e->mtime };

		if (g->keep_rel && !strcmp(e->rel, g->keep_rel))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", g->app, e->rel[0] ? "/" : "", e->rel);
		/* A changed file that could not be put back keeps the time of its change. */
		if (S_ISREG(e->mode) && e->changed && !e->has_data)
			continue;
		if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT) {
			r = fail(g, errno, "cannot restore the time of", e->rel);
			err = err ? err : r;
		}
	}
	return err;
}

static void guard_free(struct guard *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].rel);
		free(g->v[i].data);
	}
	free(g->v);
	g->v = NULL;
	g->n = g->cap = 0;
}

/* Waits for @pid, passing on the signals that would end a command. */
static int wait_child(pid_t pid, const sigset_t *set)
{
	siginfo_t si;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		if (r < 0 && errno != EINTR)
			return 1;
		if (r == 0 && sigwaitinfo(set, &si) > 0 && si.si_signo != SIGCHLD)
			kill(pid, si.si_signo);
	}
}

/*
 * @keep resolved as realpath() resolves @app: its deepest directory that exists, and the rest as
 * it is (the warm-up makes it); @keep itself when nothing of it resolves.
 */
static void resolve_keep(const char *keep, char *out, size_t len)
{
	char dir[PATH_MAX], real[PATH_MAX];
	char *slash = NULL, *prev;

	snprintf(out, len, "%s", keep);
	snprintf(dir, sizeof(dir), "%s", keep);
	for (;;) {
		prev = slash;
		slash = strrchr(dir, '/');
		if (prev)
			*prev = '/';
		if (!slash || slash == dir)
			return;
		*slash = '\0';
		if (realpath(dir, real))
			break;
	}
	if (strlen(real) + strlen(keep + (slash - dir)) + 1 <= len) {
		strcpy(out, real);
		strcat(out, keep + (slash - dir));
	}
}

int app_guard_run(const char *app, const char *keep)
{
	struct guard g = { .app = app, .app_len = strlen(app) };
	char keep_abs[PATH_MAX];
	sigset_t set, old;
	int code;
	pid_t pid;

	while (g.app_len > 1 && app[g.app_len - 1] == '/')
		g.app_len--;
	resolve_keep(keep, keep_abs, sizeof(keep_abs));
	for (int i = 0; i < 2; i++)
		g.out_ok[i] = fstat(i + 1, &g.out[i]) == 0;
	if (!strncmp(keep_abs, app, g.app_len) && keep_abs[g.app_len] == '/')
		g.keep_rel = keep_abs + g.app_len + 1;
	cur = &g;
	if (nftw(app, record_cb, 32, FTW_PHYS) != 0) {
		fprintf(stderr, "cache warm: %s\n",
			g.why[0] ? g.why : "cannot record the app directory");
		guard_free(&g);
		return 1;
	}
	qsort(g.v, g.n, sizeof(*g.v), cmp_entry);

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		guard_free(&g);
		cur = NULL;
		return APP_GUARD_CHILD;
	}
	code = pid < 0 ? 1 : wait_child(pid, &set);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		fprintf(stderr, "cache warm: fork: %s\n", strerror(errno));
	if (restore(&g) < 0) {
		fprintf(stderr, "cache warm: the app directory is not as the build left it: %s\n",
			g.why[0] ? g.why : strerror(errno));
		code = 1;
	} else if (g.removed || g.restored) {
		fprintf(stderr,
			"cache warm: the warm-up's changes to %s undone: %zu added removed, %zu put back\n",
			app, g.removed, g.restored);
	}
	guard_free(&g);
	cur = NULL;
	return code;
}
