/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The defaults shared by knext-init (supervisor/, cachefs/, probes/) and the manifests rendered for
 * the cluster (container/manifest/, container/operator/), so that the pod spec and the binary
 * cannot disagree. A leaf: it includes nothing of the project.
 */
#ifndef KNEXT_DEFAULTS_H
#define KNEXT_DEFAULTS_H

#define KNEXT_DEFAULT_APP_DIR "/app"
#define KNEXT_DEFAULT_ENTRY "server.js"
#define KNEXT_DEFAULT_HOSTNAME "0.0.0.0"
#define KNEXT_DEFAULT_PORT 8080
/* Neither the app port nor one of Knative's reserved 8012 8013 8022 9090 9091 8008. */
#define KNEXT_DEFAULT_PROBE_PORT 8090
#define KNEXT_DEFAULT_GRACE_MS 5000
#define KNEXT_DEFAULT_HEARTBEAT_MS 1000
#define KNEXT_DEFAULT_LIVENESS_TIMEOUT_MS 10000
/* Where a PVC holding the compile-cache pack is mounted, and the pack baked into the image. */
#define KNEXT_DEFAULT_CACHE_DIR "/var/cache/knext"
/* The pack's file name inside the cache directory, and the pack baked into the image. */
#define KNEXT_PACK_FILE_NAME "cache.pack"
#define KNEXT_DEFAULT_BAKED_PACK ".knext/" KNEXT_PACK_FILE_NAME /* relative to the app dir */
#define KNEXT_DEFAULT_CACHE_MAX_BYTES (256u << 20)
/* How long knext-node waits for PID 1's word on the pack before compiling from source. */
#define KNEXT_DEFAULT_CACHE_WAIT_MS 3000
#define KNEXT_DEFAULT_SCRATCH_DIR "/tmp"
/* knext-init inside the base image (its ENTRYPOINT, and the exec probes' command). */
#define KNEXT_DEFAULT_BIN "/usr/local/bin/knext-init"
/* Paths the probe server answers on KNEXT_DEFAULT_PROBE_PORT (probes/PROTOCOL.md). */
#define KNEXT_DEFAULT_READY_PATH "/readyz"
#define KNEXT_DEFAULT_LIVE_PATH "/livez"
#define KNEXT_DEFAULT_STARTUP_PATH "/startupz"
#define KNEXT_DEFAULT_METRICS_PATH "/metrics"
/* The non-root user the base image runs as. */
#define KNEXT_DEFAULT_UID 10001
/* knext-init's datagram to the default gateway at start (supervisor/announce.h): 1 on, 0 off. */
#define KNEXT_DEFAULT_ANNOUNCE 1

#endif
