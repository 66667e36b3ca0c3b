#!/bin/bash
# PID 1's memory while it serves, and /readyz under a flood of slow clients: a measuring tool,
# not a test. For each configuration (the app's baked pack, no pack) it starts the real
# knext-init as PID 1 of a new PID namespace on a Next.js standalone app, probes on, and prints
# PID 1's VmRSS and RssAnon (kB) right after the first 200, then after REQUESTS requests to the
# app and as many to /readyz (keep-alive clients), then /readyz p50/p99 (ms) of 200 fresh
# connections while 1,100 slow connections stay open (tests/probes/readyz_flood.py). Run it as
# root (unshare), alone on the machine; each configuration runs RUNS times and the medians are
# printed.
# Usage: pid1_mem.sh KNEXT_INIT APP_DIR [RUNS] [REQUESTS]
set -u
K=$(realpath "$1")
APP=$(realpath "$2")
RUNS=${3:-3}
REQUESTS=${4:-20000}
top=$(cd "$(dirname "$0")/.." && pwd)
unset NODE_EXTRA_CA_CERTS
ulimit -n 4096

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# requests PORT PATH N: N GETs over 4 keep-alive connections.
requests() {
	python3 - "$1" "$2" "$3" <<'PY'
import http.client, sys, threading
port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
failed = []
def run(k):
    c = None
    done = misses = 0
    while done < k:
        try:
            if c is None:
                c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
            c.request('GET', path)
            c.getresponse().read()
            done += 1
            misses = 0
        except (OSError, http.client.HTTPException) as e:
            # The probe server closes a keep-alive connection after a while: a new one. A server
            # that stopped answering ends the run.
            c = None
            misses += 1
            if misses == 10:
                failed.append(f'{path}: 10 failures in a row ({e})')
                return
ts = [threading.Thread(target=run, args=(n // 4,)) for _ in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
if failed:
    sys.exit(failed[0])
PY
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

one_run() {
	local pack=$1 port=$((20000 + RANDOM % 20000)) pport=$((40000 + RANDOM % 10000))
	local dir="$APP"
	# No pack: a copy of the app without its baked one.
	if [ "$pack" = none ]; then
		dir=$(mktemp -d)
		cp -a "$APP/." "$dir/"
		rm -rf "$dir/.knext"
	fi
	env KNEXT_ANNOUNCE=0 KNEXT_PROBE_PORT=$pport PORT=$port KNEXT_APP_DIR="$dir" \
		KNEXT_CACHE_DIR=/nonexistent unshare --pid --fork --mount-proc "$K" >/dev/null 2>&1 &
	local u=$!
	for _ in $(seq 600); do
		curl -s -m 1 -o /dev/null "http://127.0.0.1:$port/" && break
		sleep 0.1
	done
	sleep 1
	local pid1
	pid1=$(pgrep -P "$u" | head -1)
	local rss0 anon0 rss1 anon1 p50 p99
	rss0=$(status_kb "$pid1" VmRSS)
	anon0=$(status_kb "$pid1" RssAnon)
	if ! requests "$port" / "$REQUESTS" || ! requests "$pport" /readyz "$REQUESTS"; then
		kill -TERM "$pid1"
		wait "$u"
		[ "$dir" != "$APP" ] && rm -rf "$dir"
		echo "pid1_mem: the server stopped answering; this run is left out" >&2
		return 1
	fi
	rss1=$(status_kb "$pid1" VmRSS)
	anon1=$(status_kb "$pid1" RssAnon)
	read -r p50 p99 _ < <(python3 "$top/tests/probes/readyz_flood.py" "$pport")
	kill -TERM "$pid1"
	wait "$u"
	[ "$dir" != "$APP" ] && rm -rf "$dir"
	echo "$rss0 $anon0 $rss1 $anon1 $p50 $p99"
}

printf '%-6s %10s %10s %12s %12s %10s %10s\n' pack rss_start anon_start rss_served anon_served \
	readyz_p50 readyz_p99
declare -A res
for r in $(seq "$RUNS"); do
	# Interleaved: one run of each configuration per round.
	for pack in image none; do
		res[$pack]+="$(one_run "$pack")"$'\n'
	done
done
for pack in image none; do
	cols=()
	for c in 1 2 3 4 5 6; do
		cols+=("$(printf '%s' "${res[$pack]}" | awk -v c=$c 'NF { print $c }' | median)")
	done
	printf '%-6s %10s %10s %12s %12s %10s %10s\n' "$pack" "${cols[@]}"
done
