// SPDX-License-Identifier: Apache-2.0
/*
 * Error lists: fixed storage, so that parsers can report without allocating and callers have
 * nothing to free.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "container/manifest/manifest.h"

void manifest_errors_reset(struct manifest_errors *errs)
{
	if (errs)
		memset(errs, 0, sizeof(*errs));
}

int manifest_errors_add(struct manifest_errors *errs, const char *path, const char *fmt, ...)
{
	struct manifest_error *e;
	va_list ap;

	if (!errs)
		return -EINVAL;
	if (errs->count >= MANIFEST_MAX_ERRORS) {
		errs->dropped++;
		return -EINVAL;
	}
	e = &errs->list[errs->count++];
	snprintf(e->path, sizeof(e->path), "%s", path ? path : "");
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

size_t manifest_errors_format(const struct manifest_errors *errs, char *buf, size_t size)
{
	size_t used = 0;
	unsigned int i;
	int n;

	if (size)
		buf[0] = '\0';
	if (!errs)
		return 0;
	for (i = 0; i < errs->count; i++) {
		n = snprintf(used < size ? buf + used : NULL, used < size ? size - used : 0,
			     "%s: %s\n", errs->list[i].path, errs->list[i].reason);
		if (n > 0)
			used += (size_t)n;
	}
	if (errs->dropped) {
		n = snprintf(used < size ? buf + used : NULL, used < size ? size - used : 0,
			     "(%u more problems not shown)\n", errs->dropped);
		if (n > 0)
			used += (size_t)n;
	}
	return used;
}

void mf_pathf(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;

	/* Paths longer than MANIFEST_PATH_MAX are cut: they only label an error. */
	va_start(ap, fmt);
	vsnprintf(out, size, fmt, ap);
	va_end(ap);
}
