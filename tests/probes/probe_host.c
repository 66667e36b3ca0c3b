// SPDX-License-Identifier: Apache-2.0
/*
 * probe-host [PORT]: a probe server on one thread, in the state "ready", for load figures
 * (bench.sh runs wrk against it). Prints "port N" once listening, and "rss_kb N" on SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "state.h"

static struct probe_server srv;
static uv_signal_t sig;

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
	fflush(stdout);
	uv_close((uv_handle_t *)s, NULL);
	probe_server_close(&srv, NULL);
}

static void usr1_cb(uv_signal_t *s, int signum)
{
	(void)s;
	(void)signum;
	printf("rss_kb %ld\n", rss_kb());
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
	printf("port %d\nrss_kb %ld\n", srv.port, rss_kb());
	fflush(stdout);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&usr1, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	return uv_loop_close(loop) ? 1 : 0;
}
