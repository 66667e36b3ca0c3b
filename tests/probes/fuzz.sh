#!/bin/sh
# Builds the probe parsers' libFuzzer targets with clang (fuzzer, ASan, UBSan) and runs each for
# KNEXT_FUZZ_SECONDS (default 20) from the committed seed corpus. Prints TAP. The per-input
# timeout is generous: on a loaded 2-core machine a starved run must not read as a hang.
#   fuzz.sh SOURCE_ROOT BUILD_DIR
set -u
src=${1:?usage: fuzz.sh SOURCE_ROOT BUILD_DIR}
out=${2:?usage: fuzz.sh SOURCE_ROOT BUILD_DIR}/fuzz
secs=${KNEXT_FUZZ_SECONDS:-20}
here="$src/tests/probes"
probes="$src/probes"

echo "1..2"
if ! command -v clang >/dev/null 2>&1; then
	echo "ok 1 - fuzz_http # SKIP clang not installed"
	echo "ok 2 - fuzz_notify # SKIP clang not installed"
	exit 0
fi
mkdir -p "$out"
flags="-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=undefined -I$src $(pkg-config --cflags libuv)"

n=0
run() {
	name=$1
	shift
	n=$((n + 1))
	log="$out/$name.log"
	# shellcheck disable=SC2086
	if ! clang $flags -o "$out/$name" "$here/$name.c" "$@" $(pkg-config --libs libuv) \
		>"$log" 2>&1; then
		echo "not ok $n - $name: build failed"
		sed 's/^/# /' "$log" | tail -20
		return
	fi
	# New inputs go to a scratch corpus (first directory); the committed seeds stay as they are.
	rm -rf "$out/$name.corpus"
	mkdir -p "$out/$name.corpus"
	if (cd "$out" && "./$name" -max_total_time="$secs" -timeout=60 -print_final_stats=1 \
		"$out/$name.corpus" "$here/corpus/${name#fuzz_}") >"$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "ok $n - $name: ${execs:-?} inputs in ${secs}s, no crash"
	else
		echo "not ok $n - $name: crash (log: $log, reproducer in $out)"
		grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 | sed 's/^/# /'
	fi
}

run fuzz_http "$probes/http.c"
run fuzz_notify "$probes/notify.c" "$probes/state.c" "$src/common/knative.c"
exit 0
