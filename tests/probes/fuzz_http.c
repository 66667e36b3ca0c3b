// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: http_parse_request() on arbitrary bytes, and on what follows each head. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy, so ASan sees any read past the end. */
	char *buf = malloc(size ? size : 1);
	size_t off = 0;

	memcpy(buf, data, size);
	while (off <= size) {
		struct http_request req;
		ssize_t r = http_parse_request(buf + off, size - off, &req);

		if (r <= 0) {
			if (r < 0 && req.status != 400 && req.status != 414 && req.status != 431 &&
			    req.status != 505)
				abort();
			break;
		}
		/* The path points into the head, or is the "/" of an absolute-form without a path. */
		if ((size_t)r > size - off || req.path_len == 0)
			abort();
		if ((req.path < buf + off || req.path + req.path_len > buf + off + r) &&
		    !(req.path_len == 1 && req.path[0] == '/'))
			abort();
		if (req.path[0] != '/' && !(req.method == HTTP_METHOD_OTHER && req.path[0] == '*'))
			abort();
		off += (size_t)r;
	}
	free(buf);
	return 0;
}
