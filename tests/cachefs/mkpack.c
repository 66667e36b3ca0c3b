// SPDX-License-Identifier: Apache-2.0
/*
 * Builds a realistic pack from what record.js wrote: a manifest of lines
 *   <path relative to the app>\t<source file>\t<code cache file>
 * Each module becomes a CODE_CACHE entry (the V8 code cache) and a SOURCE entry, keyed by the
 * XXH3-64 of its source.
 *   mkpack MANIFEST OUT.pack [LEVEL]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cachefs/packmem.h"
#include "cachefs/writer.h"

static void *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	void *b;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc(n ? n : 1);
	*len = fread(b, 1, n, f);
	fclose(f);
	return b;
}

int main(int argc, char **argv)
{
	struct pack_identity id = { .runtime_name = "node", .arch = "x86_64" };
	struct pack_writer w;
	char line[8192];
	FILE *m, *out;
	int level = argc > 3 ? atoi(argv[3]) : PACK_LEVEL_BAKED;
	unsigned n = 0;

	if (argc < 3)
		return 2;
	m = fopen(argv[1], "r");
	if (!m)
		return 1;
	snprintf(id.build_id, sizeof(id.build_id), "%s",
		 getenv("BUILD_ID") ? getenv("BUILD_ID") : "");
	snprintf(id.runtime_version, sizeof(id.runtime_version), "%s",
		 getenv("RUNTIME_VERSION") ? getenv("RUNTIME_VERSION") : "");
	pack_writer_init(&w, &id, level);
	if (getenv("FRAME_KB"))
		w.frame_target = (size_t)atoi(getenv("FRAME_KB")) << 10;
	while (fgets(line, sizeof(line), m)) {
		char *rel = strtok(line, "\t\n"), *src = strtok(NULL, "\t\n"),
		     *code = strtok(NULL, "\t\n");
		size_t sl, cl;
		void *s, *c;
		uint64_t h;

		if (!rel || !src || !code)
			continue;
		s = load(src, &sl);
		c = load(code, &cl);
		if (!s || !c)
			return 1;
		h = packmem_hash64(s, sl);
		if (pack_writer_add(&w, PACK_KIND_CODE_CACHE, rel, h, c, cl) ||
		    pack_writer_add(&w, PACK_KIND_SOURCE, rel, h, s, sl))
			fprintf(stderr, "mkpack: skipped %s\n", rel);
		else
			n++;
		free(s);
		free(c);
	}
	fclose(m);
	out = fopen(argv[2], "wb");
	if (!out || pack_writer_write(&w, fileno(out))) {
		fprintf(stderr, "mkpack: cannot write %s\n", argv[2]);
		return 1;
	}
	fclose(out);
	printf("mkpack: %u modules, %llu raw bytes, %zu bytes packed\n", n,
	       (unsigned long long)w.raw_bytes, w.out_len);
	pack_writer_close(&w);
	return 0;
}
