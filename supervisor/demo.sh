#!/bin/sh
# `make demo`: run the example Next.js app under knext-init as PID 1 of a new PID namespace,
# print its URL and the cold-start phases, fetch the pages once, and keep serving until Ctrl-C.
set -eu
build=$1
src=$(cd "$2" && pwd)
port=$3
# A copy of the standalone output, so the baked pack stays out of the test fixture.
app="$(cd "$build" && pwd)/demo-app"
if [ ! -e "$app/server.js" ] || [ "$src/server.js" -nt "$app/server.js" ]; then
	rm -rf "$app"
	cp -a "$src" "$app"
fi
knext="$build/supervisor/knext-init"
log=$(mktemp)

# The pack an image build would bake (knext-init cache warm), made once.
if [ ! -e "$app/.knext/cache.pack" ]; then
	echo "demo: baking the compile-cache pack (knext-init cache warm)..."
	"$knext" cache warm --app "$app" -o "$app/.knext/cache.pack" --url / --url /dynamic \
		--url /api/health 2>/dev/null | sed 's/^/  /'
fi

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
grep -E '"event":"(exec|spawn|prefetch_done|libnode_loaded|server_start|listening|first_request)"' "$log" |
	sed -n 's/^{"ts_ms":\([0-9.]*\),"level":"[a-z]*","event":"\([a-z_]*\)".*/  \2 \1/p' |
	awk '{ printf "  %-16s %9.1f\n", $1, $2 }'
grep '"event":"cache","hit"' "$log" | tail -1 |
	sed 's/.*"hit":\([0-9]*\),"miss":\([0-9]*\),"rejected":\([0-9]*\).*/  compile cache: \1 modules from the pack, \2 compiled from source, \3 rejected/'
grep '"event":"prefetch_done"' "$log" | sed 's/.*"origin":"\([a-z]*\)".*"ms":\([0-9.]*\),"io":"\([a-z_]*\)".*/  pack: \1, read and decompressed in \2 ms (\3)/'
echo
for path in / /dynamic?name=demo /api/health; do
	printf '  GET %-22s -> %s\n' "$path" "$(curl -s -o /dev/null -w '%{http_code} in %{time_total}s' "http://127.0.0.1:$port$path")"
done
echo
if [ -t 0 ]; then
	echo "Press Ctrl-C to stop (SIGTERM goes to knext-init, which drains the app)."
	wait $ns || true
fi
