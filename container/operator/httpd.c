// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "container/operator/httpd.h"

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

static void write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Reads one request head (a second at most), answers it, closes. */
static void serve(struct httpd *h, int fd)
{
	char req[2048], path[512], method[16], head[256], *body = NULL;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t used = 0;
	ssize_t n;
	int status;

	while (used < sizeof(req) - 1 && poll(&p, 1, 1000) == 1) {
		n = read(fd, req + used, sizeof(req) - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
		req[used] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[used] = '\0';
	if (sscanf(req, "%15s %511s", method, path) != 2)
		goto out;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		status = 405;
	else
		status = h->handler(h->ud, path, &body);
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		     status, status_text(status), body ? strlen(body) : 0);
	write_all(fd, head, (size_t)n);
	if (body && strcmp(method, "HEAD"))
		write_all(fd, body, strlen(body));
out:
	free(body);
	close(fd);
}

static void *httpd_main(void *arg)
{
	struct httpd *h = arg;
	struct pollfd p[2] = { { .fd = h->fd, .events = POLLIN },
			       { .fd = h->wake[0], .events = POLLIN } };
	int fd;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			serve(h, fd);
	}
	return NULL;
}

int httpd_init(struct httpd *h, const char *addr, httpd_handler_fn handler, void *ud)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char host[64];
	const char *colon = strrchr(addr, ':');
	int one = 1, r;
	long port;
	char *end;

	memset(h, 0, sizeof(*h));
	h->fd = h->wake[0] = h->wake[1] = -1;
	h->handler = handler;
	h->ud = ud;
	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -EINVAL;
	if (!*host || !strcmp(host, "0.0.0.0"))
		sa.sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	sa.sin_port = htons((uint16_t)port);

	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->fd < 0)
		return -errno;
	setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(h->fd, 64) ||
	    getsockname(h->fd, (struct sockaddr *)&sa, &sl) || pipe2(h->wake, O_CLOEXEC)) {
		r = -errno;
		goto err;
	}
	h->port = ntohs(sa.sin_port);
	r = -pthread_create(&h->thread, NULL, httpd_main, h);
	if (r)
		goto err;
	h->running = 1;
	return 0;
err:
	httpd_close(h);
	return r;
}

void httpd_close(struct httpd *h)
{
	if (h->running) {
		write_all(h->wake[1], "x", 1);
		pthread_join(h->thread, NULL);
		h->running = 0;
	}
	if (h->fd >= 0)
		close(h->fd);
	if (h->wake[0] >= 0)
		close(h->wake[0]);
	if (h->wake[1] >= 0)
		close(h->wake[1]);
	h->fd = h->wake[0] = h->wake[1] = -1;
}
