// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probes/listenwatch.h"

#define TCP_LISTEN_STATE 0x0A
/* A row of /proc/net/tcp6 is ~150 bytes; the kernel never splits one. */
#define LINE_MAX_LEN 512

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static const char *skip_spaces(const char *p, const char *end)
{
	while (p < end && *p == ' ')
		p++;
	return p;
}

static const char *skip_field(const char *p, const char *end)
{
	while (p < end && *p != ' ')
		p++;
	return p;
}

/* "   0: 00000000:1F90 00000000:0000 0A ..." -> local port and state, or -1. */
static int parse_row(const char *p, const char *end, int *port, int *state)
{
	const char *f, *colon;
	int v = 0;

	p = skip_field(skip_spaces(p, end), end); /* "sl:" */
	f = skip_spaces(p, end);
	p = skip_field(f, end); /* local address */
	colon = memchr(f, ':', (size_t)(p - f));
	if (!colon || p - colon != 5)
		return -1;
	for (const char *c = colon + 1; c < p; c++) {
		int h = hexval(*c);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	*port = v;
	p = skip_field(skip_spaces(p, end), end); /* remote address */
	f = skip_spaces(p, end);
	if (end - f < 2 || hexval(f[0]) < 0 || hexval(f[1]) < 0)
		return -1;
	*state = hexval(f[0]) * 16 + hexval(f[1]);
	return 0;
}

int listenwatch_scan_buf(const char *buf, size_t len, int port)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		int lport, state;

		if (parse_row(p, le, &lport, &state) == 0 && lport == port &&
		    state == TCP_LISTEN_STATE)
			return 1;
		p = le + 1;
	}
	return 0;
}

int listenwatch_scan_file(const char *path, int port)
{
	char buf[8192];
	size_t have = 0;
	int fd, found = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t got = read(fd, buf + have, sizeof(buf) - have);
		const char *last_nl;
		size_t whole;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			found = -errno;
			break;
		}
		have += (size_t)got;
		if (got == 0) {
			found = listenwatch_scan_buf(buf, have, port);
			break;
		}
		last_nl = memrchr(buf, '\n', have);
		if (!last_nl) {
			if (have > LINE_MAX_LEN)
				have = 0; /* not a table we understand: drop the junk */
			continue;
		}
		whole = (size_t)(last_nl - buf) + 1;
		if (listenwatch_scan_buf(buf, whole, port)) {
			found = 1;
			break;
		}
		memmove(buf, buf + whole, have - whole);
		have -= whole;
	}
	close(fd);
	return found;
}

/* Reads one family's dump; 1 found, 0 not, -errno. */
static int diag_read(int fd, int port)
{
	union {
		char buf[8192];
		struct nlmsghdr align;
	} u;
	int found = 0;

	for (;;) {
		ssize_t n = recv(fd, u.buf, sizeof(u.buf), MSG_DONTWAIT);
		struct nlmsghdr *h;
		int len;

		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		len = (int)n;
		for (h = &u.align; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			struct inet_diag_msg *m;

			if (h->nlmsg_type == NLMSG_DONE)
				return found;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error ? e->error : -EIO;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
				continue;
			m = NLMSG_DATA(h);
			if (m->idiag_state == TCP_LISTEN && ntohs(m->id.idiag_sport) == port)
				found = 1;
		}
	}
}

int listenwatch_scan_diag(int port)
{
	static const int families[] = { AF_INET, AF_INET6 };
	int r = 0;

	for (size_t i = 0; i < 2 && r == 0; i++) {
		struct {
			struct nlmsghdr nlh;
			struct inet_diag_req_v2 req;
		} msg = {
			.nlh = { .nlmsg_len = sizeof(msg),
				 .nlmsg_type = SOCK_DIAG_BY_FAMILY,
				 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
			.req = { .sdiag_family = (unsigned char)families[i],
				 .sdiag_protocol = IPPROTO_TCP,
				 .idiag_states = 1u << TCP_LISTEN },
		};
		int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

		if (fd < 0)
			return -errno;
		/* The kernel builds the dump during send() and recv(): neither waits. */
		if (send(fd, &msg, sizeof(msg), 0) < 0)
			r = -errno;
		else
			r = diag_read(fd, port);
		close(fd);
	}
	return r;
}

static int scan(struct listenwatch *w)
{
	int r;

	if (!w->use_proc) {
		r = listenwatch_scan_diag(w->port);
		if (r >= 0)
			return r;
		w->use_proc = true; /* e.g. a seccomp profile without netlink */
	}
	for (int i = 0; i < 2; i++)
		if (w->proc_tcp[i] && listenwatch_scan_file(w->proc_tcp[i], w->port) == 1)
			return 1;
	return 0;
}

static void listenwatch_timer_cb(uv_timer_t *t)
{
	struct listenwatch *w = t->data;

	w->scans++;
	if (scan(w) != 1)
		return;
	w->found = true;
	probe_state_set_ready(w->st, true, probe_now_ns());
	listenwatch_close(w);
	if (w->cb)
		w->cb(w);
}

static void listenwatch_closed_cb(uv_handle_t *h)
{
	(void)h;
}

int listenwatch_init(struct listenwatch *w, uv_loop_t *loop, struct probe_state *st, int port,
		     unsigned interval_ms, listenwatch_cb cb)
{
	int r;

	memset(w, 0, sizeof(*w));
	if (port < 1 || port > 65535 || !st || !loop)
		return -EINVAL;
	w->st = st;
	w->port = port;
	w->cb = cb;
	w->proc_tcp[0] = "/proc/net/tcp";
	w->proc_tcp[1] = "/proc/net/tcp6";
	r = uv_timer_init(loop, &w->timer);
	if (r < 0)
		return r;
	w->timer.data = w;
	w->active = true;
	r = uv_timer_start(&w->timer, listenwatch_timer_cb, 0,
			   interval_ms ? interval_ms : LISTENWATCH_DEFAULT_INTERVAL_MS);
	if (r < 0) {
		listenwatch_close(w);
		return r;
	}
	return 0;
}

void listenwatch_close(struct listenwatch *w)
{
	if (!w->active)
		return;
	uv_timer_stop(&w->timer);
	uv_close((uv_handle_t *)&w->timer, listenwatch_closed_cb);
	w->active = false;
}
