#!/bin/bash
# The real images, run as Knative runs them: `make image`'s build (container/image/build.sh,
# layers cached between runs), then localhost/knext-app:dev with a read-only root, uid 10001, a
# tmpfs /tmp and the emptyDirs the manifest mounts, PORT and KNEXT_PROBE_PORT, on the host's
# loopback; the same with a volume at the PVC path and write-back on; and
# localhost/knext-operator:dev against the fake API server (operator_image.c). Containers are
# removed on every exit path; the images stay, as a build directory does.
# usage: image.sh BUILD_DIR OPERATOR_DRIVER
set -u
build=$(realpath "${1:?usage: image.sh BUILD_DIR OPERATOR_DRIVER}")
driver=$(realpath "${2:?usage: image.sh BUILD_DIR OPERATOR_DRIVER}")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/../tap.sh"

: "${PODMAN:=$(make -s --no-print-directory -C "$top" print-podman)}"
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
# Ports unlikely to be taken by anything else on the machine (other suites use the defaults and
# ephemeral ports); the PVC run uses the next pair.
port=18617
probe=18618
app=localhost/knext-app:dev
name=knext-image-test-$$
# What a pod's container gets from Knative and the rendered Service (container/manifest).
# emptyDirs are world-writable directories.
knative=(--network=host --read-only --user 10001:10001 --tmpfs /tmp:mode=1777
	--tmpfs /app/.next/cache:mode=0777 "${limits[@]}")

plan 20
tap_workdir
cleanup() {
	for c in "$name-app" "$name-ref" "$name-pvc" "$name-pvc2" "$name-operator"; do
		$PODMAN rm -f -t 0 "$c" >/dev/null 2>&1
	done
	_tap_cleanup
}
trap cleanup EXIT INT TERM

skip_all() {
	while [ "$_tap_n" -lt 20 ]; do skip "image" "$1"; done
	exit 0
}
# fail_all NAME DIAGNOSTIC: NAME fails with DIAGNOSTIC, every test after it fails for it.
fail_all() {
	not_ok "$1" "$2"
	while [ "$_tap_n" -lt 20 ]; do not_ok "not run: $1 failed"; done
	exit 1
}

# 1. The images. A build that fails fails the test, unless podman cannot run here at all.
if ! sh "$top/container/image/build.sh" "$build" base app operator >"$tmp/build.log" 2>&1; then
	command -v podman >/dev/null || skip_all "podman is not installed and could not be"
	$PODMAN info >"$tmp/info.log" 2>&1 || skip_all "podman cannot run here: $(tail -1 "$tmp/info.log")"
	fail_all "make image builds knext-base, knext-app and knext-operator" "$(tail -30 "$tmp/build.log")"
fi
ok "make image builds knext-base, knext-app and knext-operator"
for t in base app operator; do
	echo "# localhost/knext-$t:dev: $($PODMAN image inspect --format '{{.Size}}' localhost/knext-$t:dev) bytes"
done

