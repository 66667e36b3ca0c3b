// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "probes/notify.h"

static bool is_key_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Checks one line; on success *eq is the offset of '='. */
static int check_line(const char *s, size_t n, size_t *eq)
{
	size_t i = 0;

	while (i < n && is_key_char((unsigned char)s[i]))
		i++;
	if (i == 0 || i > NOTIFY_MAX_KEY || i == n || s[i] != '=')
		return -EBADMSG;
	*eq = i;
	for (i++; i < n; i++)
		if (!is_value_char((unsigned char)s[i]))
			return -EBADMSG;
	return 0;
}

int notify_parse(const char *buf, size_t len, notify_kv_cb cb, void *opaque)
{
	size_t pos, eq;
	int lines = 0;

	if (len == 0 || len > NOTIFY_MAX_DATAGRAM)
		return -EMSGSIZE;
	/* One trailing LF ends the last line; anything else empty is malformed. */
	if (buf[len - 1] == '\n')
		len--;
	/* Pass 1 validates everything, so a datagram is applied whole or not at all. */
	for (int pass = 0; pass < 2; pass++) {
		lines = 0;
		pos = 0;
		while (pos <= len) {
			const char *nl = memchr(buf + pos, '\n', len - pos);
			size_t end = nl ? (size_t)(nl - buf) : len;
			int r = check_line(buf + pos, end - pos, &eq);

			if (r < 0)
				return r;
			lines++;
			if (pass == 1 && cb) {
				r = cb(buf + pos, eq, buf + pos + eq + 1, end - pos - eq - 1,
				       opaque);
				if (r < 0)
					return r;
			}
			pos = end + 1;
		}
	}
	return lines;
}

static bool val_is(const char *v, size_t n, const char *lit)
{
	return strlen(lit) == n && !memcmp(v, lit, n);
}

/* Strict decimal, no sign, no leading junk, fits in 64 bits. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* "hit=N miss=N rejected=N bytes=N": all four, this order, single spaces. */
static int parse_cache(const char *v, size_t n, struct notify_event *ev)
{
	static const char *const names[] = { "hit", "miss", "rejected", "bytes" };
	uint64_t *dst[] = { &ev->hit, &ev->miss, &ev->rejected, &ev->bytes };
	size_t pos = 0;

	for (size_t k = 0; k < 4; k++) {
		size_t nl = strlen(names[k]), end;

		if (k > 0) {
			if (pos >= n || v[pos] != ' ')
				return -EINVAL;
			pos++;
		}
		if (n - pos < nl + 1 || memcmp(v + pos, names[k], nl) || v[pos + nl] != '=')
			return -EINVAL;
		pos += nl + 1;
		end = pos;
		while (end < n && v[end] != ' ')
			end++;
		if (parse_u64(v + pos, end - pos, dst[k]) < 0)
			return -EINVAL;
		pos = end;
	}
	return pos == n ? 0 : -EINVAL;
}

struct apply_ctx {
	struct probe_state *st;
	uint64_t now_ns;
	notify_event_cb cb;
	struct notify_server *n;
	bool dry_run;
};

static void emit(struct apply_ctx *c, struct notify_event *ev)
{
	ev->at_ns = c->now_ns;
	if (c->cb)
		c->cb(c->n, ev);
}

/*
 * Runs twice per datagram: a dry run that checks the values of the keys we know, then the real
 * one, so that a bad value anywhere leaves the state untouched.
 */
