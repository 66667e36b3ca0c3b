// SPDX-License-Identifier: Apache-2.0
#include "supervisor/config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "common/defaults.h"

static const struct {
	const char *name;
	int sig;
} signal_names[] = {
	{ "HUP", SIGHUP },	 { "INT", SIGINT },   { "QUIT", SIGQUIT },     { "ILL", SIGILL },
	{ "TRAP", SIGTRAP },	 { "ABRT", SIGABRT }, { "IOT", SIGIOT },       { "BUS", SIGBUS },
	{ "FPE", SIGFPE },	 { "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },	 { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },     { "TERM", SIGTERM },
	{ "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },     { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP },	 { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },
	{ "XCPU", SIGXCPU },	 { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
	{ "WINCH", SIGWINCH },	 { "IO", SIGIO },     { "PWR", SIGPWR },       { "SYS", SIGSYS },
};

static int fail(struct knext_config *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int config_signal_from_name(const char *s)
{
	long n;

	if (!s || !*s)
		return -EINVAL;
	if (parse_long(s, 1, SIGRTMAX, &n) == 0)
		return (int)n;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++)
		if (strcasecmp(s, signal_names[i].name) == 0)
			return signal_names[i].sig;
	return -EINVAL;
}

/* A boolean variable is on when set to anything but "" or "0", as tini reads TINI_SUBREAPER. */
static bool env_flag(const char *a, const char *b)
{
	const char *v = getenv(a);

	if (!v && b)
		v = getenv(b);
	return v && *v && strcmp(v, "0") != 0;
}

static int env_uint(struct knext_config *c, const char *name, long min, long max, unsigned *out)
{
	const char *v = getenv(name);
	long n;

	if (!v || !*v)
		return 0;
	if (parse_long(v, min, max, &n) < 0)
		return fail(c, "%s=%s: expected an integer from %ld to %ld", name, v, min, max);
	*out = (unsigned)n;
	return 0;
}

static const char *env_str(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static void set_defaults(struct knext_config *c)
{
	memset(c, 0, sizeof(*c));
	c->verbosity = -1;
	c->app_dir = KNEXT_DEFAULT_APP_DIR;
	c->entry = KNEXT_DEFAULT_ENTRY;
	c->hostname = KNEXT_DEFAULT_HOSTNAME;
	c->port = KNEXT_DEFAULT_PORT;
	c->probe_port = KNEXT_DEFAULT_PROBE_PORT;
	c->grace_ms = KNEXT_DEFAULT_GRACE_MS;
	c->heartbeat_ms = KNEXT_DEFAULT_HEARTBEAT_MS;
	c->liveness_timeout_ms = KNEXT_DEFAULT_LIVENESS_TIMEOUT_MS;
}

static int parse_env(struct knext_config *c)
{
	unsigned u;
	int r;

	c->subreaper = env_flag("KNEXT_SUBREAPER", "TINI_SUBREAPER");
	c->kill_group = env_flag("KNEXT_KILL_PROCESS_GROUP", "TINI_KILL_PROCESS_GROUP");
	c->app_dir = env_str("KNEXT_APP_DIR", c->app_dir);
	c->entry = env_str("KNEXT_ENTRY", c->entry);
	c->hostname = env_str("KNEXT_HOSTNAME", c->hostname);
	c->node_helper = env_str("KNEXT_NODE_HELPER", NULL);
	/* On unless switched off: the datagram is what a pod from zero needs (see announce.h). */
	c->announce =
		strcmp(env_str("KNEXT_ANNOUNCE", KNEXT_DEFAULT_ANNOUNCE ? "1" : "0"), "0") != 0;

	u = (unsigned)c->port;
	if ((r = env_uint(c, "PORT", 1, 65535, &u)) < 0)
		return r;
	c->port = (int)u;
	u = (unsigned)c->probe_port;
	if ((r = env_uint(c, "KNEXT_PROBE_PORT", 0, 65535, &u)) < 0)
		return r;
	c->probe_port = (int)u;
	if ((r = env_uint(c, "KNEXT_GRACE_MS", 0, 24L * 3600 * 1000, &c->grace_ms)) < 0 ||
	    (r = env_uint(c, "KNEXT_HEARTBEAT_MS", 10, 3600 * 1000, &c->heartbeat_ms)) < 0 ||
	    (r = env_uint(c, "KNEXT_LIVENESS_TIMEOUT_MS", 10, 24L * 3600 * 1000,
			  &c->liveness_timeout_ms)) < 0)
		return r;

	/* KNEXT_VERBOSITY wins over TINI_VERBOSITY; unset leaves the mode's default. */
	u = UINT_MAX;
	if ((r = env_uint(c,
			  env_str("KNEXT_VERBOSITY", NULL) ? "KNEXT_VERBOSITY" : "TINI_VERBOSITY",
			  0, 4, &u)) < 0)
		return r;
	if (u != UINT_MAX)
		c->verbosity = (int)u;
	return 0;
}

int config_parse(struct knext_config *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, extra_verbosity = 0, r;
	long n;

	set_defaults(c);
	if ((r = parse_env(c)) < 0)
		return r;

	/* "+": options end at the first non-option, so `knext-init node --inspect x.js` works. */
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "+hsvwgle:p:t:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			c->help = true;
			break;
		case 'V':
			c->version = true;
			break;
		case 'l':
			c->license = true;
			break;
		case 's':
			c->subreaper = true;
			break;
		case 'g':
			c->kill_group = true;
			break;
		case 'w':
			c->warn_reap = true;
			break;
		case 'v':
			extra_verbosity++;
			break;
		case 'e':
			if (parse_long(optarg, 0, 255, &n) < 0)
				return fail(c, "-e %s: expected an exit code from 0 to 255",
					    optarg);
			c->exit_zero[n / 8] |= (uint8_t)(1u << (n % 8));
			break;
		case 'p':
			if ((r = config_signal_from_name(optarg)) < 0)
				return fail(c, "-p %s: not a signal", optarg);
			c->pdeath_sig = r;
			break;
		case 't':
			/* tini's deprecated -t (grace in s), accepted for scripts that still pass it. */
			if (parse_long(optarg, 0, 86400, &n) < 0)
				return fail(c, "-t %s: expected seconds", optarg);
			c->grace_ms = (unsigned)n * 1000;
			break;
		case '?':
		default:
			if (optopt && strchr("ep", optopt))
				return fail(c, "option -%c needs an argument", optopt);
			if (optopt)
				return fail(c, "unknown option -%c", optopt);
			return fail(c, "unknown option %s", argv[optind - 1]);
		}
	}

	if (optind < argc) {
		c->mode = CONFIG_MODE_EXEC;
		c->cmd = argv + optind;
	} else {
		c->mode = CONFIG_MODE_EMBEDDED;
	}
	/* As a tini replacement, no port is opened unless asked for. */
	if (c->mode == CONFIG_MODE_EXEC && !env_str("KNEXT_PROBE_PORT", NULL))
		c->probe_port = 0;
	if (c->verbosity < 0)
		c->verbosity = c->mode == CONFIG_MODE_EXEC ? 1 : 2;
	c->verbosity += extra_verbosity;
	if (c->verbosity > 4)
		c->verbosity = 4;
	if (c->probe_port && c->probe_port == c->port)
		return fail(c, "KNEXT_PROBE_PORT=%d is the app port (PORT); pick another",
			    c->probe_port);
	return 0;
}

int config_exit_code(const struct knext_config *c, int status)
{
	int code;

	if (WIFEXITED(status))
		code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		code = 128 + WTERMSIG(status);
	else
		code = 1;
	if (code < 256 && (c->exit_zero[code / 8] & (1u << (code % 8))))
		return 0;
	return code;
}

const char *config_usage(void)
{
	return "Usage: knext-init [OPTIONS] [--] [PROGRAM [ARGS...]]\n"
	       "       knext-init cache|manifest|probe ...\n"
	       "\n"
	       "Without PROGRAM, run the Next.js standalone server in $KNEXT_APP_DIR (default " KNEXT_DEFAULT_APP_DIR
	       ")\n"
	       "on embedded Node.js. With PROGRAM, run it as a drop-in replacement for tini.\n"
	       "\n"
	       "Options:\n"
	       "  --version     Show version and exit.\n"
	       "  -h            Show this help message and exit.\n"
	       "  -s            Register as a process subreaper (automatic when not PID 1).\n"
	       "  -p SIGNAL     Trigger SIGNAL when parent dies, e.g. \"-p SIGKILL\".\n"
	       "  -v            Generate more verbose output. Repeat up to 3 times.\n"
	       "  -w            Print a warning when processes are getting reaped.\n"
	       "  -g            Send signals to the child's process group.\n"
	       "  -e EXIT_CODE  Remap EXIT_CODE (from 0 to 255) to 0. Can be repeated.\n"
	       "  -l            Show license and exit.\n"
	       "\n"
	       "Environment variables:\n"
	       "  KNEXT_SUBREAPER, TINI_SUBREAPER                    Register as a subreaper.\n"
	       "  KNEXT_VERBOSITY, TINI_VERBOSITY                    Set the verbosity (0-4).\n"
	       "  KNEXT_KILL_PROCESS_GROUP, TINI_KILL_PROCESS_GROUP  Same as -g.\n"
	       "  KNEXT_APP_DIR, KNEXT_ENTRY, KNEXT_HOSTNAME, PORT, KNEXT_PROBE_PORT,\n"
	       "  KNEXT_GRACE_MS, KNEXT_HEARTBEAT_MS, KNEXT_LIVENESS_TIMEOUT_MS, KNEXT_NODE_HELPER\n"
	       "  KNEXT_ANNOUNCE=0                                   No datagram to the gateway at start.\n"
	       "Compile cache:\n"
	       "  KNEXT_PACK, KNEXT_CACHE_DIR, KNEXT_CACHE_WRITEBACK=1, KNEXT_RECORD_AFTER_MS,\n"
	       "  KNEXT_CACHE_MAX_BYTES, KNEXT_IO=pread, KNEXT_NCC_PACK (exec mode, node >= 22)\n";
}
