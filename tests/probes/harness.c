// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/probes/harness.h"

struct harness H;

static pthread_t thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static void (*call_fn)(void *);
static void *call_arg;
static int call_done;

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void figure(const char *fmt, ...)
{
	const char *path = getenv("PROBE_FIGURES");
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (path && *path) {
		FILE *f = fopen(path, "a");

		if (f) {
			va_start(ap, fmt);
			vfprintf(f, fmt, ap);
			va_end(ap);
			fclose(f);
		}
	}
}

double ms_since(uint64_t t0)
{
	return (double)(now_ns() - t0) / 1e6;
}

int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int raise_nofile(unsigned long n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_cur >= n)
		return 0;
	if (rl.rlim_max < n)
		rl.rlim_max = n; /* needs CAP_SYS_RESOURCE; fails visibly otherwise */
	rl.rlim_cur = n;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

static void async_cb(uv_async_t *a)
{
	pthread_mutex_lock(&mu);
	if (call_fn && !call_done) {
		call_fn(call_arg);
		call_done = 1;
		pthread_cond_broadcast(&cv);
	}
	pthread_mutex_unlock(&mu);
}

static void *loop_main(void *arg)
{
	(void)arg;
	uv_run(&H.loop, UV_RUN_DEFAULT);
	return NULL;
}

void harness_start(const struct probe_server_opts *opts)
{
	struct probe_server_opts o = { .host = "127.0.0.1" };
	int r;

	if (opts)
		o = *opts;
	if (!o.host)
		o.host = "127.0.0.1";
	signal(SIGPIPE, SIG_IGN); /* the server's contract: see server.h */
	memset(&H, 0, sizeof(H));
	cr_assert_eq(uv_loop_init(&H.loop), 0);
	cr_assert_eq(probe_state_init(&H.st, 0, 1000, 10000), 0);
	r = probe_server_init_opts(&H.srv, &H.loop, &H.st, &o);
	cr_assert_eq(r, 0, "probe_server_init: %s", H.srv.why);
	H.port = H.srv.port;
	cr_assert_eq(uv_async_init(&H.loop, &H.async, async_cb), 0);
	cr_assert_eq(pthread_create(&thread, NULL, loop_main, NULL), 0);
}

void harness_call(void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&mu);
	call_fn = fn;
	call_arg = arg;
	call_done = 0;
	uv_async_send(&H.async);
	while (!call_done)
		pthread_cond_wait(&cv, &mu);
	call_fn = NULL;
	pthread_mutex_unlock(&mu);
}

static int server_closed;

static void closed_cb(struct probe_server *s)
{
	(void)s;
	server_closed = 1;
}

static void do_stop(void *arg)
{
	(void)arg;
	probe_server_close(&H.srv, closed_cb);
	uv_close((uv_handle_t *)&H.async, NULL);
}

void harness_stop(void)
{
	harness_call(do_stop, NULL);
	pthread_join(thread, NULL);
	cr_assert(server_closed, "server close callback ran");
	cr_assert_eq(uv_loop_close(&H.loop), 0, "every handle closed");
}

void h_set_alive(void *arg)
{
	(void)arg;
	probe_state_set_child_alive(&H.st, true, uv_hrtime());
}

void h_set_ready(void *arg)
{
	(void)arg;
	probe_state_set_ready(&H.st, true, uv_hrtime());
}

void h_set_drain(void *arg)
{
	(void)arg;
	probe_state_set_draining(&H.st);
}

void h_heartbeat(void *arg)
{
	(void)arg;
	probe_state_heartbeat(&H.st, uv_hrtime());
}

void h_child_exit(void *arg)
{
	(void)arg;
	probe_state_set_child_exit(&H.st, 0);
}

int client_connect(int port, int timeout_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
		     strerror(errno));
	return fd;
}

void client_send(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		cr_assert_gt(n, 0, "send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* Reads byte-wise up to the end of the head, then exactly Content-Length bytes. */
int client_response(int fd, char *out, size_t n, int head_only)
{
	size_t len = 0, clen = 0;
	const char *cl;
	int status;

	while (len + 1 < n) {
		ssize_t r = recv(fd, out + len, 1, 0);

		if (r <= 0)
			return -1;
		len++;
		if (len >= 4 && !memcmp(out + len - 4, "\r\n\r\n", 4))
			break;
	}
	out[len] = '\0';
	if (sscanf(out, "HTTP/1.1 %d", &status) != 1)
		return -1;
	cl = strcasestr(out, "\r\nContent-Length: ");
	if (cl)
		clen = strtoul(cl + 18, NULL, 10);
	if (head_only)
		clen = 0;
	while (clen && len + 1 < n) {
		ssize_t r = recv(fd, out + len, clen < n - len - 1 ? clen : n - len - 1, 0);

		if (r <= 0)
			return -1;
		len += (size_t)r;
		clen -= (size_t)r;
	}
	out[len] = '\0';
	return status;
}

ssize_t client_drain(int fd, char *out, size_t n)
{
	size_t len = 0;

	while (len + 1 < n) {
		ssize_t r = recv(fd, out + len, n - len - 1, 0);

		if (r == 0)
			break;
		if (r < 0)
			return errno == ECONNRESET ? (ssize_t)len : -1;
		len += (size_t)r;
	}
	out[len] = '\0';
	return (ssize_t)len;
}

int client_get(int port, const char *path, char *body, size_t n)
{
	char req[256], resp[32768];
	int fd = client_connect(port, 2000), status;
	const char *b;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
	client_send(fd, req, strlen(req));
	status = client_response(fd, resp, sizeof(resp), 0);
	close(fd);
	if (body && n) {
		b = strstr(resp, "\r\n\r\n");
		snprintf(body, n, "%s", b ? b + 4 : "");
	}
	return status;
}
