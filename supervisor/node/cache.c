// SPDX-License-Identifier: Apache-2.0
#include "supervisor/node/cache.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "cachefs/appid.h"
#include "supervisor/config.h"
#include "supervisor/node/embed.h"
#include "supervisor/node/runtime.h"
#include "supervisor/snapshot.h"
#include "cachefs/handoff.h"
#include "cachefs/pack.h"
#include "cachefs/packmem.h"
#include "cachefs/writer.h"

/* The memfd mapping; read-only and shared, so N processes of a node share its pages. */
static const uint8_t *map_base;
static size_t map_len;
/* Why there is no pack, once PID 1 has said so (its one message is gone then). */
static char no_pack[512];
/* The notify socket PID 1's message arrives on, for cacheAttach() (see cache_define()). */
static int notify_sock = -1;
/* knext-node's settings (cache_init()). */
static const struct knext_config *settings;

void cache_init(const struct knext_config *cfg)
{
	settings = cfg;
}

static napi_value undefined(napi_env env)
{
	napi_value v;

	napi_get_undefined(env, &v);
	return v;
}

static napi_value make_string(napi_env env, const char *s)
{
	napi_value v;

	napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
	return v;
}

/* A JS string as UTF-8 in a malloc'd buffer. */
static char *get_string(napi_env env, napi_value v, size_t *len)
{
	size_t n;
	char *s;

	if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok)
		return NULL;
	s = malloc(n + 1);
	if (s && napi_get_value_string_utf8(env, v, s, n + 1, &n) != napi_ok) {
		free(s);
		return NULL;
	}
	if (s && len)
		*len = n;
	return s;
}

/* hash(source: string): bigint — XXH3-64 of the UTF-8 bytes, the key's content hash. */
static napi_value hash_js(napi_env env, napi_callback_info info)
{
	size_t argc = 1, len;
	napi_value argv[1], out;
	char *s;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || !(s = get_string(env, argv[0], &len))) {
		napi_throw_type_error(env, NULL, "hash: expected a string");
		return NULL;
	}
	napi_create_bigint_uint64(env, XXH3_64bits(s, len), &out);
	free(s);
	return out;
}

int cache_attach(int sock, int timeout_ms, char *why, size_t n)
{
	char text[512];
	struct stat st;
	void *base;
	int fd, r;

	if (map_base) {
		snprintf(why, n, "attached %zu bytes", map_len);
		return 1;
	}
	if (no_pack[0]) {
		snprintf(why, n, "%s", no_pack);
		return 0;
	}
	r = pack_handoff_recv(sock, timeout_ms, &fd, text, sizeof(text));
	if (r == -ETIMEDOUT) {
		snprintf(why, n, "%s", text);
		return 0;
	}
	if (fd < 0) {
		snprintf(no_pack, sizeof(no_pack), "%s", text[0] ? text : "no pack");
	} else if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		snprintf(no_pack, sizeof(no_pack), "pack memfd is empty");
	} else {
		base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (base == MAP_FAILED) {
			snprintf(no_pack, sizeof(no_pack), "mmap: %s", strerror(errno));
		} else {
			map_base = base;
			map_len = (size_t)st.st_size;
		}
	}
	if (fd >= 0)
		close(fd);
	if (!map_base) {
		snprintf(why, n, "%s", no_pack);
		return 0;
	}
	snprintf(why, n, "attached %zu bytes", map_len);
	return 1;
}

uint64_t cache_hash(const void *data, size_t len)
{
	return XXH3_64bits(data, len);
}

/* A builtin's key is its file in Node's lib/ tree: "fs.js" beside "fs/promises.js". */
static int builtin_key(char *key, size_t n, const char *id)
{
	int k = snprintf(key, n, "%s.js", id);

	return k > 0 && (size_t)k < n && pack_path_valid(key, (size_t)k) ? k : -1;
}

const void *cache_find_builtin(const char *id, uint64_t hash, size_t *len)
{
	char key[PACK_MAX_PATH + 1];
	const void *data;
	int k;

	if (!map_base || (k = builtin_key(key, sizeof(key), id)) < 0 ||
	    packmem_find(map_base, map_len, PACK_KIND_BUILTIN_CODE_CACHE, key, (size_t)k, hash,
			 &data, len) < 0 ||
	    !*len)
		return NULL;
	return data;
}

const void *cache_find_snapshot(size_t *len)
{
	static const char key[] = SNAPSHOT_BLOB_PATH;
	const void *data;

	if (!map_base ||
	    packmem_find(map_base, map_len, PACK_KIND_SNAPSHOT_BLOB, key, sizeof(key) - 1,
			 snapshot_blob_hash(NODE_VERSION_STRING, "x64"), &data, len) < 0 ||
	    !*len)
		return NULL;
	return data;
}

