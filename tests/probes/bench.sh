#!/bin/sh
# bench.sh BUILD_DIR [RUNS] [SECONDS]: load figures for the probe server (CONNS=10 connections by
# default: latency is concurrency / throughput, so many connections cannot show a sub-ms p99).
# Hosts it on one thread
# pinned to CPU 0 (probe-host, state "ready"), runs wrk pinned to CPU 1 against /readyz over
# loopback, RUNS times; prints requests/s and p99 per run, their medians, and the host's RSS
# before the first and after the last run.
set -eu
build=${1:?usage: bench.sh BUILD_DIR [RUNS] [SECONDS]}
runs=${2:-5}
secs=${3:-10}
conns=${CONNS:-10}
host="$build/tests/probes/probe-host"
command -v wrk >/dev/null || { echo "bench.sh: wrk not installed"; exit 1; }
out=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; rm -rf "$out"' EXIT

taskset -c 0 "$host" >"$out/host" &
pid=$!
while ! grep -q '^port ' "$out/host" 2>/dev/null; do sleep 0.05; done
port=$(sed -n 's/^port //p' "$out/host")
rss0=$(sed -n 's/^rss_kb //p' "$out/host" | head -1)
# One short warm-up so first-touch of the connection slots is not counted as growth.
taskset -c 1 wrk -t1 -c"$conns" -d1s "http://127.0.0.1:$port/readyz" >/dev/null
kill -USR1 "$pid"
sleep 0.2
rss1=$(sed -n 's/^rss_kb //p' "$out/host" | tail -1)

i=0
while [ "$i" -lt "$runs" ]; do
	i=$((i + 1))
	taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/readyz" >"$out/wrk$i"
	rps=$(sed -n 's/^Requests\/sec: *//p' "$out/wrk$i")
	p99=$(awk '$1 == "99%" { print $2 }' "$out/wrk$i")
	echo "run $i: $rps req/s, p99 $p99"
	echo "$rps" >>"$out/rps"
	echo "$p99" | awk '/us$/ { sub("us", ""); print $0 / 1000; next }
		/ms$/ { sub("ms", ""); print $0 + 0; next } { sub("s", ""); print $0 * 1000 }' >>"$out/p99"
done
kill -USR1 "$pid"
sleep 0.2
rss2=$(sed -n 's/^rss_kb //p' "$out/host" | tail -1)
med() { sort -n "$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "median of $runs runs: $(med "$out/rps") req/s, p99 $(med "$out/p99") ms"
echo "probe-host RSS: ${rss0} kB at start, ${rss1} kB after warm-up, ${rss2} kB after the runs" \
	"(growth under load: $((rss2 - rss1)) kB, since start: $((rss2 - rss0)) kB)"
