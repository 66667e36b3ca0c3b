// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "probes/cli.h"
#include "common/defaults.h"
#include "probes/state.h"

#define RESP_MAX 32768

static int64_t now_ms(void)
{
	return (int64_t)(probe_now_ns() / 1000000u);
}

/* Waits for @events on @fd until @deadline; 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - now_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int connect_local(int port, int64_t deadline)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd, r, err = 0;
	socklen_t elen = sizeof(err);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		r = -errno;
		goto err_close;
	}
	r = wait_fd(fd, POLLOUT, deadline);
	if (r < 0)
		goto err_close;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
		r = err ? -err : -errno;
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return r;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			int r;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			r = wait_fd(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until the peer closes (we sent Connection: close) or the buffer is full. */
static ssize_t recv_all(int fd, char *buf, size_t cap, int64_t deadline)
{
	size_t len = 0;

	while (len < cap) {
		ssize_t n = recv(fd, buf + len, cap - len, 0);

		if (n == 0)
			break;
		if (n < 0) {
			int r;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return len ? (ssize_t)len : -errno;
			r = wait_fd(fd, POLLIN, deadline);
			if (r < 0)
				return len ? (ssize_t)len : r;
			continue;
		}
		len += (size_t)n;
	}
	return (ssize_t)len;
}

int probe_cli_request(int port, const char *path, int timeout_ms, char *body, unsigned body_n)
{
	char resp[RESP_MAX + 1];
	char req[256];
	int64_t deadline = now_ms() + timeout_ms;
	const char *hend;
	ssize_t got;
	int fd, n, status, r;

	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: knext-init-probe\r\n"
		     "Connection: close\r\n\r\n",
		     path, port);
	if (n < 0 || (size_t)n >= sizeof(req))
		return -EINVAL;
	fd = connect_local(port, deadline);
	if (fd < 0)
		return fd;
	r = send_all(fd, req, (size_t)n, deadline);
	if (r < 0)
		goto out;
	got = recv_all(fd, resp, RESP_MAX, deadline);
	if (got < 0) {
		r = (int)got;
		goto out;
	}
	resp[got] = '\0';
	if (got < 12 || memcmp(resp, "HTTP/1.", 7) || resp[8] != ' ' ||
	    sscanf(resp + 9, "%3d", &status) != 1) {
		r = -EBADMSG;
		goto out;
	}
	r = status;
	if (body && body_n) {
		hend = strstr(resp, "\r\n\r\n");
		snprintf(body, body_n, "%s", hend ? hend + 4 : "");
	}
out:
	close(fd);
	return r;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: knext-init probe ready|live|startup|metrics [--port N] "
		"[--timeout-ms N]\n"
		"  asks the probe server on 127.0.0.1:$KNEXT_PROBE_PORT (default %d);\n"
		"  exit 0 when it answers 200, 1 otherwise\n",
		KNEXT_DEFAULT_PROBE_PORT);
	return 2;
}

int probe_cli_main(int argc, char **argv, int port)
{
	static char body[RESP_MAX];
	static const struct {
		const char *name, *path;
	} checks[] = { { "ready", KNEXT_DEFAULT_READY_PATH },
		       { "live", KNEXT_DEFAULT_LIVE_PATH },
		       { "startup", KNEXT_DEFAULT_STARTUP_PATH },
		       { "metrics", KNEXT_DEFAULT_METRICS_PATH } };
	const char *path = NULL;
	int timeout = PROBE_CLI_DEFAULT_TIMEOUT_MS, r;

	if (argc < 2)
		return usage();
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (!strcmp(argv[1], checks[i].name))
			path = checks[i].path;
	if (!path)
		return usage();
	if (port < 1 || port > 65535) {
		fprintf(stderr, "probe: %d is not a port (KNEXT_PROBE_PORT)\n", port);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc) {
			if (parse_int(argv[++i], 1, 65535, &port) < 0)
				return usage();
		} else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc) {
			if (parse_int(argv[++i], 1, 3600000, &timeout) < 0)
				return usage();
		} else {
			return usage();
		}
	}

	r = probe_cli_request(port, path, timeout, body, sizeof(body));
	if (r == 200) {
		if (!strcmp(argv[1], "metrics"))
			fputs(body, stdout);
		return 0;
	}
	if (r < 0)
		fprintf(stderr, "probe %s: 127.0.0.1:%d%s: %s\n", argv[1], port, path,
			strerror(-r));
	else
		fprintf(stderr, "probe %s: 127.0.0.1:%d%s answered %d: %.*s\n", argv[1], port, path,
			r, (int)strcspn(body, "\n"), body);
	return 1;
}
