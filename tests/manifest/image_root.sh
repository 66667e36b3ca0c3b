#!/bin/sh
# Proves the base image's contents without a container engine: the packages of
# container/image/runtime-packages.txt are fetched (apt-get download) and unpacked (dpkg -x) into
# a root (cached under WORKDIR), knext-init, knext-node and the fixture app's standalone build
# are copied in, and knext-init runs there as PID 1 of a new PID namespace, chrooted, as uid 10001,
# with the root bind-mounted read-only and tmpfs where the pod has emptyDirs, in a network
# namespace of its own. A missing library or JS file fails a test. Prints TAP.
# usage: image_root.sh WORKDIR KNEXT_INIT KNEXT_NODE
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=${1:?usage: image_root.sh WORKDIR KNEXT_INIT KNEXT_NODE}
init=${2:-}
helper=${3:-}
app="$top/tests/fixtures/app/.next/standalone"
list_file="$top/container/image/runtime-packages.txt"
uid=10001
port=8080
plan=8

echo "1..$plan"
skip_all() {
	i=1
	while [ $i -le $plan ]; do
		echo "ok $i - image root # SKIP $1"
		i=$((i + 1))
	done
	exit 0
}
n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for f in "$@"; do [ -s "$f" ] && tail -25 "$f" | sed 's/^/# /'; done
}

[ "$(id -u)" = 0 ] || skip_all "needs root (unshare, chroot, mounts)"
for t in unshare chroot setpriv curl ip dpkg apt-get; do
	command -v $t >/dev/null || skip_all "$t not installed"
done
{ [ -x "$init" ] && [ -x "$helper" ]; } || skip_all "knext-init and knext-node are not built"
[ -f "$app/server.js" ] || skip_all "fixture app not built (make fixture)"

mkdir -p "$work"
work=$(cd "$work" && pwd)
root="$work/root"
debs="$work/debs"
packages=$(sed 's/#.*//' "$list_file" | xargs)
want=$(echo "$packages" | md5sum | cut -d' ' -f1)

