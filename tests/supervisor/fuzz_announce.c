// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the route tables announce.c reads (/proc/net/route, /proc/net/ipv6_route),
 * both parsers on the same bytes. A gateway found must come with a device name that fits.
 */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "supervisor/announce.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct announce_gw gw;

	if (announce_parse_route4((const char *)data, size, &gw) == 0 &&
	    (gw.family != AF_INET || gw.addr4.s_addr == 0 || !gw.ifname[0] ||
	     strnlen(gw.ifname, sizeof(gw.ifname)) == sizeof(gw.ifname)))
		__builtin_trap();
	if (announce_parse_route6((const char *)data, size, &gw) == 0 &&
	    (!gw.ifname[0] || strnlen(gw.ifname, sizeof(gw.ifname)) == sizeof(gw.ifname)))
		__builtin_trap();
	return 0;
}
