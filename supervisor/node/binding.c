// SPDX-License-Identifier: Apache-2.0
#include "supervisor/node/binding.h"
#include "supervisor/node/cache.h"
#include "supervisor/node/embed.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

static int notify_fd = -1;
static int lazy_openssl;

void binding_set_lazy_openssl(int lazy)
{
	lazy_openssl = lazy;
}

void binding_set_notify_fd(int fd)
{
	notify_fd = fd;
}

int binding_notify(const char *msg, size_t len)
{
	if (notify_fd < 0)
		return -ENOTCONN;
	/* A full socket buffer means PID 1 is behind; dropping a heartbeat beats blocking JS. */
	if (send(notify_fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

/* notify(message: string): boolean */
static napi_value notify_js(napi_env env, napi_callback_info info)
{
	char buf[4096];
	size_t argc = 1, len = 0;
	napi_value argv[1], result;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1)
		return NULL;
	if (napi_get_value_string_utf8(env, argv[0], buf, sizeof(buf), &len) != napi_ok) {
		napi_throw_type_error(env, NULL, "notify: message must be a string");
		return NULL;
	}
	napi_get_boolean(env, binding_notify(buf, len) == 0, &result);
	return result;
}

static napi_value monotonic_ms_js(napi_env env, napi_callback_info info)
{
	struct timespec ts;
	napi_value result;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	napi_create_double(env, ts.tv_sec * 1e3 + ts.tv_nsec / 1e6, &result);
	return result;
}

/* loadExtraCaCerts(): boolean — applies NODE_EXTRA_CA_CERTS once, when OpenSSL started lazily. */
static napi_value load_extra_ca_js(napi_env env, napi_callback_info info)
{
	static int done;
	const char *file = getenv("NODE_EXTRA_CA_CERTS");
	napi_value result;

	(void)info;
	if (lazy_openssl && !done && file && *file) {
		done = 1;
		embed_use_extra_ca_certs(file);
	}
	napi_get_boolean(env, done, &result);
	return result;
}

napi_value binding_init(napi_env env, napi_value exports)
{
	const napi_property_descriptor props[] = {
		{ "notify", NULL, notify_js, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "monotonicMs", NULL, monotonic_ms_js, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "loadExtraCaCerts", NULL, load_extra_ca_js, NULL, NULL, NULL, napi_enumerable,
		  NULL },
	};

	napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
	cache_define(env, exports, notify_fd);
	return exports;
}
