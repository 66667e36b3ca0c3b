// SPDX-License-Identifier: Apache-2.0
/*
 * `knext-init manifest`: print the Knative Service a NextApp becomes, or check a Service file
 * against the webhook rules. The one place in this library that prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "container/manifest/manifest.h"
#include "container/manifest/internal.h"

#define INPUT_MAX_BYTES (4u << 20)

enum {
	OPT_IMAGE = 256,
	OPT_NAME,
	OPT_NAMESPACE,
	OPT_MIN_SCALE,
	OPT_MAX_SCALE,
	OPT_INITIAL_SCALE,
	OPT_TARGET,
	OPT_CONCURRENCY,
	OPT_TIMEOUT,
	OPT_ENV,
	OPT_BUILD_ID,
	OPT_PORT,
	OPT_PROBE_PORT,
	OPT_CACHE,
	OPT_CLAIM,
	OPT_WRITE_BACK,
	OPT_PVC,
	OPT_PVC_WRITE,
	OPT_OWNER_UID,
	OPT_CHECK,
};

static const struct option options[] = {
	{ "file", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "namespace", required_argument, NULL, OPT_NAMESPACE },
	{ "min-scale", required_argument, NULL, OPT_MIN_SCALE },
	{ "max-scale", required_argument, NULL, OPT_MAX_SCALE },
	{ "initial-scale", required_argument, NULL, OPT_INITIAL_SCALE },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "build-id", required_argument, NULL, OPT_BUILD_ID },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "probe-port", required_argument, NULL, OPT_PROBE_PORT },
	{ "cache", required_argument, NULL, OPT_CACHE },
	{ "claim", required_argument, NULL, OPT_CLAIM },
	{ "write-back", no_argument, NULL, OPT_WRITE_BACK },
	{ "pvc-enabled", no_argument, NULL, OPT_PVC },
	{ "pvc-write-enabled", no_argument, NULL, OPT_PVC_WRITE },
	{ "owner-uid", required_argument, NULL, OPT_OWNER_UID },
	{ "check", required_argument, NULL, OPT_CHECK },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fputs("usage: knext-init manifest [-f NEXTAPP.yaml|-] [-o yaml|json] [flags]\n"
	      "       knext-init manifest --check SERVICE.yaml [--pvc-enabled] [--pvc-write-enabled]\n"
	      "Prints the Knative Service (serving.knative.dev/v1) a NextApp becomes.\n"
	      "Flags override the file (or build the NextApp without one):\n"
	      "  --name NAME --namespace NS --image REPO@sha256:DIGEST --build-id ID\n"
	      "  --port N --probe-port N --timeout SECONDS\n"
	      "  --min-scale N --max-scale N --initial-scale N --target N --concurrency N\n"
	      "  --env NAME=VALUE (repeatable)\n"
	      "  --cache baked|pvc --claim PVC --write-back\n"
	      "  --pvc-enabled --pvc-write-enabled   the cluster's PVC feature flags\n"
	      "  --owner-uid UID                      add an ownerReference to the NextApp\n"
	      "Exit status: 0 printed, 1 invalid NextApp or Service, 2 usage error.\n",
	      f);
}

/* Reads a whole file (or stdin for "-") into a NUL-terminated buffer. */
static int read_all(const char *path, char **out, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap), *grown;
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	ssize_t r;
	int ret = 0;

	if (fd < 0 || !buf) {
		ret = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= INPUT_MAX_BYTES) {
				ret = -EFBIG;
				goto out;
			}
			cap *= 2;
			grown = realloc(buf, cap);
			if (!grown) {
				ret = -ENOMEM;
				goto out;
			}
			buf = grown;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
out:
	if (fd > STDIN_FILENO)
		close(fd);
	free(buf);
	return ret;
}

