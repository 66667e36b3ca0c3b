// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/operator/fake_internal.h"

#define BOOKMARK_MS 1000

/* A query parameter, percent-decoded; empty when absent. */
static void query_param(const char *query, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name), o = 0;
	const char *p = query;

	out[0] = '\0';
	while (p && *p) {
		if (!strncmp(p, name, nl) && p[nl] == '=') {
			for (p += nl + 1; *p && *p != '&' && o + 1 < len; p++) {
				if (*p == '%' && isxdigit((unsigned char)p[1]) &&
				    isxdigit((unsigned char)p[2])) {
					char hex[3] = { p[1], p[2], 0 };

					out[o++] = (char)strtol(hex, NULL, 16);
					p += 2;
				} else {
					out[o++] = *p;
				}
			}
			out[o] = '\0';
			return;
		}
		p = strchr(p, '&');
		if (p)
			p++;
	}
}

/* "key" (exists) or "key=value" against an object's labels. */
static bool label_match(json_t *obj, const char *sel)
{
	json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
	char key[128];
	const char *eq = strchr(sel, '='), *v;

	if (!*sel)
		return true;
	snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - sel) : (int)strlen(sel), sel);
	v = json_string_value(json_object_get(labels, key));
	return v && (!eq || !strcmp(v, eq + 1));
}

static bool ns_match(json_t *obj, const char *ns)
{
	const char *o =
		json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));

	return !*ns || (o && !strcmp(o, ns));
}

static int send_chunk(struct fake_conn *c, json_t *ev)
{
	char *text = json_dumps(ev, JSON_COMPACT), head[32];
	size_t len = text ? strlen(text) : 0;
	int n, r;

	json_decref(ev);
	if (!text)
		return -1;
	n = snprintf(head, sizeof(head), "%zx\r\n", len + 1);
	r = fake_send_all(c, head, (size_t)n);
	if (!r)
		r = fake_send_all(c, text, len);
	if (!r)
		r = fake_send_all(c, "\n\r\n", 3);
	free(text);
	return r;
}

static const char *const chunked_head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					"Transfer-Encoding: chunked\r\n\r\n";

