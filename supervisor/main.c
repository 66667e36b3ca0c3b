// SPDX-License-Identifier: Apache-2.0
/*
 * knext-init: the container's PID 1. Without a command it runs the Next.js standalone server on
 * embedded Node.js; with one it is a drop-in replacement for tini. `cache`, `manifest` and `probe`
 * name subcommands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cachefs/cli.h"
#include "supervisor/config.h"
#include "supervisor/log.h"
#include "container/manifest/manifest.h"
#include "probes/cli.h"
#include "supervisor/warm.h"
#include "supervisor/pid1.h"
#include "supervisor/zone.h"

#define KNEXT_LICENSE                                                                       \
	"knext-init is licensed under the Apache License, Version 2.0.\n"                   \
	"You may obtain a copy of the License in the LICENSE file of its source tree.\n"    \
	"Unless required by applicable law or agreed to in writing, software distributed\n" \
	"under the License is distributed on an \"AS IS\" BASIS, WITHOUT WARRANTIES OR\n"   \
	"CONDITIONS OF ANY KIND, either express or implied.\n"

/* `knext-init NAME [SUB] ...`; an entry with @sub takes precedence over its @name alone. */
struct subcommand {
	const char *name;
	const char *sub;
	int (*main)(int argc, char **argv);
};

/* `knext-init probe`: asks the probe server at the port the configuration names. */
static int probe_main(int argc, char **argv)
{
	static char *self[] = { "knext-init", NULL };
	struct knext_config cfg;

	if (config_parse(&cfg, 1, self) < 0) {
		fprintf(stderr, "knext-init probe: %s\n", cfg.error);
		return 2;
	}
	return probe_cli_main(argc, argv, cfg.probe_port);
}

static const struct subcommand subcommands[] = {
	/* `cache warm` runs the app: the binary's business, not cachefs's. */
	{ "cache", "warm", warm_cli_main },
	{ "cache", NULL, cache_cli_main },
	{ "manifest", NULL, manifest_cli_main },
	{ "probe", NULL, probe_main },
	{ NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	uint64_t t0 = log_now_ns();
	struct knext_config cfg;
	struct pid1 p;
	int r, code;

	for (const struct subcommand *s = subcommands; argc > 1 && s->name; s++) {
		if (strcmp(argv[1], s->name) != 0)
			continue;
		if (!s->sub)
			return s->main(argc - 1, argv + 1);
		if (argc > 2 && strcmp(argv[2], s->sub) == 0)
			return s->main(argc - 2, argv + 2);
	}

	if (config_parse(&cfg, argc, argv) < 0) {
		fprintf(stderr, "knext-init: %s\n%s", cfg.error, config_usage());
		return 1;
	}
	if (cfg.help) {
		fputs(config_usage(), stdout);
		return 0;
	}
	if (cfg.version) {
		printf("knext-init version %s\n", KNEXT_VERSION);
		return 0;
	}
	if (cfg.license) {
		fputs(KNEXT_LICENSE, stdout);
		return 0;
	}

	log_init(t0, (enum log_level)cfg.verbosity);
	log_event(LOG_INFO, "exec", "\"mode\":\"%s\"",
		  cfg.mode == CONFIG_MODE_EMBEDDED ? "embedded" : "exec");
	/* A zone's pod runs the build made for that zone, or does not start: before anything is
	 * spawned, so it never becomes Ready. */
	if (cfg.mode == CONFIG_MODE_EMBEDDED) {
		char why[2 * ZONE_PATH_MAX + 256], esc[sizeof(why) + 64];

		r = zone_check(cfg.app_dir, cfg.zone.base_path, cfg.zone.asset_prefix, why,
			       sizeof(why));
		if (r < 0) {
			log_event(LOG_ERROR, "zone", "\"error\":%s",
				  log_json_str(esc, sizeof(esc), why));
			return 1;
		}
	}
	if ((r = pid1_init(&p, &cfg, t0)) < 0) {
		log_event(LOG_ERROR, "init", "\"error\":\"%s\"", strerror(-r));
		pid1_close(&p);
		return 1;
	}
	code = pid1_run(&p);
	pid1_close(&p);
	if (p.retry_without_snapshot) {
		/* Still PID 1, with every signal blocked: what arrives meanwhile stays pending. */
		setenv("KNEXT_SNAPSHOT", "0", 1);
		execv("/proc/self/exe", argv);
		log_event(LOG_ERROR, "snapshot_failed", "\"error\":\"exec: %s\"", strerror(errno));
	}
	return code;
}
