// SPDX-License-Identifier: Apache-2.0
#include "supervisor/reap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor/log.h"

int reap_children(struct reaper *r)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid == 0)
			return 0;
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			return errno == ECHILD ? 1 : -errno;
		}
		r->reaped++;
		if (pid == r->main_pid) {
			r->main_status = status;
			r->main_done = true;
		} else if (r->warn) {
			log_event(LOG_WARN, "reaped",
				  "\"pid\":%d,\"msg\":\"Reaped zombie process with pid=%d\"", pid,
				  pid);
		} else {
			log_event(LOG_DEBUG, "reaped", "\"pid\":%d", pid);
		}
	}
}

struct proc {
	pid_t pid, ppid, pgid;
};

/* Fields 4 and 5 of /proc/PID/stat, after the parenthesised command that may hold anything. */
static int read_stat(pid_t pid, struct proc *p)
{
	char path[64], buf[512];
	const char *s;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	s = strrchr(buf, ')');
	if (!s || sscanf(s + 1, " %*c %d %d", &p->ppid, &p->pgid) != 2)
		return -EIO;
	p->pid = pid;
	return 0;
}

static int load_procs(struct proc **out, size_t *count)
{
	struct proc *v = NULL, *nv;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		struct proc p;

		if (*end || pid <= 0 || read_stat((pid_t)pid, &p) < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = p;
	}
	closedir(d);
	*out = v;
	*count = n;
	return 0;
}

int reap_signal_descendants(int sig, pid_t skip, pid_t skip_pg)
{
	struct proc *procs = NULL;
	size_t n = 0, i;
	bool changed = true;
	char *mine;
	int r, sent = 0;
	pid_t self = getpid();

	if ((r = load_procs(&procs, &n)) < 0)
		return r;
	mine = calloc(n ? n : 1, 1);
	if (!mine) {
		free(procs);
		return -ENOMEM;
	}
	/* Transitive closure over parent links; the process table is small, so O(n^2) is fine. */
	while (changed) {
		changed = false;
		for (i = 0; i < n; i++) {
			if (mine[i])
				continue;
			if (procs[i].ppid == self) {
				mine[i] = 1;
				changed = true;
				continue;
			}
			for (size_t j = 0; j < n; j++)
				if (mine[j] && procs[j].pid == procs[i].ppid) {
					mine[i] = 1;
					changed = true;
					break;
				}
		}
	}
	for (i = 0; i < n; i++) {
		if (!mine[i] || procs[i].pid == skip || (skip_pg && procs[i].pgid == skip_pg))
			continue;
		if (kill(procs[i].pid, sig) == 0)
			sent++;
	}
	free(mine);
	free(procs);
	return sent;
}