static int start_watch(struct fake *f, struct fake_conn *c, enum res res, const char *ns,
		       const char *query)
{
	char rvs[32], timeout[16], bm[16], sel[128];
	unsigned long long rv;
	const char *k;
	json_t *obj;

	query_param(query, "resourceVersion", rvs, sizeof(rvs));
	query_param(query, "timeoutSeconds", timeout, sizeof(timeout));
	query_param(query, "allowWatchBookmarks", bm, sizeof(bm));
	query_param(query, "labelSelector", sel, sizeof(sel));
	rv = strtoull(rvs, NULL, 10);
	if (rvs[0] && rv && rv < f->compacted) {
		if (f->gone_as_http)
			return fake_respond_status(c, 410, "Expired", "too old resource version") ?:
				       -1;
		fake_send_all(c, chunked_head, strlen(chunked_head));
		send_chunk(c,
			   json_pack("{s:s,s:o}", "type", "ERROR", "object",
				     fake_status_obj(410, "Expired", "too old resource version")));
		fake_send_all(c, "0\r\n\r\n", 5);
		return -1; /* ended: close */
	}
	f->watches++;
	c->watching = true;
	c->res = res;
	snprintf(c->ns, sizeof(c->ns), "%s", ns);
	snprintf(c->label, sizeof(c->label), "%s", sel);
	c->bookmarks = !strcmp(bm, "true") || !strcmp(bm, "1");
	c->deadline_ms = fake_now_ms() + (timeout[0] ? atof(timeout) * 1000 : 1e9);
	c->next_bookmark_ms = fake_now_ms() + f->bookmark_ms;
	if (fake_send_all(c, chunked_head, strlen(chunked_head)))
		return -1;
	if (rvs[0] && rv) {
		c->sent_rv = rv;
		return 0;
	}
	/* No version: the current state as ADDED events, then changes. */
	json_object_foreach(fake_store(f, res), k, obj) {
		if (ns_match(obj, ns) && label_match(obj, sel) &&
		    send_chunk(c, json_pack("{s:s,s:O}", "type", "ADDED", "object", obj)))
			return -1;
	}
	c->sent_rv = f->rv;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * A list, in pages when asked (limit=N): keys in order, and a continue token "RV/LASTKEY" that
 * serves the next page at the first page's version, or 410 once that version is compacted.
 */
static int list(struct fake *f, struct fake_conn *c, enum res res, const char *ns,
		const char *query)
{
	char sel[128], rvs[32], lim[16], cont[400], next[400] = "";
	json_t *items, *obj, *meta, *st = fake_store(f, res);
	unsigned long limit, listrv = f->rv;
	const char *k, **keys, *after = "";
	size_t n = 0, i, taken = 0;
	char *slash;

	query_param(query, "labelSelector", sel, sizeof(sel));
	query_param(query, "limit", lim, sizeof(lim));
	query_param(query, "continue", cont, sizeof(cont));
	limit = strtoul(lim, NULL, 10);
	if (cont[0]) {
		slash = strchr(cont, '/');
		if (!slash)
			return fake_respond_status(c, 400, "BadRequest", "bad continue token");
		*slash = '\0';
		listrv = strtoul(cont, NULL, 10);
		after = slash + 1;
		if (listrv < f->compacted)
			return fake_respond_status(c, 410, "Expired",
						   "the continue token has expired");
	}
	f->lists++;
	keys = calloc(json_object_size(st) + 1, sizeof(*keys));
	items = json_array();
	if (!keys || !items) {
		free(keys);
		json_decref(items);
		return -1;
	}
	json_object_foreach(st, k, obj) {
		if (ns_match(obj, ns) && label_match(obj, sel) && strcmp(k, after) > 0)
			keys[n++] = k;
	}
	qsort(keys, n, sizeof(*keys), cmp_key);
	for (i = 0; i < n; i++) {
		if (limit && taken == limit) {
			snprintf(next, sizeof(next), "%lu/%s", listrv, keys[i - 1]);
			break;
		}
		json_array_append(items, json_object_get(st, keys[i]));
		taken++;
	}
	free(keys);
	snprintf(rvs, sizeof(rvs), "%lu", listrv);
	meta = json_pack("{s:s}", "resourceVersion", rvs);
	if (next[0])
		json_object_set_new(meta, "continue", json_string(next));
	return fake_respond(
		c, 200,
		json_pack("{s:s,s:s,s:o,s:o}", "kind",
			  res == RES_APPS ? "NextAppList" : "ServiceList", "apiVersion",
			  res == RES_APPS ? "knext.dev/v1alpha1" : "serving.knative.dev/v1",
			  "metadata", meta, "items", items));
}

static void dump(struct fake *f, const char *body, size_t len)
{
	char path[4096];
	FILE *out;

	if (!f->dump_dir)
		return;
	snprintf(path, sizeof(path), "%s/%06lu.json", f->dump_dir, ++f->dumped);
	out = fopen(path, "we");
	if (!out)
		return;
	fwrite(body, 1, len, out);
	fclose(out);
}

/* What Knative's controller would write once the new generation's revision is ready. */
static void knative_ready(struct fake *f, const char *key, json_t *svc)
{
	json_t *meta = json_object_get(svc, "metadata"), *obj = json_deep_copy(svc);
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	json_int_t gen = json_integer_value(json_object_get(meta, "generation"));
	char url[512], rev[300];

	snprintf(url, sizeof(url), "http://%s.%s.example.com", name, ns);
	snprintf(rev, sizeof(rev), "%s-%05lld", name, (long long)gen);
	json_object_set_new(obj, "status",
			    json_pack("{s:I,s:s,s:s,s:s,s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}]}",
				      "observedGeneration", gen, "url", url,
				      "latestCreatedRevisionName", rev, "latestReadyRevisionName",
				      rev, "conditions", "type", "ConfigurationsReady", "status",
				      "True", "type", "Ready", "status", "True", "type",
				      "RoutesReady", "status", "True"));
	fake_put_locked(f, RES_SVCS, key, obj, false);
	json_decref(obj);
}

/*
 * The garbage collector also removes a dependent whose owner no longer exists: an apply that
 * raced with the owner's deletion leaves no orphan behind.
 */
static bool owner_gone(struct fake *f, const char *ns, json_t *obj)
{
	json_t *ref, *app;
	char key[320];
	size_t i;

	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i,
			   ref) {
		const char *name = json_string_value(json_object_get(ref, "name"));
		const char *uid = json_string_value(json_object_get(ref, "uid"));
		const char *have;

		snprintf(key, sizeof(key), "%s/%s", ns, name ? name : "");
		app = json_object_get(f->apps, key);
		have = json_string_value(json_object_get(json_object_get(app, "metadata"), "uid"));
		if (!have || !uid || strcmp(have, uid))
			return true;
	}
	return false;
}

