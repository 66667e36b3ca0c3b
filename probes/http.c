// SPDX-License-Identifier: Apache-2.0
/*
 * Strict HTTP/1.1 request-head parser (RFC 9112 syntax, the subset in PROTOCOL.md). It re-parses
 * from the start of the buffer on every call: heads are at most 8 KB and a probe request is a
 * few dozen bytes, so keeping resumable state would cost more than it saves.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "probes/http.h"

/* RFC 9110 tchar: "!#$%&'*+-.^_`|~" DIGIT ALPHA. */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* field-vchar / SP / HTAB; obs-text (0x80-0xff) is allowed, control bytes are not. */
static bool is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static ssize_t fail(struct http_request *req, int status)
{
	req->status = status;
	return -EBADMSG;
}

static bool token_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && !strncasecmp(s, lit, n);
}

/* Absolute-form ("http://host/path") must be accepted by servers; keep only the path. */
static bool strip_absolute_form(const char **t, size_t *n)
{
	const char *p = *t, *end = *t + *n;
	size_t skip;

	if (*n >= 7 && !strncasecmp(p, "http://", 7))
		skip = 7;
	else if (*n >= 8 && !strncasecmp(p, "https://", 8))
		skip = 8;
	else
		return false;
	p += skip;
	if (p == end || *p == '/')
		return false; /* empty authority */
	while (p < end && *p != '/' && *p != '?')
		p++;
	if (p == end || *p == '?') {
		*t = "/";
		*n = 1;
		return true;
	}
	*t = p;
	*n = (size_t)(end - p);
	return true;
}

static ssize_t parse_request_line(const char *s, size_t n, struct http_request *req)
{
	const char *target, *v;
	size_t i = 0, m, tlen, vlen;

	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	if (i == 0 || i == n || s[i] != ' ')
		return fail(req, 400);
	m = i;
	if (token_eq(s, m, "GET") && !memcmp(s, "GET", 3))
		req->method = HTTP_METHOD_GET;
	else if (token_eq(s, m, "HEAD") && !memcmp(s, "HEAD", 4))
		req->method = HTTP_METHOD_HEAD;
	else
		req->method =
			HTTP_METHOD_OTHER; /* methods are case-sensitive: "get" is another one */

	target = s + ++i;
	while (i < n && s[i] != ' ') {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c > 0x7e)
			return fail(req, 400);
		i++;
	}
	tlen = (size_t)(s + i - target);
	if (tlen == 0 || i == n)
		return fail(req, 400);
	v = s + ++i;
	vlen = n - i;

	if (vlen == 8 && !memcmp(v, "HTTP/1.", 7) && (v[7] == '0' || v[7] == '1')) {
		req->version_minor = v[7] - '0';
	} else if (vlen == 8 && !memcmp(v, "HTTP/", 5) && v[5] >= '0' && v[5] <= '9' &&
		   v[6] == '.' && v[7] >= '0' && v[7] <= '9') {
		return fail(req, 505);
	} else {
		return fail(req, 400);
	}

	if (target[0] != '/' && !strip_absolute_form(&target, &tlen)) {
		if (!(req->method == HTTP_METHOD_OTHER && tlen == 1 && target[0] == '*'))
			return fail(req, 400);
	}
	req->path = target;
	req->path_len = tlen;
	for (size_t k = 0; k < tlen; k++) {
		if (target[k] == '?' || target[k] == '#') {
			req->path_len = k;
			break;
		}
	}
	return 0;
}

struct head_fields {
	int hosts;
	int content_lengths;
	bool conn_close;
	bool conn_keep_alive;
};

