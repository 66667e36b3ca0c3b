// SPDX-License-Identifier: Apache-2.0
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pack.h"
#include "snapshot_build.h"

/* Appends @s to @why as one more name of a list ("a, b"); a full buffer ends with "...". */
static void why_add(char *why, size_t why_len, const char *s, size_t n)
{
	size_t at = strlen(why);

	if (at + n + 6 >= why_len) {
		if (at + 4 < why_len && (at < 3 || strcmp(why + at - 3, "...") != 0))
			strcpy(why + at, "...");
		return;
	}
	if (at > 0 && why[at - 1] != ' ')
		why[at++] = ',', why[at++] = ' ';
	memcpy(why + at, s, n);
	why[at + n] = '\0';
}

/* Whether @raw, escaped as the builder escapes values (\\ and \n), equals @esc (@n bytes). */
static int escaped_equal(const char *raw, const char *esc, size_t n)
{
	size_t i = 0;

	for (; *raw; raw++) {
		if (*raw == '\\' || *raw == '\n') {
			if (i + 2 > n || esc[i] != '\\' || esc[i + 1] != (*raw == '\\' ? '\\' : 'n'))
				return 0;
			i += 2;
		} else {
			if (i >= n || esc[i] != *raw)
				return 0;
			i++;
		}
	}
	return i == n;
}

/* One environment line of the record: "env NAME=VALUE" or "unset NAME". 1 when the process's
 * environment agrees, 0 when not (the name goes to @why), -1 for a malformed line. */
static int env_line_ok(const char *line, size_t n, int set, char *why, size_t why_len)
{
	char name[256];
	const char *eq = set ? memchr(line, '=', n) : line + n, *have;
	size_t name_len = (size_t)(eq ? eq - line : 0);
	int same;

	if (!eq || name_len == 0 || name_len >= sizeof(name) || memchr(line, '\\', name_len))
		return -1;
	memcpy(name, line, name_len);
	name[name_len] = '\0';
	have = getenv(name);
	if (set)
		same = have && escaped_equal(have, eq + 1, n - name_len - 1);
	else
		same = !have;
	if (!same)
		why_add(why, why_len, name, name_len);
	return same;
}

int snapshot_env_check(const char *rec, size_t len, const char *app, const char *exe, char *why,
		       size_t why_len)
{
	char names[512] = "";
	const char *p = rec, *end = rec + len;
	int version = 0, app_ok = 0, exe_ok = exe == NULL;
	long long size = -1, mtime = -1;
	struct stat st;

	why[0] = '\0';
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *sp;
		size_t n = (size_t)((nl ? nl : end) - p), klen;

		sp = memchr(p, ' ', n);
		if (!sp)
			goto bad;
		klen = (size_t)(sp - p);
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(p, k, sizeof(k) - 1) == 0)
		n -= klen + 1;
		sp++;
		if (KEY("knext-snapshot")) {
			version = n == 1 && *sp == '1';
		} else if (KEY("app")) {
			app_ok = escaped_equal(app, sp, n);
		} else if (KEY("exe")) {
			exe_ok = exe == NULL || escaped_equal(exe, sp, n);
		} else if (KEY("exe-size")) {
			size = strtoll(sp, NULL, 10);
		} else if (KEY("exe-mtime-ns")) {
			mtime = strtoll(sp, NULL, 10);
		} else if (KEY("env") || KEY("unset")) {
			if (env_line_ok(sp, n, KEY("env"), names, sizeof(names)) < 0)
				goto bad;
		}
#undef KEY
		p = nl ? nl + 1 : end;
	}
	if (!version)
		goto bad;
	if (!app_ok) {
		snprintf(why, why_len, "made for another app directory than %s", app);
		return -ESTALE;
	}
	if (exe && exe_ok &&
	    (stat(exe, &st) < 0 || st.st_size != size ||
	     (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec != mtime))
		exe_ok = 0;
	if (!exe_ok) {
		snprintf(why, why_len, "made by another runtime than %s", exe);
		return -ESTALE;
	}
	if (names[0]) {
		snprintf(why, why_len, "the environment differs in %s", names);
		return -ESTALE;
	}
	return 0;
bad:
	snprintf(why, why_len, "unreadable snapshot record");
	return -EBADMSG;
}

/* The script of `node [OPTIONS] SCRIPT [ARGS]`; NULL when node runs anything else (-e, -p, the
 * REPL, the test runner...), which a snapshot of a server is not for. */
