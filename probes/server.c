// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/defaults.h"
#include "probes/metrics.h"
#include "probes/server.h"

#define OUT_HEAD_MAX 256
/*
 * Requests one connection may have answered per loop turn; the rest wait for the next turn, so a
 * client pipelining as fast as it can cannot hold the loop that also handles signals and reaping.
 */
#define PROBE_BUDGET 16

/**
 * struct probe_conn - one connection slot; the buffers live in the slot, allocated once.
 */
struct probe_conn {
	uv_tcp_t tcp;
	uv_write_t wreq;
	uv_shutdown_t sreq;
	struct probe_server *srv;
	struct probe_conn *prev, *next; /* LRU list while open, free list while not */
	struct probe_conn *dnext; /* the server's deferred list */
	uint64_t deadline_ns;
	size_t in_len;
	bool open; /* tcp handle initialised and not yet closed */
	bool closing;
	bool reading;
	bool writing;
	bool eof;
	bool lingering; /* final response sent: drain input until EOF, then close */
	bool deferred; /* out of budget: resumes on the next loop turn */
	char *metrics; /* /metrics body, allocated on the first scrape on this connection */
	char out[OUT_HEAD_MAX];
	char in[HTTP_MAX_HEAD];
};

static void conn_process(struct probe_conn *c);
static void conn_read_cb(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf);

static uint64_t ms_ns(unsigned ms)
{
	return (uint64_t)ms * 1000000u;
}

/* ---- the LRU list: the head is the connection that has been quiet the longest ---- */

static void lru_unlink(struct probe_server *s, struct probe_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->lru_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->lru_tail = c->prev;
	c->prev = c->next = NULL;
}

static void lru_push(struct probe_server *s, struct probe_conn *c)
{
	c->prev = s->lru_tail;
	c->next = NULL;
	if (s->lru_tail)
		s->lru_tail->next = c;
	else
		s->lru_head = c;
	s->lru_tail = c;
}

static void lru_touch(struct probe_server *s, struct probe_conn *c)
{
	if (s->lru_tail == c)
		return;
	lru_unlink(s, c);
	lru_push(s, c);
}

/* ---- closing ---- */

static void server_maybe_done(struct probe_server *s)
{
	if (!s->closing || s->handles)
		return;
	free(s->slab);
	s->slab = NULL;
	if (s->close_cb)
		s->close_cb(s);
}

static void server_accept(struct probe_server *s);

static void conn_closed_cb(uv_handle_t *h)
{
	struct probe_conn *c = h->data;
	struct probe_server *s = c->srv;

	for (struct probe_conn **pp = &s->deferred; c->deferred && *pp; pp = &(*pp)->dnext) {
		if (*pp == c) {
			*pp = c->dnext;
			break;
		}
	}
	c->deferred = false;
	free(c->metrics);
	c->metrics = NULL;
	c->open = false;
	c->next = s->free_list;
	s->free_list = c;
	s->nconns--;
	s->handles--;
	if (!s->nconns && !s->closing)
		uv_timer_stop(&s->sweep);
	if (s->accept_pending && !s->closing)
		server_accept(s);
	server_maybe_done(s);
}

static void conn_close(struct probe_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	lru_unlink(c->srv, c);
	uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
}

/* ---- responses ---- */

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

static void count(struct probe_server *s, enum probe_path path, int status)
{
	int code = probe_code_index(status);

	if (code >= 0)
		s->st->requests[path][code]++;
}

static void conn_write_cb(uv_write_t *req, int status)
{
	struct probe_conn *c = req->data;

	c->writing = false;
	if (status < 0 || c->closing) {
		conn_close(c);
		return;
	}
	if (c->lingering) {
		if (c->eof)
			conn_close(c);
		return;
	}
	c->deadline_ns =
		uv_now(c->srv->loop) * 1000000u +
		ms_ns(c->in_len ? c->srv->opts.request_timeout_ms : c->srv->opts.idle_timeout_ms);
	conn_process(c);
}

static void conn_shutdown_cb(uv_shutdown_t *req, int status)
{
	struct probe_conn *c = req->data;

	if (status < 0)
		conn_close(c);
}

static void conn_read_start(struct probe_conn *c);

/*
 * uv_try_write(), but with MSG_NOSIGNAL: a client that resets its connection must not raise
 * SIGPIPE in PID 1. Only called with no libuv write queued, so ordering is kept.
 */
