#!/bin/sh
# Runs every test meson knows, then knext-node's suites on the libnode 18 runtime
# (KNEXT_SKIP_LIBNODE18=1 skips them), then the unit suites again under ASan+UBSan, and closes with one
# plain line "N passed, N failed, N skipped" counted over individual test cases (TAP subtests).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

status=0
meson test -C "$build" --print-errorlogs --num-processes 2 || status=1
junits="$build/meson-logs/testlog.junit.xml"

# The other runtime backend (meson option runtime=libnode18, Debian's libnode 18): its two
# binaries, and the suites that run knext-node.
if [ "${KNEXT_SKIP_LIBNODE18:-0}" != 1 ]; then
	if [ ! -e build-libnode18/build.ninja ]; then
		meson setup build-libnode18 -Druntime=libnode18 >/dev/null || status=1
	fi
	if meson compile -C build-libnode18 supervisor/knext-init supervisor/knext-node >/dev/null; then
		meson test -C build-libnode18 --no-rebuild --print-errorlogs --num-processes 1 \
			supervisor-pid1 supervisor-cache supervisor-embed || status=1
		junits="$junits build-libnode18/meson-logs/testlog.junit.xml"
	else
		echo "libnode18 build failed"
		status=1
	fi
fi

# Sanitizers: the pure-C suites only; libnode itself is not built with them.
if [ "${KNEXT_SKIP_ASAN:-0}" != 1 ]; then
	if [ ! -e build-asan/build.ninja ]; then
		meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
			-Dbuildtype=debug >/dev/null || status=1
	fi
	if meson compile -C build-asan >/dev/null; then
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			meson test -C build-asan --suite unit --print-errorlogs --num-processes 2 || status=1
		junits="$junits build-asan/meson-logs/testlog.junit.xml"
	else
		echo "asan build failed"
		status=1
	fi
fi

# shellcheck disable=SC2086
python3 "$top/tests/summary.py" $junits || status=1
exit $status
