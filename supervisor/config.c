// SPDX-License-Identifier: Apache-2.0
#include "supervisor/config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
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

enum var_type {
	VAR_STR, /* const char *; "" counts as unset */
	VAR_FLAG, /* bool; "0" is off, anything else on, as tini reads TINI_SUBREAPER */
	VAR_INT, /* int in [min, max] */
	VAR_UINT, /* unsigned in [min, max] */
	VAR_U64, /* uint64_t in [min, max] */
	VAR_IO, /* bool: "pread" or "io_uring" */
	VAR_SET, /* const char *; "" is a value, NULL only when unset */
};

/**
 * struct config_var - one environment variable: how it is parsed, where it goes, and its line in
 * `knext-init -h` (the default printed is the field's value after set_defaults()).
 * @name:  the variable
 * @alt:   tini's spelling, read when @name is unset; NULL for none
 * @type:  how the text is parsed
 * @off:   offsetof() the field in struct knext_config
 * @min:   smallest accepted number
 * @max:   largest accepted number
 * @child: exported to knext-node by config_export_child()
 * @group: heading printed before this entry in -h, NULL to continue the previous group
 * @what:  one line for -h
 */
struct config_var {
	const char *name;
	const char *alt;
	enum var_type type;
	size_t off;
	long long min, max;
	bool child;
	const char *group;
	const char *what;
};

#define F(field) offsetof(struct knext_config, field)
#define DAY_MS (24LL * 3600 * 1000)

static const struct config_var vars[] = {
	{ "KNEXT_SUBREAPER", "TINI_SUBREAPER", VAR_FLAG, F(subreaper), 0, 0, false,
	  "Environment variables:", "Register as a subreaper (same as -s)." },
	{ "KNEXT_VERBOSITY", "TINI_VERBOSITY", VAR_INT, F(verbosity), 0, 4, false, NULL,
	  "Verbosity 0-4 (default 1 with PROGRAM, 2 without)." },
	{ "KNEXT_KILL_PROCESS_GROUP", "TINI_KILL_PROCESS_GROUP", VAR_FLAG, F(kill_group), 0, 0,
	  false, NULL, "Same as -g." },
	{ "KNEXT_APP_DIR", NULL, VAR_STR, F(app_dir), 0, 0, true,
	  "The app:", "Next.js standalone app directory." },
	{ "KNEXT_ENTRY", NULL, VAR_STR, F(entry), 0, 0, true, NULL,
	  "Entry script inside the app directory." },
	{ "KNEXT_HOSTNAME", NULL, VAR_STR, F(hostname), 0, 0, false, NULL,
	  "HOSTNAME given to server.js." },
	{ "PORT", NULL, VAR_INT, F(port), 1, 65535, true, NULL,
	  "Traffic port (Knative injects it)." },
	{ "KNEXT_PROBE_PORT", NULL, VAR_INT, F(probe_port), 0, 65535, false, NULL,
	  "Probe server port, 0 for none (with PROGRAM: none unless set)." },
	{ "KNEXT_GRACE_MS", NULL, VAR_UINT, F(grace_ms), 0, DAY_MS, false, NULL,
	  "TERM to KILL grace for the remaining descendants." },
	{ "KNEXT_HEARTBEAT_MS", NULL, VAR_UINT, F(heartbeat_ms), 10, 3600 * 1000, true, NULL,
	  "Event-loop heartbeat period." },
	{ "KNEXT_LIVENESS_TIMEOUT_MS", NULL, VAR_UINT, F(liveness_timeout_ms), 10, DAY_MS, false,
	  NULL, "No heartbeat for this long means not live." },
	{ "KNEXT_NODE_HELPER", NULL, VAR_STR, F(node_helper), 0, 0, false, NULL,
	  "Path of knext-node (default: beside knext-init)." },
	{ "KNEXT_EAGER_OPENSSL", NULL, VAR_FLAG, F(eager_openssl), 0, 0, true, NULL,
	  "Initialise OpenSSL at start instead of at first use." },
	{ "KNEXT_ANNOUNCE", NULL, VAR_FLAG, F(announce), 0, 0, false, NULL,
	  "0: no datagram to the default gateway at start." },
	{ "KNEXT_SNAPSHOT", NULL, VAR_FLAG, F(snapshot), 0, 0, true, NULL,
	  "0: never start from the pack's startup snapshot (PID 1 sets it for a second start after "
	  "a start from the snapshot failed)." },
	{ "KNEXT_PACK", NULL, VAR_STR, F(pack), 0, 0, false,
	  "Compile cache:", "An explicit pack, tried before the PVC's and the image's." },
	{ "KNEXT_CACHE_DIR", NULL, VAR_STR, F(cache_dir), 0, 0, true, NULL,
	  "PVC mount holding the pack." },
	{ "KNEXT_IMAGE", NULL, VAR_STR, F(image), 0, 0, true, NULL,
	  "Pinned image reference (the manifest sets it): PVC packs are tied to it." },
	{ "KNEXT_CACHE_WRITEBACK", NULL, VAR_FLAG, F(cache_writeback), 0, 0, true, NULL,
	  "Write a fresh pack into KNEXT_CACHE_DIR after warm-up." },
	{ "KNEXT_CACHE_MAX_BYTES", NULL, VAR_U64, F(cache_max_bytes), 1, INT64_MAX, true, NULL,
	  "Size budget of a written pack." },
	{ "KNEXT_CACHE_WAIT_MS", NULL, VAR_UINT, F(cache_wait_ms), 1, INT_MAX, true, NULL,
	  "How long knext-node waits for the prefetched pack." },
	{ "KNEXT_CACHE_LEVEL", NULL, VAR_UINT, F(cache_level), 0, 22, true, NULL,
	  "zstd level of a written pack (0: 3, or 19 with KNEXT_RECORD_PACK)." },
	{ "KNEXT_RECORD_PACK", NULL, VAR_STR, F(record_pack), 0, 0, true, NULL,
	  "Record a pack to this path at exit (cache warm sets it)." },
	{ "KNEXT_RECORD_AFTER_MS", NULL, VAR_UINT, F(record_after_ms), 0, DAY_MS, true, NULL,
	  "Also record this long after start, 0 for only at exit." },
	{ "KNEXT_IO", NULL, VAR_IO, F(io_pread), 0, 0, false, NULL,
	  "pread to read the pack without io_uring." },
	{ "KNEXT_NCC_PACK", NULL, VAR_STR, F(ncc_pack), 0, 0, false, NULL,
	  "With PROGRAM (node >= 22): a pack of its NODE_COMPILE_CACHE." },
	{ "KNEXT_NCC_WRITEBACK", NULL, VAR_FLAG, F(ncc_writeback), 0, 0, false, NULL,
	  "0: restore KNEXT_NCC_PACK, never write it back." },
	{ "KNEXT_SCRATCH_DIR", NULL, VAR_STR, F(scratch_dir), 0, 0, false, NULL,
	  "Where KNEXT_NCC_PACK is restored (default /dev/shm when writable, else /tmp)." },
	{ "KNEXT_BASE_PATH", NULL, VAR_SET, F(zone.base_path), 0, 0, false,
	  "Multi-Zones (the Service sets them from the NextApp's spec.zone):",
	  "The zone's basePath (\"\": none); a build made for another is refused." },
	{ "KNEXT_ASSET_PREFIX", NULL, VAR_SET, F(zone.asset_prefix), 0, 0, false, NULL,
	  "The zone's assetPrefix (\"\": the basePath); likewise." },
};

