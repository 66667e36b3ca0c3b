#!/bin/sh
# The image benchmark: `podman run` → first 200 on / of the app image (knext-init with its baked
# pack) against images of the same base and app started with the official `node server.js`, with
# and without a NODE_COMPILE_CACHE baked at build time; `node server.js` on the host as a
# reference. Interleaved runs, ratios to image:node. Builds what is missing first
# (container/image/build.sh). Results in bench/results/<UTC date>/image/.
# usage: sh bench/images.sh BUILD_DIR [knext-bench options, e.g. --runs 5]
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
case $build in /*) ;; *) build="$top/$build" ;; esac
: "${PODMAN:=$(make -s --no-print-directory -C "$top" print-podman)}"
export PODMAN
# The host's network is shared: no start-up datagram to its gateway (supervisor/announce.h).
export KNEXT_ANNOUNCE=0

sh tests/fixtures/build.sh tests/fixtures/app
sh container/image/build.sh "$build" base app bench-node bench-node-ncc
meson compile -C "$build" bench/knext-bench:executable >/dev/null

out=bench/results/$(date -u +%Y-%m-%d)/image
mkdir -p "$out"
# Leftovers of an interrupted run would hold ports and CPU.
$PODMAN ps -a --format '{{.Names}}' | grep '^knext-bench-' | xargs -r $PODMAN rm -f -t 0 >/dev/null

size() { $PODMAN image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.1f MB", $1 / 1e6 }'; }
"$build/bench/knext-bench" \
	--app small="$top/tests/fixtures/app/.next/standalone" \
	--config node,image:node,image:node+ncc,image:knext \
	--baseline image:node \
	--images bench/container.sh \
	--node "$(command -v node)" \
	--knext "$build/supervisor/knext-init" \
	--runs "${RUNS:-10}" \
	--timeout-ms 120000 \
	--out "$out" \
	--fact "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	--fact "podman=$($PODMAN --version) ($PODMAN)" \
	--fact "image sizes=knext-base $(size localhost/knext-base:dev), knext-app $(size localhost/knext-app:dev), knext-bench-node $(size localhost/knext-bench-node:dev), knext-bench-node-ncc $(size localhost/knext-bench-node-ncc:dev)" \
	--fact "image node=$($PODMAN run --rm --network=none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --entrypoint /usr/local/bin/node localhost/knext-bench-node:dev --version 2>/dev/null || echo '?')" \
	"$@"
echo "bench: results in $out/results.md, results.json, results.svg"