# 2. The final stages carry no compiler, headers or static libraries; the operator no Node.
# shellcheck disable=SC2016
found=$($PODMAN run --rm --network=none "${limits[@]}" --entrypoint /bin/sh $app -c '
	for p in gcc cc c++ g++ clang ld as make; do command -v $p; done
	ls -d /usr/include/* /usr/lib/gcc /usr/lib/x86_64-linux-gnu/*.a 2>/dev/null' 2>&1)
# shellcheck disable=SC2016
found_op=$($PODMAN run --rm --network=none "${limits[@]}" --entrypoint /bin/sh \
	localhost/knext-operator:dev -c '
	for p in gcc cc g++ node knext-init knext-node; do command -v $p; done
	ls -d /usr/lib/x86_64-linux-gnu/libnode* /usr/include/* 2>/dev/null; id -u' 2>&1)
if [ -z "$found" ] && [ "$found_op" = 65532 ]; then
	ok "no compilers or headers in the images; the operator's has no Node and runs as uid 65532"
else
	not_ok "no compilers or headers in the images; the operator's has no Node and runs as uid 65532" \
		"app image: $found" "operator image: $found_op"
fi

# wait_200 PORT PATH: until PATH answers 200 (60 s at most: a cold container on a busy machine).
wait_200() {
	local code=000
	for _ in $(seq 600); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$1$2")
		[ "$code" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}

# get PORT PATH: the status of one request.
get() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$1$2"; }

# stop_timed CONTAINER: `podman stop -t 10`; sets STOP_MS and STOP_CODE (the container's exit).
stop_timed() {
	local t0
	t0=$(date +%s%N)
	$PODMAN stop -t 10 "$1" >/dev/null 2>&1
	STOP_MS=$((($(date +%s%N) - t0) / 1000000))
	STOP_CODE=$($PODMAN inspect --format '{{.State.ExitCode}}' "$1" 2>/dev/null)
}

# 3-10. The app image as Knative runs it.
$PODMAN run -d --name "$name-app" "${knative[@]}" -e PORT=$port -e KNEXT_PROBE_PORT=$probe \
	-e KNEXT_ANNOUNCE=0 -e K_SERVICE=app -e K_REVISION=app-00001 -e K_CONFIGURATION=app $app >"$tmp/run.log" 2>&1 ||
	fail_all "knext-app:dev starts read-only as uid 10001" "$(cat "$tmp/run.log")"
if wait_200 $port /; then
	ok "/ answers 200 (read-only root, uid 10001, tmpfs /tmp, host loopback)"
else
	not_ok "/ answers 200" "$($PODMAN logs "$name-app" 2>&1 | tail -20)"
fi
for path in /dynamic /api/health; do
	code=$(get $port $path)
	[ "$code" = 200 ] && ok "$path answers 200" || not_ok "$path answers 200 (got $code)"
done
code=$(get $probe /readyz)
[ "$code" = 200 ] && ok "/readyz answers 200 on KNEXT_PROBE_PORT" ||
	not_ok "/readyz answers 200 on KNEXT_PROBE_PORT (got $code)"

hostpid=$($PODMAN inspect --format '{{.State.Pid}}' "$name-app")
comm=$(cat "/proc/$hostpid/comm" 2>/dev/null)
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$hostpid/status" 2>/dev/null)
inside=$($PODMAN exec "$name-app" cat /proc/1/comm 2>&1)
[ "$comm" = knext-init ] && [ "$inside" = knext-init ] && [ "$uid" = 10001 ] &&
	ok "PID 1 in the container is knext-init, uid 10001" ||
	not_ok "PID 1 in the container is knext-init, uid 10001" "host: $comm uid $uid; inside: $inside"

$PODMAN logs "$name-app" >"$tmp/app.log" 2>&1
hits=$(sed -n 's/.*"event":"cache","hit":\([0-9]*\).*/\1/p' "$tmp/app.log" | tail -1)
if grep -q '"event":"prefetch_done","origin":"image"' "$tmp/app.log" &&
	grep -q '"event":"snapshot","result":"restored"' "$tmp/app.log" && [ "${hits:-0}" -gt 0 ]; then
	ok "the baked pack was used: restored from its startup snapshot, $hits modules from its code cache"
else
	not_ok "the baked pack was used (snapshot restored, hits: ${hits:-none})" \
		"$(grep -E 'cache|prefetch|snapshot' "$tmp/app.log")"
fi

# podman diff lists what changed in the container's root (mounts are not part of it). podman
# itself touches /etc (its mount points): a container that only runs /bin/true is the reference.
$PODMAN diff "$name-app" >"$tmp/diff" 2>&1
$PODMAN run --name "$name-ref" "${knative[@]}" --entrypoint /bin/true $app >/dev/null 2>&1
$PODMAN diff "$name-ref" >"$tmp/diff.ref" 2>&1
$PODMAN rm -f "$name-ref" >/dev/null 2>&1
if cmp -s "$tmp/diff" "$tmp/diff.ref" && ! grep -q "Error" "$tmp/diff"; then
	ok "nothing written outside /tmp and the emptyDirs (podman diff as for /bin/true: $(tr '\n' ' ' <"$tmp/diff"))"
else
	not_ok "nothing written outside /tmp and the emptyDirs" "$(diff "$tmp/diff.ref" "$tmp/diff" | head -20)"
fi

stop_timed "$name-app"
if { [ "$STOP_CODE" = 0 ] || [ "$STOP_CODE" = 143 ]; } && [ "$STOP_MS" -lt 5000 ]; then
	ok "podman stop -t 10 ends it with exit $STOP_CODE in $STOP_MS ms"
else
	not_ok "podman stop -t 10 ends it with exit 0 or 143 well inside 10 s (exit $STOP_CODE, $STOP_MS ms)" \
		"$($PODMAN logs "$name-app" 2>&1 | tail -15)"
fi
$PODMAN rm -f "$name-app" >/dev/null 2>&1

# 11-15. A volume at the PVC path with write-back on, the variables as the rendered Service sets
# them (container/manifest): a fresh, valid pack lands there, and the next pod starts from it.
pvc=$tmp/pvc
mkdir -p "$pvc"
chown 10001:10001 "$pvc"
pvc_run=("${knative[@]}" -v "$pvc:/var/cache/knext" -e PORT=$((port + 10))
	-e KNEXT_PROBE_PORT=$((probe + 10)) -e KNEXT_ANNOUNCE=0
	-e KNEXT_CACHE_DIR=/var/cache/knext -e KNEXT_CACHE_WRITEBACK=1)
t0=$(date +%s)
$PODMAN run -d --name "$name-pvc" "${pvc_run[@]}" $app >"$tmp/run.log" 2>&1
if wait_200 $((port + 10)) / && [ "$(get $((port + 10)) /dynamic)" = 200 ]; then
	ok "with a volume at /var/cache/knext and write-back on, / and /dynamic answer 200"
else
	not_ok "with a volume at /var/cache/knext and write-back on, / and /dynamic answer 200" \
		"$(cat "$tmp/run.log")" "$($PODMAN logs "$name-pvc" 2>&1 | tail -20)"
fi
stop_timed "$name-pvc"
$PODMAN logs "$name-pvc" >"$tmp/pvc.log" 2>&1
{ [ "$STOP_CODE" = 0 ] || [ "$STOP_CODE" = 143 ]; } && [ "$STOP_MS" -lt 10000 ] &&
	ok "with write-back, podman stop -t 10 still ends it inside 10 s (exit $STOP_CODE, $STOP_MS ms)" ||
	not_ok "with write-back, podman stop -t 10 ends it inside 10 s (exit $STOP_CODE, $STOP_MS ms)" \
		"$(tail -15 "$tmp/pvc.log")"
mtime=$(stat -c %Y "$pvc/cache.pack" 2>/dev/null || echo 0)
if [ "$mtime" -ge "$t0" ] && $PODMAN run --rm --network=none "${limits[@]}" --read-only \
	-v "$pvc:/var/cache/knext:ro" --entrypoint /usr/local/bin/knext-init $app \
	cache verify /var/cache/knext/cache.pack >"$tmp/verify.log" 2>&1; then
	ok "a fresh pack landed on the volume and verifies ($(stat -c %s "$pvc/cache.pack") bytes)"
else
	not_ok "a fresh pack landed on the volume and verifies" "$(ls -la "$pvc")" \
		"$(cat "$tmp/verify.log" 2>/dev/null)" "$(tail -15 "$tmp/pvc.log")"
fi
left=$(find "$pvc" -mindepth 1 ! -name cache.pack ! -name '*.lock' | head -5)
[ -z "$left" ] && ok "no temporary file left beside it" || not_ok "no temporary file left beside it" "$left"
$PODMAN rm -f "$name-pvc" >/dev/null 2>&1

$PODMAN run -d --name "$name-pvc2" "${pvc_run[@]}" $app >"$tmp/run.log" 2>&1
wait_200 $((port + 10)) /
$PODMAN logs "$name-pvc2" >"$tmp/pvc2.log" 2>&1
hits=$(sed -n 's/.*"event":"cache","hit":\([0-9]*\).*/\1/p' "$tmp/pvc2.log" | tail -1)
grep -q '"event":"prefetch_done","origin":"pvc"' "$tmp/pvc2.log" && [ "${hits:-0}" -gt 0 ] &&
	grep -q '"event":"snapshot","result":"restored"' "$tmp/pvc2.log" &&
	ok "the next pod starts from the volume's pack (its snapshot, $hits modules from cache)" ||
	not_ok "the next pod starts from the volume's pack" "$(grep -E 'cache|prefetch' "$tmp/pvc2.log")"
$PODMAN rm -f -t 2 "$name-pvc2" >/dev/null 2>&1

# 16-20. The operator's image: read-only root, its own non-root user, host network to reach the
# fake API server on loopback. harness.c passes --kubeconfig PATH first: the file is handed in
# readable by the container's user.
mkdir -p "$tmp/kube"
chmod 755 "$tmp" "$tmp/kube"
cat >"$tmp/operator.sh" <<EOF
#!/bin/sh
cp "\$2" "$tmp/kube/kubeconfig" && chmod 644 "$tmp/kube/kubeconfig"
shift 2
exec $PODMAN run --rm --name "$name-operator" --network=host --read-only ${limits[*]} \\
	-v "$tmp/kube:/etc/knext:ro" localhost/knext-operator:dev \\
	--kubeconfig /etc/knext/kubeconfig "\$@"
EOF
chmod +x "$tmp/operator.sh"
user=$($PODMAN image inspect --format '{{.Config.User}}' localhost/knext-operator:dev)
[ "$user" = 65532:65532 ] && ok "knext-operator:dev runs as 65532:65532 (runAsNonRoot)" ||
	not_ok "knext-operator:dev runs as 65532:65532 (runAsNonRoot; got '$user')"
KNEXT_OPERATOR=$tmp/operator.sh timeout 180 "$driver" $((_tap_n + 1)) >"$tmp/op.tap" 2>&1
cat "$tmp/op.tap"
_tap_fail=$((_tap_fail + $(grep -c '^not ok' "$tmp/op.tap")))
_tap_n=$((_tap_n + $(grep -c '^\(not \)\?ok' "$tmp/op.tap")))
while [ "$_tap_n" -lt 20 ]; do not_ok "operator image: the driver did not report this step"; done
done_testing
