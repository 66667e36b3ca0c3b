#!/bin/bash
# The start-up datagram (supervisor/announce.c) of the real knext-init binary, in network
# namespaces of the test's own: a "pod" namespace joined to a "node" namespace by a veth pair,
# with default routes (IPv4 and IPv6) through the node side, where a listener on the discard port
# records what arrives. Usage: announce.sh KNEXT_INIT
set -u
K=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"

plan 7
tap_workdir
# Scratch namespaces, unique per run; removed on every exit path with the scratch directory.
pod=knext-ann-pod-$$
node=knext-ann-node-$$
trap 'ip netns del $pod 2>/dev/null; ip netns del $node 2>/dev/null; _tap_cleanup' EXIT

skip_all() {
	for _ in $(seq 7); do skip "start-up datagram" "$1"; done
	exit 0
}
[ "$(id -u)" = 0 ] || skip_all "needs root (ip netns)"
command -v ip >/dev/null && command -v python3 >/dev/null || skip_all "ip or python3 missing"
ip netns add $pod 2>/dev/null && ip netns add $node 2>/dev/null ||
	skip_all "cannot create network namespaces"

P=(ip netns exec $pod)
N=(ip netns exec $node)
export KNEXT_PROBE_PORT=0 KNEXT_VERBOSITY=2
unset KNEXT_ANNOUNCE
ip link add kann0 netns $pod type veth peer name kann1 netns $node
"${P[@]}" ip link set lo up
"${N[@]}" ip link set lo up
"${P[@]}" ip addr add 10.213.7.2/24 dev kann0
"${N[@]}" ip addr add 10.213.7.1/24 dev kann1
"${P[@]}" ip -6 addr add fd42:7::2/64 dev kann0 nodad
"${N[@]}" ip -6 addr add fd42:7::1/64 dev kann1 nodad
"${P[@]}" ip link set kann0 up
"${N[@]}" ip link set kann1 up

# listen SECONDS: records every datagram on port 9 (IPv4 and IPv6) as "ADDRESS PAYLOAD" lines in
# $tmp/got until SECONDS pass; $tmp/ready appears once both sockets are bound.
listen() {
	rm -f "$tmp/got" "$tmp/ready"
	"${N[@]}" python3 -c '
import select, socket, sys, time
out, ready, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s4.bind(("0.0.0.0", 9))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); s6.bind(("::", 9))
open(ready, "w").close()
end = time.monotonic() + secs
with open(out, "w") as f:
    while (left := end - time.monotonic()) > 0:
        for s in select.select([s4, s6], [], [], left)[0]:
            data, addr = s.recvfrom(512)
            f.write("%s %r\n" % (addr[0], data)); f.flush()
' "$tmp/got" "$tmp/ready" "$1" &
	pids+=($!)
	LPID=$!
	for _ in $(seq 300); do [ -e "$tmp/ready" ] && return 0; sleep 0.01; done
	return 1
}

# run_pod ENV...: knext-init (exec mode, `true` as the command) in the pod namespace, bounded;
# its log in $tmp/log, its exit status in RC.
run_pod() {
	"${P[@]}" env "$@" timeout 20 "$K" -- true >"$tmp/log" 2>&1
	RC=$?
}

# spawn_ms: milliseconds from knext-init's exec to its spawn line.
spawn_ms() {
	sed -n 's/.*"ts_ms":\([0-9.]*\).*"event":"spawn".*/\1/p' "$tmp/log" | head -1
}

# 1-3. Default routes through the node side: one datagram per family arrives there, and the log
# says so before the child is spawned.
"${P[@]}" ip route add default via 10.213.7.1
"${P[@]}" ip -6 route add default via fd42:7::1
if ! listen 3; then
	skip_all "no UDP listener in the node namespace"
fi
run_pod
wait "$LPID"
if [ "$RC" = 0 ] && grep -q "^10.213.7.2 b'knext-init\\\\n'$" "$tmp/got"; then
	ok "IPv4: the datagram reaches the gateway side of the veth pair"
else
	not_ok "IPv4: the datagram reaches the gateway side of the veth pair (exit $RC)" \
		"$(cat "$tmp/got" "$tmp/log")"
fi
if grep -q "^fd42:7::2 b'knext-init\\\\n'$" "$tmp/got"; then
	ok "IPv6: the datagram reaches the gateway side of the veth pair"
else
	not_ok "IPv6: the datagram reaches the gateway side of the veth pair" \
		"$(cat "$tmp/got" "$tmp/log")"
fi
order=$(grep -o '"event":"\(announce\|spawn\)"' "$tmp/log" | tr '\n' ' ')
[ "$order" = '"event":"announce" "event":"announce" "event":"spawn" ' ] &&
	[ "$(wc -l <"$tmp/got")" = 2 ] &&
	ok "one datagram per family, both sent before the child is spawned" ||
	not_ok "one datagram per family, both sent before the child is spawned" \
		"order: $order" "$(cat "$tmp/got")"

# 4. KNEXT_ANNOUNCE=0: nothing is sent.
listen 1.5
run_pod KNEXT_ANNOUNCE=0
wait "$LPID"
[ "$RC" = 0 ] && [ ! -s "$tmp/got" ] && ! grep -q '"announce"' "$tmp/log" &&
	ok "KNEXT_ANNOUNCE=0 sends nothing" ||
	not_ok "KNEXT_ANNOUNCE=0 sends nothing (exit $RC)" "$(cat "$tmp/got" "$tmp/log")"

# 5. A gateway nobody answers for (its neighbour never resolves): the start goes on at once.
"${P[@]}" ip route replace default via 10.213.7.99
"${P[@]}" ip -6 route replace default via fd42:7::99
run_pod
ms=$(spawn_ms)
[ "$RC" = 0 ] && [ -n "$ms" ] && awk -v m="$ms" 'BEGIN { exit !(m < 200) }' &&
	ok "an unresolvable gateway does not hold the start (spawn at ${ms} ms)" ||
	not_ok "an unresolvable gateway does not hold the start (exit $RC, spawn at ${ms:-?} ms)" \
		"$(cat "$tmp/log")"

# 6-7. No default route at all: no datagram, no error, no delay.
"${P[@]}" ip route del default
"${P[@]}" ip -6 route del default
listen 1.5
run_pod
wait "$LPID"
ms=$(spawn_ms)
[ "$RC" = 0 ] && [ -n "$ms" ] && awk -v m="$ms" 'BEGIN { exit !(m < 200) }' &&
	! grep -q '"level":"\(warn\|error\)"' "$tmp/log" &&
	ok "no default route: the start goes on without a warning (spawn at ${ms} ms)" ||
	not_ok "no default route: the start goes on without a warning (exit $RC)" "$(cat "$tmp/log")"
[ ! -s "$tmp/got" ] && ! grep -q '"announce"' "$tmp/log" &&
	ok "no default route: nothing is sent" ||
	not_ok "no default route: nothing is sent" "$(cat "$tmp/got" "$tmp/log")"
done_testing