static int apply_kv_cb(const char *k, size_t kl, const char *v, size_t vl, void *opaque)
{
	struct apply_ctx *c = opaque;
	struct notify_event ev = { 0 };

	if (val_is(k, kl, "READY")) {
		if (!val_is(v, vl, "1"))
			return -EINVAL;
		if (c->dry_run)
			return 0;
		probe_state_set_ready(c->st, true, c->now_ns);
		ev.type = NOTIFY_EV_READY;
	} else if (val_is(k, kl, "STOPPING")) {
		if (!val_is(v, vl, "1"))
			return -EINVAL;
		if (c->dry_run)
			return 0;
		probe_state_set_draining(c->st);
		ev.type = NOTIFY_EV_STOPPING;
	} else if (val_is(k, kl, "WATCHDOG")) {
		if (!val_is(v, vl, "1"))
			return -EINVAL;
		if (c->dry_run)
			return 0;
		probe_state_heartbeat(c->st, c->now_ns);
		ev.type = NOTIFY_EV_WATCHDOG;
	} else if (val_is(k, kl, "STATUS")) {
		if (c->dry_run)
			return 0;
		ev.type = NOTIFY_EV_STATUS;
		ev.text = v;
		ev.text_len = vl;
	} else if (val_is(k, kl, "X_KNEXT_PHASE")) {
		int ph = probe_phase_from_name(v, vl);

		if (ph < 0)
			return -EINVAL;
		if (c->dry_run)
			return 0;
		/* A repeated phase keeps its first time, and is not reported twice. */
		if (probe_state_mark_phase(c->st, ph, c->now_ns) < 0)
			return 0;
		ev.type = NOTIFY_EV_PHASE;
		ev.phase = ph;
	} else if (val_is(k, kl, "X_KNEXT_SNAPSHOT")) {
		if (c->dry_run)
			return 0;
		ev.type = NOTIFY_EV_SNAPSHOT;
		ev.text = v;
		ev.text_len = vl;
	} else if (val_is(k, kl, "X_KNEXT_CACHE")) {
		if (parse_cache(v, vl, &ev) < 0)
			return -EINVAL;
		if (c->dry_run)
			return 0;
		probe_state_cache(c->st, ev.hit, ev.miss, ev.rejected, ev.bytes);
		ev.type = NOTIFY_EV_CACHE;
	} else if (val_is(k, kl, "X_KNEXT_WRITEBACK")) {
		size_t w = 0;

		while (w < vl && v[w] != ' ')
			w++;
		if (val_is(v, w, "written"))
			ev.err = 0;
		else if (val_is(v, w, "busy"))
			ev.err = -EBUSY;
		else if (val_is(v, w, "failed"))
			ev.err = -EIO;
		else
			return -EINVAL;
		if (c->dry_run)
			return 0;
		ev.type = NOTIFY_EV_WRITEBACK;
		ev.text = w < vl ? v + w + 1 : v + vl;
		ev.text_len = w < vl ? vl - w - 1 : 0;
	} else {
		return 0; /* MAINPID=, ERRNO=, ...: sd_notify says ignore what you don't know */
	}
	emit(c, &ev);
	return 0;
}

int notify_apply(struct probe_state *st, const char *buf, size_t len, uint64_t now_ns,
		 notify_event_cb cb, struct notify_server *n)
{
	struct apply_ctx c = { .st = st, .now_ns = now_ns, .cb = cb, .n = n, .dry_run = true };
	int r = notify_parse(buf, len, apply_kv_cb, &c);

	if (r >= 0) {
		c.dry_run = false;
		r = notify_parse(buf, len, apply_kv_cb, &c);
	}
	if (r < 0) {
		struct notify_event ev = { .type = NOTIFY_EV_INVALID, .err = r };

		ev.text = r == -EMSGSIZE ? "datagram empty or too long" :
			  r == -EBADMSG	 ? "malformed KEY=VALUE line" :
					   "bad value for a known key";
		ev.text_len = strlen(ev.text);
		emit(&c, &ev);
	}
	return r;
}

/* Descriptors passed along (sd_notify FDSTORE=1) would leak into PID 1: close them. */
static void close_passed_fds(struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)CMSG_DATA(cm);

		for (size_t i = 0; i < nfd; i++) {
			int fd;

			memcpy(&fd, &fds[i], sizeof(fd));
			close(fd);
		}
	}
}

