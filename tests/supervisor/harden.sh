#!/bin/bash
# The pack path and write-back under the faults a cluster produces (issue: hardening), on the real
# binary as PID 1 under `unshare --pid --fork --mount-proc` and the real fixture app: FIFOs at
# every pack path, a cut-off error message, write-back to a read-only bind mount, to a full
# loop-mounted ext4, with temp files of killed writers left behind, and with the lock held; a
# crafted 1 GiB frame; a seccomp profile that refuses io_uring_enter.
# Every step is bounded in time. Usage: harden.sh KNEXT_INIT FIXTURE_DIR CRAFTPACK SECCOMP_EXEC
set -u
K=$(realpath "$1")
SRC=$(realpath "$2")
CRAFT=$(realpath "$3")
SECCOMP=$(realpath "$4")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"

if [ ! -e "$SRC/server.js" ]; then
	echo "1..0 # SKIP fixture app not built"
	exit 0
fi
# Mounts (a bind mount, a loop-mounted ext4) stay in a mount namespace of the test's own.
if [ -z "${HARDEN_NS:-}" ] && [ "$(id -u)" = 0 ]; then
	exec env HARDEN_NS=1 unshare --mount --propagation private "$0" "$@"
fi

tap_workdir
export KNEXT_PROBE_PORT=0
NS=(env --default-signal unshare --pid --fork --mount-proc)
# Commands that run_app puts between the namespace and knext-init (which they exec).
WRAP=()
mounts=()
cleanup_mounts() {
	for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null; done
}
trap 'cleanup_mounts; _tap_cleanup' EXIT

# run_app LOG [ENV...]: start the app as PID 1, wait up to 60 s for /, then SIGTERM and wait up to
# 60 s more. Sets CODE (exit status, 124 when it had to be killed), UP (1 when / answered) and
# HWM (PID 1's peak resident memory in kB, read just before the SIGTERM).
run_app() {
	local log=$1
	shift
	local port=$((20000 + RANDOM % 20000))
	env "$@" PORT=$port KNEXT_APP_DIR="$app" timeout -s KILL 120 "${NS[@]}" "${WRAP[@]}" "$K" \
		2>"$log" >/dev/null &
	local u=$!
	pids+=("$u")
	UP=0
	for _ in $(seq 600); do
		curl -s -m 1 -o /dev/null "http://127.0.0.1:$port/" && UP=1 && break
		kill -0 "$u" 2>/dev/null || break
		sleep 0.1
	done
	local pid1
	pid1=$(pgrep -P "$(pgrep -P "$u" | head -1)" | head -1)
	HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid1/status" 2>/dev/null)
	SECCOMP_MODE=$(awk '/^Seccomp:/ { print $2 }' "/proc/$pid1/status" 2>/dev/null)
	kill -TERM "$pid1" 2>/dev/null ||
		kill -TERM "$(pgrep -P "$u" | head -1)" 2>/dev/null
	wait "$u"
	CODE=$?
}

plan 13

app="$tmp/app"
cp -a "$SRC" "$app"
rm -rf "$app/.knext"
mkfifo "$tmp/fifo"

# 1. cache verify and inspect refuse a FIFO at once instead of blocking in open().
t0=$(date +%s%N)
timeout 10 "$K" cache verify "$tmp/fifo" >/dev/null 2>"$tmp/verify.err"
rv=$?
timeout 10 "$K" cache inspect "$tmp/fifo" >/dev/null 2>>"$tmp/verify.err"
ri=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$rv" = 1 ] && [ "$ri" = 1 ] && [ "$ms" -lt 5000 ] && grep -q 'not a regular file' "$tmp/verify.err" &&
	ok "cache verify|inspect refuse a FIFO in $ms ms" ||
	not_ok "cache verify|inspect on a FIFO" "verify=$rv inspect=$ri ms=$ms" "$(cat "$tmp/verify.err")"

