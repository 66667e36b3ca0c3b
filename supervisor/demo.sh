#!/bin/sh
# `make demo`: run the example Next.js app under knext-init as PID 1 of a new PID namespace,
# print its URL and the cold-start phases, fetch the pages once, and keep serving until Ctrl-C.
set -eu
build=$1
app=$(cd "$2" && pwd)
port=$3
knext="$build/supervisor/knext-init"
log=$(mktemp)

# With stdin not a terminal (e.g. under CI), stop after showing the phases.
PORT=$port KNEXT_APP_DIR="$app" unshare --pid --fork --mount-proc "$knext" 2>"$log" &
ns=$!
trap 'kill -TERM $ns 2>/dev/null; wait $ns 2>/dev/null; rm -f "$log"' EXIT INT TERM

i=0
until curl -fs -o /dev/null "http://127.0.0.1:$port/"; do
	i=$((i + 1))
	if [ $i -gt 600 ] || ! kill -0 $ns 2>/dev/null; then
		echo "demo: the app did not answer on port $port" >&2
		cat "$log" >&2
		exit 1
	fi
	sleep 0.02
done

echo
echo "knext-init is serving the example app at http://127.0.0.1:$port/"
echo
echo "Cold-start phases (ms since knext-init's exec):"
grep '^{"ts_ms"' "$log" | sed -n 's/^{"ts_ms":\([0-9.]*\),"level":"[a-z]*","event":"\([a-z_]*\)".*/  \2 \1/p' |
	awk '{ printf "  %-16s %9.1f\n", $1, $2 }'
echo
for path in / /dynamic?name=demo /api/health; do
	printf '  GET %-22s -> %s\n' "$path" "$(curl -s -o /dev/null -w '%{http_code} in %{time_total}s' "http://127.0.0.1:$port$path")"
done
echo
if [ -t 0 ]; then
	echo "Press Ctrl-C to stop (SIGTERM goes to knext-init, which drains the app)."
	wait $ns || true
fi