static void read_pending(struct notify_server *n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctl;

	for (int i = 0; i < NOTIFY_BATCH; i++) {
		struct iovec iov = { .iov_base = n->buf, .iov_len = sizeof(n->buf) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		ssize_t got = recvmsg(n->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);

		if (got < 0)
			return; /* EAGAIN: drained; anything else: nothing we can do here */
		close_passed_fds(&mh);
		n->received++;
		if ((size_t)got > NOTIFY_MAX_DATAGRAM || (mh.msg_flags & MSG_TRUNC)) {
			struct notify_event ev = { .type = NOTIFY_EV_INVALID, .err = -EMSGSIZE };

			n->rejected++;
			ev.at_ns = probe_now_ns();
			ev.text = "datagram too long";
			ev.text_len = strlen(ev.text);
			if (n->cb)
				n->cb(n, &ev);
			continue;
		}
		if (notify_apply(n->st, n->buf, (size_t)got, probe_now_ns(), n->cb, n) < 0)
			n->rejected++;
	}
}

static void notify_poll_cb(uv_poll_t *h, int status, int events)
{
	(void)events;
	if (status < 0) {
		uv_poll_stop(h); /* a broken socket would report the same error on every turn */
		return;
	}
	read_pending(h->data);
}

void notify_server_drain(struct notify_server *n)
{
	if (n->active)
		read_pending(n);
}

static int start_poll(struct notify_server *n)
{
	int r = uv_poll_init(n->loop, &n->poll, n->fd);

	if (r < 0)
		return r;
	n->poll.data = n;
	n->active = true;
	r = uv_poll_start(&n->poll, UV_READABLE, notify_poll_cb);
	if (r < 0) {
		notify_server_close(n);
		return r;
	}
	return 0;
}

static void setup(struct notify_server *n, uv_loop_t *loop, struct probe_state *st,
		  notify_event_cb cb)
{
	memset(n, 0, offsetof(struct notify_server, buf));
	n->loop = loop;
	n->st = st;
	n->cb = cb;
	n->fd = -1;
}

int notify_server_init(struct notify_server *n, uv_loop_t *loop, int fd, struct probe_state *st,
		       notify_event_cb cb)
{
	int fl;

	setup(n, loop, st, cb);
	if (fd < 0 || !loop || !st)
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	n->fd = fd;
	return start_poll(n);
}

int notify_server_bind(struct notify_server *n, uv_loop_t *loop, const char *path,
		       struct probe_state *st, notify_event_cb cb)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t plen = path ? strlen(path) : 0;
	socklen_t salen;
	struct stat sb;
	int fd, r;

	setup(n, loop, st, cb);
	if (!plen || !loop || !st)
		return -EINVAL;
	if (plen >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, plen);
	if (path[0] == '@') {
		sa.sun_path[0] = '\0'; /* abstract namespace: no file, gone with the socket */
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	} else {
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1);
		/* A socket left by an earlier run would make bind() fail; other files are kept. */
		if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
			unlink(path);
	}

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, salen) < 0) {
		r = -errno;
		goto err_close;
	}
	n->fd = fd;
	n->owns_fd = true;
	if (path[0] != '@')
		memcpy(n->path, path, plen + 1);
	return start_poll(n);

err_close:
	close(fd);
	return r;
}

static void notify_closed_cb(uv_handle_t *h)
{
	(void)h;
}

void notify_server_close(struct notify_server *n)
{
	if (n->active) {
		uv_poll_stop(&n->poll);
		uv_close((uv_handle_t *)&n->poll, notify_closed_cb);
		n->active = false;
	}
	if (n->owns_fd && n->fd >= 0) {
		close(n->fd);
		n->fd = -1;
		n->owns_fd = false;
	}
	if (n->path[0]) {
		unlink(n->path);
		n->path[0] = '\0';
	}
}
