#!/bin/bash
# The probe endpoints of the real knext-init, as PID 1 of a new PID namespace, running the fixture
# Next.js app: not ready -> ready -> draining -> exit, observed from outside.
# Usage: e2e.sh KNEXT_INIT PROBE_CLI FIXTURE_DIR. --kill-child: when this script kills unshare,
# the namespace's init (and so everything in it) goes too.
set -u
K=$(realpath "$1")
APP=${3:-}
# `knext-init probe` itself once the supervisor dispatches to it, else the test driver.
if "$K" probe 2>&1 | grep -q 'knext-init probe ready'; then
	CLI=("$K" probe)
else
	CLI=("$(realpath "$2")")
fi

. "$(cd "$(dirname "$0")" && pwd)/../tap.sh"

tap_workdir

N=9
plan $N
skip_all() {
	for i in $(seq $N); do skip "end to end $i" "$1"; done
	exit 0
}
[ -n "$APP" ] && [ -e "$APP/server.js" ] || skip_all "fixture not built (make fixture)"
command -v unshare >/dev/null && unshare --pid --fork --mount-proc true 2>/dev/null ||
	skip_all "cannot create a PID namespace here"

port=$((20000 + RANDOM % 20000))
pport=$((port + 1))
# probe PATH: one request; prints "CODE BODY" (000 when nothing answers).
probe() {
	local out
	out=$(curl -s -m 1 -w ' %{http_code}' "http://127.0.0.1:$pport$1" 2>/dev/null)
	echo "${out##* } ${out% *}"
}

export PORT=$port KNEXT_PROBE_PORT=$pport KNEXT_APP_DIR="$APP" KNEXT_GRACE_MS=3000
env --default-signal unshare --pid --fork --mount-proc --kill-child "$K" >"$tmp/out" 2>"$tmp/err" &
UPID=$!
pids+=("$UPID")
KPID=$(init_pid "$UPID")

# Poll /readyz back to back until 200, remembering every answer.
: >"$tmp/seq"
t0=$(date +%s%N)
code=000
app_seen=0
for i in $(seq 3000); do
	r=$(probe /readyz)
	code=${r%% *}
	echo "$r" >>"$tmp/seq"
	[ "$code" = 200 ] && break
	# The app serves but nothing ever answered on the probe port: not wired into knext-init.
	if [ "$code" = 000 ] && [ $((i % 50)) = 0 ] &&
		curl -s -m 1 -o /dev/null "http://127.0.0.1:$port/api/health"; then
		app_seen=$((app_seen + 1))
		[ "$app_seen" -ge 3 ] && ! grep -qv '^000' "$tmp/seq" && break
	fi
	sleep 0.005
done
ready_ms=$((($(date +%s%N) - t0) / 1000000))
if ! grep -q '^503 ' "$tmp/seq" && ! grep -q '^200 ' "$tmp/seq"; then
	skip_all "knext-init does not serve the probe endpoints yet"
fi

grep -q '^503 not ready' "$tmp/seq" &&
	ok "/readyz answers 503 not ready while the app boots ($(grep -c '^503' "$tmp/seq") times)" ||
	not_ok "/readyz 503 before listening" "$(head -3 "$tmp/seq")"
# Readiness must not run ahead of the app: when /readyz says 200, the app port accepts.
app=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/health")
[ "$code" = 200 ] && [ "$app" = 200 ] &&
	ok "/readyz turns 200 once the app listens (${ready_ms} ms after start; app answers $app)" ||
	not_ok "/readyz 200" "readyz=$code app=$app" "$(tail -5 "$tmp/err")"

r=$(probe /startupz)
l=$(probe /livez)
[ "${r%% *}" = 200 ] && [ "${l%% *}" = 200 ] && ok "/startupz and /livez answer 200" ||
	not_ok "/startupz /livez" "startupz: $r" "livez: $l"

"${CLI[@]}" ready --port "$pport" && "${CLI[@]}" live --port "$pport" && "${CLI[@]}" startup --port "$pport" &&
	ok "knext-init probe ready|live|startup exit 0" || not_ok "probe CLI"
a=$(date +%s%N)
for _ in $(seq 50); do "${CLI[@]}" ready --port "$pport"; done
echo "# ${CLI[*]} ready, exec to exit: $((($(date +%s%N) - a) / 50000)) us on average over 50"

curl -s -m 2 "http://127.0.0.1:$port/" >/dev/null
sleep 0.2
m=$(curl -s -m 2 "http://127.0.0.1:$pport/metrics")
echo "$m" | grep -q '^knext_startup_phase_seconds{phase="exec"}' &&
	echo "$m" | grep -q '^knext_startup_phase_seconds{phase="server_listening"}' &&
	echo "$m" | grep -q '^knext_probe_requests_total{path="/readyz",code="200"}' &&
	echo "$m" | grep -q '^knext_ready 1' &&
	ok "/metrics has phases, readiness and probe counters" ||
	not_ok "/metrics" "$(echo "$m" | grep -v '^#' | head -12)"

# SIGTERM: /readyz drains (503) at once, while the app finishes; then everything exits.
: >"$tmp/drain"
(
	for _ in $(seq 2000); do
		"${CLI[@]}" ready --port "$pport" --timeout-ms 200 2>>"$tmp/drain" && echo "200" >>"$tmp/drain"
		grep -q 'Connection refused' "$tmp/drain" && break
	done
) &
poller=$!
pids+=("$poller")
sleep 0.05
kill -TERM "$KPID"
for _ in $(seq 600); do
	kill -0 "$UPID" 2>/dev/null || break
	sleep 0.01
done
wait "$UPID"
status=$?
kill "$poller" 2>/dev/null
wait "$poller" 2>/dev/null

grep -q 'answered 503: draining' "$tmp/drain" &&
	ok "/readyz answers 503 draining after SIGTERM ($(grep -c draining "$tmp/drain") times)" ||
	not_ok "/readyz draining" "$(sort "$tmp/drain" | uniq -c | head -5)"
# Once draining, never ready again.
awk '/draining/ { d = 1 } d && /^200$/ { bad = 1 } END { exit bad }' "$tmp/drain" &&
	ok "no 200 after draining began" || not_ok "200 after draining" "$(cat "$tmp/drain" | head)"
[ "$status" = 0 ] && ok "knext-init exits 0 after SIGTERM" ||
	not_ok "exit status" "status=$status" "$(tail -5 "$tmp/err")"
r=$(probe /readyz)
[ "${r%% *}" = 000 ] && ok "the probe port is closed after exit" || not_ok "probe port after exit" "$r"
done_testing
