// SPDX-License-Identifier: Apache-2.0
#include <stddef.h>

#include "common/defaults.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const struct knext_default knext_defaults[] = {
	{ "KNEXT_APP_DIR", KNEXT_DEFAULT_APP_DIR, "Next.js standalone app directory" },
	{ "KNEXT_ENTRY", KNEXT_DEFAULT_ENTRY, "entry script inside the app directory" },
	{ "KNEXT_HOSTNAME", KNEXT_DEFAULT_HOSTNAME, "HOSTNAME given to server.js" },
	{ "PORT", STR(KNEXT_DEFAULT_PORT), "traffic port (Knative injects it)" },
	{ "KNEXT_PROBE_PORT", STR(KNEXT_DEFAULT_PROBE_PORT), "probe server port" },
	{ "KNEXT_GRACE_MS", STR(KNEXT_DEFAULT_GRACE_MS), "TERM to KILL grace for descendants" },
	{ "KNEXT_HEARTBEAT_MS", STR(KNEXT_DEFAULT_HEARTBEAT_MS), "event-loop heartbeat period" },
	{ "KNEXT_LIVENESS_TIMEOUT_MS", STR(KNEXT_DEFAULT_LIVENESS_TIMEOUT_MS),
	  "no heartbeat for this long means not live" },
	{ "KNEXT_CACHE_DIR", KNEXT_DEFAULT_CACHE_DIR, "PVC mount holding the compile-cache pack" },
	{ "KNEXT_CACHE_MAX_BYTES", STR(KNEXT_DEFAULT_CACHE_MAX_BYTES), "pack size budget" },
	{ "KNEXT_ANNOUNCE", STR(KNEXT_DEFAULT_ANNOUNCE),
	  "a datagram to the default gateway at start" },
	{ NULL, NULL, NULL },
};