static void *field(struct knext_config *c, const struct config_var *v)
{
	return (char *)c + v->off;
}

static const char *var_text(const struct config_var *v, const char **name)
{
	const char *s = getenv(v->name);

	*name = v->name;
	if ((!s || !*s) && v->alt) {
		s = getenv(v->alt);
		*name = v->alt;
	}
	return s && *s ? s : NULL;
}

static int parse_var(struct knext_config *c, const struct config_var *v)
{
	const char *name, *s = var_text(v, &name);
	unsigned long long u;
	char *end;
	long n;

	/* Set but empty is a value here: a zone without basePath. */
	if (v->type == VAR_SET) {
		*(const char **)field(c, v) = getenv(v->name);
		return 0;
	}
	if (!s)
		return 0;
	switch (v->type) {
	case VAR_STR:
	case VAR_SET:
		*(const char **)field(c, v) = s;
		return 0;
	case VAR_FLAG:
		*(bool *)field(c, v) = strcmp(s, "0") != 0;
		return 0;
	case VAR_IO:
		if (strcmp(s, "pread") && strcmp(s, "io_uring"))
			return fail(c, "%s=%s: expected pread or io_uring", name, s);
		*(bool *)field(c, v) = strcmp(s, "pread") == 0;
		return 0;
	case VAR_INT:
	case VAR_UINT:
		if (parse_long(s, (long)v->min, (long)v->max, &n) < 0)
			return fail(c, "%s=%s: expected an integer from %lld to %lld", name, s,
				    v->min, v->max);
		if (v->type == VAR_INT)
			*(int *)field(c, v) = (int)n;
		else
			*(unsigned *)field(c, v) = (unsigned)n;
		return 0;
	case VAR_U64:
		errno = 0;
		u = strtoull(s, &end, 10);
		if (errno || *end || *s == '-' || u < (unsigned long long)v->min ||
		    u > (unsigned long long)v->max)
			return fail(c, "%s=%s: expected an integer from %lld to %lld", name, s,
				    v->min, v->max);
		*(uint64_t *)field(c, v) = u;
		return 0;
	}
	return 0;
}

