// SPDX-License-Identifier: Apache-2.0
#include "cache.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "appid.h"
#include "binding.h"
#include "packmem.h"
#include "writer.h"

/* The memfd mapping; read-only and shared, so N processes of a node share its pages. */
static const uint8_t *map_base;
static size_t map_len;

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

/* Receives PID 1's one message about the pack: "X_KNEXT_PACK=1..." with the memfd attached, or
 * "X_KNEXT_PACK=0...". Returns the memfd, -1 without a pack; @text gets the message. */
static int receive_pack(int sock, int timeout_ms, char *text, size_t n)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = text, .iov_len = n - 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	struct cmsghdr *c;
	ssize_t got;
	int fd = -1;

	text[0] = '\0';
	if (poll(&pfd, 1, timeout_ms) != 1) {
		snprintf(text, n, "no word from knext-init within %d ms", timeout_ms);
		return -1;
	}
	got = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (got < 0) {
		snprintf(text, n, "recvmsg: %s", strerror(errno));
		return -1;
	}
	text[got] = '\0';
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* cacheAttach(timeoutMs: number): string — "attached ..." or why not; maps the memfd. */
static napi_value attach_js(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	int32_t timeout_ms = 3000;
	char text[512], out[600];
	struct stat st;
	void *base;
	int fd;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc >= 1)
		napi_get_value_int32(env, argv[0], &timeout_ms);
	if (map_base)
		return make_string(env, "attached");
	fd = receive_pack(binding_notify_fd(), timeout_ms, text, sizeof(text));
	if (fd < 0)
		return make_string(env, text[0] ? text : "no pack");
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		close(fd);
		return make_string(env, "pack memfd is empty");
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (base == MAP_FAILED) {
		snprintf(out, sizeof(out), "mmap: %s", strerror(errno));
		return make_string(env, out);
	}
	map_base = base;
	map_len = (size_t)st.st_size;
	snprintf(out, sizeof(out), "attached %zu bytes", map_len);
	return make_string(env, out);
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

/* writePack(file: string, level: number, v8Tag: number, entries: [kind, key, hash, Buffer][]):
 * string | undefined — writes atomically (temp file, fsync, rename); returns why it failed. */
static napi_value write_pack_js(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4];
	struct pack_identity id;
	struct pack_writer w;
	char *file, why[256] = "";
	const char *app = getenv("KNEXT_APP_DIR");
	int32_t level = 3;
	uint32_t tag = 0, n = 0;
	int r;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 4 || !(file = get_string(env, argv[0], NULL)))
		return make_string(env, "writePack: bad arguments");
	napi_get_value_int32(env, argv[1], &level);
	napi_get_value_uint32(env, argv[2], &tag);
	napi_get_array_length(env, argv[3], &n);

	appid_fill(&id, app && *app ? app : ".");
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
		r = pack_writeback_file(file, &w, 0, why, sizeof(why));
	pack_writer_close(&w);
	free(file);
	if (r == 0)
		return undefined(env);
	if (!why[0])
		snprintf(why, sizeof(why), "%s", strerror(-r));
	return make_string(env, why);
}

int cache_define(napi_env env, napi_value exports)
{
	const napi_property_descriptor props[] = {
		{ "hash", NULL, hash_js, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "cacheAttach", NULL, attach_js, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "cacheLookup", NULL, lookup_js, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "writePack", NULL, write_pack_js, NULL, NULL, NULL, napi_enumerable, NULL },
	};

	return napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) ==
			       napi_ok ?
		       0 :
		       -EINVAL;
}
