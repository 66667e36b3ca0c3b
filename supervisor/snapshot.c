// SPDX-License-Identifier: Apache-2.0
#include "supervisor/snapshot.h"

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

#include "supervisor/log.h"
#include "cachefs/pack.h"
#include "supervisor/snapshot_build.h"

/* The script of `node [OPTIONS] SCRIPT [ARGS]`; NULL when node runs anything else (-e, -p, the
 * REPL, the test runner...), which a snapshot of a server is not for. */
static const char *node_script(char *const *cmd)
{
	static const char *const with_value[] = {
		"-r",		"--require", "--import", "--loader", "--experimental-loader",
		"--conditions", "-C",	     "--title",	 NULL
	};
	static const char *const not_a_server[] = { "-e",
						    "--eval",
						    "-p",
						    "--print",
						    "-i",
						    "--interactive",
						    "-c",
						    "--check",
						    "--test",
						    "--run",
						    "--snapshot-blob",
						    "--build-snapshot",
						    "-",
						    NULL };

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

/* The first entry of @kind, whatever its content hash (the blob's names the runtime that made it;
 * in exec mode the record's exe line checks that). */
static int find_kind(const struct pack *p, uint32_t kind, struct pack_entry *e)
{
	for (uint32_t i = 0; i < p->entry_count; i++)
		if (pack_entry_get(p, i, e) == 0 && e->kind == kind)
			return 0;
	return -ENOENT;
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
	if (find_kind(&p, PACK_KIND_SNAPSHOT_BLOB, &blob_e) < 0 ||
	    pack_find(&p, PACK_KIND_SNAPSHOT_ENV, SNAPSHOT_ENV_PATH, strlen(SNAPSHOT_ENV_PATH),
		      SNAPSHOT_ENV_HASH, &env_e) < 0)
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
	if (snapshot_env_check((const char *)rec, env_e.raw_size, script, exe, why, sizeof(why)) <
	    0) {
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