# 2. A FIFO as KNEXT_PACK and at the PVC's pack path: skipped with one line each, the app starts,
# SIGTERM ends it.
mkdir -p "$tmp/pvc-fifo"
mkfifo "$tmp/pvc-fifo/cache.pack"
run_app "$tmp/fifo.log" KNEXT_PACK="$tmp/fifo" KNEXT_CACHE_DIR="$tmp/pvc-fifo"
skipped=$(grep '"event":"cache_skipped"' "$tmp/fifo.log")
[ "$UP" = 1 ] && [ "$CODE" = 0 ] && [ "$(grep -c '"event":"cache_skipped"' "$tmp/fifo.log")" = 1 ] &&
	[ "$(printf '%s' "$skipped" | grep -o 'not a regular file' | wc -l)" = 2 ] &&
	ok "a FIFO as KNEXT_PACK and at the PVC path is skipped; the app starts and stops" ||
	not_ok "FIFO pack paths" "up=$UP code=$CODE" "$(head -20 "$tmp/fifo.log")"

# 3. A PVC pack that passes the header check but fails a frame checksum in prefetch: the start
# falls back to the sound pack baked into the image, and says both.
timeout 300 "$K" cache warm --app "$app" -o "$app/.knext/cache.pack" --url / --timeout-ms 240000 \
	>"$tmp/warm.out" 2>"$tmp/warm.err"
if [ ! -s "$app/.knext/cache.pack" ]; then
	not_ok "a damaged PVC pack falls back to the image's" "cache warm failed" "$(tail -5 "$tmp/warm.err")"
else
	mkdir -p "$tmp/pvc-bad"
	cp "$app/.knext/cache.pack" "$tmp/pvc-bad/cache.pack"
	size=$(stat -c %s "$tmp/pvc-bad/cache.pack")
	printf '\xff\x00\xff\x00' | dd of="$tmp/pvc-bad/cache.pack" bs=1 seek=$((size / 2)) \
		conv=notrunc 2>/dev/null
	run_app "$tmp/bad.log" KNEXT_CACHE_DIR="$tmp/pvc-bad"
	grep -q '"event":"prefetch_failed","origin":"pvc"' "$tmp/bad.log" &&
		grep -q '"event":"prefetch_done","origin":"image"' "$tmp/bad.log" && [ "$UP" = 1 ] &&
		ok "a damaged PVC pack falls back to the image's pack; both logged" ||
		not_ok "damaged PVC pack" "up=$UP" "$(grep -E 'prefetch|cache' "$tmp/bad.log")"
fi

# 4. The reserved-probe-port error is one whole sentence.
KNEXT_PROBE_PORT=8012 timeout 10 "${NS[@]}" "$K" -- true 2>"$tmp/port.log"
grep -q 'reserved by Knative (8012 8013 8022 9090 9091 8008); pick another KNEXT_PROBE_PORT"' \
	"$tmp/port.log" && ok "the reserved-probe-port error is not cut" ||
	not_ok "reserved-probe-port error" "" "$(cat "$tmp/port.log")"

# 5. Write-back to a read-only volume: a warning at the default verbosity, the app unharmed.
if [ "$(id -u)" != 0 ]; then
	skip "write-back to a read-only bind mount" "needs root for mounts"
else
	mkdir -p "$tmp/ro-src" "$tmp/ro"
	mount --bind "$tmp/ro-src" "$tmp/ro" && mount -o remount,bind,ro "$tmp/ro" && mounts+=("$tmp/ro")
	run_app "$tmp/ro.log" KNEXT_CACHE_WRITEBACK=1 KNEXT_CACHE_DIR="$tmp/ro"
	grep -q '"level":"warn","event":"writeback_failed".*Read-only' "$tmp/ro.log" && [ "$CODE" = 0 ] &&
		ok "write-back to a read-only volume: one warn line, exit 0" ||
		not_ok "read-only write-back" "code=$CODE" "$(grep -i 'writeback\|cache' "$tmp/ro.log")"
fi