static int int_arg(const char *opt, const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < INT_MIN / 2 || v > INT_MAX / 2) {
		fprintf(stderr, "knext-init manifest: --%s needs an integer, not \"%s\"\n", opt, s);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

static void print_errors(const char *what, const struct manifest_errors *errs)
{
	unsigned int i;

	for (i = 0; i < errs->count; i++)
		fprintf(stderr, "knext-init manifest: %s: %s: %s\n", what, errs->list[i].path,
			errs->list[i].reason);
	if (errs->dropped)
		fprintf(stderr, "knext-init manifest: %s: %u more problems\n", what, errs->dropped);
	for (i = 0; i < errs->count; i++) {
		if (!strcmp(errs->list[i].path, "spec.image")) {
			fputs("knext-init manifest: pin the image by digest: push it, read the digest "
			      "(`skopeo inspect docker://REPO:TAG`, `crane digest REPO:TAG` or the "
			      "push output), then use --image REPO@sha256:<digest> or spec.image\n",
			      stderr);
			break;
		}
	}
}

static int check_file(const char *path, const struct render_opts *opts)
{
	struct manifest_errors errs;
	struct mf_stream st;
	char what[PATH_MAX + 32];
	int ret, code = 0;
	size_t len, i;
	char *text;

	ret = read_all(path, &text, &len);
	if (ret) {
		fprintf(stderr, "knext-init manifest: %s: %s\n", path, strerror(-ret));
		return 2;
	}
	manifest_errors_reset(&errs);
	ret = mf_stream_split(text, len, &st, &errs);
	free(text);
	if (ret) {
		print_errors(path, &errs);
		return 1;
	}
	if (!st.n) {
		fprintf(stderr, "knext-init manifest: %s: holds no object\n", path);
		mf_stream_close(&st);
		return 1;
	}
	/* Every document is checked, and each one's problems carry its number. */
	for (i = 0; i < st.n; i++) {
		manifest_errors_reset(&errs);
		ret = manifest_check_service(st.docs[i], strlen(st.docs[i]), opts, &errs);
		snprintf(what, sizeof(what), st.n > 1 ? "%s: document %zu" : "%s", path, i + 1);
		if (ret) {
			print_errors(what, &errs);
			code = 1;
		} else {
			printf("%s: passes the Knative webhook rules\n", what);
		}
	}
	mf_stream_close(&st);
	return code;
}

struct flags {
	const char *file, *check, *owner_uid;
	enum manifest_format fmt;
	struct render_opts opts;
};

/* Applies one field flag to the NextApp; returns 0, 1 when not a field flag, -errno on error. */
static int apply(struct nextapp *app, int opt, const char *arg)
{
	const char *eq;
	char name[256];

	switch (opt) {
	case OPT_IMAGE:
		return nextapp_set_string(&app->image, arg);
	case OPT_NAME:
		return nextapp_set_string(&app->meta.name, arg);
	case OPT_NAMESPACE:
		return nextapp_set_string(&app->meta.ns, arg);
	case OPT_BUILD_ID:
		return nextapp_set_string(&app->build_id, arg);
	case OPT_MIN_SCALE:
		return int_arg("min-scale", arg, &app->scaling.min_scale);
	case OPT_MAX_SCALE:
		return int_arg("max-scale", arg, &app->scaling.max_scale);
	case OPT_INITIAL_SCALE:
		return int_arg("initial-scale", arg, &app->scaling.initial_scale);
	case OPT_TARGET:
		return int_arg("target", arg, &app->scaling.target);
	case OPT_CONCURRENCY:
		return int_arg("concurrency", arg, &app->scaling.container_concurrency);
	case OPT_TIMEOUT:
		return int_arg("timeout", arg, &app->timeout_seconds);
	case OPT_PORT:
		return int_arg("port", arg, &app->port);
	case OPT_PROBE_PORT:
		return int_arg("probe-port", arg, &app->probes.port);
	case OPT_CLAIM:
		return nextapp_set_string(&app->cache.claim_name, arg);
	case OPT_WRITE_BACK:
		app->cache.write_back = true;
		return 0;
	case OPT_CACHE:
		if (!strcmp(arg, "baked"))
			app->cache.mode = NEXTAPP_CACHE_BAKED;
		else if (!strcmp(arg, "pvc"))
			app->cache.mode = NEXTAPP_CACHE_PVC;
		else {
			fprintf(stderr, "knext-init manifest: --cache is baked or pvc\n");
			return -EINVAL;
		}
		return 0;
	case OPT_ENV:
		eq = strchr(arg, '=');
		if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name)) {
			fprintf(stderr, "knext-init manifest: --env needs NAME=VALUE\n");
			return -EINVAL;
		}
		memcpy(name, arg, (size_t)(eq - arg));
		name[eq - arg] = '\0';
		return nextapp_set_env(app, name, eq + 1);
	default:
		return 1;
	}
}

