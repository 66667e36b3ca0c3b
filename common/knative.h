/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What Knative reserves for itself in the user container: the ports of queue-proxy, its metrics
 * and profiling, and the environment variables it sets. The one list the manifests, the operator
 * and the probe server check against (DESIGN.md, "Probes" and "Manifests and the operator").
 */
#ifndef KNEXT_COMMON_KNATIVE_H
#define KNEXT_COMMON_KNATIVE_H

#include <stdbool.h>

/* The reserved ports as one line of text, for error messages. */
#define KNATIVE_RESERVED_PORTS_TEXT "8012 8013 8022 9090 9091 8008"
/* The reserved environment variable names as one line of text. */
#define KNATIVE_RESERVED_ENV_TEXT "PORT K_SERVICE K_CONFIGURATION K_REVISION"

/**
 * knative_port_reserved() - whether a container may not use @port.
 * @port: port number
 *
 * Return: true for one of KNATIVE_RESERVED_PORTS_TEXT.
 */
bool knative_port_reserved(long port);

/**
 * knative_env_reserved() - whether Knative sets @name itself (and its webhook rejects it).
 * @name: environment variable name
 *
 * Return: true for one of KNATIVE_RESERVED_ENV_TEXT.
 */
bool knative_env_reserved(const char *name);

#endif
