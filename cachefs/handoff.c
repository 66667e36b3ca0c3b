// SPDX-License-Identifier: Apache-2.0
/*
 * Both ends of the pack's hand-off (handoff.h).
 */
#include "cachefs/handoff.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int pack_handoff_send(int sock, int memfd, const char *reason)
{
	char text[512], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = text };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	int k;

	if (memfd >= 0)
		k = snprintf(text, sizeof(text), "X_KNEXT_PACK=1");
	else
		k = snprintf(text, sizeof(text), "X_KNEXT_PACK=0\nSTATUS=%s",
			     reason && *reason ? reason : "no pack");
	if (k < 0 || (size_t)k >= sizeof(text))
		return -EMSGSIZE;
	iov.iov_len = (size_t)k;
	if (memfd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &memfd, sizeof(int));
	}
	if (sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

int pack_handoff_recv(int sock, int timeout_ms, int *memfd, char *text, size_t n)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = text, .iov_len = n - 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	struct cmsghdr *c;
	ssize_t got;
	int r, err;

	*memfd = -1;
	text[0] = '\0';
	r = poll(&pfd, 1, timeout_ms);
	if (r < 0) {
		err = -errno;
		snprintf(text, n, "poll: %s", strerror(-err));
		return err;
	}
	if (r == 0) {
		snprintf(text, n, "no word from knext-init within %d ms", timeout_ms);
		return -ETIMEDOUT;
	}
	got = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (got < 0) {
		err = -errno;
		snprintf(text, n, "recvmsg: %s", strerror(-err));
		return err;
	}
	text[got] = '\0';
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		/* Only one descriptor is ever sent; any other is closed, never leaked. */
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*memfd < 0)
				*memfd = fd;
			else
				close(fd);
		}
	}
	return 0;
}