# 6-8. A small loop-mounted ext4: temp files of killed writers are removed by the next writer;
# a full volume is a warning and leaves the old pack as it was; a held lock is an info line.
loop_ok=0
if [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null; then
	truncate -s 64M "$tmp/vol.img" && mkfs.ext4 -q -F -m 0 "$tmp/vol.img" >/dev/null 2>&1 &&
		mkdir -p "$tmp/vol" && mount -o loop "$tmp/vol.img" "$tmp/vol" && mounts+=("$tmp/vol") &&
		loop_ok=1
fi
if [ $loop_ok = 0 ]; then
	skip "temp files of killed writers removed" "no loop-mounted ext4 (root, losetup, mkfs.ext4)"
	skip "write-back to a full volume" "no loop-mounted ext4"
	skip "write-back while another replica holds the lock" "no loop-mounted ext4"
else
	for s in AAAAAA BBBBBB CCCCCC DDDDDD; do
		head -c 8M /dev/zero >"$tmp/vol/.cache.pack.$s"
		touch -d '-10 min' "$tmp/vol/.cache.pack.$s"
	done
	run_app "$tmp/temps.log" KNEXT_CACHE_WRITEBACK=1 KNEXT_CACHE_DIR="$tmp/vol"
	left=$(find "$tmp/vol" -name '.cache.pack.??????' | wc -l)
	[ "$left" = 0 ] && "$K" cache verify "$tmp/vol/cache.pack" >/dev/null 2>&1 &&
		grep -q '"level":"info","event":"writeback"' "$tmp/temps.log" &&
		ok "four dead writers' temp files removed, the pack written ($(stat -c %s "$tmp/vol/cache.pack") bytes)" ||
		not_ok "stale temp files" "left=$left code=$CODE" "$(grep -i writeback "$tmp/temps.log")"

	# Full: everything but a few KiB taken; the old pack must come through unchanged.
	printf 'old pack' >"$tmp/vol/cache.pack"
	free=$(($(stat -f -c %a "$tmp/vol") * $(stat -f -c %S "$tmp/vol")))
	fallocate -l $((free - 16384)) "$tmp/vol/filler" 2>/dev/null ||
		dd if=/dev/zero of="$tmp/vol/filler" bs=1M 2>/dev/null
	run_app "$tmp/full.log" KNEXT_CACHE_WRITEBACK=1 KNEXT_CACHE_DIR="$tmp/vol"
	left=$(find "$tmp/vol" -name '.cache.pack.??????' | wc -l)
	grep -q '"level":"warn","event":"writeback_failed".*No space left' "$tmp/full.log" &&
		[ "$(cat "$tmp/vol/cache.pack")" = "old pack" ] && [ "$left" = 0 ] && [ "$CODE" = 0 ] &&
		ok "a full volume: one warn line, the old pack unchanged, no temp file left" ||
		not_ok "full volume" "left=$left code=$CODE" "$(grep -i writeback "$tmp/full.log")"
	rm -f "$tmp/vol/filler"

	# Another replica writing: the lock is held for the whole run.
	exec 9>"$tmp/vol/.cache.pack.lock"
	flock -x 9
	run_app "$tmp/busy.log" KNEXT_CACHE_WRITEBACK=1 KNEXT_CACHE_DIR="$tmp/vol"
	exec 9>&-
	grep -q '"level":"info","event":"writeback_busy"' "$tmp/busy.log" &&
		! grep -q 'writeback_failed' "$tmp/busy.log" &&
		ok "another replica holding the lock is an info line" ||
		not_ok "busy lock" "code=$CODE" "$(grep -i writeback "$tmp/busy.log")"
fi

# 9-10. A normal write-back leaves no temp file, and is logged at info.
mkdir -p "$tmp/pvc"
run_app "$tmp/wb.log" KNEXT_CACHE_WRITEBACK=1 KNEXT_CACHE_DIR="$tmp/pvc"
[ -s "$tmp/pvc/cache.pack" ] && [ "$(find "$tmp/pvc" -name '.cache.pack.??????' | wc -l)" = 0 ] &&
	ok "a normal write-back leaves the pack and no temp file" ||
	not_ok "normal write-back" "code=$CODE" "$(ls -la "$tmp/pvc"; grep -i writeback "$tmp/wb.log")"
grep -q '"level":"info","event":"writeback","pack"' "$tmp/wb.log" &&
	ok "the write-back is one info line" ||
	not_ok "write-back logged" "" "$(grep -i writeback "$tmp/wb.log")"

# 11. A crafted pack with the app's identity whose one frame of 16 raw bytes claims 1 GiB of
# compressed bytes (a hole): refused from its frame table before any of it is read; PID 1's peak
# memory stays small and the start goes on with the image's pack.
if [ ! -s "$app/.knext/cache.pack" ]; then
	skip "a crafted 1 GiB frame is refused before it is read" "no pack from cache warm"
elif ! "$CRAFT" "$app/.knext/cache.pack" "$tmp/big.pack" 16 16 $((1 << 30)); then
	not_ok "a crafted 1 GiB frame is refused before it is read" "craftpack failed"
else
	run_app "$tmp/big.log" KNEXT_PACK="$tmp/big.pack"
	grep -q '"event":"prefetch_failed".*more than zstd makes' "$tmp/big.log" &&
		grep -q '"event":"prefetch_done","origin":"image"' "$tmp/big.log" &&
		[ "$UP" = 1 ] && [ -n "$HWM" ] && [ "$HWM" -lt 131072 ] &&
		ok "a crafted 1 GiB frame is refused unread; PID 1 peak RSS ${HWM} kB" ||
		not_ok "crafted 1 GiB frame" "up=$UP hwm=${HWM}kB" "$(grep -E 'prefetch|cache' "$tmp/big.log")"
fi

# 12. A seccomp profile that allows io_uring_setup but refuses io_uring_enter (libseccomp, applied
# to knext-init as PID 1 and inherited by the app), behind the damaged PVC pack of case 3: one
# warning, both packs read with pread, the app (whose libuv would abort on such a ring) serves
# and stops cleanly.
if [ ! -s "$app/.knext/cache.pack" ]; then
	skip "io_uring_enter refused by seccomp: pread" "no pack from cache warm"
else
	WRAP=("$SECCOMP" io_uring_enter --)
	run_app "$tmp/seccomp.log" KNEXT_CACHE_DIR="$tmp/pvc-bad"
	WRAP=()
	[ "$(grep -c '"event":"io_uring_refused","reason":"io_uring_enter: Operation not permitted"' \
		"$tmp/seccomp.log")" = 1 ] &&
		grep -q '"event":"prefetch_failed","origin":"pvc"' "$tmp/seccomp.log" &&
		grep -q '"event":"prefetch_done","origin":"image".*"io":"pread"' "$tmp/seccomp.log" &&
		[ "$(grep -c '"event":"io_fallback"' "$tmp/seccomp.log")" = 1 ] &&
		[ "$SECCOMP_MODE" = 2 ] && [ "$UP" = 1 ] && [ "$CODE" = 0 ] &&
		ok "io_uring_enter refused by seccomp: packs read with pread, the app serves and stops" ||
		not_ok "io_uring_enter refused by seccomp" "up=$UP code=$CODE seccomp=$SECCOMP_MODE" \
			"$(grep -vE '"event":"(request|cache)"' "$tmp/seccomp.log" | head -20)"
fi

# 13. PVC packs are tied to the image (KNEXT_IMAGE, which the manifest sets to the pinned
# reference): a pack written back under one image is skipped with one line under another, whose
# pod takes the image's own pack; the image that wrote it takes it.
img_a="registry.example/app@sha256:$(printf a%.0s $(seq 64))"
img_b="registry.example/app@sha256:$(printf b%.0s $(seq 64))"
mkdir -p "$tmp/pvc-img"
run_app "$tmp/img-write.log" KNEXT_CACHE_WRITEBACK=1 KNEXT_CACHE_DIR="$tmp/pvc-img" KNEXT_IMAGE="$img_a"
if [ ! -s "$tmp/pvc-img/cache.pack" ] || [ ! -s "$app/.knext/cache.pack" ]; then
	not_ok "PVC packs are tied to the image" "no write-back or no image pack" \
		"$(grep -i writeback "$tmp/img-write.log")"
else
	run_app "$tmp/img-b.log" KNEXT_CACHE_DIR="$tmp/pvc-img" KNEXT_IMAGE="$img_b"
	up_b=$UP
	run_app "$tmp/img-a.log" KNEXT_CACHE_DIR="$tmp/pvc-img" KNEXT_IMAGE="$img_a"
	[ "$(grep -c 'recorded under another image than KNEXT_IMAGE' "$tmp/img-b.log")" = 1 ] &&
		grep -q '"event":"prefetch_done","origin":"image"' "$tmp/img-b.log" &&
		grep -q '"event":"prefetch_done","origin":"pvc"' "$tmp/img-a.log" &&
		[ "$up_b" = 1 ] && [ "$UP" = 1 ] &&
		ok "a PVC pack from another image is skipped with one line; its own image takes it" ||
		not_ok "PVC packs tied to the image" "up_b=$up_b up_a=$UP" \
			"$(grep -hE 'cache|prefetch' "$tmp/img-b.log" "$tmp/img-a.log" | grep -v '"hit"')"
fi
done_testing
