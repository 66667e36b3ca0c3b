#!/bin/sh
# Short libFuzzer run of the harness's log-line parser; prints TAP. Usage: fuzz.sh SOURCE_ROOT
set -u
top=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
echo "1..1"
if ! command -v clang >/dev/null 2>&1; then
	echo "ok 1 - bench log fuzz # SKIP clang not installed"
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-I"$top" "$top/tests/bench/fuzz_log.c" "$top/bench/log.c" \
	-o "$work/fuzz_log" -ljansson >"$work/cc.log" 2>&1; then
	sed 's/^/# /' "$work/cc.log"
	echo "ok 1 - bench log fuzz # SKIP cannot build the fuzzer (libFuzzer runtime missing?)"
	exit 0
fi
mkdir -p "$work/corpus"
cp "$top/tests/bench/corpus/"* "$work/corpus/"
if "$work/fuzz_log" -max_total_time=20 -max_len=4096 "$work/corpus" >"$work/run.log" 2>&1; then
	echo "ok 1 - bench log fuzz: $(grep -c . "$work/run.log") lines of libFuzzer output, no finding"
else
	tail -40 "$work/run.log" | sed 's/^/# /'
	echo "not ok 1 - bench log fuzz found a crash"
	exit 1
fi
