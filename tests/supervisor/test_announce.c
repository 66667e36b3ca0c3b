// SPDX-License-Identifier: Apache-2.0
/* The route-table parsers behind the start-up datagram (announce.c), on tables as the kernel
 * prints them. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "supervisor/announce.h"

static const char route4[] =
	"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"
	"                                                       \n"
	"eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
	"eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
	"eth1\t00000000\t0101A8C0\t0003\t0\t0\t50\t00000000\t0\t0\t0\n"
	"eth2\t00000000\t0102A8C0\t0001\t0\t0\t0\t00000000\t0\t0\t0\n";

static const char route6[] =
	"fd000000000000000000000000000000 40 00000000000000000000000000000000 00 "
	"00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
	"00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
	"fe800000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n"
	"00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
	"00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";

static void expect4(const struct announce_gw *gw, const char *addr, const char *dev)
{
	char s[INET_ADDRSTRLEN];

	cr_assert_eq(gw->family, AF_INET);
	inet_ntop(AF_INET, &gw->addr4, s, sizeof(s));
	cr_assert_str_eq(s, addr);
	cr_assert_str_eq(gw->ifname, dev);
}

Test(announce, ipv4_default_with_the_lowest_metric)
{
	struct announce_gw gw;

	cr_assert_eq(announce_parse_route4(route4, strlen(route4), &gw), 0);
	expect4(&gw, "192.168.1.1", "eth1");
}

Test(announce, ipv4_single_default_and_cut_table)
{
	static const char t[] = "Iface\tDestination\tGateway\n"
				"eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0";
	struct announce_gw gw;

	/* No newline at the end, and the text is not NUL-terminated where len ends. */
	cr_assert_eq(announce_parse_route4(t, strlen(t), &gw), 0);
	expect4(&gw, "10.0.0.1", "eth0");
	cr_assert_eq(announce_parse_route4(t, strlen(t) - 20, &gw), -ENOENT);
}

Test(announce, ipv4_no_default_route)
{
	static const char none[] = "Iface\tDestination\tGateway\n"
				   "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
	/* A default route without a gateway (a point-to-point link) has no one to tell. */
	static const char direct[] = "Iface\tDestination\tGateway\n"
				     "ppp0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n";
	/* The header alone, and a header-like line in the data, are not routes. */
	static const char header[] = "eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
	struct announce_gw gw;

	cr_assert_eq(announce_parse_route4(none, strlen(none), &gw), -ENOENT);
	cr_assert_eq(announce_parse_route4(direct, strlen(direct), &gw), -ENOENT);
	cr_assert_eq(announce_parse_route4(header, strlen(header), &gw), -ENOENT);
	cr_assert_eq(announce_parse_route4("", 0, &gw), -ENOENT);
}

Test(announce, ipv4_garbage_is_skipped)
{
	static const char t[] =
		"Iface\tDestination\tGateway\n"
		"eth0\t0000000G\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
		"eth0\t00000000\t0100000A\t0003\tx\t0\t0\t00000000\t0\t0\t0\n"
		"averyveryveryverylonginterfacename\t00000000\t0100000A\t0003\t0\t0\t0"
		"\t00000000\n"
		"eth0\t000000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
		"eth3\t00000000\t0200000A\t0003\t0\t0\t7\t00000000\t0\t0\t0\n";
	struct announce_gw gw;

	cr_assert_eq(announce_parse_route4(t, strlen(t), &gw), 0);
	expect4(&gw, "10.0.0.2", "eth3");
}

Test(announce, ipv6_default_gateway_link_local)
{
	struct announce_gw gw;
	char s[INET6_ADDRSTRLEN];

	cr_assert_eq(announce_parse_route6(route6, strlen(route6), &gw), 0);
	cr_assert_eq(gw.family, AF_INET6);
	inet_ntop(AF_INET6, &gw.addr6, s, sizeof(s));
	cr_assert_str_eq(s, "fe80::1");
	cr_assert_str_eq(gw.ifname, "eth0");
}

Test(announce, ipv6_reject_and_on_link_routes_are_not_gateways)
{
	/* The last two lines of route6: an on-link prefix and the kernel's unreachable default. */
	const char *t = strchr(route6, '\n') + 1;
	struct announce_gw gw;

	t = strchr(t, '\n') + 1;
	cr_assert_eq(announce_parse_route6(t, strlen(t), &gw), -ENOENT);
	cr_assert_eq(announce_parse_route6(route6, 100, &gw), -ENOENT);
}

Test(announce, missing_tables_send_nothing)
{
	cr_assert_eq(announce_send("/nonexistent/route", "/nonexistent/ipv6_route", ANNOUNCE_PORT),
		     0);
	cr_assert_eq(announce_send(NULL, NULL, ANNOUNCE_PORT), 0);
}
