/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs the real knext-operator binary against the fake API server: a kubeconfig pointing at it,
 * the operator in its own process group (killed with its whole tree on the way out), and helpers
 * to wait for convergence. KNEXT_KEEP_TEST_DIR=1 keeps the scratch directory (operator.log,
 * kubeconfig, applied Services) for a look after a failure.
 */
#ifndef KNEXT_TESTS_OPERATOR_HARNESS_H
#define KNEXT_TESTS_OPERATOR_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "tests/operator/fake_apiserver.h"

/**
 * struct harness - one fake server, one scratch directory, at most one operator.
 * @fake:         the fake API server
 * @dir:          scratch directory (kubeconfig, logs, dumped Services)
 * @pid:          the operator, or 0
 * @metrics_port: where the operator serves /healthz and /metrics
 */
struct harness {
	struct fake fake;
	char dir[256];
	pid_t pid;
	int metrics_port;
};

/** harness_init() - make the scratch dir, start the fake server (dumping applied Services into
 * DIR/applied when @dump), write the kubeconfig. */
int harness_init(struct harness *h, bool dump);

/**
 * harness_kubeconfig() - (re)write DIR/kubeconfig for the fake server.
 * @h:             the harness
 * @scheme:        "http" or "https"
 * @cluster_extra: more YAML lines for the cluster entry (6-space indented), or NULL
 *
 * Return: 0 or -errno.
 */
int harness_kubeconfig(struct harness *h, const char *scheme, const char *cluster_extra);

/** harness_start() - start knext-operator (path from $KNEXT_OPERATOR) with extra args. */
int harness_start(struct harness *h, const char *const *extra);

/** harness_stop() - SIGTERM, wait up to @grace_ms; Return: the exit status, or -1 if killed. */
int harness_stop(struct harness *h, int grace_ms);

/** harness_alive() - the operator is still running. */
bool harness_alive(struct harness *h);

/** harness_close() - kill whatever is left, stop the fake, remove the scratch dir. */
void harness_close(struct harness *h);

/** harness_wait() - poll @cond every 20 ms for up to @timeout_ms; Return: whether it held. */
bool harness_wait(bool (*cond)(struct harness *h, void *ud), struct harness *h, void *ud,
		  int timeout_ms);

/** harness_http_get() - GET a path of the operator's metrics endpoint; Return: status or -1. */
int harness_http_get(struct harness *h, const char *path, char *body, size_t len);

/** harness_sleep_ms() - sleep. */
void harness_sleep_ms(int ms);

/** app_spec() - a valid NextApp spec as JSON text, with @min_scale. Static buffer. */
const char *app_spec(int min_scale);

#endif
