#!/bin/sh
# Short libFuzzer run of the NextApp parser and the webhook checker (fuzz_nextapp.c) on the
# committed seed corpus. Prints TAP.
# usage: fuzz.sh [WORKDIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work"
log="$work/fuzz_nextapp.log"
echo "1..1"
if ! command -v clang >/dev/null; then
	echo "ok 1 - fuzz nextapp_parse # SKIP clang not installed"
	exit 0
fi
m="$top/container/manifest"
# shellcheck disable=SC2046
if ! clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -I"$top" "$here/fuzz_nextapp.c" \
	$(ls "$m"/*.c "$top"/common/*.c | grep -v '/cli\.c$') \
	$(pkg-config --cflags --libs libfyaml jansson) -o "$work/fuzz_nextapp" >"$log" 2>&1; then
	if grep -q "fuzzer" "$log" && grep -qi "cannot find\|no such file" "$log"; then
		echo "ok 1 - fuzz nextapp_parse # SKIP libFuzzer runtime missing (libclang-rt-14-dev)"
		exit 0
	fi
	echo "not ok 1 - fuzz nextapp_parse: build failed"
	sed 's/^/# /' "$log" | tail -20
	exit 1
fi
corpus="$work/corpus"
mkdir -p "$corpus"
cp "$here"/fuzz_seeds/* "$here"/golden/* "$corpus"/ 2>/dev/null
if ASAN_OPTIONS=detect_leaks=1 "$work/fuzz_nextapp" -max_total_time=20 -max_len=4096 \
	-timeout=10 -rss_limit_mb=1024 -dict="$here/fuzz_nextapp.dict" -print_final_stats=1 -artifact_prefix="$work/" \
	"$corpus" >"$log" 2>&1; then
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
	echo "ok 1 - fuzz nextapp_parse: ${runs:-?} runs, no crash"
else
	echo "not ok 1 - fuzz nextapp_parse: crash (artifact in $work)"
	grep -A30 "ERROR\|SUMMARY" "$log" | head -40 | sed 's/^/# /'
	exit 1
fi
