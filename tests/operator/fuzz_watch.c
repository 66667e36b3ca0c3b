// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for what knext-operator reads from outside: the watch stream (split into lines,
 * each decoded as an event) and kubeconfig files. The first byte picks which; the watch stream is
 * fed in pieces whose sizes come from the input too, so line splitting across chunks is covered.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "container/operator/kubeconfig.h"
#include "container/operator/watch.h"

static int line_cb(void *ud, char *line, size_t len)
{
	struct watch_event ev;
	char key[320];

	if (watch_event_parse(line, len, &ev))
		return 0;
	if (ev.object)
		watch_object_key(ev.object, key, sizeof(key));
	watch_event_close(&ev);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct watch_lines wl;
	struct kube_config c;
	char reason[256];
	size_t off, step;

	if (size < 2)
		return 0;
	if (data[0] & 1) {
		kube_config_parse(&c, (const char *)data + 1, size - 1, NULL, reason,
				  sizeof(reason));
		kube_config_close(&c);
		return 0;
	}
	step = (size_t)(data[0] >> 1) + 1;
	watch_lines_init(&wl);
	for (off = 1; off < size; off += step)
		if (watch_lines_feed(&wl, (const char *)data + off,
				     size - off < step ? size - off : step, line_cb, NULL))
			break;
	watch_lines_close(&wl);
	return 0;
}
