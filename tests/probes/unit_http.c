// SPDX-License-Identifier: Apache-2.0
/* http_parse_request(): accepted requests, and a matrix of malformed ones. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/http.h"

static ssize_t parse(const char *s, struct http_request *req)
{
	return http_parse_request(s, strlen(s), req);
}

Test(http, simple_get)
{
	struct http_request req;
	const char *s = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:8090\r\n\r\n";

	cr_assert_eq(parse(s, &req), (ssize_t)strlen(s));
	cr_assert_eq(req.method, HTTP_METHOD_GET);
	cr_assert_eq(req.path_len, 7);
	cr_assert_eq(memcmp(req.path, "/readyz", 7), 0);
	cr_assert_eq(req.version_minor, 1);
	cr_assert(req.keep_alive);
}

Test(http, head_query_and_close)
{
	struct http_request req;
	const char *s = "HEAD /livez?verbose=1 HTTP/1.1\r\nhost: x\r\nConnection: Keep-Alive, "
			"close\r\nUser-Agent: kube-probe/1.29\r\nAccept: */*\r\n\r\n";

	cr_assert_eq(parse(s, &req), (ssize_t)strlen(s));
	cr_assert_eq(req.method, HTTP_METHOD_HEAD);
	cr_assert_eq(req.path_len, 6);
	cr_assert_eq(memcmp(req.path, "/livez", 6), 0);
	cr_assert_not(req.keep_alive);
}

Test(http, http10_keep_alive_rules)
{
	struct http_request req;

	cr_assert_gt(parse("GET / HTTP/1.0\r\n\r\n", &req), 0);
	cr_assert_eq(req.version_minor, 0);
	cr_assert_not(req.keep_alive, "HTTP/1.0 closes by default");
	cr_assert_gt(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &req), 0);
	cr_assert(req.keep_alive);
}

