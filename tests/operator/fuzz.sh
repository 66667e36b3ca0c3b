#!/bin/sh
# Short libFuzzer run of fuzz_watch.c (watch stream, list responses, kubeconfig) on the committed seed
# corpus. Prints TAP. Usage: fuzz.sh [PROJECT_ROOT]
set -u
top=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
here="$top/tests/operator"
echo "1..1"
if ! command -v clang >/dev/null 2>&1; then
	echo "ok 1 - operator fuzz # SKIP clang missing"
	exit 0
fi
work=$(mktemp -d /tmp/knext-operator-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
cflags="-g -O1 -D_GNU_SOURCE -std=c11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
# shellcheck disable=SC2086
if ! clang $cflags -I"$top" \
	$(pkg-config --cflags jansson libfyaml) -o "$work/fuzz" "$here/fuzz_watch.c" \
	"$top/container/operator/watch.c" "$top/container/operator/kubeconfig.c" \
	"$top/container/operator/render.c" $(ls "$top"/container/manifest/*.c "$top"/common/*.c | grep -v '/cli\.c$') \
	$(pkg-config --libs jansson libfyaml) -lxxhash \
	>"$work/build.log" 2>&1; then
	if grep -q "libclang_rt.fuzzer\|cannot find -lclang_rt" "$work/build.log"; then
		echo "ok 1 - operator fuzz # SKIP libFuzzer runtime missing (libclang-rt-14-dev)"
		exit 0
	fi
	sed 's/^/# /' "$work/build.log"
	echo "not ok 1 - operator fuzz: build failed"
	exit 1
fi
mkdir -p "$work/corpus"
cp "$here/fuzz_corpus/"* "$work/corpus/"
# Leaks inside libfyaml itself are suppressed (fuzz.supp); ours still fail the run.
if LSAN_OPTIONS="suppressions=$here/fuzz.supp:print_suppressions=0" \
	"$work/fuzz" -max_total_time=20 -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
	-print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" >"$work/run.log" 2>&1; then
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/run.log" | grep -o '[0-9]*$')
	echo "ok 1 - operator fuzz: watch stream, list responses and kubeconfig, 20 s, ${runs:-?} runs, no crash"
else
	grep -v '^#[0-9]' "$work/run.log" | tail -40 | sed 's/^/# /'
	for a in "$work"/crash-* "$work"/timeout-* "$work"/leak-*; do
		[ -e "$a" ] && echo "# input (base64): $(base64 -w0 "$a")"
	done
	echo "not ok 1 - operator fuzz: crash (input in the log above)"
	exit 1
fi