static int apply_service(struct fake *f, struct fake_conn *c, const char *ns, const char *name,
			 const char *body, size_t blen)
{
	json_t *patch = json_loadb(body, blen, JSON_ALLOW_NUL, NULL), *pm, *old, *obj, *meta;
	const char *pns, *pname;
	bool created, changed = true;
	char key[320];
	static const char *const fields[] = { "labels", "annotations", "ownerReferences" };
	size_t i;
	int r;

	pm = json_object_get(patch, "metadata");
	pns = json_string_value(json_object_get(pm, "namespace"));
	pname = json_string_value(json_object_get(pm, "name"));
	if (!patch || !json_is_object(json_object_get(patch, "spec")) ||
	    strcmp(json_string_value(json_object_get(patch, "apiVersion")) ?: "",
		   "serving.knative.dev/v1") ||
	    strcmp(json_string_value(json_object_get(patch, "kind")) ?: "", "Service") || !pname ||
	    strcmp(pname, name) || (pns && strcmp(pns, ns))) {
		f->bad_requests++;
		json_decref(patch);
		return fake_respond_status(c, 400, "BadRequest",
					   "not a Knative Service for this path");
	}
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	f->applies++;
	json_object_set_new(
		f->apply_count, key,
		json_integer(json_integer_value(json_object_get(f->apply_count, key)) + 1));
	json_object_set_new(f->apply_ms, key, json_real(fake_now_ms()));
	dump(f, body, blen);

	old = json_object_get(f->svcs, key);
	created = !old;
	if (old) {
		obj = json_deep_copy(old);
		meta = json_object_get(obj, "metadata");
		changed = !json_equal(json_object_get(obj, "spec"), json_object_get(patch, "spec"));
		if (changed)
			json_object_set_new(meta, "generation",
					    json_integer(json_integer_value(json_object_get(
								 meta, "generation")) +
							 1));
	} else {
		obj = json_pack("{s:s,s:s,s:o}", "apiVersion", "serving.knative.dev/v1", "kind",
				"Service", "metadata", fake_new_meta(f, ns, name));
		meta = json_object_get(obj, "metadata");
	}
	/* Apply owns exactly what the patch sets: copy those fields, drop those it omits. */
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		json_t *v = json_object_get(pm, fields[i]);

		if (!json_equal(v, json_object_get(meta, fields[i])))
			changed = true;
		if (v)
			json_object_set(meta, fields[i], v);
		else
			json_object_del(meta, fields[i]);
	}
	json_object_set(obj, "spec", json_object_get(patch, "spec"));
	json_decref(patch);
	if (!changed) {
		r = fake_respond(c, 200, obj);
		return r;
	}
	fake_put_locked(f, RES_SVCS, key, obj, created);
	r = fake_respond(c, created ? 201 : 200, json_deep_copy(obj));
	if (owner_gone(f, ns, obj))
		fake_delete_locked(f, RES_SVCS, key);
	else if (f->knative)
		knative_ready(f, key, obj);
	json_decref(obj);
	return r;
}

static int write_status(struct fake *f, struct fake_conn *c, const char *ns, const char *name,
			const char *body, size_t blen)
{
	json_t *patch = json_loadb(body, blen, JSON_ALLOW_NUL, NULL), *old, *obj, *st;
	char key[320];

	st = json_object_get(patch, "status");
	if (!json_is_object(st)) {
		f->bad_requests++;
		json_decref(patch);
		return fake_respond_status(c, 400, "BadRequest", "no status");
	}
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	old = json_object_get(f->apps, key);
	if (!old) {
		json_decref(patch);
		return fake_respond_status(c, 404, "NotFound", "nextapps not found");
	}
	f->status_writes++;
	obj = json_deep_copy(old);
	if (!json_equal(json_object_get(obj, "status"), st)) {
		json_object_set(obj, "status", st);
		fake_put_locked(f, RES_APPS, key, obj, false);
	}
	json_decref(patch);
	return fake_respond(c, 200, obj);
}

