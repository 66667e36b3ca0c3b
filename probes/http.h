/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP/1.1 request-head parser of the probe server: pure, bounded, strict. It reads outside
 * input, so it is fuzzed (tests/probes/fuzz_http.c). The accepted subset is specified in
 * probes/PROTOCOL.md.
 */
#ifndef KNEXT_PROBES_HTTP_H
#define KNEXT_PROBES_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The request line plus all headers must fit in this many bytes. */
#define HTTP_MAX_HEAD 8192
/* More header fields than this is answered with 431. */
#define HTTP_MAX_HEADERS 64

/**
 * enum http_method - the methods the probe server tells apart.
 */
enum http_method {
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_OTHER, /* a valid token we do not serve: 405 */
};

/**
 * struct http_request - one parsed request head; pointers point into the parsed buffer.
 * @method:        GET, HEAD or another (valid) method
 * @path:          the request target's path, without the query string
 * @path_len:      its length
 * @version_minor: 0 for HTTP/1.0, 1 for HTTP/1.1
 * @keep_alive:    the connection may carry another request after this one
 * @status:        on a parse error: the status code to answer with (400, 414, 431, 505)
 */
struct http_request {
	enum http_method method;
	const char *path;
	size_t path_len;
	int version_minor;
	bool keep_alive;
	int status;
};

/**
 * http_parse_request() - parse one request head at the start of @buf.
 * @buf: bytes received so far (need not be NUL-terminated; may hold pipelined requests)
 * @len: how many
 * @req: filled on success; on error only @req->status is meaningful
 *
 * Accepts "METHOD SP origin-form SP HTTP/1.x CRLF", header fields "name: value CRLF" and the
 * final CRLF. Rejects bare LF or CR, NUL and other control bytes, obs-fold, whitespace before the
 * colon, a missing or repeated Host in HTTP/1.1, any request body (Transfer-Encoding or a non-zero
 * Content-Length) and heads over %HTTP_MAX_HEAD bytes. Errors are found as early as the bytes allow,
 * so a bad client is answered before it finishes sending.
 *
 * Return: the length of the head (> 0) when complete, 0 when more bytes are needed, -EBADMSG on a
 * malformed head (@req->status says 400, 414, 431 or 505).
 */
ssize_t http_parse_request(const char *buf, size_t len, struct http_request *req);

#endif
