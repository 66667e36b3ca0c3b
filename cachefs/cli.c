// SPDX-License-Identifier: Apache-2.0
/*
 * `knext-init cache`: pack a directory (NODE_COMPILE_CACHE layout or any tree), unpack, inspect,
 * verify. The only place in cachefs that prints.
 */
#include "cachefs/cli.h"
#include "cachefs/pack.h"
#include "cachefs/packmem.h"
#include "cachefs/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: knext-init cache pack DIR -o PACK [--level N] [--build-id ID]\n"
		   "         [--runtime NAME] [--runtime-version V] [--v8-tag N] [--arch A]\n"
		   "       knext-init cache unpack PACK -o DIR\n"
		   "       knext-init cache inspect PACK [--json]\n"
		   "       knext-init cache verify PACK\n"
		   "       knext-init cache warm --help\n");
}

static int cmd_pack(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "level", required_argument, NULL, 'l' },
		{ "build-id", required_argument, NULL, 'b' },
		{ "runtime", required_argument, NULL, 'r' },
		{ "runtime-version", required_argument, NULL, 'V' },
		{ "v8-tag", required_argument, NULL, 't' },
		{ "arch", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct pack_identity id = { .runtime_name = "node" };
	struct pack_writer w;
	const char *out = NULL, *dir;
	char why[PACK_REASON_MAX + PATH_MAX] = "";
	struct utsname u;
	int level = PACK_LEVEL_BAKED, c, err, rc = 1;

	uname(&u);
	memcpy(id.arch, u.machine, strnlen(u.machine, sizeof(id.arch) - 1));
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'l':
			level = atoi(optarg);
			break;
		case 'b':
			snprintf(id.build_id, sizeof(id.build_id), "%s", optarg);
			break;
		case 'r':
			snprintf(id.runtime_name, sizeof(id.runtime_name), "%s", optarg);
			break;
		case 'V':
			snprintf(id.runtime_version, sizeof(id.runtime_version), "%s", optarg);
			break;
		case 't':
			id.v8_tag = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'a':
			snprintf(id.arch, sizeof(id.arch), "%s", optarg);
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!out || optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	dir = argv[optind];
	if (pack_writer_init(&w, &id, level)) {
		fprintf(stderr, "cache pack: bad level %d\n", level);
		return 2;
	}
	err = pack_writer_add_dir(&w, dir, PACK_KIND_NCC_FILE);
	if (err) {
		fprintf(stderr, "cache pack: %s: %s\n", dir, strerror(-err));
		goto out;
	}
	/* The one atomic writer (writeback.c); an explicit pack has no size budget. */
	err = pack_writeback_file(out, &w, UINT64_MAX, why, sizeof(why));
	if (err) {
		fprintf(stderr, "cache pack: writing %s: %s\n", out, why[0] ? why : strerror(-err));
		goto out;
	}
	printf("packed %zu files (%llu bytes) into %s (%zu bytes)\n", w.count,
	       (unsigned long long)w.raw_bytes, out, w.out_len);
	rc = 0;
out:
	pack_writer_close(&w);
	return rc;
}

static int cmd_unpack(int argc, char **argv)
{
	const char *out = NULL, *in = NULL;
	char why[PACK_REASON_MAX + PATH_MAX];
	struct pack p;
	int err, k;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "-o") == 0 && k + 1 < argc)
			out = argv[++k];
		else if (!in && argv[k][0] != '-')
			in = argv[k];
		else
			in = NULL, k = argc;
	}
	if (!in || !out) {
		usage(stderr);
		return 2;
	}
	err = pack_open(&p, in);
	if (!err)
		err = pack_verify(&p);
	if (err) {
		fprintf(stderr, "cache unpack: %s: %s\n", in, p.reason);
		pack_close(&p);
		return 1;
	}
	err = pack_extract(&p, out, why, sizeof(why));
	if (err)
		fprintf(stderr, "cache unpack: %s\n", why);
	else
		printf("unpacked %u entries into %s\n", p.entry_count, out);
	pack_close(&p);
	return err ? 1 : 0;
}

