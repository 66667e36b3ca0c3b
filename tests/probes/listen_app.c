// SPDX-License-Identifier: Apache-2.0
/*
 * listen-app FILE DELAY_MS [notify]: the smallest app for ready-latency. Waits DELAY_MS, listens
 * on 0.0.0.0:$PORT, writes the CLOCK_MONOTONIC time of the listen (ns) to FILE, says READY=1 to
 * $NOTIFY_SOCKET when asked to, then waits for a signal.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	else
		len++;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sa, len);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *port = getenv("PORT");
	struct timespec ts;
	char line[32];
	int fd, out, one = 1, n;

	if (argc < 3 || !port)
		return 2;
	usleep((useconds_t)atoi(argv[2]) * 1000);
	sa.sin_port = htons((uint16_t)atoi(port));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (argc > 3 && !strcmp(argv[3], "notify"))
		notify_ready();
	n = snprintf(line, sizeof(line), "%llu\n",
		     (unsigned long long)ts.tv_sec * 1000000000ull +
			     (unsigned long long)ts.tv_nsec);
	out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0 || write(out, line, (size_t)n) != n)
		return 1;
	close(out);
	pause();
	return 0;
}
