// SPDX-License-Identifier: Apache-2.0
/* notify_parse() and notify_apply(): the sd_notify lines, strictness, whole-or-nothing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "probes/notify.h"

struct seen {
	int n;
	char keys[8][64];
	char vals[8][128];
};

static int collect_cb(const char *k, size_t kl, const char *v, size_t vl, void *opaque)
{
	struct seen *s = opaque;

	if (s->n < 8) {
		snprintf(s->keys[s->n], 64, "%.*s", (int)kl, k);
		snprintf(s->vals[s->n], 128, "%.*s", (int)vl, v);
	}
	s->n++;
	return 0;
}

static int parse(const char *s, struct seen *out)
{
	memset(out, 0, sizeof(*out));
	return notify_parse(s, strlen(s), collect_cb, out);
}

Test(notify, lines_in_order)
{
	struct seen s = { 0 };

	cr_assert_eq(parse("READY=1\nSTATUS=serving on :3000\nWATCHDOG=1\n", &s), 3);
	cr_assert_str_eq(s.keys[0], "READY");
	cr_assert_str_eq(s.vals[1], "serving on :3000");
	cr_assert_str_eq(s.keys[2], "WATCHDOG");
	cr_assert_eq(parse("READY=1", &s), 1, "the final LF is optional");
	cr_assert_eq(parse("STATUS=", &s), 1, "empty values are fine");
	cr_assert_str_eq(s.vals[0], "");
	cr_assert_eq(parse("STATUS=a=b\tc", &s), 1);
	cr_assert_str_eq(s.vals[0], "a=b\tc");
}

Test(notify, malformed_is_rejected_whole)
{
	static const struct {
		const char *name, *msg;
		size_t len;
		int want;
	} bad[] = {
		{ "empty", "", 0, -EMSGSIZE },
		{ "only LF", "\n", 1, -EBADMSG },
		{ "empty line", "READY=1\n\nWATCHDOG=1", 0, -EBADMSG },
		{ "two trailing LF", "READY=1\n\n", 0, -EBADMSG },
		{ "no equals", "READY\n", 0, -EBADMSG },
		{ "empty key", "=1\n", 0, -EBADMSG },
		{ "lowercase key", "ready=1\n", 0, -EBADMSG },
		{ "space in key", "READY =1\n", 0, -EBADMSG },
		{ "NUL in value", "STATUS=a\0b", 10, -EBADMSG },
		{ "CR in value", "READY=1\r\n", 0, -EBADMSG },
		{ "control byte", "STATUS=\x1b[31m", 0, -EBADMSG },
		{ "bad line after good", "READY=1\nbad line", 0, -EBADMSG },
	};
	struct seen s = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].msg);
		int r;

		memset(&s, 0, sizeof(s));
		r = notify_parse(bad[i].msg, len, collect_cb, &s);
		cr_expect_eq(r, bad[i].want, "%s: got %d", bad[i].name, r);
		cr_expect_eq(s.n, 0, "%s: nothing reported from a rejected datagram", bad[i].name);
	}
}

Test(notify, size_bounds)
{
	static char big[NOTIFY_MAX_DATAGRAM + 2];
	char key[NOTIFY_MAX_KEY + 4];
	struct seen s = { 0 };

	memcpy(big, "STATUS=", 7);
	memset(big + 7, 'x', sizeof(big) - 7);
	cr_assert_eq(notify_parse(big, NOTIFY_MAX_DATAGRAM, collect_cb, &s), 1);
	cr_assert_eq(notify_parse(big, NOTIFY_MAX_DATAGRAM + 1, collect_cb, &s), -EMSGSIZE);

	memset(key, 'K', NOTIFY_MAX_KEY);
	strcpy(key + NOTIFY_MAX_KEY, "=1");
	cr_assert_eq(parse(key, &s), 1);
	memset(key, 'K', NOTIFY_MAX_KEY + 1);
	strcpy(key + NOTIFY_MAX_KEY + 1, "=1");
	cr_assert_eq(parse(key, &s), -EBADMSG);
}

static struct notify_event events[16];
static int nevents;

static void event_cb(struct notify_server *n, const struct notify_event *ev)
{
	(void)n;
	if (nevents < 16)
		events[nevents] = *ev;
	nevents++;
}

static int apply(struct probe_state *st, const char *msg)
{
	nevents = 0;
	return notify_apply(st, msg, strlen(msg), 5000, event_cb, NULL);
}

Test(notify, apply_updates_state)
{
	struct probe_state st;

	probe_state_init(&st, 1000, 1000, 10000);
	probe_state_set_child_alive(&st, true, 2000);
	cr_assert_eq(apply(&st, "X_KNEXT_PHASE=libnode_loaded\n"), 1);
	cr_assert_eq(st.phase_ns[PROBE_PHASE_LIBNODE_LOADED], 5000);
	cr_assert_eq(events[0].type, NOTIFY_EV_PHASE);
	cr_assert_eq(events[0].phase, PROBE_PHASE_LIBNODE_LOADED);

	cr_assert_eq(apply(&st, "READY=1\nSTATUS=listening\nMAINPID=42\n"), 3);
	cr_assert(probe_state_is_ready(&st));
	cr_assert(probe_state_is_started(&st));
	cr_assert_eq(st.phase_ns[PROBE_PHASE_SERVER_LISTENING], 5000);
	cr_assert_eq(nevents, 2, "MAINPID is ignored, not reported");
	cr_assert_eq(events[1].type, NOTIFY_EV_STATUS);
	cr_assert_eq(events[1].text_len, 9);

	cr_assert_eq(apply(&st, "X_KNEXT_CACHE=hit=220 miss=2 rejected=1 bytes=4400000"), 1);
	cr_assert_eq(st.cache_hit, 220);
	cr_assert_eq(st.cache_miss, 2);
	cr_assert_eq(st.cache_rejected, 1);
	cr_assert_eq(st.cache_bytes, 4400000);

	cr_assert_eq(apply(&st, "WATCHDOG=1"), 1);
	cr_assert(st.heartbeat_seen);
	cr_assert_eq(st.last_heartbeat_ns, 5000);

	cr_assert_eq(apply(&st, "STOPPING=1"), 1);
	cr_assert_not(probe_state_is_ready(&st));
	cr_assert(st.draining);
	cr_assert_eq(apply(&st, "READY=1"), 1);
	cr_assert_not(probe_state_is_ready(&st), "no readiness after draining began");
}

Test(notify, apply_is_all_or_nothing)
{
	static const char *const bad[] = {
		"READY=1\nX_KNEXT_PHASE=warp_drive",
		"READY=2",
		"READY=1\nWATCHDOG=trigger",
		"STOPPING=yes\nREADY=1",
		"X_KNEXT_CACHE=hit=1 miss=2 rejected=3",
		"X_KNEXT_CACHE=hit=1 miss=2 rejected=3 bytes=4 extra=5",
		"X_KNEXT_CACHE=hit=1  miss=2 rejected=3 bytes=4",
		"X_KNEXT_CACHE=miss=2 hit=1 rejected=3 bytes=4",
		"X_KNEXT_CACHE=hit=-1 miss=2 rejected=3 bytes=4",
		"X_KNEXT_CACHE=hit=18446744073709551616 miss=0 rejected=0 bytes=0",
		"X_KNEXT_CACHE=hit= miss=0 rejected=0 bytes=0",
		"READY=1\nbad",
	};
	struct probe_state st, before;

	probe_state_init(&st, 1000, 1000, 10000);
	probe_state_set_child_alive(&st, true, 2000);
	before = st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = apply(&st, bad[i]);

		cr_expect_lt(r, 0, "\"%s\" accepted", bad[i]);
		cr_expect_eq(memcmp(&st, &before, sizeof(st)), 0, "\"%s\" changed the state",
			     bad[i]);
		cr_expect_eq(nevents, 1, "\"%s\": one event", bad[i]);
		cr_expect_eq(events[0].type, NOTIFY_EV_INVALID);
	}
	cr_assert_eq(apply(&st, "X_KNEXT_CACHE=hit=18446744073709551615 miss=0 rejected=0 bytes=0"),
		     1);
	cr_assert_eq(st.cache_hit, UINT64_MAX);
}

Test(notify, repeated_phase_keeps_first_time)
{
	struct probe_state st;

	probe_state_init(&st, 1, 1000, 10000);
	nevents = 0;
	cr_assert_eq(notify_apply(&st, "X_KNEXT_PHASE=first_request", 27, 10, event_cb, NULL), 1);
	cr_assert_eq(notify_apply(&st, "X_KNEXT_PHASE=first_request", 27, 20, event_cb, NULL), 1);
	cr_assert_eq(st.phase_ns[PROBE_PHASE_FIRST_REQUEST], 10);
	cr_assert_eq(nevents, 1);
}
