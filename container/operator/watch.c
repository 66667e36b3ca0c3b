// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/operator/watch.h"

void watch_lines_init(struct watch_lines *wl)
{
	memset(wl, 0, sizeof(*wl));
}

static int append(struct watch_lines *wl, const char *data, size_t len)
{
	size_t cap = wl->cap ? wl->cap : 4096;
	char *buf;

	if (wl->len + len + 1 > WATCH_MAX_LINE)
		return -E2BIG;
	while (cap < wl->len + len + 1)
		cap *= 2;
	if (cap != wl->cap) {
		buf = realloc(wl->buf, cap);
		if (!buf)
			return -ENOMEM;
		wl->buf = buf;
		wl->cap = cap;
	}
	memcpy(wl->buf + wl->len, data, len);
	wl->len += len;
	wl->buf[wl->len] = '\0';
	return 0;
}

int watch_lines_feed(struct watch_lines *wl, const char *data, size_t len, watch_line_fn cb,
		     void *ud)
{
	const char *nl;
	size_t n;
	int r;

	while (len) {
		nl = memchr(data, '\n', len);
		n = nl ? (size_t)(nl - data) : len;
		r = append(wl, data, n);
		if (r)
			return r;
		if (!nl)
			return 0;
		data += n + 1;
		len -= n + 1;
		n = wl->len;
		if (n && wl->buf[n - 1] == '\r')
			wl->buf[--n] = '\0';
		wl->len = 0;
		if (!n)
			continue;
		r = cb(ud, wl->buf, n);
		if (r)
			return r;
	}
	return 0;
}

void watch_lines_close(struct watch_lines *wl)
{
	free(wl->buf);
	memset(wl, 0, sizeof(*wl));
}

int watch_object_key(json_t *obj, char *key, size_t len)
{
	json_t *meta = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	int n;

	if (!name || !*name)
		return -EINVAL;
	if (ns && *ns)
		n = snprintf(key, len, "%s/%s", ns, name);
	else
		n = snprintf(key, len, "%s", name);
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

static const char *const type_names[] = {
	[WATCH_ADDED] = "ADDED",       [WATCH_MODIFIED] = "MODIFIED", [WATCH_DELETED] = "DELETED",
	[WATCH_BOOKMARK] = "BOOKMARK", [WATCH_ERROR] = "ERROR",
};

int watch_event_parse(const char *line, size_t len, struct watch_event *ev)
{
	json_t *root, *obj;
	const char *type, *rv;
	size_t i;

	memset(ev, 0, sizeof(*ev));
	/* U+0000 inside a string is valid JSON; the object's reconcile refuses it (informer.c). */
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (!json_is_object(root))
		goto bad;
	type = json_string_value(json_object_get(root, "type"));
	obj = json_object_get(root, "object");
	if (!type || !json_is_object(obj))
		goto bad;
	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (!strcmp(type, type_names[i]))
			break;
	if (i == sizeof(type_names) / sizeof(type_names[0]))
		goto bad;
	ev->type = (enum watch_type)i;
	if (ev->type == WATCH_ERROR) {
		ev->code = (long)json_integer_value(json_object_get(obj, "code"));
	} else {
		rv = json_string_value(
			json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
		if (rv && strlen(rv) < sizeof(ev->rv))
			strcpy(ev->rv, rv);
		/* Every event but a bookmark names an object; a bookmark must carry a version. */
		if (ev->type == WATCH_BOOKMARK ? !ev->rv[0] :
						 watch_object_key(obj, ev->key, sizeof(ev->key)))
			goto bad;
	}
	ev->object = json_incref(obj);
	json_decref(root);
	return 0;
bad:
	json_decref(root);
	return -EBADMSG;
}

void watch_event_close(struct watch_event *ev)
{
	json_decref(ev->object);
	ev->object = NULL;
}

int watch_list_parse(const char *body, size_t len, size_t max_rv, struct watch_list *l)
{
	json_t *meta;

	memset(l, 0, sizeof(*l));
	/*
	 * JSON strings may hold U+0000 and the API server stores them: allow it here, so such an
	 * object is one NextApp's error (the manifest library refuses the field) and not a list
	 * that fails as a whole and stalls every NextApp in scope.
	 */
	l->root = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
	l->items = json_object_get(l->root, "items");
	meta = json_object_get(l->root, "metadata");
	l->rv = json_string_value(json_object_get(meta, "resourceVersion"));
	l->cont = json_string_value(json_object_get(meta, "continue"));
	if (!json_is_array(l->items) || !l->rv || !*l->rv || strlen(l->rv) >= max_rv) {
		watch_list_close(l);
		return -EBADMSG;
	}
	if (l->cont && !*l->cont)
		l->cont = NULL;
	return 0;
}

void watch_list_close(struct watch_list *l)
{
	json_decref(l->root);
	memset(l, 0, sizeof(*l));
}
