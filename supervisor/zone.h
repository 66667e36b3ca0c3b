/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Multi-Zones: the zone a pod is deployed as (KNEXT_BASE_PATH, KNEXT_ASSET_PREFIX) against the
 * basePath and assetPrefix its Next.js build was made with (.next/required-server-files.json).
 */
#ifndef KNEXT_ZONE_H
#define KNEXT_ZONE_H

#include <stddef.h>

#define ZONE_PATH_MAX 512

/**
 * struct zone_paths - what a build was made for.
 * @base_path:    config.basePath ("" when none)
 * @asset_prefix: config.assetPrefix without a trailing '/' ("" when none)
 */
struct zone_paths {
	char base_path[ZONE_PATH_MAX];
	char asset_prefix[ZONE_PATH_MAX];
};

/**
 * zone_build_paths() - read a standalone build's basePath and assetPrefix.
 * @app_dir: the app (the standalone output, holding .next/)
 * @out:     receives them
 * @why:     why it failed, one line
 * @size:    size of @why
 *
 * Return: 0, -ENOENT when the file cannot be read, -EBADMSG when it is not what Next.js writes.
 */
int zone_build_paths(const char *app_dir, struct zone_paths *out, char *why, size_t size);

/**
 * zone_check() - whether the build is the one made for the zone the pod is deployed as.
 * @app_dir:    the app
 * @want_base:  KNEXT_BASE_PATH, or NULL when not set
 * @want_asset: KNEXT_ASSET_PREFIX, or NULL when not set (empty or unset means the basePath, as
 *              in Next.js)
 * @why:        the one line to print when it is not
 * @size:       size of @why
 *
 * Return: 0 when they match or neither variable is set; -EINVAL on a mismatch; the errors of
 * zone_build_paths() when the build's paths cannot be read.
 */
int zone_check(const char *app_dir, const char *want_base, const char *want_asset, char *why,
	       size_t size);

/**
 * zone_default_url() - the first warm-up URL: the zone's basePath + "/".
 * @app_dir:   the app
 * @want_base: KNEXT_BASE_PATH, or NULL to take the build's own basePath
 * @url:       receives the path
 * @size:      size of @url
 *
 * Return: 0, or -ENAMETOOLONG.
 */
int zone_default_url(const char *app_dir, const char *want_base, char *url, size_t size);

#endif