static int handle(struct fake *f, struct fake_conn *c, const char *method, char *target,
		  const char *ctype, const char *body, size_t blen)
{
	const char *plural, *name, *sub, *ns = "";
	char line[700], *query, *rest, *segs[8], fm[128], force[16];
	size_t flen = strlen(f->fail_match);
	enum res res;
	int n = 0, i = 0;
	json_t *obj;

	f->requests++;
	snprintf(line, sizeof(line), "%s %s", method, target);
	if (getenv("KNEXT_FAKE_DEBUG"))
		fprintf(stderr, "fake: %.1f %s\n", fake_now_ms(), line);
	if (f->fail_count > 0 && !strncmp(line, f->fail_match, flen)) {
		f->fail_count--;
		if (!f->fail_status)
			return -1; /* drop the connection, no answer */
		return fake_respond_status(c, f->fail_status,
					   f->fail_status == 409 ? "Conflict" : "InternalError",
					   "injected fault");
	}
	query = strchr(target, '?');
	if (query)
		*query++ = '\0';
	else
		query = "";
	if (!strncmp(target, APPS_PREFIX, strlen(APPS_PREFIX))) {
		res = RES_APPS;
		plural = "nextapps";
		rest = target + strlen(APPS_PREFIX);
	} else if (!strncmp(target, SVCS_PREFIX, strlen(SVCS_PREFIX))) {
		res = RES_SVCS;
		plural = "services";
		rest = target + strlen(SVCS_PREFIX);
	} else {
		return fake_respond_status(c, 404, "NotFound", "no such API");
	}
	for (char *save = NULL, *s = strtok_r(rest, "/", &save); s && n < 8;
	     s = strtok_r(NULL, "/", &save))
		segs[n++] = s;
	if (n >= 3 && !strcmp(segs[0], "namespaces")) {
		ns = segs[1];
		i = 2;
	}
	if (i >= n || strcmp(segs[i], plural) || n > i + 3)
		return fake_respond_status(c, 404, "NotFound", "no such resource");
	name = i + 1 < n ? segs[i + 1] : NULL;
	sub = i + 2 < n ? segs[i + 2] : NULL;

	if (!strcmp(method, "GET")) {
		char w[8];

		if (!name) {
			query_param(query, "watch", w, sizeof(w));
			if (!strcmp(w, "1") || !strcmp(w, "true"))
				return start_watch(f, c, res, ns, query);
			return list(f, c, res, ns, query);
		}
		snprintf(line, sizeof(line), "%s/%s", ns, name);
		obj = json_object_get(fake_store(f, res), line);
		if (!obj)
			return fake_respond_status(c, 404, "NotFound", "not found");
		return fake_respond(c, 200, json_deep_copy(obj));
	}
	if (strcmp(method, "PATCH"))
		return fake_respond_status(c, 405, "MethodNotAllowed", "only GET and PATCH");
	/* Server-side apply, exactly: the media type, a field manager, and force. */
	query_param(query, "fieldManager", fm, sizeof(fm));
	query_param(query, "force", force, sizeof(force));
	if (strncasecmp(ctype, "application/apply-patch+yaml", 28)) {
		f->bad_requests++;
		return fake_respond_status(c, 415, "UnsupportedMediaType", "want apply-patch+yaml");
	}
	if (!fm[0] || strcmp(force, "true")) {
		f->bad_requests++;
		return fake_respond_status(c, 400, "BadRequest", "fieldManager and force=true");
	}
	if (res == RES_SVCS && name && !sub && *ns)
		return apply_service(f, c, ns, name, body, blen);
	if (res == RES_APPS && name && sub && !strcmp(sub, "status") && *ns)
		return write_status(f, c, ns, name, body, blen);
	return fake_respond_status(c, 405, "MethodNotAllowed", "not served here");
}

static void header_value(const char *head, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);
	const char *p = head;

	out[0] = '\0';
	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			p += nl + 1;
			while (*p == ' ')
				p++;
			snprintf(out, len, "%.*s", (int)strcspn(p, "\r"), p);
			return;
		}
	}
}

/* Handles every complete request in the buffer; -1 closes the connection. */
static int process_input(struct fake *f, struct fake_conn *c)
{
	char method[16], target[600], ctype[128], clen[32], *end;
	size_t hlen, blen;
	int r;

	for (;;) {
		if (c->watching) {
			c->len = 0;
			return 0;
		}
		end = memmem(c->in, c->len, "\r\n\r\n", 4);
		if (!end)
			return c->len > 65536 ? -1 : 0;
		hlen = (size_t)(end - c->in) + 4;
		*end = '\0';
		if (sscanf(c->in, "%15s %599s", method, target) != 2)
			return -1;
		header_value(c->in, "Content-Type", ctype, sizeof(ctype));
		header_value(c->in, "Content-Length", clen, sizeof(clen));
		header_value(c->in, "Authorization", f->auth, sizeof(f->auth));
		*end = '\r';
		blen = strtoul(clen, NULL, 10);
		if (c->len < hlen + blen)
			return 0;
		r = handle(f, c, method, target, ctype, c->in + hlen, blen);
		memmove(c->in, c->in + hlen + blen, c->len - hlen - blen);
		c->len -= hlen + blen;
		if (r)
			return -1;
	}
}