const void *cache_find_snapshot_record(size_t *len)
{
	static const char key[] = SNAPSHOT_ENV_PATH;
	const void *data;

	if (!map_base || packmem_find(map_base, map_len, PACK_KIND_SNAPSHOT_ENV, key,
				      sizeof(key) - 1, SNAPSHOT_ENV_HASH, &data, len) < 0)
		return NULL;
	return data;
}

/* cacheAttach(timeoutMs: number): string — "attached ..." or why not; maps the memfd. */
static napi_value attach_js(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	int32_t timeout_ms = 3000;
	char why[600];

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc >= 1)
		napi_get_value_int32(env, argv[0], &timeout_ms);
	cache_attach(notify_sock, timeout_ms, why, sizeof(why));
	return make_string(env, why);
}

struct collect_ctx {
	napi_env env;
	napi_value list;
	uint32_t n;
};

static int collect_one(void *ctx, const char *id, uint64_t hash, const void *data, size_t len)
{
	struct collect_ctx *c = ctx;
	char key[PACK_MAX_PATH + 1];
	napi_value e, v[3];

	if (builtin_key(key, sizeof(key), id) < 0)
		return 0;
	if (napi_create_array_with_length(c->env, 3, &e) != napi_ok ||
	    napi_create_string_utf8(c->env, key, NAPI_AUTO_LENGTH, &v[0]) != napi_ok ||
	    napi_create_bigint_uint64(c->env, hash, &v[1]) != napi_ok ||
	    napi_create_buffer_copy(c->env, len, data, NULL, &v[2]) != napi_ok)
		return 1;
	for (uint32_t i = 0; i < 3; i++)
		napi_set_element(c->env, e, i, v[i]);
	return napi_set_element(c->env, c->list, c->n++, e) != napi_ok;
}

/* builtinCodeCache(): [key, hash, Buffer][] — fresh code cache of every builtin compiled so far,
 * keyed as cache_find_builtin() looks it up. */
static napi_value builtin_code_cache_js(napi_env env, napi_callback_info info)
{
	struct collect_ctx c = { .env = env };

	(void)info;
	if (napi_create_array(env, &c.list) != napi_ok)
		return undefined(env);
	embed_builtins_collect(collect_one, &c);
	return c.list;
}

/* builtinStats(): [hit, miss, rejected] | undefined — builtins compiled with and without the
 * pack; undefined when the runtime compiles them from its own code cache. */
static napi_value builtin_stats_js(napi_env env, napi_callback_info info)
{
	struct embed_builtin_stats st;
	const unsigned *f[] = { &st.hit, &st.miss, &st.rejected };
	napi_value out, v;

	(void)info;
	if (embed_builtins_stats(&st) < 0)
		return undefined(env);
	napi_create_array_with_length(env, 3, &out);
	for (uint32_t i = 0; i < 3; i++) {
		napi_create_uint32(env, *f[i], &v);
		napi_set_element(env, out, i, v);
	}
	return out;
}

static void no_free_cb(napi_env env, void *data, void *hint)
{
	(void)env, (void)data, (void)hint;
}

/* cacheLookup(kind: number, path: string, hash: bigint): Buffer | undefined — zero-copy view. */
static napi_value lookup_js(napi_env env, napi_callback_info info)
{
	size_t argc = 3, plen;
	napi_value argv[3], out;
	uint32_t kind;
	uint64_t hash;
	bool lossless;
	const void *data;
	size_t len;
	char *path;
	int r;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (!map_base || argc < 3)
		return undefined(env);
	if (napi_get_value_uint32(env, argv[0], &kind) != napi_ok ||
	    napi_get_value_bigint_uint64(env, argv[2], &hash, &lossless) != napi_ok)
		return undefined(env);
	if (!(path = get_string(env, argv[1], &plen)))
		return undefined(env);
	r = packmem_find(map_base, map_len, kind, path, plen, hash, &data, &len);
	free(path);
	if (r < 0 || !len)
		return undefined(env);
	/* The mapping lives as long as the process; V8 copies what it keeps. */
	if (napi_create_external_buffer(env, len, (void *)data, no_free_cb, NULL, &out) != napi_ok)
		return undefined(env);
	return out;
}

