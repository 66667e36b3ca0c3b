# TAP helpers for the shell integration suites (bash). Source it, call plan N, then ok, not_ok,
# skip or check "name" cmd..., and finish with done_testing.
_tap_n=0
_tap_fail=0

plan() { echo "1..$1"; }

ok() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1"
}

not_ok() {
	_tap_n=$((_tap_n + 1))
	_tap_fail=$((_tap_fail + 1))
	echo "not ok $_tap_n - $1"
	shift
	# Every line of a diagnostic is a TAP comment, also inside multi-line arguments.
	for arg in "$@"; do printf '%s\n' "$arg" | sed 's/^/#   /'; done
}

skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP $2"
}

# check NAME CMD...: passes when CMD exits 0.
check() {
	name=$1
	shift
	if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$(printf '%s' "$out" | tail -5)"; fi
}

done_testing() { [ "$_tap_fail" -eq 0 ]; }

# tap_workdir: a scratch directory in $tmp, and a cleanup on exit that SIGKILLs every pid the
# test appended to the pids array, then removes $tmp.
tap_workdir() {
	tmp=$(mktemp -d)
	pids=()
	trap '_tap_cleanup' EXIT
}

# init_pid PID: the child of PID (unshare's child: the init of the new namespace, as seen from
# here), waiting for it up to 2 s; empty when none came.
init_pid() {
	local child
	for _ in $(seq 200); do
		child=$(pgrep -P "$1" | head -1)
		[ -n "$child" ] && break
		sleep 0.01
	done
	echo "$child"
}

_tap_cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