static int conn_try_send(struct probe_conn *c, uv_buf_t *bufs, unsigned nbufs)
{
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = nbufs };
	uv_os_fd_t fd;
	ssize_t n;

	if (uv_fileno((uv_handle_t *)&c->tcp, &fd) < 0)
		return UV_EBADF;
	for (unsigned i = 0; i < nbufs; i++) {
		iov[i].iov_base = bufs[i].base;
		iov[i].iov_len = bufs[i].len;
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? UV_EAGAIN : -errno;
	return (int)n;
}

/* The last response on this connection: send FIN, then drain what the client still sends. */
static void conn_finish(struct probe_conn *c)
{
	struct probe_server *s = c->srv;

	c->lingering = true;
	c->in_len = 0;
	c->deadline_ns = uv_now(s->loop) * 1000000u + ms_ns(PROBE_LINGER_MS);
	c->sreq.data = c;
	if (c->eof) {
		/* The client sent its FIN already: close once the response is out. */
		if (!c->writing)
			conn_close(c);
		return;
	}
	if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, conn_shutdown_cb) < 0) {
		conn_close(c);
		return;
	}
	conn_read_start(c);
}

/*
 * Sends head + body. Most responses fit the socket buffer and go out synchronously; the rest are
 * queued, and reading pauses until they are taken (so a client that pipelines without reading
 * cannot make us buffer without bound).
 */
static void conn_send(struct probe_conn *c, size_t head_len, const char *body, size_t body_len,
		      bool last)
{
	uv_buf_t bufs[2] = { uv_buf_init(c->out, (unsigned)head_len),
			     uv_buf_init((char *)body, (unsigned)body_len) };
	unsigned nbufs = body_len ? 2 : 1;
	int r = conn_try_send(c, bufs, nbufs);
	size_t done = r > 0 ? (size_t)r : 0;

	if (r < 0 && r != UV_EAGAIN) {
		conn_close(c);
		return;
	}
	if (done < head_len + body_len) {
		unsigned first = 0;

		if (done >= head_len) {
			done -= head_len;
			first = 1;
		}
		bufs[first].base += done;
		bufs[first].len -= done;
		c->wreq.data = c;
		if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, bufs + first, nbufs - first,
			     conn_write_cb) < 0) {
			conn_close(c);
			return;
		}
		c->writing = true;
		c->deadline_ns =
			uv_now(c->srv->loop) * 1000000u + ms_ns(c->srv->opts.request_timeout_ms);
		if (c->reading && !last) {
			uv_read_stop((uv_stream_t *)&c->tcp);
			c->reading = false;
		}
	}
	if (last)
		conn_finish(c);
}

static void respond(struct probe_conn *c, int status, bool head_only, bool keep_alive, bool http10,
		    const char *ctype, const char *body, size_t blen)
{
	int n;

	n = snprintf(c->out, sizeof(c->out),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "Cache-Control: no-store\r\n%s%s\r\n",
		     status, reason(status), ctype, blen,
		     status == 405 ? "Allow: GET, HEAD\r\n" : "",
		     !keep_alive ? "Connection: close\r\n" :
		     http10	 ? "Connection: keep-alive\r\n" :
				   "");
	if (n < 0 || (size_t)n >= sizeof(c->out)) {
		conn_close(c); /* cannot happen: the longest head is ~200 bytes */
		return;
	}
	conn_send(c, (size_t)n, body, head_only ? 0 : blen, !keep_alive);
}

static const char text_plain[] = "text/plain; charset=utf-8";

static void respond_text(struct probe_conn *c, enum probe_path path, int status,
			 const struct http_request *req, const char *body)
{
	count(c->srv, path, status);
	respond(c, status, req->method == HTTP_METHOD_HEAD, req->keep_alive,
		req->version_minor == 0, text_plain, body, strlen(body));
}

static bool path_is(const struct http_request *req, const char *p)
{
	return strlen(p) == req->path_len && !memcmp(req->path, p, req->path_len);
}

static void serve_metrics(struct probe_conn *c, const struct http_request *req)
{
	struct probe_server *s = c->srv;
	ssize_t n;

	if (!c->metrics)
		c->metrics = malloc(PROBE_METRICS_MAX);
	if (!c->metrics) {
		respond_text(c, PROBE_PATH_METRICS, 503, req, "metrics unavailable\n");
		return;
	}
	/* Counted before rendering, so a scrape sees itself (as Prometheus exporters do). */
	count(s, PROBE_PATH_METRICS, 200);
	n = probe_metrics_render(s->st, uv_hrtime(), c->metrics, PROBE_METRICS_MAX);
	if (n < 0)
		n = 0; /* cannot happen: PROBE_METRICS_MAX covers every counter set */
	respond(c, 200, req->method == HTTP_METHOD_HEAD, req->keep_alive, req->version_minor == 0,
		"text/plain; version=0.0.4; charset=utf-8", c->metrics, (size_t)n);
}

