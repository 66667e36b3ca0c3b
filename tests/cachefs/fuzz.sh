#!/bin/sh
# Short libFuzzer runs of the pack reader and of packmem_find (make test); prints TAP.
#   fuzz.sh [SOURCE_ROOT] [SECONDS]  (default 20 s per target; run it longer by hand)
set -u
top=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
secs=${2:-20}
here="$top/tests/cachefs"
work=$(mktemp -d /tmp/knext-cachefs-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

echo "1..2"
if ! command -v clang >/dev/null 2>&1; then
	echo "ok 1 - fuzz pack reader # SKIP clang missing"
	echo "ok 2 - fuzz packmem_find # SKIP clang missing"
	exit 0
fi
inc="-I$top"
src="$top/cachefs/pack.c $top/cachefs/packmem.c"
n=0
for target in pack packmem; do
	n=$((n + 1))
	bin="$work/fuzz_$target"
	if ! clang -g -O1 -std=c11 -D_GNU_SOURCE -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
		-fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all $inc "$here/fuzz_$target.c" $src -lzstd -lxxhash \
		-o "$bin" 2>"$work/cc.log"; then
		echo "not ok $n - fuzz $target: build failed"
		sed 's/^/# /' "$work/cc.log"
		continue
	fi
	mkdir -p "$work/corpus_$target"
	cp "$here/corpus/"* "$work/corpus_$target/" 2>/dev/null
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
		-artifact_prefix="$work/" "$work/corpus_$target" >"$work/run_$target.log" 2>&1; then
		runs=$(grep -Eo '^#[0-9]+' "$work/run_$target.log" | tail -1 | tr -d '#')
		echo "ok $n - fuzz $target for ${secs}s, no finding (${runs:-?} runs)"
	else
		echo "not ok $n - fuzz $target found a crash"
		tail -40 "$work/run_$target.log" | sed 's/^/# /'
		for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
			[ -e "$a" ] && cp "$a" "$here/" && echo "# kept $(basename "$a") in $here"
		done
	fi
done
exit 0
