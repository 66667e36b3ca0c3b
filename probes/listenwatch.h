/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exec mode for apps that do not speak sd_notify: watch for a LISTEN socket on the app's PORT on a
 * libuv timer, mark the state ready the moment one appears, then stop. The scan asks the kernel
 * for listening TCP sockets only (NETLINK_SOCK_DIAG), so its cost does not grow with the number of
 * connections; where sock_diag is unavailable it reads /proc/net/tcp and /proc/net/tcp6.
 */
#ifndef KNEXT_PROBES_LISTENWATCH_H
#define KNEXT_PROBES_LISTENWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "probes/state.h"

#define LISTENWATCH_DEFAULT_INTERVAL_MS 2

struct listenwatch;

/**
 * typedef listenwatch_cb - called once when the listening socket was found.
 * @w: the watcher (its @data is the caller's)
 */
typedef void (*listenwatch_cb)(struct listenwatch *w);

/**
 * struct listenwatch - a timer that scans for a listening socket.
 * @data:        the caller's pointer
 * @st:          the state marked ready
 * @port:        the TCP port to look for
 * @cb:          called once found (may be NULL)
 * @timer:       the scan timer
 * @active:      the timer handle is open
 * @found:       the socket was seen
 * @scans:       scans done
 * @use_proc:    scan /proc/net/tcp{,6} (set when sock_diag failed; tests may set it)
 * @proc_tcp:    the two tables scanned in that case
 */
struct listenwatch {
	void *data;
	struct probe_state *st;
	int port;
	listenwatch_cb cb;
	uv_timer_t timer;
	bool active;
	bool found;
	unsigned long scans;
	bool use_proc;
	const char *proc_tcp[2];
};

/**
 * listenwatch_scan_buf() - look for a LISTEN row on @port in the text of /proc/net/tcp{,6}.
 * @buf:  the table's text, or a part of it made of whole lines
 * @len:  its length
 * @port: the local port
 *
 * Return: 1 when found, 0 when not.
 */
int listenwatch_scan_buf(const char *buf, size_t len, int port);

/**
 * listenwatch_scan_file() - listenwatch_scan_buf() over a whole file, read in bounded chunks.
 * @path: e.g. "/proc/net/tcp"
 * @port: the local port
 *
 * Return: 1 when found, 0 when not, or the negative errno of open() or read().
 */
int listenwatch_scan_file(const char *path, int port);

/**
 * listenwatch_scan_diag() - ask the kernel whether a TCP socket listens on @port.
 * @port: the local port
 *
 * One NETLINK_SOCK_DIAG dump of listening sockets per address family (IPv4, IPv6).
 *
 * Return: 1 when found, 0 when not, or a negative errno when sock_diag cannot be used.
 */
int listenwatch_scan_diag(int port);

/**
 * listenwatch_init() - start scanning for a listening socket on @port.
 * @w:           the watcher (caller-allocated)
 * @loop:        the loop
 * @st:          marked ready (probe_state_set_ready()) when the socket appears
 * @port:        the app's PORT
 * @interval_ms: scan period (0: %LISTENWATCH_DEFAULT_INTERVAL_MS)
 * @cb:          called once found (may be NULL)
 *
 * The first scan runs on the next loop turn.
 *
 * Return: 0, -EINVAL for a bad port, or the negative errno of the timer setup.
 */
int listenwatch_init(struct listenwatch *w, uv_loop_t *loop, struct probe_state *st, int port,
		     unsigned interval_ms, listenwatch_cb cb);

/**
 * listenwatch_close() - stop scanning (also happens by itself once found).
 * @w: the watcher; closing twice is harmless
 *
 * The timer is closed through the loop: run the loop once more before freeing @w.
 */
void listenwatch_close(struct listenwatch *w);

#endif