static int add_entry(napi_env env, struct pack_writer *w, napi_value e)
{
	napi_value v[4];
	uint32_t kind;
	uint64_t hash;
	bool lossless;
	void *data;
	size_t len;
	char *key;
	int r;

	for (uint32_t i = 0; i < 4; i++)
		if (napi_get_element(env, e, i, &v[i]) != napi_ok)
			return -EINVAL;
	if (napi_get_value_uint32(env, v[0], &kind) != napi_ok ||
	    napi_get_value_bigint_uint64(env, v[2], &hash, &lossless) != napi_ok ||
	    napi_get_buffer_info(env, v[3], &data, &len) != napi_ok)
		return -EINVAL;
	if (!(key = get_string(env, v[1], NULL)))
		return -EINVAL;
	r = pack_writer_add(w, kind, key, hash, data, len);
	free(key);
	return r;
}

/* Appends @n bytes of @p to @out at *@at (the caller sized @out). */
static void put(unsigned char *out, size_t *at, const void *p, size_t n)
{
	memcpy(out + *at, p, n);
	*at += n;
}

/* One builtin's code cache, as writePack gets it. */
struct builtin_cache {
	char *id;
	size_t id_len;
	void *data;
	size_t len;
};

/*
 * @blob with @builtins (a JS array of [id, Buffer]) as its builtins' code cache, in *@out
 * (malloc'd; NULL when there is nothing to add). Node's blob ends with that cache
 * (node_snapshotable.cc, SnapshotData::ToBlob): a 64-bit count, then for each builtin its id and
 * its cache, each a 64-bit length and the bytes (Node 24). A blob made through the embedder API
 * ends with a count of 0, which this replaces; the caller passes nothing for a blob that has a
 * cache (a cache's last bytes may be zeros too).
 */
static int blob_with_builtins(napi_env env, napi_value builtins, const unsigned char *blob,
			      size_t len, unsigned char **out, size_t *out_len)
{
	static const uint64_t zero;
	uint32_t n = 0, used = 0;
	uint64_t count = 0;
	size_t total = len, at;
	struct builtin_cache *b;
	int r = 0;

	*out = NULL;
	if (len < sizeof(zero) || memcmp(blob + len - sizeof(zero), &zero, sizeof(zero)) != 0 ||
	    napi_get_array_length(env, builtins, &n) != napi_ok || n == 0)
		return 0;
	if (!(b = calloc(n, sizeof(*b))))
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		napi_value e, id, data;

		if (napi_get_element(env, builtins, i, &e) != napi_ok ||
		    napi_get_element(env, e, 0, &id) != napi_ok ||
		    napi_get_element(env, e, 1, &data) != napi_ok ||
		    !(b[used].id = get_string(env, id, &b[used].id_len)) ||
		    napi_get_buffer_info(env, data, &b[used].data, &b[used].len) != napi_ok ||
		    b[used].id_len == 0 || b[used].len == 0) {
			free(b[used].id);
			b[used].id = NULL;
			continue;
		}
		total += 2 * sizeof(uint64_t) + b[used].id_len + b[used].len;
		used++;
	}
	if (used == 0)
		goto done;
	if (!(*out = malloc(total))) {
		r = -ENOMEM;
		goto done;
	}
	at = len - sizeof(zero);
	memcpy(*out, blob, at);
	count = used;
	put(*out, &at, &count, sizeof(count));
	for (uint32_t i = 0; i < used; i++) {
		uint64_t id_len = b[i].id_len, data_len = b[i].len;

		put(*out, &at, &id_len, sizeof(id_len));
		put(*out, &at, b[i].id, b[i].id_len);
		put(*out, &at, &data_len, sizeof(data_len));
		put(*out, &at, b[i].data, b[i].len);
	}
	*out_len = at;
done:
	for (uint32_t i = 0; i < used; i++)
		free(b[i].id);
	free(b);
	return r;
}

/*
 * A write-back keeps the startup snapshot of the pack this process started from (kinds 7 and 8):
 * only `cache warm` builds one, and the next pod needs it most. Not when snapshots are off
 * (KNEXT_SNAPSHOT=0, as after a start from this very blob failed). @builtins, when not NULL, is
 * the code cache of the builtins this start compiled after the restore (blob_with_builtins()).
 */