static void serve(struct probe_conn *c, const struct http_request *req)
{
	struct probe_state *st = c->srv->st;
	enum probe_path path = PROBE_PATH_OTHER;

	if (path_is(req, KNEXT_DEFAULT_READY_PATH))
		path = PROBE_PATH_READYZ;
	else if (path_is(req, KNEXT_DEFAULT_LIVE_PATH))
		path = PROBE_PATH_LIVEZ;
	else if (path_is(req, KNEXT_DEFAULT_STARTUP_PATH))
		path = PROBE_PATH_STARTUPZ;
	else if (path_is(req, KNEXT_DEFAULT_METRICS_PATH))
		path = PROBE_PATH_METRICS;

	if (req->method == HTTP_METHOD_OTHER) {
		respond_text(c, path, 405, req, "method not allowed\n");
		return;
	}
	switch (path) {
	case PROBE_PATH_READYZ:
		if (probe_state_is_ready(st))
			respond_text(c, path, 200, req, "ready\n");
		else
			respond_text(c, path, 503, req,
				     st->draining ? "draining\n" : "not ready\n");
		break;
	case PROBE_PATH_LIVEZ:
		if (probe_state_is_live(st, uv_hrtime()))
			respond_text(c, path, 200, req, "live\n");
		else
			respond_text(c, path, 503, req, "not live\n");
		break;
	case PROBE_PATH_STARTUPZ:
		if (probe_state_is_started(st))
			respond_text(c, path, 200, req, "started\n");
		else
			respond_text(c, path, 503, req, "not started\n");
		break;
	case PROBE_PATH_METRICS:
		serve_metrics(c, req);
		break;
	default:
		respond_text(c, path, 404, req, "not found\n");
		break;
	}
}

/* ---- reading and parsing ---- */

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct probe_conn *c = h->data;

	(void)suggested;
	if (c->lingering)
		c->in_len = 0; /* draining: the bytes are discarded */
	*buf = uv_buf_init(c->in + c->in_len, (unsigned)(sizeof(c->in) - c->in_len));
}

static void conn_read_start(struct probe_conn *c)
{
	if (c->reading || c->closing || c->eof || c->deferred)
		return;
	if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb) < 0) {
		conn_close(c);
		return;
	}
	c->reading = true;
}

static void server_resume_cb(uv_idle_t *h)
{
	struct probe_server *s = h->data;
	struct probe_conn *list = s->deferred;

	s->deferred = NULL;
	uv_idle_stop(h);
	while (list) {
		struct probe_conn *c = list;

		list = c->dnext;
		c->dnext = NULL;
		c->deferred = false;
		if (!c->closing)
			conn_process(c);
	}
}

/* Out of budget: stop reading and carry on next turn. */
static void conn_defer(struct probe_conn *c)
{
	struct probe_server *s = c->srv;

	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
	c->deferred = true;
	c->dnext = s->deferred;
	s->deferred = c;
	uv_idle_start(&s->resume, server_resume_cb);
}

/*
 * Answers the complete requests in the buffer, in order, until one has to wait for the socket or
 * the turn's budget is spent.
 */
static void conn_process(struct probe_conn *c)
{
	struct http_request req;
	int budget = PROBE_BUDGET;

	while (!c->writing && !c->closing && !c->lingering && c->in_len) {
		ssize_t r;

		if (!budget--) {
			conn_defer(c);
			return;
		}
		r = http_parse_request(c->in, c->in_len, &req);

		if (r == 0)
			break;
		if (r < 0) {
			/* Whatever follows a malformed head cannot be framed: answer, then close. */
			req.keep_alive = false;
			req.method = HTTP_METHOD_GET;
			req.version_minor = 1;
			respond_text(c, PROBE_PATH_OTHER, req.status, &req, reason(req.status));
			break;
		}
		/* req points into c->in: answer before the buffer moves. */
		serve(c, &req);
		if (c->closing || c->lingering)
			break;
		memmove(c->in, c->in + r, c->in_len - (size_t)r);
		c->in_len -= (size_t)r;
	}
	if (c->closing || c->lingering || c->writing)
		return;
	if (c->eof) {
		conn_close(c); /* half-closed and everything answered */
		return;
	}
	conn_read_start(c);
}

