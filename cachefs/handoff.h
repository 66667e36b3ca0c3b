/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pack's hand-off from PID 1 to knext-node: exactly one datagram on the notify socket (a
 * SOCK_DGRAM socketpair), "X_KNEXT_PACK=1" with the sealed memfd attached (SCM_RIGHTS), or
 * "X_KNEXT_PACK=0\nSTATUS=reason" without one (probes/PROTOCOL.md). Both ends live here; neither
 * logs: they return errors for their callers to report.
 */
#ifndef KNEXT_CACHEFS_HANDOFF_H
#define KNEXT_CACHEFS_HANDOFF_H

#include <stddef.h>

/**
 * pack_handoff_send() - send the one message about the pack.
 * @sock:   PID 1's end of the notify socket
 * @memfd:  the pack's sealed memfd, or -1 when there is none
 * @reason: why there is none (used only when @memfd is -1; NULL for "no pack")
 *
 * Never blocks and never raises SIGPIPE; a child that is already gone simply never reads it.
 *
 * Return: 0, or -errno of sendmsg() (-EMSGSIZE when @reason is too long for one datagram).
 */
int pack_handoff_send(int sock, int memfd, const char *reason);

/**
 * pack_handoff_recv() - wait up to @timeout_ms for PID 1's message and take the memfd.
 * @sock:       the child's end of the notify socket
 * @timeout_ms: how long to wait (-1: no limit)
 * @memfd:      gets the memfd (CLOEXEC), or -1 when the message came without one
 * @text:       gets the message's text (the reason, when there is no memfd)
 * @n:          size of @text
 *
 * A wait that timed out may be tried again: the message stays queued.
 *
 * Return: 0 when the message was read (with or without a memfd), -ETIMEDOUT when none came in
 * time, or -errno of poll() or recvmsg() (@text then says so).
 */
int pack_handoff_recv(int sock, int timeout_ms, int *memfd, char *text, size_t n);

#endif