# 1. The packages, unpacked. Cached: a second run only copies the binaries and the app again.
if [ "$(cat "$work/root.stamp" 2>/dev/null)" != "$want" ]; then
	rm -rf "$root" "$debs"
	mkdir -p "$debs" "$root"
	# shellcheck disable=SC2086
	if ! (cd "$debs" && apt-get download -qq $packages) >"$work/apt.log" 2>&1; then
		# shellcheck disable=SC2086
		(apt-get update -qq && cd "$debs" && apt-get download -qq $packages) \
			>"$work/apt.log" 2>&1 ||
			skip_all "apt-get download failed: $(tail -1 "$work/apt.log")"
	fi
	for d in "$debs"/*.deb; do dpkg -x "$d" "$root" || skip_all "dpkg -x $d failed"; done
	# What the Containerfile adds: the user, the app and cache directories, mount points.
	mkdir -p "$root/etc" "$root/tmp" "$root/proc" "$root/dev" "$root/app" \
		"$root/usr/local/bin" "$root/var/cache/knext"
	chmod 1777 "$root/tmp"
	printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nknext:x:%s:%s::/tmp:/usr/sbin/nologin\n' \
		$uid $uid >"$root/etc/passwd"
	printf 'root:x:0:\nknext:x:%s:\n' $uid >"$root/etc/group"
	for d in null zero random urandom; do : >"$root/dev/$d"; done
	echo "$want" >"$work/root.stamp"
fi
count=$(ls "$debs"/*.deb 2>/dev/null | wc -l)
if [ "$count" -eq "$(echo "$packages" | wc -w)" ]; then
	ok "runtime-packages.txt unpacked into an image root ($count packages)"
else
	not_ok "runtime-packages.txt unpacked into an image root ($count packages)" "$work/apt.log"
fi

rm -rf "$root/app" "$root/usr/local/bin/knext-init" "$root/usr/local/bin/knext-node" \
	"$root/usr/local/bin/libknext-node.so"
cp "$init" "$helper" "$root/usr/local/bin/"
# The official runtime's knext-node loads its shim library from beside itself.
shim="$(dirname "$helper")/libknext-node.so"
[ -e "$shim" ] && cp "$shim" "$root/usr/local/bin/"
cp -a "$app" "$root/app"
mkdir -p "$root/app/.next/cache"

# 2. The dynamic loader inside the root finds every library of both binaries.
: >"$work/ldd.log"
lib_ok=1
for b in knext-init knext-node; do
	if ! chroot "$root" /lib64/ld-linux-x86-64.so.2 --list "/usr/local/bin/$b" \
		>>"$work/ldd.log" 2>&1 || grep -q "not found" "$work/ldd.log"; then
		lib_ok=0
	fi
done
[ $lib_ok = 1 ] && ok "every shared library of knext-init and knext-node is in the root" ||
	not_ok "every shared library of knext-init and knext-node is in the root" "$work/ldd.log"

# 3. libnode's externalized JS builtins are where it reads them.
missing=""
for f in acorn/dist/acorn.js acorn-walk/dist/walk.js cjs-module-lexer/lexer.js \
	cjs-module-lexer/dist/lexer.js undici/undici-fetch.js; do
	[ -f "$root/usr/share/nodejs/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && ok "libnode's JS builtins are under /usr/share/nodejs" ||
	{ echo "missing:$missing" >"$work/js.log"; not_ok "libnode's JS builtins are under /usr/share/nodejs" "$work/js.log"; }

# 4-8. Run it. inner.sh runs in new mount and network namespaces and prints the remaining TAP.
cat >"$work/inner.sh" <<'INNER'
set -u
root=$1 uid=$2 port=$3 log=$4 first=$5
n=$((first - 1))
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; [ -s "$log" ] && tail -25 "$log" | sed 's/^/# /'; }
mount --make-rprivate /
mount --bind "$root" "$root"
for d in null zero random urandom; do mount --bind "/dev/$d" "$root/dev/$d"; done
mount -o remount,bind,ro "$root"
# The pod's emptyDirs (scratch, Next's cache).
mount -t tmpfs -o size=64m,mode=1777 tmpfs "$root/tmp"
mount -t tmpfs -o size=64m,uid="$uid",gid="$uid" tmpfs "$root/app/.next/cache"
ip link set lo up

as_user() { setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"; }
if ! as_user touch "$root/app/written" 2>/dev/null && ! as_user touch "$root/usr/written" 2>/dev/null &&
	as_user touch "$root/tmp/written" 2>/dev/null; then
	ok "root is read-only for uid $uid, /tmp is writable"
else
	not_ok "root is read-only for uid $uid, /tmp is writable"
fi

start=$(date +%s%N)
# The environment a pod gives it: no host variables, PATH inside the image.
env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp PORT="$port" KNEXT_APP_DIR=/app \
	NEXT_TELEMETRY_DISABLED=1 \
	"$(command -v unshare)" --pid --fork --mount-proc="$root/proc" \
	"$(command -v chroot)" --userspec="$uid:$uid" "$root" /usr/local/bin/knext-init \
	>"$log" 2>&1 &
ns=$!
trap 'kill -KILL $ns 2>/dev/null' EXIT INT TERM
code=000
i=0
while [ $i -lt 600 ] && kill -0 $ns 2>/dev/null; do
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/")
	[ "$code" = 200 ] && break
	sleep 0.1
	i=$((i + 1))
done
ms=$((($(date +%s%N) - start) / 1000000))
[ "$code" = 200 ] && ok "the fixture app answers 200 on / from the image root (${ms} ms)" ||
	not_ok "the fixture app answers 200 on / from the image root (last status $code)"

pid1=$(pgrep -P $ns | head -1)
puid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid1/status" 2>/dev/null)
pname=$(cat "/proc/$pid1/comm" 2>/dev/null)
[ "$pname" = knext-init ] && [ "$puid" = "$uid" ] &&
	ok "PID 1 of the namespace is knext-init running as uid $uid" ||
	not_ok "PID 1 of the namespace is knext-init running as uid $uid (got ${pname:-?} uid ${puid:-?})"

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/api/health")
[ "$code" = 200 ] && ok "a second route answers 200 (/api/health)" ||
	not_ok "a second route answers 200 (/api/health, got $code)"

kill -TERM "$pid1" 2>/dev/null
i=0
while kill -0 $ns 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $ns 2>/dev/null; then
	not_ok "SIGTERM: knext-init drains and exits 0 (still running after 15 s)"
else
	wait $ns
	rc=$?
	[ $rc = 0 ] && ok "SIGTERM: knext-init drains and exits 0" ||
		not_ok "SIGTERM: knext-init drains and exits 0 (exit $rc)"
fi
INNER
unshare --mount --net --fork sh "$work/inner.sh" "$root" $uid $port "$work/knext-init.log" \
	$((n + 1)) >"$work/inner.tap" 2>"$work/inner.err"
cat "$work/inner.tap"
got=$(grep -c '^\(not \)\?ok ' "$work/inner.tap")
failed=$((failed + $(grep -c '^not ok ' "$work/inner.tap")))
n=$((n + got))
while [ $n -lt $plan ]; do
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - image root run did not report this step"
	sed 's/^/# /' "$work/inner.err" | tail -10
done
[ $failed = 0 ]