static void conn_read_cb(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
	struct probe_conn *c = h->data;
	struct probe_server *s = c->srv;

	(void)buf;
	if (nread == 0)
		return;
	if (nread < 0) {
		uv_read_stop(h);
		c->reading = false;
		if (nread != UV_EOF) {
			conn_close(c);
			return;
		}
		c->eof = true;
		if (c->writing)
			return; /* conn_write_cb carries on */
		if (c->lingering)
			conn_close(c);
		else
			conn_process(c);
		return;
	}
	if (c->lingering) {
		c->in_len = 0;
		return;
	}
	if (!c->in_len)
		c->deadline_ns = uv_now(s->loop) * 1000000u + ms_ns(s->opts.request_timeout_ms);
	c->in_len += (size_t)nread;
	lru_touch(s, c);
	conn_process(c);
}

/* ---- accepting and timeouts ---- */

static void sweep_cb(uv_timer_t *t)
{
	struct probe_server *s = t->data;
	uint64_t now = uv_now(s->loop) * 1000000u;
	struct probe_conn *c = s->lru_head;

	while (c) {
		struct probe_conn *next = c->next;

		if (now >= c->deadline_ns) {
			s->timed_out++;
			/* A request that started but never finished gets its 408, best effort. */
			if (c->in_len && !c->writing && !c->lingering) {
				int n = snprintf(c->out, sizeof(c->out),
						 "HTTP/1.1 408 %s\r\nContent-Length: 0\r\n"
						 "Connection: close\r\n\r\n",
						 reason(408));
				uv_buf_t b = uv_buf_init(c->out, (unsigned)n);

				count(s, PROBE_PATH_OTHER, 408);
				conn_try_send(c, &b, 1);
			}
			conn_close(c);
		}
		c = next;
	}
}

/*
 * At the cap, the connection that has been idle the longest makes room for a new one; when none
 * is idle (a flood of slow or incomplete requests), the oldest incomplete request goes, with its
 * 408. A probe that sends its request at once is then answered at once, whatever else is open.
 */
static void evict_idle(struct probe_server *s)
{
	struct probe_conn *slow = NULL;

	for (struct probe_conn *c = s->lru_head; c; c = c->next) {
		if (c->closing || c->writing || c->lingering)
			continue;
		if (!c->in_len) {
			s->evicted++;
			conn_close(c);
			return;
		}
		if (!slow)
			slow = c;
	}
	if (slow) {
		int n = snprintf(
			slow->out, sizeof(slow->out),
			"HTTP/1.1 408 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			reason(408));
		uv_buf_t b = uv_buf_init(slow->out, (unsigned)n);

		s->evicted++;
		count(s, PROBE_PATH_OTHER, 408);
		conn_try_send(slow, &b, 1);
		conn_close(slow);
	}
}

static void server_accept(struct probe_server *s)
{
	struct probe_conn *c = s->free_list;
	uint64_t now;

	/* Slots never used yet come last, so a slot's pages are touched only when it is needed. */
	if (!c && s->slab_used < s->opts.max_conns) {
		c = &s->slab[s->slab_used++];
		c->next = NULL;
		s->free_list = c;
	}
	if (!c) {
		/*
		 * No slot: leave the connection queued in libuv, which stops accepting until
		 * a slot frees; meanwhile ask the longest-idle connection to go.
		 */
		s->accept_pending = true;
		evict_idle(s);
		return;
	}
	s->accept_pending = false;
	s->free_list = c->next;
	memset(c, 0, offsetof(struct probe_conn, out));
	c->srv = s;
	uv_tcp_init(s->loop, &c->tcp);
	c->tcp.data = c;
	c->open = true;
	s->nconns++;
	s->handles++;
	lru_push(s, c);
	if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c);
		return;
	}
	s->accepted++;
	uv_tcp_nodelay(&c->tcp, 1);
	now = uv_now(s->loop) * 1000000u;
	c->deadline_ns = now + ms_ns(s->opts.idle_timeout_ms);
	if (s->nconns == 1) {
		unsigned tmin = s->opts.idle_timeout_ms < s->opts.request_timeout_ms ?
					s->opts.idle_timeout_ms :
					s->opts.request_timeout_ms;
		unsigned period = tmin / 4;

		period = period < 5 ? 5 : period > 250 ? 250 : period;
		uv_timer_start(&s->sweep, sweep_cb, period, period);
	}
	conn_read_start(c);
}

static void server_connection_cb(uv_stream_t *h, int status)
{
	struct probe_server *s = h->data;

	if (status < 0 || s->closing)
		return;
	server_accept(s);
}

/* ---- init and close ---- */

