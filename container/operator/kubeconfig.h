/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the API server is and how to authenticate to it: from a pod's service account (in-cluster)
 * or from a kubeconfig file (local use, tests). Plain http:// servers are accepted for tests.
 */
#ifndef KNEXT_OPERATOR_KUBECONFIG_H
#define KNEXT_OPERATOR_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

/**
 * struct kube_config - one API server and its credentials; every string is owned, or NULL.
 * @server:     base URL without a trailing slash, e.g. "https://10.0.0.1:443"
 * @token:      bearer token given in the config
 * @token_file: file holding a bearer token, re-read for every request (bound tokens rotate)
 * @ca_file:    PEM bundle to verify the server with
 * @ca_pem:     PEM bundle given inline (certificate-authority-data, decoded)
 * @cert_file:  client certificate file
 * @cert_pem:   client certificate given inline, decoded
 * @key_file:   client key file
 * @key_pem:    client key given inline, decoded
 * @insecure:   skip server certificate verification
 * @namespace:  the context's namespace (or the pod's), NULL when unset
 */
struct kube_config {
	char *server;
	char *token;
	char *token_file;
	char *ca_file;
	char *ca_pem;
	char *cert_file;
	char *cert_pem;
	char *key_file;
	char *key_pem;
	bool insecure;
	char *namespace;
};

/**
 * kube_config_from_cluster() - read the in-cluster configuration of a pod.
 * @c:      the config to fill; kube_config_close() it even on failure
 * @sa_dir: the service-account directory, NULL for /var/run/secrets/kubernetes.io/serviceaccount
 * @reason: receives why it failed
 * @len:    size of @reason
 *
 * Uses KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, and the token, ca.crt and namespace
 * files of the service account.
 *
 * Return: 0, -ENOENT when not running in a cluster, -ENOMEM.
 */
int kube_config_from_cluster(struct kube_config *c, const char *sa_dir, char *reason, size_t len);

/**
 * kube_config_from_file() - read a kubeconfig file.
 * @c:       the config to fill; kube_config_close() it even on failure
 * @path:    the kubeconfig (YAML or JSON)
 * @context: the context to use, NULL for current-context
 * @reason:  receives why it failed
 * @len:     size of @reason
 *
 * Return: 0, -ENOENT (file or named entry missing), -EINVAL (malformed or unsupported, e.g. an
 * exec credential plugin), -ENOMEM.
 */
int kube_config_from_file(struct kube_config *c, const char *path, const char *context,
			  char *reason, size_t len);

/**
 * kube_config_parse() - read a kubeconfig from memory; as kube_config_from_file().
 * @c:       the config to fill; kube_config_close() it even on failure
 * @text:    the kubeconfig text
 * @size:    its length
 * @context: the context to use, NULL for current-context
 * @reason:  receives why it failed
 * @len:     size of @reason
 *
 * Return: as kube_config_from_file().
 */
int kube_config_parse(struct kube_config *c, const char *text, size_t size, const char *context,
		      char *reason, size_t len);

/**
 * kube_config_close() - free what the config holds. Idempotent.
 * @c: the config
 */
void kube_config_close(struct kube_config *c);

#endif
