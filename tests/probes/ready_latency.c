// SPDX-License-Identifier: Apache-2.0
/*
 * ready-latency KNEXT_INIT LISTEN_APP RUNS: listen -> first 200 on /readyz through the real
 * knext-init in exec mode, as PID 1 of a new PID namespace, RUNS times for each way it learns
 * readiness: the listen watcher (an app that says nothing) and READY=1 on NOTIFY_SOCKET. A prober
 * asks /readyz back to back; the app records when it listened. Prints TAP.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probes/cli.h"
#include "probes/state.h"

/* The slowest single /readyz exchange, and those that timed out: stalls of PID 1's loop. */
static uint64_t worst_probe_ns;
static int timeouts;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One run; the latency in ms, or a negative value on failure. */
static double one_run(const char *knext, const char *app, const char *mode, int port, int pport)
{
	char file[64], p[16], pp[16], line[32];
	uint64_t t200 = 0, tlisten = 0;
	pid_t pid;
	FILE *f;
	int status;

	snprintf(file, sizeof(file), "/tmp/knext-ready-latency-%d", getpid());
	unlink(file);
	snprintf(p, sizeof(p), "%d", port);
	snprintf(pp, sizeof(pp), "%d", pport);
	pid = fork();
	if (pid == 0) {
		/* The app listens 30 ms after its start: the watcher is in its steady state then. */
		setenv("PORT", p, 1);
		setenv("KNEXT_PROBE_PORT", pp, 1);
		setenv("KNEXT_VERBOSITY", "0", 1);
		execlp("unshare", "unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
		       knext, "--", app, file, "30", mode, (char *)NULL);
		_exit(127);
	}
	for (uint64_t t0 = probe_now_ns(); probe_now_ns() - t0 < 5000000000ull;) {
		uint64_t q0 = probe_now_ns();
		int r = probe_cli_request(pport, "/readyz", 200, NULL, 0);

		if (probe_now_ns() - q0 > worst_probe_ns)
			worst_probe_ns = probe_now_ns() - q0;
		if (r == -ETIMEDOUT)
			timeouts++;

		if (r == 200) {
			t200 = probe_now_ns();
			break;
		}
		usleep(r == -ECONNREFUSED ? 1000 : 100);
	}
	usleep(20000);
	kill(pid, SIGKILL); /* unshare --kill-child takes the namespace down with it */
	waitpid(pid, &status, 0);
	f = fopen(file, "r");
	if (f && fgets(line, sizeof(line), f))
		tlisten = strtoull(line, NULL, 10);
	if (f)
		fclose(f);
	unlink(file);
	if (!t200)
		return -1; /* never ready */
	if (!tlisten)
		return -2; /* the app did not listen */
	if (t200 < tlisten)
		return -3; /* ready before the listen: someone else's listener on PORT */
	return (double)(t200 - tlisten) / 1e6;
}

int main(int argc, char **argv)
{
	static const char *const modes[] = { "silent", "notify" };
	static const char *const names[] = { "listen watcher (app says nothing)",
					     "READY=1 on NOTIFY_SOCKET" };
	int runs = argc > 3 ? atoi(argv[3]) : 50, fails = 0, why[4];
	double *t;

	if (argc < 3 || runs < 1) {
		fprintf(stderr, "usage: ready-latency KNEXT_INIT LISTEN_APP [RUNS]\n");
		return 2;
	}
	printf("1..2\n");
	if (system("unshare --pid --fork --mount-proc true >/dev/null 2>&1") != 0) {
		for (int m = 0; m < 2; m++)
			printf("ok %d - %s # SKIP cannot create a PID namespace here\n", m + 1,
			       names[m]);
		return 0;
	}
	t = calloc((size_t)runs, sizeof(*t));
	srand((unsigned)getpid());
	for (int m = 0; m < 2; m++) {
		int ok = 0;

		memset(why, 0, sizeof(why));
		for (int i = 0; i < runs; i++) {
			int port = 20000 + rand() % 20000;
			double ms = one_run(argv[1], argv[2], modes[m], port, port + 1);

			if (ms >= 0)
				t[ok++] = ms;
			else
				why[(int)-ms]++;
		}
		if (ok < runs) {
			printf("not ok %d - %s: %d of %d runs failed (never ready %d, app did not "
			       "listen %d, ready before the listen %d)\n",
			       m + 1, names[m], runs - ok, runs, why[1], why[2], why[3]);
			fails++;
			continue;
		}
		qsort(t, (size_t)ok, sizeof(*t), cmp_double);
		printf("%s %d - knext-init exec mode, %s: listen -> /readyz 200 median %.3f ms, "
		       "p99 %.3f ms, max %.3f ms over %d runs (slowest single /readyz %.3f ms, "
		       "%d timed out)\n",
		       t[ok / 2] < 5.0 ? "ok" : "not ok", m + 1, names[m], t[ok / 2],
		       t[(ok * 99) / 100], t[ok - 1], ok, (double)worst_probe_ns / 1e6, timeouts);
		worst_probe_ns = 0;
		timeouts = 0;
		fails += t[ok / 2] >= 5.0;
	}
	free(t);
	return fails ? 1 : 0;
}
