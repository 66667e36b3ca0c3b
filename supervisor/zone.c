// SPDX-License-Identifier: Apache-2.0
/*
 * Multi-Zones: a zone's pod must run the build made for that zone. Next.js bakes basePath and
 * assetPrefix into the build (`.next/required-server-files.json`, config.basePath and
 * config.assetPrefix); the rendered Service says which ones the zone wants (KNEXT_BASE_PATH,
 * KNEXT_ASSET_PREFIX, from the NextApp's spec.zone). A mismatch is refused at start, with one
 * line, before the pod can become Ready, instead of as 404s at a user's request.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "supervisor/zone.h"

#define SERVER_FILES ".next/required-server-files.json"

/* A path or URL without its trailing '/', as Next.js compares them ("/" stays "/"). */
static void trim_slash(char *s)
{
	size_t n = strlen(s);

	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
}

int zone_build_paths(const char *app_dir, struct zone_paths *out, char *why, size_t size)
{
	char path[PATH_MAX];
	json_error_t err;
	json_t *root, *cfg, *b, *a;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/%s", app_dir, SERVER_FILES);
	root = json_load_file(path, 0, &err);
	if (!root) {
		snprintf(why, size, "cannot read %s: %s", path, err.text);
		return -ENOENT;
	}
	cfg = json_object_get(root, "config");
	b = json_object_get(cfg, "basePath");
	a = json_object_get(cfg, "assetPrefix");
	if (!json_is_object(cfg) || (b && !json_is_string(b)) || (a && !json_is_string(a))) {
		snprintf(why, size, "%s has no config with string basePath and assetPrefix", path);
		json_decref(root);
		return -EBADMSG;
	}
	snprintf(out->base_path, sizeof(out->base_path), "%s", b ? json_string_value(b) : "");
	snprintf(out->asset_prefix, sizeof(out->asset_prefix), "%s", a ? json_string_value(a) : "");
	json_decref(root);
	trim_slash(out->asset_prefix);
	return 0;
}

int zone_check(const char *app_dir, const char *want_base, const char *want_asset, char *why,
	       size_t size)
{
	char base[ZONE_PATH_MAX], asset[ZONE_PATH_MAX], build_asset[ZONE_PATH_MAX];
	struct zone_paths build;
	int r;

	if (!want_base && !want_asset)
		return 0; /* not a zone: nothing to compare */
	r = zone_build_paths(app_dir, &build, why, size);
	if (r)
		return r;
	snprintf(base, sizeof(base), "%s", want_base ? want_base : "");
	trim_slash(base);
	/* Next.js: an unset assetPrefix is the basePath (next.config's defaults). */
	snprintf(asset, sizeof(asset), "%s", want_asset && *want_asset ? want_asset : base);
	trim_slash(asset);
	snprintf(build_asset, sizeof(build_asset), "%s",
		 *build.asset_prefix ? build.asset_prefix : build.base_path);
	if (strcmp(base, build.base_path)) {
		snprintf(
			why, size,
			"zone mismatch: KNEXT_BASE_PATH is \"%s\" but the build in %s has basePath "
			"\"%s\" (" SERVER_FILES "): run the image built for this zone",
			base, app_dir, build.base_path);
		return -EINVAL;
	}
	if (strcmp(asset, build_asset)) {
		snprintf(why, size,
			 "zone mismatch: KNEXT_ASSET_PREFIX is \"%s\" but the build in %s has "
			 "assetPrefix \"%s\" (" SERVER_FILES "): run the image built for this zone",
			 asset, app_dir, build_asset);
		return -EINVAL;
	}
	return 0;
}

int zone_default_url(const char *app_dir, const char *want_base, char *url, size_t size)
{
	struct zone_paths build;
	char why[256];
	const char *base = want_base;

	if (!base)
		base = zone_build_paths(app_dir, &build, why, sizeof(why)) ? "" : build.base_path;
	if (snprintf(url, size, "%s/", base) >= (int)size)
		return -ENAMETOOLONG;
	/* "/shop" + "/" and "" + "/"; a basePath never ends with '/'. */
	return 0;
}
