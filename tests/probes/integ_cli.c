// SPDX-License-Identifier: Apache-2.0
/* `knext-init probe ready|live|startup`: exit codes, timeouts, and its cost per run. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/defaults.h"
#include "probes/cli.h"
#include "tests/probes/harness.h"

extern char **environ;

static int run_cli(const char *check, int port, const char *timeout)
{
	char p[16];
	char *argv[] = {
		"probe", (char *)check, "--port", p, "--timeout-ms", (char *)timeout, NULL
	};

	snprintf(p, sizeof(p), "%d", port);
	return probe_cli_main(6, argv, KNEXT_DEFAULT_PROBE_PORT);
}

Test(cli, exit_codes_follow_the_state)
{
	harness_start(NULL);
	cr_assert_eq(run_cli("ready", H.port, "1000"), 1);
	cr_assert_eq(run_cli("live", H.port, "1000"), 1);
	harness_call(h_set_alive, NULL);
	cr_assert_eq(run_cli("live", H.port, "1000"), 0);
	cr_assert_eq(run_cli("startup", H.port, "1000"), 1);
	harness_call(h_set_ready, NULL);
	cr_assert_eq(run_cli("ready", H.port, "1000"), 0);
	cr_assert_eq(run_cli("startup", H.port, "1000"), 0);
	harness_call(h_set_drain, NULL);
	cr_assert_eq(run_cli("ready", H.port, "1000"), 1);
	cr_assert_eq(run_cli("startup", H.port, "1000"), 0);
	harness_stop();
}

Test(cli, port_from_environment_and_usage)
{
	char *argv[] = { "probe", "live", NULL };
	char *bad[] = { "probe", "live", "--port", "99999", NULL };
	char *unknown[] = { "probe", "healthy", NULL };

	harness_start(NULL);
	harness_call(h_set_alive, NULL);
	cr_assert_eq(probe_cli_main(2, argv, H.port), 0);
	cr_assert_eq(probe_cli_main(2, argv, 0), 2);
	cr_assert_eq(probe_cli_main(4, bad, KNEXT_DEFAULT_PROBE_PORT), 2);
	cr_assert_eq(probe_cli_main(2, unknown, KNEXT_DEFAULT_PROBE_PORT), 2);
	cr_assert_eq(probe_cli_main(1, argv, KNEXT_DEFAULT_PROBE_PORT), 2);
	harness_stop();
}

Test(cli, unreachable_and_silent_servers)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	uint64_t t0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &len);
	port = ntohs(sa.sin_port);
	/* Bound, not listening: refused at once. */
	t0 = now_ns();
	cr_assert_eq(run_cli("ready", port, "1000"), 1);
	cr_assert_lt(ms_since(t0), 100.0);
	/* Listening but never answering: the timeout holds. */
	listen(fd, 4);
	t0 = now_ns();
	cr_assert_eq(run_cli("ready", port, "200"), 1);
	cr_assert_geq(ms_since(t0), 190.0);
	cr_assert_lt(ms_since(t0), 700.0);
	close(fd);
}

Test(cli, cost_per_exec)
{
	enum { RUNS = 30 };
	const char *bin = getenv("PROBE_CLI");
	double t[RUNS];
	char p[16];

	if (!bin || access(bin, X_OK) < 0)
		cr_skip_test("PROBE_CLI (the probe-cli driver binary) not given");
	harness_start(NULL);
	harness_call(h_set_alive, NULL);
	harness_call(h_set_ready, NULL);
	snprintf(p, sizeof(p), "%d", H.port);
	for (int i = 0; i < RUNS; i++) {
		char *argv[] = { (char *)bin, "ready", "--port", p, NULL };
		uint64_t t0 = now_ns();
		pid_t pid;
		int status;

		cr_assert_eq(posix_spawn(&pid, bin, NULL, NULL, argv, environ), 0);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		t[i] = ms_since(t0);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_double);
	figure("# probe ready, spawn to exit: median %.3f ms, max %.3f ms\n", t[RUNS / 2],
	       t[RUNS - 1]);
	cr_assert_lt(t[RUNS / 2], 50.0, "fast enough for a 1 s probe period");
	harness_stop();
}