static void conn_close(struct fake *f, int i, bool end_stream)
{
	struct fake_conn *c = f->conns[i];

	if (end_stream)
		fake_send_all(c, "0\r\n\r\n", 5);
	else
		shutdown(c->fd, SHUT_RDWR);
	fake_tls_free(c);
	close(c->fd);
	free(c->in);
	free(c);
	f->conns[i] = NULL;
}

static int read_conn(struct fake *f, struct fake_conn *c)
{
	ssize_t n;

	if (c->cap - c->len < 65536) {
		char *b = realloc(c->in, c->cap + 65536 + 1);

		if (!b)
			return -1;
		c->in = b;
		c->cap += 65536;
	}
	n = fake_recv(c, c->in + c->len, c->cap - c->len);
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	return process_input(f, c);
}

/* Sends each watcher the events after its version, a bookmark when due, or the end of stream. */
static int deliver(struct fake *f, struct fake_conn *c, double now)
{
	size_t i, n = json_array_size(f->events);
	json_t *ev, *obj;
	uint64_t rv;
	char rvs[32];

	/* Events are in version order: skip what this watcher has. */
	for (i = n; i > 0; i--)
		if ((uint64_t)json_integer_value(
			    json_object_get(json_array_get(f->events, i - 1), "rv")) <= c->sent_rv)
			break;
	for (; i < n; i++) {
		ev = json_array_get(f->events, i);
		rv = (uint64_t)json_integer_value(json_object_get(ev, "rv"));
		obj = json_object_get(ev, "object");
		if (json_integer_value(json_object_get(ev, "res")) == (json_int_t)c->res &&
		    ns_match(obj, c->ns) && label_match(obj, c->label) &&
		    send_chunk(c, json_pack("{s:O,s:O}", "type", json_object_get(ev, "type"),
					    "object", obj)))
			return -1;
		c->sent_rv = rv;
	}
	if (c->bookmarks && now >= c->next_bookmark_ms) {
		c->next_bookmark_ms = now + f->bookmark_ms;
		c->sent_rv = f->rv > c->sent_rv ? f->rv : c->sent_rv;
		snprintf(rvs, sizeof(rvs), "%llu", (unsigned long long)c->sent_rv);
		if (send_chunk(c,
			       json_pack("{s:s,s:{s:s,s:s,s:{s:s}}}", "type", "BOOKMARK", "object",
					 "kind", c->res == RES_APPS ? "NextApp" : "Service",
					 "apiVersion",
					 c->res == RES_APPS ? "knext.dev/v1alpha1" :
							      "serving.knative.dev/v1",
					 "metadata", "resourceVersion", rvs)))
			return -1;
	}
	return now >= c->deadline_ms ? 1 : 0;
}

static int listen_on(struct fake *f)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->port) };
	socklen_t sl = sizeof(sa);
	int one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0)
		return -errno;
	setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(f->lfd, 128) ||
	    getsockname(f->lfd, (struct sockaddr *)&sa, &sl)) {
		int r = -errno;

		close(f->lfd);
		f->lfd = -1;
		return r;
	}
	f->port = ntohs(sa.sin_port);
	return 0;
}

static void restart_locked(struct fake *f)
{
	int ms = f->restart_ms, i;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	f->restart_ms = 0;
	for (i = 0; i < FAKE_MAX_CONNS; i++)
		if (f->conns[i])
			conn_close(f, i, false);
	close(f->lfd);
	f->lfd = -1;
	/* A restarted server's watch cache starts at the current version. */
	f->compacted = f->rv;
	json_array_clear(f->events);
	pthread_mutex_unlock(&f->lock);
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&f->lock);
	while (listen_on(f))
		nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
}

