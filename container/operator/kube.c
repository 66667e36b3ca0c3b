// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "container/operator/kube.h"

/* A non-200 watch answer is a small Status object; never buffer more than this of it. */
#define MAX_ERROR_BODY (64u << 10)
#define MAX_BODY (256u << 20)

int kube_client_init(struct kube_client *kc, const struct kube_config *cfg, const atomic_bool *stop)
{
	memset(kc, 0, sizeof(*kc));
	kc->cfg = cfg;
	kc->stop = stop;
	kc->sock = -1;
	pthread_mutex_init(&kc->lock, NULL);
	kc->curl = curl_easy_init();
	if (!kc->curl) {
		pthread_mutex_destroy(&kc->lock);
		return -ENOMEM;
	}
	return 0;
}

void kube_client_close(struct kube_client *kc)
{
	if (!kc->curl)
		return;
	curl_easy_cleanup(kc->curl);
	kc->curl = NULL;
	pthread_mutex_destroy(&kc->lock);
}

/* curl opens and closes its sockets through these, so kube_client_abort() knows the live one. */
static curl_socket_t open_cb(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct kube_client *kc = ud;
	int fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);

	if (fd < 0)
		return CURL_SOCKET_BAD;
	pthread_mutex_lock(&kc->lock);
	if (kc->stop && atomic_load(kc->stop)) {
		close(fd);
		fd = CURL_SOCKET_BAD;
	} else {
		kc->sock = fd;
	}
	pthread_mutex_unlock(&kc->lock);
	return fd;
}

static int close_cb(void *ud, curl_socket_t fd)
{
	struct kube_client *kc = ud;

	/* Under the lock: an abort never shuts down a reused descriptor number. */
	pthread_mutex_lock(&kc->lock);
	if (kc->sock == fd)
		kc->sock = -1;
	close(fd);
	pthread_mutex_unlock(&kc->lock);
	return 0;
}

void kube_client_abort(struct kube_client *kc)
{
	if (!kc->curl)
		return;
	pthread_mutex_lock(&kc->lock);
	if (kc->sock >= 0)
		shutdown(kc->sock, SHUT_RDWR);
	pthread_mutex_unlock(&kc->lock);
}

void kube_response_close(struct kube_response *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

static int progress_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	const atomic_bool *stop = ud;

	return stop && atomic_load(stop);
}

static int body_append(struct kube_response *resp, const char *data, size_t len, size_t max)
{
	char *b;

	if (resp->len + len > max)
		return -E2BIG;
	b = realloc(resp->body, resp->len + len + 1);
	if (!b)
		return -ENOMEM;
	memcpy(b + resp->len, data, len);
	resp->body = b;
	resp->len += len;
	b[resp->len] = '\0';
	return 0;
}

static size_t body_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	return body_append(ud, data, size * nmemb, MAX_BODY) ? 0 : size * nmemb;
}

/* The bearer header; a token file is re-read each time because bound tokens rotate. */
static struct curl_slist *auth_header(const struct kube_config *cfg, struct curl_slist *h)
{
	char *token = NULL, *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if (cfg->token_file) {
		f = fopen(cfg->token_file, "re");
		if (f) {
			n = getline(&line, &cap, f);
			fclose(f);
			while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
				line[--n] = '\0';
			token = n > 0 ? line : NULL;
		}
	}
	if (!token)
		token = cfg->token;
	if (token) {
		char *hdr;

		if (asprintf(&hdr, "Authorization: Bearer %s", token) >= 0) {
			h = curl_slist_append(h, hdr);
			free(hdr);
		}
	}
	free(line);
	return h;
}