static void print_json(const struct pack *p)
{
	json_t *root = json_object(), *entries = json_array();
	struct pack_entry e;
	struct pack_frame f;
	uint64_t comp = 0;
	char hex[19];
	uint32_t i;

	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "runtime", json_string(p->id.runtime_name));
	json_object_set_new(root, "runtime_version", json_string(p->id.runtime_version));
	json_object_set_new(root, "v8_tag", json_integer(p->id.v8_tag));
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)p->id.v8_flags_hash);
	json_object_set_new(root, "v8_flags_hash", json_string(hex));
	json_object_set_new(root, "arch", json_string(p->id.arch));
	json_object_set_new(root, "build_id", json_string(p->id.build_id));
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)p->id.app_files_hash);
	json_object_set_new(root, "app_files_hash", json_string(hex));
	json_object_set_new(root, "created_ms", json_integer((json_int_t)p->created_ms));
	json_object_set_new(root, "entries_count", json_integer(p->entry_count));
	json_object_set_new(root, "frames", json_integer(p->frame_count));
	json_object_set_new(root, "raw_size", json_integer((json_int_t)p->raw_size));
	json_object_set_new(root, "file_size", json_integer((json_int_t)p->size));
	for (i = 0; i < p->frame_count; i++) {
		pack_frame_get(p, i, &f);
		comp += f.comp_size;
	}
	json_object_set_new(root, "payload_size", json_integer((json_int_t)comp));
	for (i = 0; i < p->entry_count; i++) {
		json_t *o = json_object();

		pack_entry_get(p, i, &e);
		json_object_set_new(o, "kind", json_string(pack_kind_name(e.kind)));
		json_object_set_new(o, "path", json_stringn(e.path, e.path_len));
		snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)e.content_hash);
		json_object_set_new(o, "content_hash", json_string(hex));
		json_object_set_new(o, "size", json_integer(e.raw_size));
		json_object_set_new(o, "frame", json_integer(e.frame));
		json_object_set_new(o, "offset", json_integer((json_int_t)e.raw_offset));
		json_array_append_new(entries, o);
	}
	json_object_set_new(root, "entries", entries);
	json_dumpf(root, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(root);
}

static void print_human(const struct pack *p)
{
	struct pack_entry e;
	uint32_t i;

	printf("runtime:    %s %s (V8 tag %u, flags hash %016llx) %s\n", p->id.runtime_name,
	       p->id.runtime_version, p->id.v8_tag, (unsigned long long)p->id.v8_flags_hash,
	       p->id.arch);
	printf("app:        BUILD_ID %s, file list hash %016llx\n",
	       p->id.build_id[0] ? p->id.build_id : "-", (unsigned long long)p->id.app_files_hash);
	printf("created:    %llu ms since the epoch\n", (unsigned long long)p->created_ms);
	printf("entries:    %u in %u frames\n", p->entry_count, p->frame_count);
	printf("size:       %llu raw, %llu compressed (ratio %.2f), file %zu\n",
	       (unsigned long long)p->raw_size, (unsigned long long)p->payload_size,
	       p->payload_size ? (double)p->raw_size / p->payload_size : 0.0, p->size);
	printf("%-10s %10s %5s %-16s %s\n", "kind", "bytes", "frame", "content-hash", "path");
	for (i = 0; i < p->entry_count; i++) {
		pack_entry_get(p, i, &e);
		printf("%-10s %10u %5u %016llx %.*s\n", pack_kind_name(e.kind), e.raw_size, e.frame,
		       (unsigned long long)e.content_hash, (int)e.path_len, e.path);
	}
}

static int cmd_inspect(int argc, char **argv)
{
	const char *in = NULL;
	struct pack p;
	int json = 0, k;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--json") == 0)
			json = 1;
		else if (!in && argv[k][0] != '-')
			in = argv[k];
		else
			in = NULL, k = argc;
	}
	if (!in) {
		usage(stderr);
		return 2;
	}
	if (pack_open(&p, in)) {
		fprintf(stderr, "cache inspect: %s: %s\n", in, p.reason);
		return 1;
	}
	if (json)
		print_json(&p);
	else
		print_human(&p);
	pack_close(&p);
	return 0;
}

static int cmd_verify(int argc, char **argv)
{
	struct pack p;
	int err;

	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	err = pack_open(&p, argv[1]);
	if (!err)
		err = pack_verify(&p);
	if (err) {
		printf("invalid: %s\n", p.reason);
		pack_close(&p);
		return 1;
	}
	printf("valid: %u entries, %u frames, %llu raw bytes\n", p.entry_count, p.frame_count,
	       (unsigned long long)p.raw_size);
	pack_close(&p);
	return 0;
}

int cache_cli_main(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "pack") == 0)
		return cmd_pack(argc - 1, argv + 1);
	if (strcmp(sub, "unpack") == 0)
		return cmd_unpack(argc - 1, argv + 1);
	if (strcmp(sub, "inspect") == 0)
		return cmd_inspect(argc - 1, argv + 1);
	if (strcmp(sub, "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
