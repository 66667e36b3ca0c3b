#!/bin/sh
# bench.sh BUILD_DIR [RUNS] [SECONDS]: load figures for the probe server. Hosts it on one thread
# pinned to CPU 0 (probe-host, state "ready") and runs wrk pinned to CPU 1 against /readyz over
# loopback, RUNS times. When node is installed, the same wrk runs against a Node http server
# answering /readyz (readyz-baseline.js, also on CPU 0) interleaved with ours, as the baseline.
# Prints req/s and latency percentiles per run, medians, and the probe host's RSS growth.
#   CONNS=10  wrk connections (latency is concurrency / throughput: many connections cannot show
#             a sub-ms p99)
#   PRIO=1    host, baseline and wrk at nice -20 (root), against the neighbours' load
set -eu
build=${1:?usage: bench.sh BUILD_DIR [RUNS] [SECONDS]}
runs=${2:-5}
secs=${3:-10}
conns=${CONNS:-10}
here=$(cd "$(dirname "$0")" && pwd)
host="$build/tests/probes/probe-host"
prio=""
[ "${PRIO:-0}" = 1 ] && prio="nice -n -20"
command -v wrk >/dev/null || { echo "bench.sh: wrk not installed"; exit 1; }
out=$(mktemp -d)
hpid=""
npid=""
trap '[ -n "$hpid" ] && kill "$hpid"; [ -n "$npid" ] && kill "$npid"; rm -rf "$out"' EXIT

wait_port() {
	while ! grep -q '^port ' "$1" 2>/dev/null; do sleep 0.05; done
	sed -n 's/^port //p' "$1"
}

$prio taskset -c 0 "$host" >"$out/host" &
hpid=$!
hport=$(wait_port "$out/host")
nport=""
if command -v node >/dev/null; then
	$prio taskset -c 0 node "$here/readyz-baseline.js" 0 >"$out/node" &
	npid=$!
	nport=$(wait_port "$out/node")
fi
rss0=$(sed -n 's/^rss_kb //p' "$out/host" | head -1)
# A short warm-up each, so first-touch of connection slots is not counted as growth.
for p in $hport $nport; do
	taskset -c 1 wrk -t1 -c"$conns" -d1s "http://127.0.0.1:$p/readyz" >/dev/null
done
kill -USR1 "$hpid"
sleep 0.2
rss1=$(sed -n 's/^rss_kb //p' "$out/host" | tail -1)

# one NAME PORT RUN: a wrk run; appends req/s and p50/p90/p99 in ms to $out/NAME.*
one() {
	f="$out/wrk-$1-$3"
	$prio taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$2/readyz" >"$f"
	rps=$(sed -n 's/^Requests\/sec: *//p' "$f")
	echo "$rps" >>"$out/$1.rps"
	line="$1 run $3: $rps req/s"
	for q in 50 90 99; do
		v=$(awk -v q="$q%" '$1 == q { print $2 }' "$f")
		echo "$v" | awk '/us$/ { sub("us", ""); print $0 / 1000; next }
			/ms$/ { sub("ms", ""); print $0 + 0; next } { sub("s", ""); print $0 * 1000 }' \
			>>"$out/$1.p$q"
		line="$line, p$q $v"
	done
	echo "$line"
}

i=0
while [ "$i" -lt "$runs" ]; do
	i=$((i + 1))
	one probes "$hport" "$i"
	[ -n "$nport" ] && one node "$nport" "$i"
done
kill -USR1 "$hpid"
sleep 0.2
rss2=$(sed -n 's/^rss_kb //p' "$out/host" | tail -1)
turns2=$(grep '^turns ' "$out/host" | tail -1)

med() { sort -n "$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for s in probes node; do
	[ -e "$out/$s.rps" ] || continue
	echo "median of $runs, $s: $(med "$out/$s.rps") req/s, p50 $(med "$out/$s.p50") ms," \
		"p90 $(med "$out/$s.p90") ms, p99 $(med "$out/$s.p99") ms"
done
echo "probe-host RSS: ${rss0} kB at start, ${rss1} kB after warm-up, ${rss2} kB after the runs" \
	"(growth under load: $((rss2 - rss1)) kB, since start: $((rss2 - rss0)) kB)"
echo "probe-host loop turns, CPU per turn in us (warm-up included): $turns2"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
