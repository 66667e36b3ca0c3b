// SPDX-License-Identifier: Apache-2.0
#include "supervisor/announce.h"
#include "cachefs/fileio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/route.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "supervisor/log.h"

/* Route tables are small; a pod has a handful of routes. What does not fit is not read. */
#define ANNOUNCE_TABLE_MAX 16384
#define ANNOUNCE_LINE_MAX 256

static const char payload[] = "knext-init\n";

/* Copies the line starting at *pos into @line (NUL-terminated) and moves *pos past it. Lines too
 * long for @line come back empty. */
static bool next_line(const char *text, size_t len, size_t *pos, char *line, size_t n)
{
	size_t start = *pos, end = start;

	if (start >= len)
		return false;
	while (end < len && text[end] != '\n')
		end++;
	*pos = end + 1;
	if (end - start >= n)
		end = start;
	memcpy(line, text + start, end - start);
	line[end - start] = '\0';
	return true;
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2 * @n hex digits into @out. */
static int parse_hex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* 1 to 8 hex digits as a number. */
static int parse_hexnum(const char *s, uint32_t *out)
{
	size_t n = strlen(s);
	uint32_t v = 0;

	if (n == 0 || n > 8)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int d = hex_nibble(s[i]);

		if (d < 0)
			return -EINVAL;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < IF_NAMESIZE;
}

/*
 * /proc/net/route: a header, then "Iface Destination Gateway Flags RefCnt Use Metric Mask MTU
 * Window IRTT"; an address is the hex of its 32-bit word read as a host integer, so the number
 * stored back as a word is the address in network order.
 */
int announce_parse_route4(const char *text, size_t len, struct announce_gw *gw)
{
	char line[ANNOUNCE_LINE_MAX], ifname[ANNOUNCE_LINE_MAX], dst[ANNOUNCE_LINE_MAX],
		via[ANNOUNCE_LINE_MAX], flags[ANNOUNCE_LINE_MAX], mask[ANNOUNCE_LINE_MAX];
	unsigned refcnt, use, metric, best_metric = 0;
	uint32_t d, g, f, m;
	size_t pos = 0;
	bool found = false, header = true;

	while (next_line(text, len, &pos, line, sizeof(line))) {
		if (header) {
			header = false;
			continue;
		}
		if (sscanf(line, "%255s %255s %255s %255s %u %u %u %255s", ifname, dst, via, flags,
			   &refcnt, &use, &metric, mask) != 8)
			continue;
		if (parse_hexnum(dst, &d) < 0 || parse_hexnum(via, &g) < 0 ||
		    parse_hexnum(flags, &f) < 0 || parse_hexnum(mask, &m) < 0)
			continue;
		if (d != 0 || m != 0 || g == 0 ||
		    (f & (RTF_UP | RTF_GATEWAY)) != (RTF_UP | RTF_GATEWAY))
			continue;
		if (!valid_ifname(ifname) || (found && metric >= best_metric))
			continue;
		memset(gw, 0, sizeof(*gw));
		gw->family = AF_INET;
		gw->addr4.s_addr = g;
		snprintf(gw->ifname, sizeof(gw->ifname), "%.*s", (int)sizeof(gw->ifname) - 1,
			 ifname);
		best_metric = metric;
		found = true;
	}
	return found ? 0 : -ENOENT;
}

/*
 * /proc/net/ipv6_route, no header: "dst dst_len src src_len next_hop metric refcnt use flags
 * dev", addresses as 32 hex digits in network order, the rest hex.
 */
int announce_parse_route6(const char *text, size_t len, struct announce_gw *gw)
{
	static const uint8_t zero[16];
	char line[ANNOUNCE_LINE_MAX], dst[ANNOUNCE_LINE_MAX], dlen[ANNOUNCE_LINE_MAX],
		src[ANNOUNCE_LINE_MAX], slen[ANNOUNCE_LINE_MAX], hop[ANNOUNCE_LINE_MAX],
		metric_s[ANNOUNCE_LINE_MAX], refcnt[ANNOUNCE_LINE_MAX], use[ANNOUNCE_LINE_MAX],
		flags[ANNOUNCE_LINE_MAX], ifname[ANNOUNCE_LINE_MAX];
	uint8_t d[16], h[16];
	uint32_t dl, f, metric, best_metric = 0;
	size_t pos = 0;
	bool found = false;

	while (next_line(text, len, &pos, line, sizeof(line))) {
		if (sscanf(line, "%255s %255s %255s %255s %255s %255s %255s %255s %255s %255s", dst,
			   dlen, src, slen, hop, metric_s, refcnt, use, flags, ifname) != 10)
			continue;
		if (parse_hex(dst, d, 16) < 0 || parse_hex(hop, h, 16) < 0 ||
		    parse_hexnum(dlen, &dl) < 0 || parse_hexnum(metric_s, &metric) < 0 ||
		    parse_hexnum(flags, &f) < 0)
			continue;
		if (dl != 0 || memcmp(d, zero, 16) != 0 || memcmp(h, zero, 16) == 0 ||
		    (f & (RTF_UP | RTF_GATEWAY)) != (RTF_UP | RTF_GATEWAY) || (f & RTF_REJECT))
			continue;
		if (!valid_ifname(ifname) || (found && metric >= best_metric))
			continue;
		memset(gw, 0, sizeof(*gw));
		gw->family = AF_INET6;
		memcpy(gw->addr6.s6_addr, h, 16);
		snprintf(gw->ifname, sizeof(gw->ifname), "%.*s", (int)sizeof(gw->ifname) - 1,
			 ifname);
		best_metric = metric;
		found = true;
	}
	return found ? 0 : -ENOENT;
}

/* Reads a small /proc file; what does not fit in @n bytes is left unread. */
static ssize_t read_table(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return -errno;
	got = read_upto(fd, buf, n);
	close(fd);
	return got;
}

static int send_one(const struct announce_gw *gw, int port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	ssize_t n;
	int fd, r = 0;

	memset(&ss, 0, sizeof(ss));
	if (gw->family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		a->sin_addr = gw->addr4;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		a->sin6_addr = gw->addr6;
		/* A link-local gateway (the usual IPv6 case) means nothing without its link. */
		if (IN6_IS_ADDR_LINKLOCAL(&gw->addr6))
			a->sin6_scope_id = if_nametoindex(gw->ifname);
		sl = sizeof(*a);
	}
	fd = socket(gw->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Unresolved, the neighbour holds the packet while the kernel asks for the gateway's
	 * address; sendto() returns at once either way. */
	n = sendto(fd, payload, sizeof(payload) - 1, MSG_DONTWAIT | MSG_NOSIGNAL,
		   (struct sockaddr *)&ss, sl);
	if (n < 0)
		r = -errno;
	close(fd);
	return r;
}

static int announce_table(const char *path, int family, int port)
{
	char table[ANNOUNCE_TABLE_MAX], addr[INET6_ADDRSTRLEN], buf[64];
	struct announce_gw gw;
	ssize_t len = read_table(path, table, sizeof(table));
	int r;

	if (len < 0)
		return 0;
	r = family == AF_INET ? announce_parse_route4(table, (size_t)len, &gw) :
				announce_parse_route6(table, (size_t)len, &gw);
	if (r < 0)
		return 0;
	inet_ntop(family, family == AF_INET ? (const void *)&gw.addr4 : (const void *)&gw.addr6,
		  addr, sizeof(addr));
	if ((r = send_one(&gw, port)) < 0) {
		log_event(LOG_WARN, "announce", "\"gateway\":\"%s\",\"dev\":%s,\"error\":\"%s\"",
			  addr, log_json_str(buf, sizeof(buf), gw.ifname), strerror(-r));
		return 0;
	}
	log_event(LOG_INFO, "announce", "\"gateway\":\"%s\",\"dev\":%s,\"port\":%d", addr,
		  log_json_str(buf, sizeof(buf), gw.ifname), port);
	return 1;
}

int announce_send(const char *route4, const char *route6, int port)
{
	int sent = 0;

	if (route4)
		sent += announce_table(route4, AF_INET, port);
	if (route6)
		sent += announce_table(route6, AF_INET6, port);
	return sent;
}