static const char *node_script(char *const *cmd)
{
	static const char *const with_value[] = { "-r", "--require", "--import", "--loader",
						  "--experimental-loader", "--conditions", "-C",
						  "--title", NULL };
	static const char *const not_a_server[] = { "-e", "--eval", "-p", "--print", "-i",
						    "--interactive", "-c", "--check", "--test",
						    "--run", "--snapshot-blob", "--build-snapshot",
						    "-", NULL };

	for (int i = 1; cmd[i]; i++) {
		const char *a = cmd[i];

		for (int j = 0; not_a_server[j]; j++)
			if (strcmp(a, not_a_server[j]) == 0)
				return NULL;
		if (a[0] != '-')
			return a;
		if (strcmp(a, "--") == 0)
			return cmd[i + 1];
		for (int j = 0; with_value[j]; j++)
			if (strcmp(a, with_value[j]) == 0 && cmd[++i] == NULL)
				return NULL;
	}
	return NULL;
}

/* The blob into a fresh memfd, at offset 0 as node reads it. */
static int blob_memfd(const uint8_t *blob, size_t len)
{
	int fd = memfd_create("knext-snapshot", MFD_ALLOW_SEALING);
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, blob + done, len - done);

		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		done += (size_t)n;
	}
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	return fd;
}

static void log_unused(const char *why)
{
	char buf[700];

	log_event(LOG_WARN, "snapshot", "\"used\":false,\"reason\":%s",
		  log_json_str(buf, sizeof(buf), why));
}

int snapshot_exec_prepare(struct snapshot_exec *s, const char *pack, char *const *cmd)
{
	char exe[PATH_MAX], script[PATH_MAX], why[600];
	struct pack_entry blob_e, env_e;
	uint8_t *rec = NULL, *blob = NULL;
	const char *name, *arg, *slash;
	struct pack p;
	int used = 0, n = 0, r;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (!pack || !*pack || !cmd || !cmd[0])
		return 0;
	memset(&p, 0, sizeof(p));
	if (pack_open(&p, pack) < 0)
		goto out;
	if (pack_find(&p, PACK_KIND_SNAPSHOT_BLOB, SNAPSHOT_BLOB_PATH, strlen(SNAPSHOT_BLOB_PATH),
		      SNAPSHOT_CONTENT_HASH, &blob_e) < 0 ||
	    pack_find(&p, PACK_KIND_SNAPSHOT_ENV, SNAPSHOT_ENV_PATH, strlen(SNAPSHOT_ENV_PATH),
		      SNAPSHOT_CONTENT_HASH, &env_e) < 0)
		goto out; /* a pack without a snapshot: nothing to say */
	name = (slash = strrchr(cmd[0], '/')) ? slash + 1 : cmd[0];
	arg = node_script(cmd);
	if (strncmp(name, "node", 4) != 0 || !arg) {
		log_unused("the command is not node running a script");
		goto out;
	}
	if (snapshot_find_exe(cmd[0], exe) < 0 || !realpath(arg, script)) {
		log_unused("the command's node or script was not found");
		goto out;
	}
	*strrchr(script, '/') = '\0';
	if (pack_entry_data(&p, &env_e, &rec) < 0) {
		log_unused(p.reason);
		goto out;
	}
	if (snapshot_env_check((const char *)rec, env_e.raw_size, script, exe, why, sizeof(why)) < 0) {
		log_unused(why);
		goto out;
	}
	if ((r = pack_entry_data(&p, &blob_e, &blob)) < 0 ||
	    (r = s->fd = blob_memfd(blob, blob_e.raw_size)) < 0) {
		log_unused(r == -EBADMSG ? p.reason : strerror(-r));
		s->fd = -1;
		goto out;
	}
	snprintf(s->fd_arg, sizeof(s->fd_arg), "/proc/self/fd/%d", s->fd);
	s->argv[n++] = cmd[0];
	s->argv[n++] = "--snapshot-blob";
	s->argv[n++] = s->fd_arg;
	s->argv[n++] = "--no-experimental-require-module";
	for (int i = 1; cmd[i] && n < SNAPSHOT_MAX_ARGS - 1; i++)
		s->argv[n++] = cmd[i];
	s->argv[n] = NULL;
	used = 1;
	log_event(LOG_INFO, "snapshot", "\"used\":true,\"bytes\":%u", blob_e.raw_size);
out:
	free(rec);
	free(blob);
	pack_close(&p);
	return used;
}

void snapshot_exec_close(struct snapshot_exec *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
