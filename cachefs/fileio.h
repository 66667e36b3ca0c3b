/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a whole small file: one EINTR-safe loop for every reader of the tree.
 */
#ifndef KNEXT_CACHEFS_FILEIO_H
#define KNEXT_CACHEFS_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/**
 * read_upto() - read from @fd until @len bytes are in @buf or the file ends.
 * @fd:  open for reading
 * @buf: at least @len bytes
 * @len: bytes wanted
 *
 * A read interrupted by a signal is retried.
 *
 * Return: the bytes read (fewer than @len only at the end of the file), or -errno.
 */
ssize_t read_upto(int fd, void *buf, size_t len);

#endif