Test(http, absolute_form_and_leading_crlf)
{
	struct http_request req;

	cr_assert_gt(parse("GET http://10.0.0.1:8090/startupz?x HTTP/1.1\r\nHost: a\r\n\r\n", &req),
		     0);
	cr_assert_eq(req.path_len, 9);
	cr_assert_eq(memcmp(req.path, "/startupz", 9), 0);
	cr_assert_gt(parse("GET http://a HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	cr_assert_eq(req.path_len, 1);
	cr_assert_gt(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
}

Test(http, other_methods_parse_for_405)
{
	struct http_request req;

	cr_assert_gt(parse("POST /readyz HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &req),
		     0);
	cr_assert_eq(req.method, HTTP_METHOD_OTHER);
	cr_assert_gt(parse("get /readyz HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	cr_assert_eq(req.method, HTTP_METHOD_OTHER, "methods are case-sensitive");
	cr_assert_gt(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	cr_assert_eq(req.method, HTTP_METHOD_OTHER);
}

Test(http, incomplete_needs_more)
{
	const char *full = "GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n";
	struct http_request req;

	/* Every strict prefix of a valid request asks for more, never errors. */
	for (size_t i = 0; i < strlen(full); i++)
		cr_assert_eq(http_parse_request(full, i, &req), 0, "prefix %zu", i);
}

Test(http, pipelined_returns_first_head_only)
{
	const char *s =
		"GET /readyz HTTP/1.1\r\nHost: a\r\n\r\nGET /livez HTTP/1.1\r\nHost: a\r\n\r\n";
	struct http_request req;
	ssize_t n = parse(s, &req);

	cr_assert_eq(n, 33);
	cr_assert_eq(memcmp(req.path, "/readyz", 7), 0);
	cr_assert_eq(parse(s + n, &req), 32);
	cr_assert_eq(memcmp(req.path, "/livez", 6), 0);
}

struct bad_case {
	const char *name;
	const char *req;
	size_t len; /* 0: strlen */
	int status;
};

static const struct bad_case bad[] = {
	{ "bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", 0, 400 },
	{ "bare LF in headers", "GET / HTTP/1.1\r\nHost: a\n\r\n", 0, 400 },
	{ "bare CR", "GET / HTTP/1.1\rHost: a\r\n\r\n", 0, 400 },
	{ "NUL in target", "GET /rea\0dyz HTTP/1.1\r\nHost: a\r\n\r\n", 34, 400 },
	{ "NUL in header", "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 29, 400 },
	{ "NUL first", "\0GET / HTTP/1.1\r\n", 17, 400 },
	{ "control byte", "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 0, 400 },
	{ "DEL in value", "GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", 0, 400 },
	{ "tab in target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400 },
	{ "two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400 },
	{ "missing version", "GET /\r\nHost: a\r\n\r\n", 0, 400 },
	{ "HTTP/0.9 style", "GET /\r\n\r\n", 0, 400 },
	{ "lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 0, 400 },
	{ "trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 0, 400 },
	{ "HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 0, 505 },
	{ "HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 0, 505 },
	{ "bad method token", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400 },
	{ "empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400 },
	{ "relative target", "GET readyz HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400 },
	{ "asterisk on GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400 },
	{ "empty authority", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400 },
	{ "no Host in 1.1", "GET / HTTP/1.1\r\n\r\n", 0, 400 },
	{ "two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0, 400 },
	{ "two Hosts in 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 0, 400 },
	{ "space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 0, 400 },
	{ "obs-fold", "GET / HTTP/1.1\r\nHost: a\r\n  folded\r\n\r\n", 0, 400 },
	{ "no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", 0, 400 },
	{ "empty name", "GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 0, 400 },
	{ "bad name char", "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", 0, 400 },
	{ "body by length", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 0, 400 },
	{ "signed length", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -0\r\n\r\n", 0, 400 },
	{ "empty length", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 0, 400 },
	{ "two lengths",
	  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", 0, 400 },
	{ "chunked", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400 },
};

Test(http, malformed_matrix)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_request req;
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].req);
		ssize_t r = http_parse_request(bad[i].req, len, &req);

		cr_expect_eq(r, -EBADMSG, "%s: returned %zd", bad[i].name, r);
		cr_expect_eq(req.status, bad[i].status, "%s: status %d, want %d", bad[i].name,
			     req.status, bad[i].status);
	}
}

Test(http, errors_found_before_the_head_ends)
{
	struct http_request req;

	/* A bad client is answered early: no need to wait for the blank line. */
	cr_assert_eq(parse("GET / HTTP/1.1\nHo", &req), -EBADMSG);
	cr_assert_eq(parse("GE(T / HTTP/1.1\r\nHo", &req), -EBADMSG);
	cr_assert_eq(http_parse_request("GET /\0", 6, &req), -EBADMSG);
}

Test(http, huge_header_is_431)
{
	size_t n = HTTP_MAX_HEAD + 100;
	char *buf = malloc(n);
	struct http_request req;
	const char *start = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ";

	memcpy(buf, start, strlen(start));
	memset(buf + strlen(start), 'a', n - strlen(start));
	cr_assert_eq(http_parse_request(buf, HTTP_MAX_HEAD - 1, &req), 0, "still fits");
	cr_assert_eq(http_parse_request(buf, n, &req), -EBADMSG);
	cr_assert_eq(req.status, 431);
	free(buf);
}

Test(http, huge_target_is_414)
{
	size_t n = HTTP_MAX_HEAD;
	char *buf = malloc(n);
	struct http_request req;

	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', n - 5);
	cr_assert_eq(http_parse_request(buf, n, &req), -EBADMSG);
	cr_assert_eq(req.status, 414);
	free(buf);
}

Test(http, too_many_headers_is_431)
{
	char buf[4096];
	size_t len = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
	struct http_request req;

	for (int i = 0; i < HTTP_MAX_HEADERS; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "X: %d\r\n", i);
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "\r\n");
	cr_assert_eq(http_parse_request(buf, len, &req), -EBADMSG);
	cr_assert_eq(req.status, 431);
}

Test(http, head_exactly_at_limit)
{
	char *buf = malloc(HTTP_MAX_HEAD);
	const char *start = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
	struct http_request req;
	size_t fill = HTTP_MAX_HEAD - strlen(start) - 4;

	memcpy(buf, start, strlen(start));
	memset(buf + strlen(start), 'v', fill);
	memcpy(buf + HTTP_MAX_HEAD - 4, "\r\n\r\n", 4);
	cr_assert_eq(http_parse_request(buf, HTTP_MAX_HEAD, &req), HTTP_MAX_HEAD);
	free(buf);
}

Test(http, obs_text_in_value_is_allowed)
{
	struct http_request req;

	cr_assert_gt(parse("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\t!\r\n\r\n", &req), 0);
}