static void *serve_main(void *arg)
{
	struct fake *f = arg;
	struct pollfd p[FAKE_MAX_CONNS + 2];
	int idx[FAKE_MAX_CONNS + 2], np, i, fd, r;
	char drain[64];
	double now;

	pthread_mutex_lock(&f->lock);
	while (!f->stop) {
		np = 0;
		p[np++] = (struct pollfd){ .fd = f->wake[0], .events = POLLIN };
		p[np++] = (struct pollfd){ .fd = f->lfd, .events = POLLIN };
		for (i = 0; i < FAKE_MAX_CONNS; i++)
			if (f->conns[i]) {
				idx[np] = i;
				p[np++] =
					(struct pollfd){ .fd = f->conns[i]->fd, .events = POLLIN };
			}
		pthread_mutex_unlock(&f->lock);
		poll(p, (nfds_t)np, 50);
		pthread_mutex_lock(&f->lock);
		if (p[0].revents && read(f->wake[0], drain, sizeof(drain)) < 0)
			continue;
		if (f->restart_ms) {
			restart_locked(f);
			continue;
		}
		if (f->drop) {
			for (i = 0; i < FAKE_MAX_CONNS; i++)
				if (f->conns[i] && f->conns[i]->watching)
					conn_close(f, i, f->drop == 2);
			f->drop = 0;
			continue;
		}
		for (i = 2; i < np; i++) {
			if (!p[i].revents || !f->conns[idx[i]])
				continue;
			/* TLS may hold more decrypted bytes than one read takes. */
			do
				r = read_conn(f, f->conns[idx[i]]);
			while (!r && fake_tls_pending(f->conns[idx[i]]));
			if (r)
				conn_close(f, idx[i], false);
		}
		if (p[1].revents) {
			fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
			for (i = 0; fd >= 0 && i < FAKE_MAX_CONNS && f->conns[i]; i++)
				;
			if (fd >= 0 && i == FAKE_MAX_CONNS) {
				close(fd);
			} else if (fd >= 0) {
				int one = 1;

				/* Head and body go out as separate writes: no Nagle delay. */
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				f->conns[i] = calloc(1, sizeof(*f->conns[i]));
				if (f->conns[i]) {
					f->conns[i]->fd = fd;
					if (fake_tls_accept(f, f->conns[i])) {
						f->tls_failures++;
						conn_close(f, i, false);
					}
				} else {
					close(fd);
				}
			}
		}
		now = fake_now_ms();
		for (i = 0; i < FAKE_MAX_CONNS; i++) {
			if (!f->conns[i] || !f->conns[i]->watching)
				continue;
			r = deliver(f, f->conns[i], now);
			if (r)
				conn_close(f, i, r > 0);
		}
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

int fake_init(struct fake *f, const char *dump_dir)
{
	int r;

	memset(f, 0, sizeof(*f));
	f->lfd = f->wake[0] = f->wake[1] = -1;
	pthread_mutex_init(&f->lock, NULL);
	f->apps = json_object();
	f->svcs = json_object();
	f->events = json_array();
	f->apply_count = json_object();
	f->apply_ms = json_object();
	f->knative = true;
	f->bookmark_ms = BOOKMARK_MS;
	f->rv = 100;
	if (dump_dir) {
		mkdir(dump_dir, 0755);
		f->dump_dir = strdup(dump_dir);
	}
	if (pipe2(f->wake, O_CLOEXEC | O_NONBLOCK)) {
		r = -errno;
		goto err;
	}
	r = listen_on(f);
	if (r)
		goto err;
	r = -pthread_create(&f->thread, NULL, serve_main, f);
	if (r)
		goto err;
	f->running = true;
	return 0;
err:
	fake_close(f);
	return r;
}

void fake_close(struct fake *f)
{
	int i;

	if (f->running) {
		pthread_mutex_lock(&f->lock);
		f->stop = true;
		pthread_mutex_unlock(&f->lock);
		fake_wake(f);
		pthread_join(f->thread, NULL);
		f->running = false;
	}
	for (i = 0; i < FAKE_MAX_CONNS; i++)
		if (f->conns[i])
			conn_close(f, i, false);
	if (f->lfd >= 0)
		close(f->lfd);
	if (f->wake[0] >= 0)
		close(f->wake[0]);
	if (f->wake[1] >= 0)
		close(f->wake[1]);
	f->lfd = f->wake[0] = f->wake[1] = -1;
	json_decref(f->apps);
	json_decref(f->svcs);
	json_decref(f->events);
	json_decref(f->apply_count);
	json_decref(f->apply_ms);
	f->apps = f->svcs = f->events = f->apply_count = f->apply_ms = NULL;
	free(f->dump_dir);
	f->dump_dir = NULL;
	fake_tls_close(f);
	pthread_mutex_destroy(&f->lock);
}