static void server_handle_closed_cb(uv_handle_t *h)
{
	struct probe_server *s = h->data;

	s->handles--;
	server_maybe_done(s);
}

static int server_listen(struct probe_server *s)
{
	const char *host = s->opts.host ? s->opts.host : "0.0.0.0";
	struct sockaddr_storage ss;
	struct sockaddr_storage bound;
	int len = sizeof(bound);
	int r;

	if (strchr(host, ':'))
		r = uv_ip6_addr(host, s->opts.port, (struct sockaddr_in6 *)&ss);
	else
		r = uv_ip4_addr(host, s->opts.port, (struct sockaddr_in *)&ss);
	if (r < 0) {
		snprintf(s->why, sizeof(s->why), "probe server: bad listen address \"%s\"", host);
		return -EINVAL;
	}
	r = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&s->listener, 511, server_connection_cb);
	if (r < 0) {
		snprintf(s->why, sizeof(s->why), "probe server: cannot listen on %s port %d: %s%s",
			 host, s->opts.port, uv_strerror(r),
			 r == UV_EADDRINUSE ? " (set KNEXT_PROBE_PORT to a free port)" : "");
		return r;
	}
	if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len) == 0)
		s->port = ntohs(bound.ss_family == AF_INET6 ?
					((struct sockaddr_in6 *)&bound)->sin6_port :
					((struct sockaddr_in *)&bound)->sin_port);
	return 0;
}

int probe_server_init_opts(struct probe_server *s, uv_loop_t *loop, struct probe_state *st,
			   const struct probe_server_opts *opts)
{
	int r;

	memset(s, 0, sizeof(*s));
	if (!loop || !st || !opts || opts->port < 0 || opts->port > 65535) {
		snprintf(s->why, sizeof(s->why), "probe server: bad arguments");
		return -EINVAL;
	}
	s->loop = loop;
	s->st = st;
	s->opts = *opts;
	if (!s->opts.max_conns)
		s->opts.max_conns = PROBE_DEFAULT_MAX_CONNS;
	if (!s->opts.idle_timeout_ms)
		s->opts.idle_timeout_ms = PROBE_DEFAULT_IDLE_TIMEOUT_MS;
	if (!s->opts.request_timeout_ms)
		s->opts.request_timeout_ms = PROBE_DEFAULT_REQUEST_TIMEOUT_MS;

	/*
	 * calloc'd slots are untouched pages until used: the cap costs address space, not RSS.
	 * Nothing walks them here (server_accept() takes fresh ones in order), or every slot's page
	 * would be resident from the start: 4 MB of PID 1 for the default cap.
	 */
	s->slab = calloc(s->opts.max_conns, sizeof(*s->slab));
	if (!s->slab) {
		snprintf(s->why, sizeof(s->why), "probe server: out of memory for %u connections",
			 s->opts.max_conns);
		return -ENOMEM;
	}

	r = uv_timer_init(loop, &s->sweep);
	if (r < 0)
		goto err_free;
	s->sweep.data = s;
	s->handles++;
	uv_idle_init(loop, &s->resume); /* cannot fail */
	s->resume.data = s;
	s->handles++;
	r = uv_tcp_init(loop, &s->listener);
	if (r < 0)
		goto err_close;
	s->listener.data = s;
	s->handles++;
	r = server_listen(s);
	if (r < 0)
		goto err_close;
	return 0;

err_close:
	/* Handles already open close through the loop; the slab goes when they are done. */
	probe_server_close(s, NULL);
	return r;
err_free:
	snprintf(s->why, sizeof(s->why), "probe server: timer: %s", uv_strerror(r));
	free(s->slab);
	s->slab = NULL;
	return r;
}

int probe_server_init(struct probe_server *s, uv_loop_t *loop, struct probe_state *st,
		      const char *host, int port)
{
	struct probe_server_opts o = { .host = host, .port = port };

	return probe_server_init_opts(s, loop, st, &o);
}

void probe_server_close(struct probe_server *s, probe_server_close_cb close_cb)
{
	if (s->closing)
		return;
	s->closing = true;
	s->close_cb = close_cb;
	if (s->sweep.data)
		uv_close((uv_handle_t *)&s->sweep, server_handle_closed_cb);
	if (s->resume.data)
		uv_close((uv_handle_t *)&s->resume, server_handle_closed_cb);
	s->deferred = NULL;
	if (s->listener.data)
		uv_close((uv_handle_t *)&s->listener, server_handle_closed_cb);
	while (s->lru_head)
		conn_close(s->lru_head);
	server_maybe_done(s);
}
