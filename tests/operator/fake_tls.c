// SPDX-License-Identifier: Apache-2.0
/* The fake API server's socket I/O: plain, or TLS through OpenSSL when built with it. */
#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/operator/fake_internal.h"

#ifdef FAKE_HAVE_TLS
#include <openssl/ssl.h>

int fake_enable_tls(struct fake *f, const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return -ENOMEM;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		SSL_CTX_free(ctx);
		return -EINVAL;
	}
	pthread_mutex_lock(&f->lock);
	SSL_CTX_free(f->tls);
	f->tls = ctx;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

int fake_tls_accept(struct fake *f, struct fake_conn *c)
{
	struct timeval tv = { 2, 0 };
	SSL *ssl;

	if (!f->tls)
		return 0;
	/* The handshake blocks the server thread: bound it. */
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssl = SSL_new(f->tls);
	if (!ssl)
		return -ENOMEM;
	SSL_set_fd(ssl, c->fd);
	if (SSL_accept(ssl) != 1) {
		SSL_free(ssl);
		return -EPROTO;
	}
	c->ssl = ssl;
	return 0;
}

bool fake_tls_pending(struct fake_conn *c)
{
	return c && c->ssl && SSL_pending(c->ssl) > 0;
}

void fake_tls_free(struct fake_conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	c->ssl = NULL;
}

void fake_tls_close(struct fake *f)
{
	SSL_CTX_free(f->tls);
	f->tls = NULL;
}

static int tls_write(struct fake_conn *c, const char *p, size_t n)
{
	return SSL_write(c->ssl, p, (int)n);
}

static ssize_t tls_read(struct fake_conn *c, char *buf, size_t n)
{
	int r = SSL_read(c->ssl, buf, n > 1 << 30 ? 1 << 30 : (int)n);

	return r > 0 ? r : -1;
}
#else
int fake_enable_tls(struct fake *f, const char *cert, const char *key)
{
	return -ENOTSUP;
}

int fake_tls_accept(struct fake *f, struct fake_conn *c)
{
	return 0;
}

bool fake_tls_pending(struct fake_conn *c)
{
	return false;
}

void fake_tls_free(struct fake_conn *c)
{
}

void fake_tls_close(struct fake *f)
{
}

static int tls_write(struct fake_conn *c, const char *p, size_t n)
{
	return -1;
}

static ssize_t tls_read(struct fake_conn *c, char *buf, size_t n)
{
	return -1;
}
#endif

int fake_send_all(struct fake_conn *c, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = c->ssl ? tls_write(c, p, n) : send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && !c->ssl && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t fake_recv(struct fake_conn *c, char *buf, size_t n)
{
	return c->ssl ? tls_read(c, buf, n) : read(c->fd, buf, n);
}
