#!/bin/sh
# Short libFuzzer runs of the route-table parsers (announce.c) and of the startup snapshot's record
# check (snapshot_env.c); prints TAP. Usage: fuzz.sh SOURCE_ROOT
set -u
top=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
echo "1..2"
if ! command -v clang >/dev/null 2>&1; then
	echo "ok 1 - route table fuzz # SKIP clang not installed"
	echo "ok 2 - snapshot record fuzz # SKIP clang not installed"
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Without libFuzzer's runtime nothing can be fuzzed here; with it, a fuzzer that does not build
# is a failure (a source it needs was not named, say), not a skip.
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$work/probe.c"
if ! clang -fsanitize=fuzzer "$work/probe.c" -o "$work/probe" >/dev/null 2>&1; then
	echo "ok 1 - route table fuzz # SKIP libFuzzer's runtime is missing"
	echo "ok 2 - snapshot record fuzz # SKIP libFuzzer's runtime is missing"
	exit 0
fi
if ! clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-I"$top" "$top/tests/supervisor/fuzz_announce.c" \
	"$top/supervisor/announce.c" "$top/supervisor/log.c" "$top/cachefs/fileio.c" \
	-o "$work/fuzz_announce" >"$work/cc.log" 2>&1; then
	sed 's/^/# /' "$work/cc.log"
	echo "not ok 1 - route table fuzz: does not build"
	echo "ok 2 - snapshot record fuzz # SKIP not run after the first one failed"
	exit 1
fi
mkdir -p "$work/corpus"
cp "$top/tests/supervisor/announce_corpus/"* "$work/corpus/"
if "$work/fuzz_announce" -max_total_time=20 -max_len=4096 "$work/corpus" >"$work/run.log" 2>&1; then
	echo "ok 1 - route table fuzz: $(grep -c . "$work/run.log") lines of libFuzzer output, no finding"
else
	tail -40 "$work/run.log" | sed 's/^/# /'
	echo "not ok 1 - route table fuzz found a crash"
	exit 1
fi

clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -I"$top" \
	"$top/tests/supervisor/fuzz_snapshot.c" "$top/supervisor/snapshot_env.c" -lxxhash \
	-o "$work/fuzz_snapshot" >"$work/cc2.log" 2>&1 || {
	sed 's/^/# /' "$work/cc2.log"
	echo "not ok 2 - snapshot record fuzz: does not build"
	exit 1
}
mkdir -p "$work/corpus2"
cp "$top/tests/supervisor/snapshot_corpus/"* "$work/corpus2/"
if "$work/fuzz_snapshot" -max_total_time=20 -max_len=4096 -artifact_prefix="$work/" "$work/corpus2" >"$work/run2.log" 2>&1; then
	echo "ok 2 - snapshot record fuzz: $(grep -c . "$work/run2.log") lines of libFuzzer output, no finding"
else
	tail -40 "$work/run2.log" | sed 's/^/# /'
	echo "not ok 2 - snapshot record fuzz found a crash"
	exit 1
fi
