#!/bin/bash
# Multi-Zones: knext-init as PID 1 (unshare --pid --fork --mount-proc) on the fixture app compares
# KNEXT_BASE_PATH / KNEXT_ASSET_PREFIX with the build's own basePath / assetPrefix
# (.next/required-server-files.json) and refuses to start a build made for another zone, with one
# line, before it is Ready; cache warm's first URL is the basePath + "/".
# Usage: zone.sh KNEXT_INIT FIXTURE_DIR
set -u
K=$(realpath "$1")
SRC=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"

if [ ! -e "$SRC/server.js" ] || [ ! -e "$SRC/.next/required-server-files.json" ]; then
	echo "1..0 # SKIP fixture app not built"
	exit 0
fi

tap_workdir
NS=(env --default-signal unshare --pid --fork --mount-proc)

# zone_app DIR BASEPATH ASSETPREFIX: the fixture, its build's basePath and assetPrefix rewritten
# (every other file a symlink to the fixture's).
zone_app() {
	local dir=$1
	mkdir -p "$dir/.next"
	for f in "$SRC"/* "$SRC"/.[!.]*; do
		[ "$(basename "$f")" = .next ] || ln -s "$f" "$dir/$(basename "$f")"
	done
	for f in "$SRC"/.next/* "$SRC"/.next/.[!.]*; do
		[ -e "$f" ] || continue
		[ "$(basename "$f")" = required-server-files.json ] || ln -s "$f" "$dir/.next/$(basename "$f")"
	done
	node -e 'const fs = require("fs"); const j = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
		j.config.basePath = process.argv[3]; j.config.assetPrefix = process.argv[4];
		fs.writeFileSync(process.argv[2], JSON.stringify(j))' \
		"$SRC/.next/required-server-files.json" "$dir/.next/required-server-files.json" "$2" "$3"
}

# start APP PORT PROBE [ENV...]: knext-init as PID 1 on APP in the background; sets UPID.
start() {
	local app=$1 port=$2 probe=$3
	shift 3
	env "$@" PORT="$port" KNEXT_PROBE_PORT="$probe" KNEXT_APP_DIR="$app" "${NS[@]}" "$K" \
		>"$tmp/out" 2>"$tmp/err" &
	UPID=$!
	pids+=("$UPID")
}

# ready PROBE [TRIES]: /readyz answers 200 (10 ms steps, 60 s: a loaded CI machine is slow).
ready() {
	for _ in $(seq "${2:-6000}"); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz")" = 200 ] && return 0
		sleep 0.01
	done
	return 1
}

# exited PID [TRIES]: PID is gone, its status in WAITED.
exited() {
	for _ in $(seq "${2:-1000}"); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; WAITED=$?; return 0; }
		sleep 0.01
	done
	return 1
}

port() { echo $((20000 + RANDOM % 20000)); }

plan 10

read -r build_base build_asset < <(node -e 'const c = require(process.argv[1]).config;
	console.log(JSON.stringify(c.basePath || ""), JSON.stringify(c.assetPrefix || ""))' \
	"$SRC/.next/required-server-files.json")

# 1-3. The fixture (no basePath) deployed as zone /shop: refused at start, one line, never Ready.
p=$(port) q=$(port)
start "$SRC" "$p" "$q" KNEXT_BASE_PATH=/shop KNEXT_ASSET_PREFIX=
if exited "$UPID" && [ "$WAITED" != 0 ]; then ok "wrong zone: knext-init exits $WAITED"; else
	not_ok "wrong zone: knext-init exits non-zero" "$(tail -5 "$tmp/err")"
fi
lines=$(grep -c 'zone mismatch' "$tmp/err")
if [ "$lines" = 1 ] && grep -q 'KNEXT_BASE_PATH is \\"/shop\\" but the build .* has basePath \\"\\"' "$tmp/err"; then
	ok "one line names both basePaths"
else
	not_ok "one line names both basePaths" "$(cat "$tmp/err")"
fi
if grep -q '"event":"spawn"\|"event":"listening"' "$tmp/err"; then
	not_ok "refused before the app was started" "$(cat "$tmp/err")"
else
	ok "refused before the app was started (never Ready)"
fi

# 4. The same build deployed as what it is (no basePath): starts and becomes Ready.
p=$(port) q=$(port)
start "$SRC" "$p" "$q" KNEXT_BASE_PATH= KNEXT_ASSET_PREFIX=
if ready "$q" && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/")" = 200 ]; then
	ok "matching zone (basePath $build_base) starts and is Ready"
else
	not_ok "matching zone starts and is Ready" "$(tail -5 "$tmp/err")"
fi
kill -TERM "$(pgrep -P "$UPID" | head -1)" 2>/dev/null
exited "$UPID" || kill -KILL "$UPID"

# 5-6. A build made for /shop with its assets on a CDN: the right zone passes the check, an
# assetPrefix that differs is refused.
zone_app "$tmp/shop" /shop https://cdn.example/shop/
p=$(port) q=$(port)
start "$tmp/shop" "$p" "$q" KNEXT_BASE_PATH=/shop KNEXT_ASSET_PREFIX=https://cdn.example/shop
if ready "$q"; then ok "build for /shop runs as zone /shop"; else
	not_ok "build for /shop runs as zone /shop" "$(tail -5 "$tmp/err")"
fi
kill -TERM "$(pgrep -P "$UPID" | head -1)" 2>/dev/null
exited "$UPID" || kill -KILL "$UPID"
p=$(port) q=$(port)
start "$tmp/shop" "$p" "$q" KNEXT_BASE_PATH=/shop KNEXT_ASSET_PREFIX=https://cdn.example/other
if exited "$UPID" && [ "$WAITED" != 0 ] && grep -q 'KNEXT_ASSET_PREFIX is \\"https://cdn.example/other\\"' "$tmp/err"; then
	ok "another assetPrefix is refused"
else
	not_ok "another assetPrefix is refused" "$(tail -5 "$tmp/err")"
fi

# 7. Next.js's default: no assetPrefix means the basePath's.
zone_app "$tmp/blog" /blog ""
p=$(port) q=$(port)
start "$tmp/blog" "$p" "$q" KNEXT_BASE_PATH=/blog KNEXT_ASSET_PREFIX=
if ready "$q"; then ok "build for /blog without assetPrefix runs as zone /blog"; else
	not_ok "build for /blog without assetPrefix runs as zone /blog" "$(tail -5 "$tmp/err")"
fi
kill -TERM "$(pgrep -P "$UPID" | head -1)" 2>/dev/null
exited "$UPID" || kill -KILL "$UPID"

# 8. Outside a zone (neither variable set) nothing is compared.
p=$(port) q=$(port)
start "$tmp/shop" "$p" "$q"
if ready "$q"; then ok "no zone variables: no check"; else
	not_ok "no zone variables: no check" "$(tail -5 "$tmp/err")"
fi
kill -TERM "$(pgrep -P "$UPID" | head -1)" 2>/dev/null
exited "$UPID" || kill -KILL "$UPID"

# 9. cache warm's first URL is the build's basePath + "/" (this build answers on /, as its
# server.js is the fixture's, so waiting for /blog/ times out, and says so).
out=$("$K" cache warm --app "$tmp/blog" -o "$tmp/blog-pack/cache.pack" --timeout-ms 3000 2>&1)
if printf '%s' "$out" | grep -q 'did not answer 200 on /blog/'; then
	ok "cache warm waits for basePath + /"
else
	not_ok "cache warm waits for basePath + /" "$out"
fi

# 10. cache warm refuses a build made for another zone, at once.
out=$(env KNEXT_BASE_PATH=/shop "$K" cache warm --app "$tmp/blog" -o "$tmp/blog-pack/cache.pack" \
	--timeout-ms 3000 2>&1)
code=$?
if [ "$code" = 1 ] && printf '%s' "$out" | grep -q 'zone mismatch: KNEXT_BASE_PATH is "/shop"'; then
	ok "cache warm refuses another zone's build"
else
	not_ok "cache warm refuses another zone's build" "exit $code: $out"
fi

done_testing
