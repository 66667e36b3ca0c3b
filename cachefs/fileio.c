// SPDX-License-Identifier: Apache-2.0
#include "cachefs/fileio.h"

#include <errno.h>
#include <unistd.h>

ssize_t read_upto(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}
