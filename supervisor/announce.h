/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One datagram to the default gateway at start. A pod that scales from zero gets an address whose
 * neighbour entries on the node (and on the gateway) may be stale from an earlier pod; until the
 * new pod sends something, requests to it can be black-holed for seconds. Sending one small UDP
 * datagram to the gateway (IPv4 and IPv6, when each has a default route) makes the kernel resolve
 * the gateway and the gateway learn the pod. It never blocks: the socket is non-blocking, and
 * the kernel queues the packet while it resolves the neighbour.
 */
#ifndef KNEXT_ANNOUNCE_H
#define KNEXT_ANNOUNCE_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>

/* The discard service: whatever answers there, if anything, ignores the payload. */
#define ANNOUNCE_PORT 9

/**
 * struct announce_gw - a default route's gateway.
 * @family:  AF_INET or AF_INET6
 * @addr4:   the IPv4 gateway (@family AF_INET)
 * @addr6:   the IPv6 gateway (@family AF_INET6)
 * @ifname:  the route's device (the scope of a link-local IPv6 gateway)
 */
struct announce_gw {
	int family;
	struct in_addr addr4;
	struct in6_addr addr6;
	char ifname[IF_NAMESIZE];
};

/**
 * announce_parse_route4() - the default gateway in the text of /proc/net/route.
 * @text: the table (header line first), not necessarily NUL-terminated
 * @len:  its length
 * @gw:   filled with the gateway of the up default route with the lowest metric
 *
 * Return: 0, -ENOENT when the table has no default route through a gateway.
 */
int announce_parse_route4(const char *text, size_t len, struct announce_gw *gw);

/**
 * announce_parse_route6() - the default gateway in the text of /proc/net/ipv6_route.
 * @text: the table (no header), not necessarily NUL-terminated
 * @len:  its length
 * @gw:   filled with the gateway of the up default route with the lowest metric
 *
 * Return: 0, -ENOENT when the table has no default route through a gateway.
 */
int announce_parse_route6(const char *text, size_t len, struct announce_gw *gw);

/**
 * announce_send() - send one datagram to each default gateway the route tables name.
 * @route4: path of the IPv4 table (/proc/net/route), or NULL to skip IPv4
 * @route6: path of the IPv6 table (/proc/net/ipv6_route), or NULL to skip IPv6
 * @port:   UDP destination port (ANNOUNCE_PORT)
 *
 * Logs one line per datagram sent and per failure. Never blocks; a missing table or route is
 * no datagram, not an error.
 *
 * Return: the number of datagrams sent (0–2).
 */
int announce_send(const char *route4, const char *route6, int port);

#endif