static int parse_flags(int argc, char **argv, struct flags *fl)
{
	int opt;

	optind = 0; /* full getopt reset: knext-init may have parsed its own argv already */
	while ((opt = getopt_long(argc, argv, "f:o:h", options, NULL)) != -1) {
		switch (opt) {
		case 'f':
			fl->file = optarg;
			break;
		case 'o':
			if (!strcmp(optarg, "yaml"))
				fl->fmt = MANIFEST_YAML;
			else if (!strcmp(optarg, "json"))
				fl->fmt = MANIFEST_JSON;
			else {
				fprintf(stderr, "knext-init manifest: -o is yaml or json\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_PVC:
			fl->opts.pvc = MANIFEST_FEATURE_ENABLED;
			break;
		case OPT_PVC_WRITE:
			fl->opts.pvc_write = MANIFEST_FEATURE_ENABLED;
			break;
		case OPT_OWNER_UID:
			fl->owner_uid = optarg;
			break;
		case OPT_CHECK:
			fl->check = optarg;
			break;
		case '?':
			usage(stderr);
			return 2;
		default:
			break; /* a field flag: applied after the file is read */
		}
	}
	if (optind < argc) {
		fprintf(stderr, "knext-init manifest: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	return -1;
}

/* One NextApp (@text, or flags alone when NULL) rendered into @out; 0, 1 or 2 as exit codes. */
static int render_one(int argc, char **argv, struct flags *fl, const char *text, const char *what,
		      char **out, size_t *len)
{
	struct render_opts opts = fl->opts;
	struct manifest_owner owner;
	struct manifest_errors errs;
	struct nextapp app;
	int opt, ret, code = 0;

	manifest_errors_reset(&errs);
	nextapp_init(&app);
	if (text && mf_parse_fields(&app, text, strlen(text), &errs)) {
		print_errors(what, &errs);
		code = 1;
		goto out;
	}
	/* Field flags override the file. */
	optind = 0;
	while ((opt = getopt_long(argc, argv, "f:o:h", options, NULL)) != -1) {
		ret = apply(&app, opt, optarg);
		if (ret < 0) {
			code = ret == -ENOMEM ? 1 : 2;
			goto out;
		}
	}
	if (!app.meta.name && !text) {
		fprintf(stderr, "knext-init manifest: give -f NEXTAPP.yaml or at least --name and "
				"--image\n");
		code = 2;
		goto out;
	}
	if (fl->owner_uid) {
		owner = (struct manifest_owner){ NEXTAPP_API_VERSION, NEXTAPP_KIND, app.meta.name,
						 fl->owner_uid };
		opts.owner = &owner;
	}
	manifest_errors_reset(&errs);
	ret = manifest_render_checked(&app, &opts, fl->fmt, out, len, &errs);
	if (ret) {
		if (ret == -ENOMEM)
			fprintf(stderr, "knext-init manifest: out of memory\n");
		print_errors(what, &errs);
		code = 1;
	}
out:
	nextapp_close(&app);
	return code;
}

/* Several rendered Services as one JSON List (kubectl's shape for many objects). */
static int json_list(char **outs, size_t n)
{
	json_t *list = json_pack("{s:s,s:s,s:[]}", "apiVersion", "v1", "kind", "List", "items");
	json_t *items = json_object_get(list, "items");
	size_t i;
	int ok;

	for (i = 0; list && i < n; i++)
		if (json_array_append_new(items, json_loads(outs[i], 0, NULL)))
			break;
	ok = list && i == n &&
	     json_dumpf(list, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 &&
	     fputc('\n', stdout) != EOF;
	json_decref(list);
	return ok ? 0 : 1;
}

int manifest_cli_main(int argc, char **argv)
{
	struct flags fl = { .fmt = MANIFEST_YAML };
	struct manifest_errors errs;
	struct mf_stream st = { 0 };
	char what[PATH_MAX + 32], **outs = NULL, *text = NULL;
	size_t *lens = NULL, n = 1, i, len = 0;
	int ret, code;

	code = parse_flags(argc, argv, &fl);
	if (code >= 0)
		return code;
	if (fl.check)
		return check_file(fl.check, &fl.opts);

	if (fl.file) {
		ret = read_all(fl.file, &text, &len);
		if (ret) {
			fprintf(stderr, "knext-init manifest: %s: %s\n", fl.file, strerror(-ret));
			return 2;
		}
		manifest_errors_reset(&errs);
		ret = mf_stream_split(text, len, &st, &errs);
		free(text);
		if (ret) {
			print_errors(fl.file, &errs);
			return 1;
		}
		n = st.n;
		if (!n) {
			fprintf(stderr, "knext-init manifest: %s: holds no object\n", fl.file);
			return 1;
		}
	}
	outs = calloc(n, sizeof(*outs));
	lens = calloc(n, sizeof(*lens));
	if (!outs || !lens) {
		code = 1;
		goto out;
	}
	/* Every object of the file is rendered, or nothing is printed. */
	code = 0;
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), n > 1 ? "%s: document %zu" : "%s",
			 fl.file ? fl.file : "flags", i + 1);
		ret = render_one(argc, argv, &fl, fl.file ? st.docs[i] : NULL, what, &outs[i],
				 &lens[i]);
		if (ret > code)
			code = ret;
	}
	if (code)
		goto out;
	if (n > 1 && fl.fmt == MANIFEST_JSON) {
		code = json_list(outs, n);
	} else {
		for (i = 0; i < n && !code; i++)
			if ((i && fputs("---\n", stdout) == EOF) ||
			    fwrite(outs[i], 1, lens[i], stdout) != lens[i])
				code = 1;
		if (!code && fflush(stdout))
			code = 1;
	}
out:
	for (i = 0; outs && i < n; i++)
		free(outs[i]);
	free(outs);
	free(lens);
	mf_stream_close(&st);
	return code;
}
