/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C face of the only C++ in the project: a small shim around libnode's node.h that starts one
 * Node.js environment, registers our N-API binding and runs a bootstrap script.
 */
#ifndef KNEXT_EMBED_H
#define KNEXT_EMBED_H

#include <node_api.h>

/**
 * struct embed_args - what to run.
 * @argc, @argv:     process arguments as Node parses them (argv[0] = executable; Node options may
 *                   follow; the rest becomes process.argv)
 * @bootstrap:       UTF-8 source of the bootstrap script; it runs with the internal `require`
 *                   (builtins only) and `process` in scope
 * @binding_name:    name under which @binding_init is reachable as process._linkedBinding(name)
 * @binding_init:    N-API module register function of that binding
 * @lazy_openssl:    leave OpenSSL to initialise itself on first use (see embed.cc)
 */
struct embed_args {
	int argc;
	char **argv;
	const char *bootstrap;
	const char *binding_name;
	napi_addon_register_func binding_init;
	int lazy_openssl;
};

#ifdef __cplusplus
extern "C" {
#endif

/**
 * embed_run() - initialise Node once, run the bootstrap, spin the event loop until it is empty.
 * @args: see struct embed_args
 *
 * Errors of Node's own initialisation are printed on stderr, as `node` prints them.
 *
 * Return: the process exit code the script asked for (process.exitCode / process.exit()), or 1
 * when Node could not start.
 */
int embed_run(const struct embed_args *args);

/**
 * embed_use_extra_ca_certs() - add the certificates in @file to Node's root store, as Node does
 * for NODE_EXTRA_CA_CERTS during an eager OpenSSL initialisation; call it before the first TLS
 * context is made.
 * @file: PEM file
 */
void embed_use_extra_ca_certs(const char *file);

#ifdef __cplusplus
}
#endif

#endif
