// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: notify_apply() (and so notify_parse()) on arbitrary datagrams. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/notify.h"

static void event_cb(struct notify_server *n, const struct notify_event *ev)
{
	(void)n;
	if (ev->type == NOTIFY_EV_INVALID && ev->err >= 0)
		abort();
	if (ev->type == NOTIFY_EV_PHASE && (unsigned)ev->phase >= PROBE_PHASE_COUNT)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	struct probe_state st, before;
	int r;

	memcpy(buf, data, size);
	probe_state_init(&st, 1, 1000, 10000);
	probe_state_set_child_alive(&st, true, 2);
	before = st;
	r = notify_apply(&st, buf, size, 3, event_cb, NULL);
	/* A rejected datagram leaves the state exactly as it was. */
	if (r < 0 && memcmp(&st, &before, sizeof(st)))
		abort();
	free(buf);
	return 0;
}
