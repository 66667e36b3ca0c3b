// SPDX-License-Identifier: Apache-2.0
#include "supervisor/uring_guard.h"

#include <errno.h>
#include <liburing.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cachefs/prefetch.h"

/* The app's filter: io_uring_setup fails with ENOSYS, everything else is as it was. */
static int build_filter(struct uring_guard *g)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	struct sock_filter *f = NULL;
	int fd = -1, r;
	off_t len;

	if (!ctx)
		return -ENOMEM;
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_uring_setup), 0);
	if (r < 0)
		goto out;
	/* libseccomp 2.5 exports the program only to a descriptor. */
	fd = memfd_create("knext-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		goto out;
	len = lseek(fd, 0, SEEK_CUR);
	if (len <= 0 || len % sizeof(*f) || len / sizeof(*f) > BPF_MAXINSNS) {
		r = -EINVAL;
		goto out;
	}
	f = malloc(len);
	if (!f) {
		r = -ENOMEM;
		goto out;
	}
	if (pread(fd, f, len, 0) != len) {
		r = -EIO;
		free(f);
		goto out;
	}
	g->prog.filter = f;
	g->prog.len = (unsigned short)(len / sizeof(*f));
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return r;
}

int uring_guard_init(struct uring_guard *g)
{
	struct io_uring_params params;
	int fd, r;

	memset(g, 0, sizeof(*g));
	memset(&params, 0, sizeof(params));
	fd = io_uring_setup(1, &params);
	/* No io_uring at all: libuv and prefetch find that out themselves and fall back. */
	if (fd < 0)
		return 0;
	/* Nothing to submit, nothing to wait for: refused only by a filter (or a kernel policy). */
	r = io_uring_enter(fd, 0, 0, 0, NULL);
	close(fd);
	if (r >= 0)
		return 0;
	g->refused = true;
	snprintf(g->reason, sizeof(g->reason), "io_uring_enter: %s", strerror(-r));
	prefetch_refuse_uring(g->reason);
	return build_filter(g);
}

void uring_guard_close(struct uring_guard *g)
{
	free(g->prog.filter);
	g->prog.filter = NULL;
	g->prog.len = 0;
}
