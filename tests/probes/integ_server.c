// SPDX-License-Identifier: Apache-2.0
/* The probe server on a real libuv loop, driven over loopback by blocking clients. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/probes/harness.h"

static char resp[65536];

static int get_on(int fd, const char *path)
{
	char req[256];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
	client_send(fd, req, strlen(req));
	return client_response(fd, resp, sizeof(resp), 0);
}

/* True when the server closed the connection (EOF or reset) within the socket's timeout. */
static bool peer_closed(int fd)
{
	char b[256];
	ssize_t n = recv(fd, b, sizeof(b), 0);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

Test(server, state_transitions)
{
	char body[128];

	harness_start(NULL);
	cr_assert_eq(client_get(H.port, "/readyz", body, sizeof(body)), 503);
	cr_assert_str_eq(body, "not ready\n");
	cr_assert_eq(client_get(H.port, "/livez", NULL, 0), 503, "no child yet");
	cr_assert_eq(client_get(H.port, "/startupz", NULL, 0), 503);

	harness_call(h_set_alive, NULL);
	cr_assert_eq(client_get(H.port, "/readyz", NULL, 0), 503, "alive but not listening");
	cr_assert_eq(client_get(H.port, "/livez", NULL, 0), 200);

	harness_call(h_set_ready, NULL);
	cr_assert_eq(client_get(H.port, "/readyz", body, sizeof(body)), 200);
	cr_assert_str_eq(body, "ready\n");
	cr_assert_eq(client_get(H.port, "/startupz", NULL, 0), 200);

	harness_call(h_set_drain, NULL);
	cr_assert_eq(client_get(H.port, "/readyz", body, sizeof(body)), 503);
	cr_assert_str_eq(body, "draining\n");
	cr_assert_eq(client_get(H.port, "/livez", NULL, 0), 200, "draining is still live");
	cr_assert_eq(client_get(H.port, "/startupz", NULL, 0), 200);

	harness_call(h_child_exit, NULL);
	cr_assert_eq(client_get(H.port, "/livez", NULL, 0), 503);
	cr_assert_eq(client_get(H.port, "/nope", NULL, 0), 404);
	harness_stop();
}

static void set_liveness_100ms(void *arg)
{
	(void)arg;
	H.st.liveness_timeout_ms = 100;
	H.st.expect_heartbeat = true;
	probe_state_set_child_alive(&H.st, true, uv_hrtime());
}

Test(server, blocked_event_loop_fails_liveness)
{
	harness_start(NULL);
	harness_call(set_liveness_100ms, NULL);
	cr_assert_eq(client_get(H.port, "/livez", NULL, 0), 200);
	usleep(150 * 1000); /* the child's loop "blocks": no WATCHDOG=1 */
	cr_assert_eq(client_get(H.port, "/livez", resp, sizeof(resp)), 503);
	cr_assert_str_eq(resp, "not live\n");
	harness_call(h_heartbeat, NULL);
	cr_assert_eq(client_get(H.port, "/livez", NULL, 0), 200, "a heartbeat brings it back");
	harness_stop();
}

Test(server, keep_alive_head_and_close)
{
	int fd;

	harness_start(NULL);
	harness_call(h_set_alive, NULL);
	harness_call(h_set_ready, NULL);
	fd = client_connect(H.port, 2000);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(get_on(fd, "/readyz"), 200, "request %d on one connection", i);
	client_send(fd, "HEAD /readyz HTTP/1.1\r\nHost: t\r\n\r\n", 34);
	cr_assert_eq(client_response(fd, resp, sizeof(resp), 1), 200);
	cr_assert(strstr(resp, "Content-Length: 6\r\n"), "HEAD keeps GET's length: %s", resp);
	client_send(fd, "GET /livez HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 51);
	cr_assert_eq(client_response(fd, resp, sizeof(resp), 0), 200);
	cr_assert(strstr(resp, "Connection: close\r\n"));
	cr_assert(peer_closed(fd), "closed after Connection: close");
	close(fd);

	fd = client_connect(H.port, 2000);
	client_send(fd, "GET /readyz HTTP/1.0\r\n\r\n", 24);
	cr_assert_eq(client_response(fd, resp, sizeof(resp), 0), 200);
	cr_assert(peer_closed(fd), "HTTP/1.0 closes by default");
	close(fd);

	fd = client_connect(H.port, 2000);
	client_send(fd, "GET /readyz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 48);
	cr_assert_eq(client_response(fd, resp, sizeof(resp), 0), 200);
	cr_assert(strstr(resp, "Connection: keep-alive\r\n"));
	client_send(fd, "GET /readyz HTTP/1.0\r\n\r\n", 24);
	cr_assert_eq(client_response(fd, resp, sizeof(resp), 0), 200);
	close(fd);
	harness_stop();
}

Test(server, pipelining_in_order)
{
	char reqs[16384];
	size_t len = 0;
	int fd;
	static const char *const paths[] = { "/readyz", "/livez", "/startupz", "/x" };
	static const int want[] = { 200, 200, 200, 404 };

	harness_start(NULL);
	harness_call(h_set_alive, NULL);
	harness_call(h_set_ready, NULL);
	/* 400 requests in one write: more than the 8 KB input buffer holds at once. */
	for (int i = 0; i < 400; i++)
		len += (size_t)snprintf(reqs + len, sizeof(reqs) - len,
					"GET %s HTTP/1.1\r\nHost: t\r\n\r\n", paths[i % 4]);
	cr_assert_gt(len, (size_t)HTTP_MAX_HEAD);
	fd = client_connect(H.port, 2000);
	client_send(fd, reqs, len);
	for (int i = 0; i < 400; i++)
		cr_assert_eq(client_response(fd, resp, sizeof(resp), 0), want[i % 4], "response %d",
			     i);
	/* The last one of a pipeline may ask to close; everything before it is answered. */
	client_send(fd,
		    "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\nGET /livez HTTP/1.1\r\nHost: t\r\n"
		    "Connection: close\r\n\r\nGET /readyz HTTP/1.1\r\nHost: t\r\n\r\n",
		    116);
	cr_assert_eq(client_response(fd, resp, sizeof(resp), 0), 200);
	cr_assert_eq(client_response(fd, resp, sizeof(resp), 0), 200);
	cr_assert(peer_closed(fd), "nothing after the request that said close");
	close(fd);
	harness_stop();
}

struct bad_req {
	const char *name;
	const char *data;
	size_t len;
	int status;
};

Test(server, malformed_requests_over_the_wire)
{
	static const struct bad_req cases[] = {
		{ "bare LF", "GET /readyz HTTP/1.1\nHost: t\n\n", 0, 400 },
		{ "NUL", "GET /rea\0dyz HTTP/1.1\r\nHost: t\r\n\r\n", 34, 400 },
		{ "bad method", "G@T /readyz HTTP/1.1\r\nHost: t\r\n\r\n", 0, 400 },
		{ "POST", "POST /readyz HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 0, 405 },
		{ "DELETE", "DELETE /readyz HTTP/1.1\r\nHost: t\r\n\r\n", 0, 405 },
		{ "no Host", "GET /readyz HTTP/1.1\r\n\r\n", 0, 400 },
		{ "HTTP/2", "GET /readyz HTTP/2.0\r\nHost: t\r\n\r\n", 0, 505 },
		{ "body", "GET /readyz HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc", 0,
		  400 },
		{ "TLS hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, 400 },
	};

	harness_start(NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = client_connect(H.port, 2000), st;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].data);

		client_send(fd, cases[i].data, len);
		st = client_response(fd, resp, sizeof(resp), 0);
		cr_expect_eq(st, cases[i].status, "%s: got %d", cases[i].name, st);
		if (cases[i].status == 405) {
			cr_expect(strstr(resp, "Allow: GET, HEAD\r\n"), "%s: Allow header",
				  cases[i].name);
			cr_expect_eq(get_on(fd, "/readyz"), 503, "a 405 keeps the connection");
		} else {
			cr_expect(peer_closed(fd), "%s: closed after the error", cases[i].name);
		}
		close(fd);
	}
	harness_stop();
}

Test(server, huge_headers_431_and_long_uri_414)
{
	static char big[3 * HTTP_MAX_HEAD];
	int fd;
	size_t len;

	harness_start(NULL);
	len = (size_t)snprintf(big, sizeof(big), "GET /readyz HTTP/1.1\r\nHost: t\r\nX-Big: ");
	memset(big + len, 'a', sizeof(big) - len);
	fd = client_connect(H.port, 2000);
	/* The client may get EPIPE/ECONNRESET once the server gave up; only the answer matters. */
	send(fd, big, sizeof(big), MSG_NOSIGNAL);
	cr_assert_eq(client_response(fd, resp, sizeof(resp), 0), 431);
	close(fd);

	memcpy(big, "GET /", 5);
	memset(big + 5, 'u', HTTP_MAX_HEAD);
	fd = client_connect(H.port, 2000);
	send(fd, big, HTTP_MAX_HEAD + 5, MSG_NOSIGNAL);
	cr_assert_eq(client_response(fd, resp, sizeof(resp), 0), 414);
	close(fd);
	cr_assert_eq(client_get(H.port, "/readyz", NULL, 0), 503, "server still serves");
	harness_stop();
}

Test(server, half_closed_sockets)
{
	int fd;

	harness_start(NULL);
	harness_call(h_set_alive, NULL);
	harness_call(h_set_ready, NULL);
	/* Request, then FIN: still answered, then closed. */
	fd = client_connect(H.port, 2000);
	client_send(fd,
		    "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\nGET /livez HTTP/1.1\r\nHost: t\r\n\r\n",
		    65);
	shutdown(fd, SHUT_WR);
	cr_assert_eq(client_response(fd, resp, sizeof(resp), 0), 200);
	cr_assert_eq(client_response(fd, resp, sizeof(resp), 0), 200);
	cr_assert(peer_closed(fd));
	close(fd);
	/* Half a request, then FIN: closed without an answer. */
	fd = client_connect(H.port, 2000);
	client_send(fd, "GET /rea", 8);
	shutdown(fd, SHUT_WR);
	cr_assert_eq(client_drain(fd, resp, sizeof(resp)), 0);
	close(fd);
	/* FIN right away. */
	fd = client_connect(H.port, 2000);
	shutdown(fd, SHUT_WR);
	cr_assert_eq(client_drain(fd, resp, sizeof(resp)), 0);
	close(fd);
	/* Client reads half and resets. */
	fd = client_connect(H.port, 2000);
	client_send(fd, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", 35);
	close(fd);
	cr_assert_eq(client_get(H.port, "/readyz", NULL, 0), 200, "server unharmed");
	harness_stop();
}

Test(server, slow_and_idle_clients_time_out)
{
	struct probe_server_opts o = { .idle_timeout_ms = 300, .request_timeout_ms = 200 };
	uint64_t t0;
	int fd;

	harness_start(&o);
	/* Slowloris: a byte every 40 ms never completes a head within 200 ms. */
	fd = client_connect(H.port, 3000);
	t0 = now_ns();
	for (const char *p = "GET /readyz HTTP/1.1\r\nHost: t\r\n"; *p && ms_since(t0) < 600; p++) {
		if (send(fd, p, 1, MSG_NOSIGNAL) != 1)
			break;
		usleep(40 * 1000);
	}
	cr_assert_eq(client_response(fd, resp, sizeof(resp), 0), 408, "slow client gets 408");
	cr_assert(peer_closed(fd));
	cr_assert_lt(ms_since(t0), 600.0, "closed on the request timeout");
	close(fd);

	/* Connects, says nothing. */
	fd = client_connect(H.port, 3000);
	t0 = now_ns();
	cr_assert_eq(client_drain(fd, resp, sizeof(resp)), 0);
	cr_assert_geq(ms_since(t0), 250.0);
	cr_assert_lt(ms_since(t0), 900.0, "idle connection closed after ~300 ms");
	close(fd);

	/* Keep-alive, then idle. */
	fd = client_connect(H.port, 3000);
	cr_assert_eq(get_on(fd, "/readyz"), 503);
	t0 = now_ns();
	cr_assert_eq(client_drain(fd, resp, sizeof(resp)), 0);
	cr_assert_lt(ms_since(t0), 900.0);
	close(fd);
	harness_stop();
}

Test(server, connection_cap_evicts_idle)
{
	struct probe_server_opts o = { .max_conns = 8 };
	int fds[8], fd;

	harness_start(&o);
	for (int i = 0; i < 8; i++) {
		fds[i] = client_connect(H.port, 2000);
		cr_assert_eq(get_on(fds[i], "/readyz"), 503);
	}
	/* A 9th client still gets an answer: the longest-idle connection makes room. */
	fd = client_connect(H.port, 2000);
	cr_assert_eq(get_on(fd, "/readyz"), 503);
	cr_assert(peer_closed(fds[0]), "the oldest idle connection was closed");
	cr_assert_eq(H.srv.evicted, 1);
	cr_assert_eq(H.srv.nconns, 8);
	close(fd);
	for (int i = 0; i < 8; i++)
		close(fds[i]);
	harness_stop();
}

Test(server, thousand_idle_connections)
{
	enum { IDLE = 1000, PROBES = 50 };
	static int fds[IDLE];
	double t[PROBES];

	if (raise_nofile(IDLE + 256) < 0)
		cr_skip_test("RLIMIT_NOFILE cannot be raised to %d", IDLE + 256);
	harness_start(NULL);
	harness_call(h_set_alive, NULL);
	harness_call(h_set_ready, NULL);
	for (int i = 0; i < IDLE; i++)
		fds[i] = client_connect(H.port, 2000);
	/* Half of them sent half a request: they hold slots and buffers. */
	for (int i = 0; i < IDLE; i += 2)
		client_send(fds[i], "GET /readyz HTTP/1.1\r\nHo", 24);
	for (int i = 0; i < PROBES; i++) {
		uint64_t t0 = now_ns();

		cr_assert_eq(client_get(H.port, "/readyz", NULL, 0), 200);
		t[i] = ms_since(t0);
	}
	qsort(t, PROBES, sizeof(t[0]), cmp_double);
	figure("# /readyz with %d idle connections: median %.3f ms, p95 %.3f ms, max %.3f ms\n",
	       IDLE, t[PROBES / 2], t[PROBES * 95 / 100], t[PROBES - 1]);
	cr_assert_lt(t[PROBES * 95 / 100], 10.0, "p95 %.3f ms", t[PROBES * 95 / 100]);
	cr_assert_eq(H.srv.evicted, 0, "nobody evicted under the cap");
	for (int i = 0; i < IDLE; i++)
		close(fds[i]);
	harness_stop();
}

Test(server, metrics_endpoint)
{
	char body[32768];

	harness_start(NULL);
	harness_call(h_set_alive, NULL);
	cr_assert_eq(client_get(H.port, "/readyz", NULL, 0), 503);
	harness_call(h_set_ready, NULL);
	cr_assert_eq(client_get(H.port, "/readyz", NULL, 0), 200);
	cr_assert_eq(client_get(H.port, "/readyz", NULL, 0), 200);
	cr_assert_eq(client_get(H.port, "/metrics", body, sizeof(body)), 200);
	cr_assert(strstr(body, "knext_probe_requests_total{path=\"/readyz\",code=\"200\"} 2\n"),
		  "%s", body);
	cr_assert(strstr(body, "knext_probe_requests_total{path=\"/readyz\",code=\"503\"} 1\n"));
	cr_assert(strstr(body, "knext_probe_requests_total{path=\"/metrics\",code=\"200\"} 1\n"));
	cr_assert(strstr(body, "knext_ready 1\n"));
	cr_assert(strstr(body, "knext_startup_phase_seconds{phase=\"server_listening\"}"));
	harness_stop();
}

/*
 * A 5 ms timer on the loop: its worst lateness under load tells whether serving delays it. Wall
 * time between ticks includes whatever the scheduler of a busy machine adds; the loop thread's
 * own CPU time between ticks is what serving spent without letting the timer run.
 */
static uint64_t tick_last, tick_worst, tick_cpu_last, tick_cpu_worst;
static uv_timer_t tick;

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void tick_cb(uv_timer_t *t)
{
	uint64_t now = uv_hrtime(), cpu = thread_cpu_ns();

	(void)t;
	if (tick_last && now - tick_last > tick_worst)
		tick_worst = now - tick_last;
	if (tick_cpu_last && cpu - tick_cpu_last > tick_cpu_worst)
		tick_cpu_worst = cpu - tick_cpu_last;
	tick_last = now;
	tick_cpu_last = cpu;
}

static void tick_start(void *arg)
{
	(void)arg;
	uv_timer_init(&H.loop, &tick);
	uv_timer_start(&tick, tick_cb, 5, 5);
}

static void tick_stop(void *arg)
{
	(void)arg;
	uv_close((uv_handle_t *)&tick, NULL);
}

static void *flood(void *arg)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
	char chunk[sizeof(req) * 64], sink[65536];
	int fd = client_connect(H.port, 2000);
	uint64_t t0 = now_ns();

	(void)arg;
	for (int i = 0; i < 64; i++)
		memcpy(chunk + i * (sizeof(req) - 1), req, sizeof(req) - 1);
	/* Pipelined /metrics as fast as possible, reading without bound, for 1 s. */
	while (ms_since(t0) < 1000) {
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

		poll(&p, 1, 10);
		if (p.revents & POLLOUT)
			send(fd, chunk, 64 * (sizeof(req) - 1), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (p.revents & POLLIN)
			recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
	}
	close(fd);
	return NULL;
}

Test(server, load_does_not_delay_the_loop)
{
	pthread_t th[4];

	harness_start(NULL);
	harness_call(h_set_alive, NULL);
	harness_call(tick_start, NULL);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, flood, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	harness_call(tick_stop, NULL);
	figure("# 5 ms timer under a pipelined /metrics flood: worst interval %.2f ms wall, "
	       "%.2f ms of the loop thread's CPU\n",
	       (double)tick_worst / 1e6, (double)tick_cpu_worst / 1e6);
	/*
	 * The wall figure is the benchmark. What is asserted does not depend on the machine's load:
	 * the loop never spends more than 100 ms of its own CPU between two runs of the timer.
	 */
	cr_assert_lt(tick_cpu_worst, 100 * 1000000ull, "loop busy for %.2f ms between ticks",
		     (double)tick_cpu_worst / 1e6);
	harness_stop();
}

Test(server, refuses_a_busy_port)
{
	struct probe_server s2;
	struct probe_state st;
	uv_loop_t loop;

	harness_start(NULL);
	uv_loop_init(&loop);
	probe_state_init(&st, 0, 0, 0);
	cr_assert_eq(probe_server_init(&s2, &loop, &st, "127.0.0.1", H.port), UV_EADDRINUSE);
	cr_assert(strstr(s2.why, "KNEXT_PROBE_PORT"), "%s", s2.why);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0);
	harness_stop();
}
