// SPDX-License-Identifier: Apache-2.0
/* probe_state, the port check, /metrics rendering and the /proc/net/tcp row scanner. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "probes/listenwatch.h"
#include "probes/metrics.h"
#include "probes/state.h"

#define MS 1000000ull

Test(state, transitions)
{
	struct probe_state st;

	cr_assert_eq(probe_state_init(&st, 100, 1000, 10000), 0);
	cr_assert_not(probe_state_is_ready(&st));
	cr_assert_not(probe_state_is_live(&st, 200));
	cr_assert_not(probe_state_is_started(&st));

	probe_state_set_child_alive(&st, true, 1 * MS);
	cr_assert_eq(st.phase_ns[PROBE_PHASE_EXEC], 1 * MS);
	cr_assert_not(probe_state_is_ready(&st), "alive is not ready");
	cr_assert(probe_state_is_live(&st, 2 * MS));

	probe_state_set_ready(&st, true, 50 * MS);
	cr_assert(probe_state_is_ready(&st));
	cr_assert(probe_state_is_started(&st));
	cr_assert_eq(st.ready_ns, 50 * MS);
	probe_state_set_ready(&st, true, 60 * MS);
	cr_assert_eq(st.ready_ns, 50 * MS, "a repeated READY keeps the first time");

	probe_state_set_draining(&st);
	cr_assert_not(probe_state_is_ready(&st));
	cr_assert(probe_state_is_started(&st), "startup stays done");
	cr_assert(probe_state_is_live(&st, 70 * MS), "draining is still live");
	probe_state_set_ready(&st, true, 80 * MS);
	cr_assert_not(probe_state_is_ready(&st), "no ready while draining");

	probe_state_set_child_exit(&st, 0);
	cr_assert_not(probe_state_is_live(&st, 90 * MS));
	cr_assert(st.child_exited);
}

Test(state, liveness_follows_heartbeats)
{
	struct probe_state st;

	probe_state_init(&st, 0, 100, 500);
	probe_state_set_child_alive(&st, true, 1000 * MS);
	/* Exec mode: no heartbeat ever seen, so silence is not a failure. */
	cr_assert(probe_state_is_live(&st, 5000 * MS));

	st.expect_heartbeat = true; /* embedded mode: the bootstrap always heartbeats */
	cr_assert(probe_state_is_live(&st, 1499 * MS));
	cr_assert_not(probe_state_is_live(&st, 1500 * MS), "blocked from the start");
	probe_state_heartbeat(&st, 1600 * MS);
	cr_assert(probe_state_is_live(&st, 2000 * MS));
	cr_assert_not(probe_state_is_live(&st, 2100 * MS), "event loop blocked 500 ms");

	st.expect_heartbeat = false;
	cr_assert_not(probe_state_is_live(&st, 2100 * MS), "checked once heartbeats began");
	st.liveness_timeout_ms = 0;
	cr_assert(probe_state_is_live(&st, 9000 * MS), "0 disables the check");
}

Test(state, phases_and_names)
{
	struct probe_state st;

	probe_state_init(&st, 10, 0, 0);
	cr_assert_eq(probe_state_mark_phase(&st, PROBE_PHASE_PREFETCH_DONE, 20), 0);
	cr_assert_eq(probe_state_mark_phase(&st, PROBE_PHASE_PREFETCH_DONE, 30), -EALREADY);
	cr_assert_eq(probe_state_mark_phase(&st, PROBE_PHASE_COUNT, 30), -EINVAL);
	cr_assert_eq(st.phase_ns[PROBE_PHASE_PREFETCH_DONE], 20);
	for (int p = 0; p < PROBE_PHASE_COUNT; p++) {
		const char *n = probe_phase_name(p);

		cr_assert_eq(probe_phase_from_name(n, strlen(n)), p);
	}
	cr_assert_eq(probe_phase_from_name("exe", 3), -EINVAL);
	cr_assert_eq(probe_code_index(503), PROBE_CODE_503);
	cr_assert_eq(probe_code_index(302), -EINVAL);
	cr_assert_eq(probe_code_status(PROBE_CODE_431), 431);
}