static void parse_connection(const char *v, size_t n, struct head_fields *f)
{
	size_t i = 0;

	while (i < n) {
		size_t start, end;

		while (i < n && (is_ows((unsigned char)v[i]) || v[i] == ','))
			i++;
		start = i;
		while (i < n && v[i] != ',')
			i++;
		end = i;
		while (end > start && is_ows((unsigned char)v[end - 1]))
			end--;
		if (token_eq(v + start, end - start, "close"))
			f->conn_close = true;
		else if (token_eq(v + start, end - start, "keep-alive"))
			f->conn_keep_alive = true;
	}
}

static ssize_t parse_header(const char *s, size_t n, struct http_request *req,
			    struct head_fields *f)
{
	size_t i = 0, name_len, vs, ve;

	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	/* Covers obs-fold (a leading space) and whitespace before the colon, both forbidden. */
	if (i == 0 || i == n || s[i] != ':')
		return fail(req, 400);
	name_len = i++;
	while (i < n && is_ows((unsigned char)s[i]))
		i++;
	vs = i;
	for (; i < n; i++)
		if (!is_field_char((unsigned char)s[i]))
			return fail(req, 400);
	ve = n;
	while (ve > vs && is_ows((unsigned char)s[ve - 1]))
		ve--;

	if (token_eq(s, name_len, "host")) {
		f->hosts++;
	} else if (token_eq(s, name_len, "connection")) {
		parse_connection(s + vs, ve - vs, f);
	} else if (token_eq(s, name_len, "content-length")) {
		/* Probes carry no body; "0" is all we take, and only once. */
		if (++f->content_lengths > 1 || ve == vs)
			return fail(req, 400);
		for (size_t k = vs; k < ve; k++)
			if (s[k] != '0')
				return fail(req, 400);
	} else if (token_eq(s, name_len, "transfer-encoding")) {
		return fail(req, 400);
	}
	return 0;
}

static ssize_t finish(struct http_request *req, struct head_fields *f, size_t head_len)
{
	if (req->version_minor == 1 && f->hosts != 1)
		return fail(req, 400);
	if (f->hosts > 1)
		return fail(req, 400);
	if (req->version_minor == 1)
		req->keep_alive = !f->conn_close;
	else
		req->keep_alive = f->conn_keep_alive && !f->conn_close;
	return (ssize_t)head_len;
}

ssize_t http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	struct head_fields f = { 0 };
	size_t i, line_start, lim, skip = 0;
	int headers = 0;
	bool have_request_line = false;

	memset(req, 0, sizeof(*req));
	/* RFC 9112 2.2: a server SHOULD ignore empty lines received before the request line. */
	while (skip + 1 < len && skip + 2 <= HTTP_MAX_HEAD && buf[skip] == '\r' &&
	       buf[skip + 1] == '\n')
		skip += 2;
	if (skip + 1 == len && buf[skip] == '\r')
		return 0;

	lim = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
	line_start = skip;
	for (i = skip; i < lim; i++) {
		unsigned char c = (unsigned char)buf[i];
		size_t line_len;
		ssize_t r;

		if (c == '\r') {
			if (i + 1 >= len)
				return 0;
			if (buf[i + 1] != '\n')
				return fail(req, 400); /* bare CR */
			continue;
		}
		if (c == '\n' && (i == 0 || buf[i - 1] != '\r'))
			return fail(req, 400); /* bare LF */
		if (c != '\n') {
			if (c == 0 || (c < 0x20 && c != '\t') || c == 0x7f)
				return fail(req, 400);
			continue;
		}
		line_len = i - 1 - line_start;
		if (!have_request_line) {
			r = parse_request_line(buf + line_start, line_len, req);
			if (r < 0)
				return r;
			have_request_line = true;
		} else if (line_len == 0) {
			return finish(req, &f, i + 1);
		} else {
			if (++headers > HTTP_MAX_HEADERS)
				return fail(req, 431);
			r = parse_header(buf + line_start, line_len, req, &f);
			if (r < 0)
				return r;
		}
		line_start = i + 1;
	}
	if (len < HTTP_MAX_HEAD)
		return 0;
	return fail(req, have_request_line ? 431 : 414);
}
