/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the fake API server's object store (fake_apiserver.c) and its HTTP side (fake_http.c). */
#ifndef KNEXT_TESTS_FAKE_INTERNAL_H
#define KNEXT_TESTS_FAKE_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

#include "tests/operator/fake_apiserver.h"

#define APPS_PREFIX "/apis/knext.dev/v1alpha1/"
#define SVCS_PREFIX "/apis/serving.knative.dev/v1/"

enum res { RES_APPS, RES_SVCS };

/* One client connection; a watch keeps it until the stream ends. */
struct fake_conn {
	int fd;
	void *ssl;
	char *in;
	size_t len;
	size_t cap;
	bool watching;
	enum res res;
	char ns[64];
	char label[128];
	bool bookmarks;
	uint64_t sent_rv;
	double deadline_ms;
	double next_bookmark_ms;
};

void fake_wake(struct fake *f);
int fake_send_all(struct fake_conn *c, const char *p, size_t n);
ssize_t fake_recv(struct fake_conn *c, char *buf, size_t n);
int fake_tls_accept(struct fake *f, struct fake_conn *c);
bool fake_tls_pending(struct fake_conn *c);
void fake_tls_free(struct fake_conn *c);
void fake_tls_close(struct fake *f);
int fake_respond(struct fake_conn *c, int code, json_t *body);
json_t *fake_status_obj(int code, const char *reason, const char *msg);
int fake_respond_status(struct fake_conn *c, int code, const char *reason, const char *msg);
json_t *fake_store(struct fake *f, enum res res);
void fake_set_rv(json_t *obj, uint64_t rv);
void fake_emit(struct fake *f, enum res res, const char *type, json_t *obj);
void fake_put_locked(struct fake *f, enum res res, const char *key, json_t *obj, bool created);
void fake_delete_locked(struct fake *f, enum res res, const char *key);
json_t *fake_new_meta(struct fake *f, const char *ns, const char *name);

#endif
