/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The version of the runtime knext-node embeds, taken from its headers at build time: the one
 * spelling PID 1 (choosing a pack) and knext-node (recording one) both put into the pack identity
 * (cachefs/appid.h).
 */
#ifndef KNEXT_NODE_RUNTIME_H
#define KNEXT_NODE_RUNTIME_H

#include <node_version.h>

/* process.version of the embedded runtime, e.g. "v18.20.4". */
#define KNEXT_RUNTIME_VERSION "v" NODE_VERSION_STRING

#endif
