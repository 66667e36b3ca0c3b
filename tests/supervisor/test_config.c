// SPDX-License-Identifier: Apache-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "supervisor/config.h"
#include "common/defaults.h"
#include "supervisor/log.h"

static const char *const vars[] = {
	"PORT",
	"KNEXT_APP_DIR",
	"KNEXT_ENTRY",
	"KNEXT_HOSTNAME",
	"KNEXT_PROBE_PORT",
	"KNEXT_GRACE_MS",
	"KNEXT_HEARTBEAT_MS",
	"KNEXT_LIVENESS_TIMEOUT_MS",
	"KNEXT_NODE_HELPER",
	"KNEXT_SUBREAPER",
	"TINI_SUBREAPER",
	"KNEXT_KILL_PROCESS_GROUP",
	"TINI_KILL_PROCESS_GROUP",
	"KNEXT_VERBOSITY",
	"TINI_VERBOSITY",
	"KNEXT_ANNOUNCE",
};

static void clean_env(void)
{
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static int parse(struct knext_config *c, int argc, const char **argv)
{
	return config_parse(c, argc, (char **)argv);
}

TestSuite(config, .init = clean_env);

Test(config, defaults_come_from_the_shared_table)
{
	struct knext_config c;
	const char *argv[] = { "knext-init", NULL };

	cr_assert_eq(parse(&c, 1, argv), 0);
	cr_assert_eq(c.mode, CONFIG_MODE_EMBEDDED);
	cr_assert_str_eq(c.app_dir, KNEXT_DEFAULT_APP_DIR);
	cr_assert_str_eq(c.entry, KNEXT_DEFAULT_ENTRY);
	cr_assert_str_eq(c.hostname, "0.0.0.0");
	cr_assert_eq(c.port, KNEXT_DEFAULT_PORT);
	cr_assert_eq(c.probe_port, KNEXT_DEFAULT_PROBE_PORT);
	cr_assert_eq(c.grace_ms, KNEXT_DEFAULT_GRACE_MS);
	cr_assert_eq(c.verbosity, 2, "embedded mode logs phases at info");
}

Test(config, tini_flags)
{
	struct knext_config c;
	const char *argv[] = { "knext-init", "-s", "-g",      "-w", "-v",   "-e",	 "3", "-e",
			       "143",	     "-p", "SIGKILL", "--", "node", "server.js", NULL };

	cr_assert_eq(parse(&c, 14, argv), 0, "%s", c.error);
	cr_assert(c.subreaper && c.kill_group && c.warn_reap);
	cr_assert_eq(c.mode, CONFIG_MODE_EXEC);
	cr_assert_str_eq(c.cmd[0], "node");
	cr_assert_str_eq(c.cmd[1], "server.js");
	cr_assert_null(c.cmd[2]);
	cr_assert_eq(c.pdeath_sig, SIGKILL);
	cr_assert_eq(c.probe_port, 0, "exec mode opens no probe port unless asked");
	cr_assert_eq(c.verbosity, 2, "exec mode starts at warn, -v adds one");
	cr_assert_eq(config_exit_code(&c, 3 << 8), 0);
	cr_assert_eq(config_exit_code(&c, SIGTERM), 0, "143 = killed by TERM, remapped");
	cr_assert_eq(config_exit_code(&c, 4 << 8), 4);
	cr_assert_eq(config_exit_code(&c, SIGKILL), 137);
}

Test(config, options_end_at_first_non_option)
{
	struct knext_config c;
	const char *argv[] = { "knext-init", "node", "--inspect", "-e", "1", "x.js", NULL };

	cr_assert_eq(parse(&c, 6, argv), 0);
	cr_assert_eq(c.mode, CONFIG_MODE_EXEC);
	cr_assert_str_eq(c.cmd[1], "--inspect");
	cr_assert_str_eq(c.cmd[2], "-e");
	cr_assert_eq(c.exit_zero[0], 0, "the program's -e is not ours");
}

Test(config, bad_flags_are_errors)
{
	struct knext_config c;
	const char *unknown[] = { "knext-init", "-x", NULL };
	const char *no_arg[] = { "knext-init", "-e", NULL };
	const char *range[] = { "knext-init", "-e", "256", NULL };
	const char *sig[] = { "knext-init", "-p", "SIGNOPE", NULL };

	cr_assert_eq(parse(&c, 2, unknown), -EINVAL);
	cr_assert(strstr(c.error, "-x"), "%s", c.error);
	cr_assert_eq(parse(&c, 2, no_arg), -EINVAL);
	cr_assert_eq(parse(&c, 3, range), -EINVAL);
	cr_assert_eq(parse(&c, 3, sig), -EINVAL);
	cr_assert(strstr(c.error, "SIGNOPE"), "%s", c.error);
}

Test(config, environment)
{
	struct knext_config c;
	const char *argv[] = { "knext-init", NULL };

	setenv("PORT", "3000", 1);
	setenv("KNEXT_APP_DIR", "/srv/app", 1);
	setenv("KNEXT_HOSTNAME", "::", 1);
	setenv("KNEXT_GRACE_MS", "250", 1);
	setenv("TINI_SUBREAPER", "1", 1);
	setenv("TINI_KILL_PROCESS_GROUP", "0", 1);
	setenv("TINI_VERBOSITY", "0", 1);
	cr_assert_eq(parse(&c, 1, argv), 0, "%s", c.error);
	cr_assert_eq(c.port, 3000);
	cr_assert_str_eq(c.app_dir, "/srv/app");
	cr_assert_str_eq(c.hostname, "::");
	cr_assert_eq(c.grace_ms, 250);
	cr_assert(c.subreaper);
	cr_assert(!c.kill_group, "\"0\" means off, as in tini");
	cr_assert_eq(c.verbosity, 0);
	setenv("KNEXT_VERBOSITY", "3", 1);
	cr_assert_eq(parse(&c, 1, argv), 0);
	cr_assert_eq(c.verbosity, 3, "KNEXT_VERBOSITY wins over TINI_VERBOSITY");
}

Test(config, announce_is_on_unless_zero)
{
	struct knext_config c;
	const char *argv[] = { "knext-init", NULL };

	cr_assert_eq(parse(&c, 1, argv), 0);
	cr_assert(c.announce);
	setenv("KNEXT_ANNOUNCE", "0", 1);
	cr_assert_eq(parse(&c, 1, argv), 0);
	cr_assert(!c.announce);
	setenv("KNEXT_ANNOUNCE", "1", 1);
	cr_assert_eq(parse(&c, 1, argv), 0);
	cr_assert(c.announce);
}

Test(config, bad_environment_is_an_error_naming_the_variable)
{
	struct knext_config c;
	const char *argv[] = { "knext-init", NULL };

	setenv("PORT", "80x", 1);
	cr_assert_eq(parse(&c, 1, argv), -EINVAL);
	cr_assert(strstr(c.error, "PORT=80x"), "%s", c.error);
	setenv("PORT", "70000", 1);
	cr_assert_eq(parse(&c, 1, argv), -EINVAL);
	unsetenv("PORT");
	setenv("KNEXT_PROBE_PORT", "8080", 1);
	cr_assert_eq(parse(&c, 1, argv), -EINVAL, "probe port equal to the app port");
	cr_assert(strstr(c.error, "KNEXT_PROBE_PORT"), "%s", c.error);
}

Test(config, signal_names)
{
	cr_assert_eq(config_signal_from_name("SIGTERM"), SIGTERM);
	cr_assert_eq(config_signal_from_name("term"), SIGTERM);
	cr_assert_eq(config_signal_from_name("9"), SIGKILL);
	cr_assert_eq(config_signal_from_name("SIGRTMAX"), -EINVAL);
	cr_assert_eq(config_signal_from_name(""), -EINVAL);
	cr_assert_eq(config_signal_from_name("0"), -EINVAL);
}

Test(log, json_strings_are_escaped)
{
	char buf[64];

	cr_assert_str_eq(log_json_str(buf, sizeof(buf), "a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
	log_json_str(buf, 8, "abcdefghijklmnop");
	cr_assert(strlen(buf) < 8);
	cr_assert_eq(buf[0], '"');
	cr_assert_eq(buf[strlen(buf) - 1], '"');
}
