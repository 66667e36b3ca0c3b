#!/bin/bash
# The probe server under a flood of slow clients, on the real binary as PID 1: with 1,100
# connections that never finish their request open (more than the 1,024 connection cap), every
# new /readyz is still answered well inside a kubelet's default 1 s probe timeout.
# Usage: flood.sh KNEXT_INIT
set -u
K=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"

plan 1
if ! command -v python3 >/dev/null; then
	skip "/readyz under 1,100 slow connections" "python3 missing"
	exit 0
fi
tap_workdir
# 1,100 client sockets here and as many accepted ones in PID 1.
ulimit -n 4096 2>/dev/null || { skip "/readyz under 1,100 slow connections" "ulimit -n 4096 refused"; exit 0; }
pport=$((20000 + RANDOM % 20000))
env KNEXT_ANNOUNCE=0 KNEXT_PROBE_PORT=$pport PORT=$((pport + 1)) timeout -s KILL 120 \
	unshare --pid --fork --mount-proc "$K" -- sleep 100 2>"$tmp/err" &
u=$!
pids+=("$u")
for _ in $(seq 100); do
	curl -s -m 1 -o /dev/null "http://127.0.0.1:$pport/livez" && break
	sleep 0.05
done
out=$(timeout 100 python3 "$here/readyz_flood.py" "$pport")
read -r p50 p99 max <<<"$out"
# knext-init is the namespace's init: when it goes, so does everything in it.
kill -TERM "$(init_pid "$(init_pid "$u")")" 2>/dev/null
wait "$u"
if [ -n "${p99:-}" ] && awk -v v="$p99" 'BEGIN { exit !(v < 1000) }'; then
	ok "/readyz under 1,100 slow connections: p50 $p50 ms, p99 $p99 ms, max $max ms"
else
	not_ok "/readyz under 1,100 slow connections" "p50=${p50:-?} p99=${p99:-?} max=${max:-?}" "$(tail -5 "$tmp/err")"
fi
done_testing
