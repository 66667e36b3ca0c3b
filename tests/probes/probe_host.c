// SPDX-License-Identifier: Apache-2.0
/*
 * probe-host [PORT]: a probe server on one thread, in the state "ready", for load figures
 * (bench.sh runs wrk against it). Prints "port N" once listening; on SIGUSR1 and SIGTERM, its
 * RSS and how much CPU each loop turn took (prepare -> check: the I/O callbacks, i.e. what the
 * server does per turn; CPU time, so the machine's other load does not count).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "probes/server.h"
#include "probes/state.h"

static struct probe_server srv;
static uv_signal_t sig;

#define HIST_US 20000
static uint32_t hist[HIST_US + 1]; /* turns by CPU microseconds, last bucket: more */
static uint64_t turns, cpu_at_prepare;
static uv_prepare_t prep;
static uv_check_t check;

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void prepare_cb(uv_prepare_t *h)
{
	(void)h;
	cpu_at_prepare = cpu_ns();
}

static void check_cb(uv_check_t *h)
{
	uint64_t us;

	(void)h;
	if (!cpu_at_prepare)
		return;
	us = (cpu_ns() - cpu_at_prepare) / 1000;
	hist[us > HIST_US ? HIST_US : us]++;
	turns++;
}

static unsigned quantile(double q)
{
	uint64_t want = (uint64_t)(q * (double)turns), seen = 0;

	for (unsigned i = 0; i <= HIST_US; i++) {
		seen += hist[i];
		if (seen > want)
			return i;
	}
	return HIST_US;
}

static void print_stats(void)
{
	unsigned max = 0;

	for (unsigned i = 0; i <= HIST_US; i++)
		if (hist[i])
			max = i;
	printf("turns %llu cpu_us_per_turn p50 %u p99 %u p99.9 %u max %u%s\n",
	       (unsigned long long)turns, quantile(0.5), quantile(0.99), quantile(0.999), max,
	       max == HIST_US ? "+" : "");
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

static void term_cb(uv_signal_t *s, int signum)
{
	(void)signum;
	printf("rss_kb %ld\n", rss_kb());
	print_stats();
	fflush(stdout);
	uv_close((uv_handle_t *)s, NULL);
	uv_close((uv_handle_t *)&prep, NULL);
	uv_close((uv_handle_t *)&check, NULL);
	probe_server_close(&srv, NULL);
}

static void usr1_cb(uv_signal_t *s, int signum)
{
	(void)s;
	(void)signum;
	printf("rss_kb %ld\n", rss_kb());
	print_stats();
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct probe_state st;
	uv_signal_t usr1;
	uv_loop_t *loop = uv_default_loop();
	int r;

	signal(SIGPIPE, SIG_IGN); /* the server's contract: see server.h */
	probe_state_init(&st, 0, 1000, 10000);
	probe_state_set_child_alive(&st, true, uv_hrtime());
	probe_state_set_ready(&st, true, uv_hrtime());
	r = probe_server_init(&srv, loop, &st, "127.0.0.1", argc > 1 ? atoi(argv[1]) : 0);
	if (r < 0) {
		fprintf(stderr, "%s\n", srv.why);
		return 1;
	}
	uv_signal_init(loop, &sig);
	uv_signal_start(&sig, term_cb, SIGTERM);
	uv_signal_init(loop, &usr1);
	uv_signal_start(&usr1, usr1_cb, SIGUSR1);
	uv_unref((uv_handle_t *)&usr1);
	uv_prepare_init(loop, &prep);
	uv_prepare_start(&prep, prepare_cb);
	uv_unref((uv_handle_t *)&prep);
	uv_check_init(loop, &check);
	uv_check_start(&check, check_cb);
	uv_unref((uv_handle_t *)&check);
	printf("port %d\nrss_kb %ld\n", srv.port, rss_kb());
	fflush(stdout);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&usr1, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	return uv_loop_close(loop) ? 1 : 0;
}