static void set_tls(CURL *c, const struct kube_config *cfg)
{
	struct curl_blob blob;

	if (cfg->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->ca_pem) {
		blob = (struct curl_blob){ cfg->ca_pem, strlen(cfg->ca_pem), CURL_BLOB_COPY };
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (cfg->cert_file)
		curl_easy_setopt(c, CURLOPT_SSLCERT, cfg->cert_file);
	if (cfg->cert_pem) {
		blob = (struct curl_blob){ cfg->cert_pem, strlen(cfg->cert_pem), CURL_BLOB_COPY };
		curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &blob);
	}
	if (cfg->key_file)
		curl_easy_setopt(c, CURLOPT_SSLKEY, cfg->key_file);
	if (cfg->key_pem) {
		blob = (struct curl_blob){ cfg->key_pem, strlen(cfg->key_pem), CURL_BLOB_COPY };
		curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &blob);
	}
	if (cfg->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

static int setup(struct kube_client *kc, const char *method, const char *path, const char *ctype,
		 const char *body, struct curl_slist **hdrs)
{
	CURL *c = kc->curl;
	struct curl_slist *h = NULL;
	char *url, *ct;

	curl_easy_reset(c);
	if (asprintf(&url, "%s%s", kc->cfg->server, path) < 0)
		return -ENOMEM;
	curl_easy_setopt(c, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, kc->errbuf);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)kc->stop);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "knext-operator");
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_cb);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, kc);
	curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
	curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, kc);
	set_tls(c, kc->cfg);

	h = curl_slist_append(h, "Accept: application/json");
	if (ctype && asprintf(&ct, "Content-Type: %s", ctype) >= 0) {
		h = curl_slist_append(h, ct);
		free(ct);
	}
	h = auth_header(kc->cfg, h);
	/* No "Expect: 100-continue" round trip before a large apply. */
	h = curl_slist_append(h, "Expect:");
	if (!h)
		return -ENOMEM;
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	*hdrs = h;
	return 0;
}

static int transport_error(struct kube_client *kc, CURLcode rc, char *reason, size_t len)
{
	snprintf(reason, len, "%s", kc->errbuf[0] ? kc->errbuf : curl_easy_strerror(rc));
	switch (rc) {
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	default:
		return -EIO;
	}
}

int kube_request(struct kube_client *kc, const char *method, const char *path, const char *ctype,
		 const char *body, struct kube_response *resp, char *reason, size_t len)
{
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	int r;

	memset(resp, 0, sizeof(*resp));
	kc->errbuf[0] = '\0';
	r = setup(kc, method, path, ctype, body, &hdrs);
	if (r)
		return r;
	curl_easy_setopt(kc->curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(kc->curl, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(kc->curl, CURLOPT_WRITEDATA, resp);
	rc = curl_easy_perform(kc->curl);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		kube_response_close(resp);
		return transport_error(kc, rc, reason, len);
	}
	curl_easy_getinfo(kc->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!resp->body && body_append(resp, "", 0, MAX_BODY))
		return -ENOMEM;
	return 0;
}

struct stream {
	struct kube_client *kc;
	struct kube_response *resp;
	struct watch_lines lines;
	watch_line_fn cb;
	void *ud;
	int err;
};

static size_t stream_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct stream *s = ud;
	size_t n = size * nmemb;

	if (!s->resp->status)
		curl_easy_getinfo(s->kc->curl, CURLINFO_RESPONSE_CODE, &s->resp->status);
	if (s->resp->status != 200) {
		/* An error answer (410, 403, ...): keep its Status body for the caller. */
		s->err = body_append(s->resp, data, n, MAX_ERROR_BODY);
		return s->err ? 0 : n;
	}
	s->err = watch_lines_feed(&s->lines, data, n, s->cb, s->ud);
	return s->err ? 0 : n;
}

int kube_stream(struct kube_client *kc, const char *path, long timeout_s, watch_line_fn cb,
		void *ud, struct kube_response *resp, char *reason, size_t len)
{
	struct stream s = { .kc = kc, .resp = resp, .cb = cb, .ud = ud };
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	int r;

	memset(resp, 0, sizeof(*resp));
	kc->errbuf[0] = '\0';
	r = setup(kc, "GET", path, NULL, NULL, &hdrs);
	if (r)
		return r;
	watch_lines_init(&s.lines);
	curl_easy_setopt(kc->curl, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(kc->curl, CURLOPT_WRITEFUNCTION, stream_cb);
	curl_easy_setopt(kc->curl, CURLOPT_WRITEDATA, &s);
	rc = curl_easy_perform(kc->curl);
	curl_slist_free_all(hdrs);
	watch_lines_close(&s.lines);
	if (!resp->status)
		curl_easy_getinfo(kc->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (rc == CURLE_WRITE_ERROR && s.err) {
		snprintf(reason, len, "stream aborted: %s", strerror(s.err < 0 ? -s.err : s.err));
		return s.err;
	}
	if (rc != CURLE_OK)
		return transport_error(kc, rc, reason, len);
	return 0;
}