Test(state, port_check)
{
	char why[200];
	static const int reserved[] = { 8012, 8013, 8022, 9090, 9091, 8008 };

	cr_assert_eq(probe_port_check(8090, 8080, why, sizeof(why)), 0);
	cr_assert_eq(probe_port_check(8080, 8080, why, sizeof(why)), -EADDRINUSE);
	cr_assert(strstr(why, "app port"), "%s", why);
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		cr_assert_eq(probe_port_check(reserved[i], 3000, why, sizeof(why)), -EADDRINUSE);
		cr_assert(strstr(why, "Knative"), "%s", why);
	}
	cr_assert_eq(probe_port_check(0, 8080, why, sizeof(why)), -ERANGE);
	cr_assert_eq(probe_port_check(65536, 8080, NULL, 0), -ERANGE);
}

Test(metrics, exposition)
{
	static char buf[PROBE_METRICS_MAX];
	struct probe_state st;
	ssize_t n;

	probe_state_init(&st, 1000 * MS, 1000, 10000);
	probe_state_set_child_alive(&st, true, 1002 * MS);
	probe_state_mark_phase(&st, PROBE_PHASE_PREFETCH_DONE, 1010 * MS);
	probe_state_set_ready(&st, true, 1250500 * 1000ull);
	probe_state_cache(&st, 220, 2, 1, 4400000);
	probe_state_signal_forwarded(&st, SIGTERM);
	probe_state_signal_forwarded(&st, SIGTERM);
	probe_state_signal_forwarded(&st, 40);
	st.requests[PROBE_PATH_READYZ][PROBE_CODE_503] = 7;
	st.requests[PROBE_PATH_READYZ][PROBE_CODE_200] = 3;
	probe_state_heartbeat(&st, 1300 * MS);
	probe_state_set_child_exit(&st, 143 << 8);

	n = probe_metrics_render(&st, 1400 * MS, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert(strstr(buf, "knext_startup_phase_seconds{phase=\"exec\"} 0.002000000\n"), "%s",
		  buf);
	cr_assert(strstr(buf,
			 "knext_startup_phase_seconds{phase=\"server_listening\"} 0.250500000\n"));
	cr_assert_null(strstr(buf, "phase=\"first_request\""), "unset phases are left out");
	cr_assert(strstr(buf, "knext_cache_hits_total 220\n"));
	cr_assert(strstr(buf, "knext_cache_bytes_total 4400000\n"));
	cr_assert(strstr(buf, "knext_signals_forwarded_total{signal=\"SIGTERM\"} 2\n"));
	cr_assert(strstr(buf, "knext_signals_forwarded_total{signal=\"40\"} 1\n") ||
		  strstr(buf, "knext_signals_forwarded_total{signal=\"SIG"));
	cr_assert(strstr(buf, "knext_probe_requests_total{path=\"/readyz\",code=\"503\"} 7\n"));
	cr_assert(strstr(buf, "knext_child_exit_code 143\n"));
	cr_assert(strstr(buf, "knext_heartbeat_age_seconds 0.100000000\n"));
	cr_assert(strstr(buf, "# TYPE knext_cache_misses_total counter\n"));
	/* Every line is a comment or "name[{labels}] value". */
	for (char *line = buf; *line; line = strchr(line, '\n') + 1) {
		if (*line == '#')
			continue;
		cr_assert(strncmp(line, "knext_", 6) == 0, "line: %.60s", line);
		cr_assert(strchr(line, ' ') < strchr(line, '\n'));
	}
	cr_assert_eq(probe_metrics_render(&st, 0, buf, 100), -ENOSPC);
}

Test(listenwatch, scan_rows)
{
	const char *tcp =
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
		"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n"
		"   1: 0100007F:0BB8 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n";
	const char *tcp6 =
		"  sl  local_address                         remote_address                        st tx_queue\n"
		"   0: 00000000000000000000000000000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000\n";

	cr_assert_eq(listenwatch_scan_buf(tcp, strlen(tcp), 8080), 1);
	cr_assert_eq(listenwatch_scan_buf(tcp, strlen(tcp), 3000), 0, "3000 is ESTABLISHED only");
	cr_assert_eq(listenwatch_scan_buf(tcp6, strlen(tcp6), 3000), 1);
	cr_assert_eq(listenwatch_scan_buf("garbage\n:::\n 0: x:y z 0A\n", 24, 0), 0);
	cr_assert_eq(listenwatch_scan_file("/nonexistent/tcp", 80), -ENOENT);
}
