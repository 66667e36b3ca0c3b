/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `knext` N-API binding the bootstrap reaches through process._linkedBinding('knext'): the
 * child's side of the notify channel to PID 1 (sd_notify messages, see probes/PROTOCOL.md).
 */
#ifndef KNEXT_BINDING_H
#define KNEXT_BINDING_H

#include <node_api.h>
#include <stddef.h>

/**
 * binding_set_notify_fd() - use @fd (a connected datagram socket to PID 1) for notify(); -1 = none.
 * @fd: file descriptor inherited from PID 1 as KNEXT_NOTIFY_FD
 */
void binding_set_notify_fd(int fd);

/**
 * binding_set_lazy_openssl() - tell the binding OpenSSL was left to initialise itself, so that
 * loadExtraCaCerts() must apply NODE_EXTRA_CA_CERTS.
 * @lazy: nonzero when lazy
 */
void binding_set_lazy_openssl(int lazy);

/**
 * binding_notify() - send one sd_notify datagram to PID 1, if there is a channel.
 * @msg: newline-separated KEY=VALUE lines
 * @len: length of @msg
 *
 * Return: 0, -ENOTCONN without a channel, or -errno of send().
 */
int binding_notify(const char *msg, size_t len);

/**
 * binding_init() - N-API register function of the `knext` binding.
 * @env:     N-API environment
 * @exports: the exports object to fill
 *
 * Return: @exports.
 */
napi_value binding_init(napi_env env, napi_value exports);

#endif
