// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/operator/harness.h"

extern char **environ;

void harness_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

const char *app_spec(int min_scale)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
		 "{\"image\":\"registry.example/shop@sha256:"
		 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
		 "\"scaling\":{\"minScale\":%d,\"maxScale\":5}}",
		 min_scale);
	return buf;
}

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &sl))
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

int harness_init(struct harness *h, bool dump)
{
	char path[512];
	int r;

	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "/tmp/knext-operator-test.XXXXXX");
	if (!mkdtemp(h->dir))
		return -errno;
	snprintf(path, sizeof(path), "%s/applied", h->dir);
	r = fake_init(&h->fake, dump ? path : NULL);
	if (r)
		return r;
	r = harness_kubeconfig(h, "http", NULL);
	if (r)
		return r;
	h->metrics_port = free_port();
	return h->metrics_port > 0 ? 0 : -EADDRNOTAVAIL;
}

int harness_kubeconfig(struct harness *h, const char *scheme, const char *cluster_extra)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/kubeconfig", h->dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f,
		"apiVersion: v1\nkind: Config\n"
		"clusters:\n- name: fake\n  cluster:\n    server: %s://127.0.0.1:%d/\n%s"
		"users:\n- name: tester\n  user:\n    token: test-token\n"
		"contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: tester\n"
		"current-context: fake\n",
		scheme, h->fake.port, cluster_extra ? cluster_extra : "");
	return fclose(f) ? -errno : 0;
}

int harness_start(struct harness *h, const char *const *extra)
{
	const char *bin = getenv("KNEXT_OPERATOR");
	char kubeconfig[512], log[512], addr[64];
	const char *argv[32];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int n = 0, r;

	if (!bin)
		return -ENOENT;
	snprintf(kubeconfig, sizeof(kubeconfig), "%s/kubeconfig", h->dir);
	snprintf(log, sizeof(log), "%s/operator.log", h->dir);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", h->metrics_port);
	argv[n++] = bin;
	argv[n++] = "--kubeconfig";
	argv[n++] = kubeconfig;
	argv[n++] = "--metrics-addr";
	argv[n++] = addr;
	argv[n++] = "--watch-timeout";
	argv[n++] = "4";
	while (extra && *extra && n < 30)
		argv[n++] = *extra++;
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawnattr_init(&attr);
	/* Its own process group, so the whole tree can be killed on the way out. */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	r = posix_spawn(&h->pid, bin, &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r) {
		h->pid = 0;
		return -r;
	}
	return 0;
}

bool harness_alive(struct harness *h)
{
	int st;

	return h->pid && waitpid(h->pid, &st, WNOHANG) == 0;
}

int harness_stop(struct harness *h, int grace_ms)
{
	int st, waited;

	if (!h->pid)
		return -1;
	kill(h->pid, SIGTERM);
	for (waited = 0; waited < grace_ms; waited += 10) {
		if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
			h->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		harness_sleep_ms(10);
	}
	kill(-h->pid, SIGKILL);
	waitpid(h->pid, &st, 0);
	h->pid = 0;
	return -1;
}

void harness_close(struct harness *h)
{
	char cmd[600];
	int st;

	if (h->pid) {
		kill(-h->pid, SIGKILL);
		waitpid(h->pid, &st, 0);
		h->pid = 0;
	}
	fake_close(&h->fake);
	if (h->dir[0] && !getenv("KNEXT_KEEP_TEST_DIR")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
		if (system(cmd))
			h->dir[0] = '\0';
	}
}

bool harness_wait(bool (*cond)(struct harness *h, void *ud), struct harness *h, void *ud,
		  int timeout_ms)
{
	int waited;

	for (waited = 0; waited <= timeout_ms; waited += 20) {
		if (cond(h, ud))
			return true;
		harness_sleep_ms(20);
	}
	return false;
}

int harness_http_get(struct harness *h, const char *path, char *body, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)h->metrics_port) };
	char req[256], buf[16384];
	size_t used = 0;
	ssize_t n;
	int fd, status = -1;
	char *p;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
	if (write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	while (used < sizeof(buf) - 1 && (n = read(fd, buf + used, sizeof(buf) - 1 - used)) > 0)
		used += (size_t)n;
	close(fd);
	buf[used] = '\0';
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		return -1;
	p = strstr(buf, "\r\n\r\n");
	snprintf(body, len, "%s", p ? p + 4 : "");
	return status;
}