/* The value a variable stands for, as text; empty for an unset string. */
static void var_value(struct knext_config *c, const struct config_var *v, char *buf, size_t n)
{
	const void *f = field(c, v);

	switch (v->type) {
	case VAR_STR:
	case VAR_SET:
		snprintf(buf, n, "%s", *(const char *const *)f ? *(const char *const *)f : "");
		break;
	case VAR_FLAG:
		snprintf(buf, n, "%d", *(const bool *)f ? 1 : 0);
		break;
	case VAR_IO:
		snprintf(buf, n, "%s", *(const bool *)f ? "pread" : "io_uring");
		break;
	case VAR_INT:
		snprintf(buf, n, "%d", *(const int *)f);
		break;
	case VAR_UINT:
		snprintf(buf, n, "%u", *(const unsigned *)f);
		break;
	case VAR_U64:
		snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)f);
		break;
	}
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
	c->cache_dir = KNEXT_DEFAULT_CACHE_DIR;
	c->cache_max_bytes = KNEXT_DEFAULT_CACHE_MAX_BYTES;
	c->cache_wait_ms = KNEXT_DEFAULT_CACHE_WAIT_MS;
	c->ncc_writeback = true;
	/* On unless switched off: the datagram is what a pod from zero needs (see announce.h). */
	c->announce = KNEXT_DEFAULT_ANNOUNCE;
	c->snapshot = true;
	c->notify_fd = -1;
}

static int parse_env(struct knext_config *c)
{
	const char *fd = getenv("KNEXT_NOTIFY_FD"), *cache = getenv("KNEXT_CACHE");
	long n;
	int r;

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if ((r = parse_var(c, &vars[i])) < 0)
			return r;
	c->node_options = getenv("NODE_OPTIONS");
	/* Set by PID 1 for knext-node only; never by a user. */
	if (fd && parse_long(fd, 0, INT_MAX, &n) == 0)
		c->notify_fd = (int)n;
	c->cache_offered = cache && strcmp(cache, "1") == 0;
	return 0;
}

void config_zone(struct knext_zone *z)
{
	struct knext_config c;

	set_defaults(&c);
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (vars[i].type == VAR_SET)
			parse_var(&c, &vars[i]);
	*z = c.zone;
}

int config_export_child(const struct knext_config *c, int notify_fd, bool cache_offered)
{
	struct knext_config copy = *c;
	char buf[PATH_MAX + 32];

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (!vars[i].child)
			continue;
		var_value(&copy, &vars[i], buf, sizeof(buf));
		/* An unset path stays unset: "" would mean something else to the bootstrap. */
		if (vars[i].type == VAR_STR && !buf[0])
			continue;
		if (setenv(vars[i].name, buf, 1) < 0)
			return -errno;
	}
	/* Kubernetes sets HOSTNAME to the pod name; server.js would bind to it alone. */
	snprintf(buf, sizeof(buf), "%d", notify_fd);
	if (setenv("HOSTNAME", c->hostname, 1) < 0 || setenv("KNEXT_NOTIFY_FD", buf, 1) < 0 ||
	    setenv("KNEXT_CACHE", cache_offered ? "1" : "0", 1) < 0)
		return -errno;
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
	if (c->mode == CONFIG_MODE_EXEC &&
	    !(getenv("KNEXT_PROBE_PORT") && *getenv("KNEXT_PROBE_PORT")))
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
	static char text[8192];
	struct knext_config d;
	char value[PATH_MAX];
	size_t used;
	int k;

	set_defaults(&d);
	k = snprintf(
		text, sizeof(text),
		"Usage: knext-init [OPTIONS] [--] [PROGRAM [ARGS...]]\n"
		"       knext-init cache|manifest|probe ...\n"
		"\n"
		"Without PROGRAM, run the Next.js standalone server in $KNEXT_APP_DIR (default %s)\n"
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
		"  -l            Show license and exit.\n",
		KNEXT_DEFAULT_APP_DIR);
	used = k > 0 ? (size_t)k : 0;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]) && used < sizeof(text); i++) {
		const struct config_var *v = &vars[i];

		var_value(&d, v, value, sizeof(value));
		if (v->type == VAR_INT && *(const int *)field(&d, v) < 0)
			value[0] = '\0';
		if (v->group) {
			k = snprintf(text + used, sizeof(text) - used, "\n%s\n", v->group);
			if (k < 0 || (size_t)k >= sizeof(text) - used)
				break;
			used += (size_t)k;
		}
		k = snprintf(text + used, sizeof(text) - used, "  %s%s%s\n      %s%s%s%s\n",
			     v->name, v->alt ? ", " : "", v->alt ? v->alt : "", v->what,
			     value[0] ? " Default: " : "", value, value[0] ? "." : "");
		if (k < 0 || (size_t)k >= sizeof(text) - used)
			break;
		used += (size_t)k;
	}
	return text;
}
