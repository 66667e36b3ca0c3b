// SPDX-License-Identifier: Apache-2.0
/*
 * Start-up search order: KNEXT_PACK -> PVC pack matching this app and runtime -> pack baked in the
 * image -> none (a cold start, not an error).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cachefs/format.h"
#include "tests/cachefs/helpers.h"
#include "cachefs/appid.h"
#include "cachefs/source.h"

static char *dir;
static char pvc[600], appdir[600], explicit_pack[600];
static const char *pack; /* KNEXT_PACK, as the configuration passes it */

static char *at(const char *d, const char *name)
{
	static char buf[2][800];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", d, name);
	return buf[k];
}

static void setup(void)
{
	dir = test_tmpdir("source");
	snprintf(pvc, sizeof(pvc), "%s/pvc", dir);
	snprintf(appdir, sizeof(appdir), "%s/app", dir);
	snprintf(explicit_pack, sizeof(explicit_pack), "%s/explicit.pack", dir);
	mkdir(pvc, 0755);
	mkdir(appdir, 0755);
	mkdir(at(appdir, ".knext"), 0755);
	pack = NULL;
}

static void teardown(void)
{
	rm_rf(dir);
	free(dir);
}

TestSuite(source, .init = setup, .fini = teardown);

/* Writes a sample pack with @build_id to @path (truncated to @cut bytes when @cut is non-zero). */
static void put_pack(const char *path, const char *build_id, size_t cut)
{
	struct pack_writer w;

	sample_writer(&w, 50, 10, 1);
	snprintf(w.id.build_id, sizeof(w.id.build_id), "%s", build_id);
	cr_assert_eq(pack_writer_build(&w), 0);
	cr_assert_eq(write_file(path, w.out, cut ? cut : w.out_len), 0);
	pack_writer_close(&w);
}

Test(source, none_is_a_cold_start)
{
	struct pack_source s;

	cr_assert_eq(pack_source_select(&s, &test_id, NULL, pack, pvc, appdir), 0);
	cr_assert_eq(s.origin, PACK_ORIGIN_NONE);
	cr_assert_str_eq(s.path, "");
	cr_assert(strstr(s.skipped, "pvc:"), "%s", s.skipped);
	cr_assert(strstr(s.skipped, "image:"), "%s", s.skipped);
}

Test(source, order_explicit_pvc_image)
{
	struct pack_source s;

	put_pack(at(appdir, ".knext/cache.pack"), test_id.build_id, 0);
	cr_assert_eq(pack_source_select(&s, &test_id, NULL, pack, pvc, appdir), 0);
	cr_assert_eq(s.origin, PACK_ORIGIN_IMAGE);
	cr_assert_str_eq(s.path, at(appdir, ".knext/cache.pack"));

	put_pack(at(pvc, PACK_PVC_NAME), test_id.build_id, 0);
	cr_assert_eq(pack_source_select(&s, &test_id, NULL, pack, pvc, appdir), 0);
	cr_assert_eq(s.origin, PACK_ORIGIN_PVC);
	cr_assert_str_eq(s.skipped, "");

	put_pack(explicit_pack, test_id.build_id, 0);
	pack = explicit_pack;
	cr_assert_eq(pack_source_select(&s, &test_id, NULL, pack, pvc, appdir), 0);
	cr_assert_eq(s.origin, PACK_ORIGIN_EXPLICIT);
	cr_assert_str_eq(s.path, explicit_pack);
}

Test(source, mismatched_and_damaged_packs_are_skipped)
{
	struct pack_source s;

	put_pack(at(appdir, ".knext/cache.pack"), test_id.build_id, 0);
	/* The PVC holds the pack of an older build of the app: skipped, the image's is used. */
	put_pack(at(pvc, PACK_PVC_NAME), "older-build", 0);
	put_pack(explicit_pack, test_id.build_id, 100);
	pack = explicit_pack;
	cr_assert_eq(pack_source_select(&s, &test_id, NULL, pack, pvc, appdir), 0);
	cr_assert_eq(s.origin, PACK_ORIGIN_IMAGE);
	cr_assert(strstr(s.skipped, "explicit:"), "%s", s.skipped);
	cr_assert(strstr(s.skipped, "BUILD_ID differs"), "%s", s.skipped);

	/* A damaged header in the PVC pack is skipped too. */
	put_pack(at(pvc, PACK_PVC_NAME), test_id.build_id, 0);
	{
		size_t len;
		uint8_t *b = slurp(at(pvc, PACK_PVC_NAME), &len);

		le32_put(b + PACK_HEADER_OFF + PH_VERSION, 9);
		write_file(at(pvc, PACK_PVC_NAME), b, len);
		free(b);
	}
	cr_assert_eq(pack_source_select(&s, &test_id, NULL, pack, pvc, appdir), 0);
	cr_assert_eq(s.origin, PACK_ORIGIN_IMAGE);
	cr_assert(strstr(s.skipped, "version"), "%s", s.skipped);
	cr_assert_str_eq(pack_origin_name(s.origin), "image");
}

/* Writes a sample pack bound to @image (appid_bind_image()) to @path. */
static void put_bound_pack(const char *path, const char *image)
{
	struct pack_writer w;

	sample_writer(&w, 50, 10, 1);
	appid_bind_image(&w.id, image);
	cr_assert_eq(pack_writer_build(&w), 0);
	cr_assert_eq(write_file(path, w.out, w.out_len), 0);
	pack_writer_close(&w);
}

Test(source, pvc_packs_are_tied_to_the_image)
{
	struct pack_identity want_a = test_id, want_b = test_id;
	struct pack_source s;

	appid_bind_image(&want_a, "registry.example/app@sha256:aaaa");
	appid_bind_image(&want_b, "registry.example/app@sha256:bbbb");
	cr_assert_neq(want_a.app_files_hash, want_b.app_files_hash);
	put_pack(at(appdir, ".knext/cache.pack"), test_id.build_id, 0);
	put_bound_pack(at(pvc, PACK_PVC_NAME), "registry.example/app@sha256:aaaa");

	/* The image that wrote it: used. */
	cr_assert_eq(pack_source_select(&s, &test_id, &want_a, pack, pvc, appdir), 0);
	cr_assert_eq(s.origin, PACK_ORIGIN_PVC, "%s", s.skipped);
	/* Another image, same app build: skipped with one reason; the image's own pack is used. */
	cr_assert_eq(pack_source_select(&s, &test_id, &want_b, pack, pvc, appdir), 0);
	cr_assert_eq(s.origin, PACK_ORIGIN_IMAGE);
	cr_assert(strstr(s.skipped, "pvc:"), "%s", s.skipped);
	cr_assert(strstr(s.skipped, "recorded under another image than KNEXT_IMAGE"), "%s",
		  s.skipped);
	/* An unbound PVC pack (written without KNEXT_IMAGE) is not taken by a pod that knows it. */
	put_pack(at(pvc, PACK_PVC_NAME), test_id.build_id, 0);
	cr_assert_eq(pack_source_select(&s, &test_id, &want_a, pack, pvc, appdir), 0);
	cr_assert_eq(s.origin, PACK_ORIGIN_IMAGE);
	/* The image's baked pack is never bound, whatever the image. */
	cr_assert_eq(pack_source_select(&s, &test_id, &want_b, pack, "/nonexistent", appdir), 0);
	cr_assert_eq(s.origin, PACK_ORIGIN_IMAGE);
}