static int carry_snapshot(struct pack_writer *w, napi_env env, napi_value builtins)
{
	const void *blob, *rec;
	unsigned char *with = NULL;
	size_t blob_len = 0, rec_len = 0, with_len = 0;
	int r;

	if (!settings || !settings->snapshot || !(blob = cache_find_snapshot(&blob_len)) ||
	    !(rec = cache_find_snapshot_record(&rec_len)))
		return 0;
	w->stored_kind = PACK_KIND_SNAPSHOT_BLOB;
	if ((r = pack_writer_add(w, PACK_KIND_SNAPSHOT_ENV, SNAPSHOT_ENV_PATH, SNAPSHOT_ENV_HASH,
				 rec, rec_len)) < 0)
		return r;
	if (builtins &&
	    (r = blob_with_builtins(env, builtins, blob, blob_len, &with, &with_len)) < 0)
		return r;
	r = pack_writer_add(w, PACK_KIND_SNAPSHOT_BLOB, SNAPSHOT_BLOB_PATH,
			    snapshot_blob_hash(NODE_VERSION_STRING, "x64"), with ? with : blob,
			    with ? with_len : blob_len);
	free(with);
	return r;
}

/* Tells PID 1 how a write went (probes/PROTOCOL.md, X_KNEXT_WRITEBACK), so that a failure is a
 * warning in its log at the default verbosity, and a busy lock an info line. */
static void report_write(int r, const char *file, const char *why)
{
	char msg[4096]; /* NOTIFY_MAX_DATAGRAM */
	int k;

	if (notify_sock < 0)
		return;
	if (r == 0)
		k = snprintf(msg, sizeof(msg), "X_KNEXT_WRITEBACK=written %s", file);
	else
		k = snprintf(msg, sizeof(msg), "X_KNEXT_WRITEBACK=%s %s: %s",
			     r == -EBUSY ? "busy" : "failed", file, why[0] ? why : strerror(-r));
	if (k > 0)
		send(notify_sock, msg, (size_t)k < sizeof(msg) ? (size_t)k : sizeof(msg) - 1,
		     MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* writePack(file: string, level: number, v8Tag: number, entries: [kind, key, hash, Buffer][],
 * builtins?: [id, Buffer][]): string | undefined — writes atomically (temp file, fsync, rename);
 * returns why it failed. @builtins go into the carried snapshot blob (carry_snapshot()). */
static napi_value write_pack_js(napi_env env, napi_callback_info info)
{
	size_t argc = 5;
	napi_value argv[5];
	struct pack_identity id;
	struct pack_writer w;
	char *file, why[256] = "";
	const char *app = settings ? settings->app_dir : NULL;
	const char *opts = settings ? settings->node_options : NULL;
	uint64_t max_bytes = settings ? settings->cache_max_bytes : 0;
	int32_t level = 3;
	uint32_t tag = 0, n = 0;
	int r;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 4 || !(file = get_string(env, argv[0], NULL)))
		return make_string(env, "writePack: bad arguments");
	napi_get_value_int32(env, argv[1], &level);
	napi_get_value_uint32(env, argv[2], &tag);
	napi_get_array_length(env, argv[3], &n);

	appid_fill(&id, app && *app ? app : ".", KNEXT_RUNTIME_VERSION, opts);
	/* Write-back to the PVC is tied to the image; the pack cache warm bakes into it cannot be. */
	if (!settings || !settings->record_pack || strcmp(file, settings->record_pack) != 0)
		appid_bind_image(&id, settings ? settings->image : NULL);
	id.v8_tag = tag;
	if ((r = pack_writer_init(&w, &id, level)) < 0) {
		free(file);
		return make_string(env, "writePack: out of memory");
	}
	for (uint32_t i = 0; i < n && r == 0; i++) {
		napi_value e;

		if (napi_get_element(env, argv[3], i, &e) == napi_ok)
			r = add_entry(env, &w, e);
	}
	if (r == 0)
		r = carry_snapshot(&w, env, argc > 4 ? argv[4] : NULL);
	if (r == 0)
		r = pack_writeback_file(file, &w, max_bytes, why, sizeof(why));
	pack_writer_close(&w);
	report_write(r, file, why);
	free(file);
	if (r == 0)
		return undefined(env);
	if (!why[0])
		snprintf(why, sizeof(why), "%s", strerror(-r));
	return make_string(env, why);
}

int cache_define(napi_env env, napi_value exports, int sock)
{
	const napi_property_descriptor props[] = {
		{ "hash", NULL, hash_js, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "cacheAttach", NULL, attach_js, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "cacheLookup", NULL, lookup_js, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "writePack", NULL, write_pack_js, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "builtinCodeCache", NULL, builtin_code_cache_js, NULL, NULL, NULL,
		  napi_enumerable, NULL },
		{ "builtinStats", NULL, builtin_stats_js, NULL, NULL, NULL, napi_enumerable, NULL },
	};

	notify_sock = sock;
	return napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) ==
			       napi_ok ?
		       0 :
		       -EINVAL;
}
