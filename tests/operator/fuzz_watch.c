// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for what knext-operator reads from outside: the watch stream (split into lines,
 * each decoded as an event), list responses (each item rendered as the reconcile would, so values
 * the manifest library cannot take, U+0000 included, stay one item's error) and kubeconfig files.
 * The first byte picks which: odd is a kubeconfig, 0x80 and above (even) a list, the rest a watch
 * stream fed in pieces whose sizes come from that byte, so line splitting across chunks is covered.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "container/operator/kubeconfig.h"
#include "container/operator/render.h"
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

/* A list page, every item rendered; an item that cannot render must not stop the others. */
static void list_input(const char *body, size_t len)
{
	struct render_result rr;
	struct watch_list l;
	json_t *item;
	char key[320];
	size_t i;

	if (watch_list_parse(body, len, 64, &l))
		return;
	json_array_foreach(l.items, i, item) {
		if (watch_object_key(item, key, sizeof(key)))
			continue;
		render_nextapp(item, &rr);
		render_result_close(&rr);
	}
	watch_list_close(&l);
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
	if (data[0] >= 0x80) {
		list_input((const char *)data + 1, size - 1);
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
