#!/bin/bash
# PID-1 behaviour of the real knext-init binary, as PID 1 of a new PID namespace
# (unshare --pid --fork --mount-proc) and as a subreaper.
# Usage: pid1.sh KNEXT_INIT FIXTURE_DIR [RUNTIME] (node or libnode18, meson's runtime option)
set -u
K=$(realpath "$1")
APP=${2:-}
RUNTIME=${3:-node}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"

tap_workdir

# Background jobs of a script start with SIGINT and SIGQUIT ignored, and a runner may ignore more
# (nohup: SIGHUP); the init gets every signal at its default, as a container runtime starts it.
# Probe ports are the probes suite's business; tests here run side by side with others.
export KNEXT_PROBE_PORT=0

NS=(env --default-signal unshare --pid --fork --mount-proc)

# start_ns ARGS...: knext-init as PID 1 in the background; sets UPID (unshare) and KPID (the
# init, as seen from here).
start_ns() {
	"${NS[@]}" "$K" "$@" >"$tmp/out" 2>"$tmp/err" &
	UPID=$!
	pids+=("$UPID")
	KPID=$(init_pid "$UPID")
}

# wait_file F [TRIES]: until F exists (10 ms steps).
wait_file() {
	for _ in $(seq "${2:-300}"); do [ -s "$1" ] && return 0; sleep 0.01; done
	return 1
}

# wait_exit PID [TRIES]: until PID is gone; its status in WAITED.
wait_exit() {
	for _ in $(seq "${2:-500}"); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; WAITED=$?; return 0; }
		sleep 0.01
	done
	return 1
}

plan 31

# 1. Hundreds of orphans are reaped: none is left a zombie.
out=$("${NS[@]}" "$K" -- sh -c '
	for i in $(seq 300); do (sleep 0.01 &) ; done
	sleep 0.8
	grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l' 2>&1)
[ "$out" = 0 ] && ok "300 orphans reaped, no zombie left" || not_ok "300 orphans reaped" "zombies: $out"

# 2. Catchable signals reach the child (trap writes each name), init stays up.
sigs="HUP INT QUIT USR1 USR2 PIPE ALRM WINCH URG CONT TTIN TTOU XCPU VTALRM PROF PWR SYS TSTP"
start_ns -- bash -c "
	for s in $sigs; do trap \"echo \$s >> $tmp/got\" \$s; done
	echo up > $tmp/up
	while [ ! -e $tmp/stop ]; do sleep 0.02; done"
wait_file "$tmp/up"
for s in $sigs; do kill -s "$s" "$KPID"; sleep 0.03; done
sleep 0.3
touch "$tmp/stop"
wait_exit "$UPID"
missing=""
for s in $sigs; do grep -qx "$s" "$tmp/got" 2>/dev/null || missing="$missing $s"; done
[ -z "$missing" ] && ok "forwards$(echo " $sigs" | wc -w) catchable signals to the child" ||
	not_ok "forwards catchable signals" "not received:$missing"

# 3. kill -SEGV (and the other fault signals) sent to PID 1 are forwarded, the init survives.
rm -f "$tmp/got" "$tmp/up" "$tmp/stop"
start_ns -- bash -c "
	for s in SEGV BUS ILL FPE ABRT TRAP; do trap \"echo \$s >> $tmp/got\" \$s; done
	echo up > $tmp/up
	while [ ! -e $tmp/stop ]; do sleep 0.02; done; exit 7"
wait_file "$tmp/up"
for s in SEGV BUS ILL FPE ABRT TRAP; do kill -s "$s" "$KPID"; sleep 0.03; done
sleep 0.3
alive=no
kill -0 "$KPID" 2>/dev/null && alive=yes
touch "$tmp/stop"
wait_exit "$UPID"
[ "$alive" = yes ] && [ "$(sort "$tmp/got" | tr '\n' ' ')" = "ABRT BUS FPE ILL SEGV TRAP " ] &&
	[ "$WAITED" = 7 ] && ok "kill -SEGV/-BUS/... on PID 1: forwarded, init survives" ||
	not_ok "fault signals on PID 1" "alive=$alive got=$(tr '\n' ' ' <"$tmp/got") exit=$WAITED"

# 4. Every exit code 0-255 passes up (subreaper mode, fast), and a few as PID 1.
bad=""
for c in $(seq 0 255); do
	"$K" -- sh -c "exit $c" 2>/dev/null
	r=$?
	[ "$r" = "$c" ] || bad="$bad $c->$r"
done
[ -z "$bad" ] && ok "exit codes 0-255 pass up" || not_ok "exit codes 0-255" "$bad"
bad=""
for c in 0 1 42 255; do
	"${NS[@]}" "$K" -- sh -c "exit $c" 2>/dev/null
	r=$?
	[ "$r" = "$c" ] || bad="$bad $c->$r"
done
[ -z "$bad" ] && ok "exit codes pass up as PID 1" || not_ok "exit codes as PID 1" "$bad"

# 5. Death by signal N is 128+N.
bad=""
for s in 1 2 6 9 15; do
	"${NS[@]}" "$K" -- sh -c "kill -$s \$\$" 2>/dev/null
	r=$?
	[ "$r" = $((128 + s)) ] || bad="$bad $s->$r"
done
[ -z "$bad" ] && ok "death by signal N exits 128+N" || not_ok "128+N" "$bad"

# 6. exec failures: 127 not found, 126 not executable, one line on stderr.
"$K" -- /nonexistent/program 2>"$tmp/e1"
r1=$?
printf 'echo not executable\n' >"$tmp/noexec"
chmod 644 "$tmp/noexec"
"$K" -- "$tmp/noexec" 2>"$tmp/e2"
r2=$?
[ "$r1" = 127 ] && [ "$r2" = 126 ] && grep -q 'nonexistent/program' "$tmp/e1" &&
	ok "exec failure: 127 not found, 126 not executable" ||
	not_ok "exec failure codes" "got $r1 and $r2" "$(cat "$tmp/e1" "$tmp/e2")"

# 7. -e N remaps N to 0 (repeatable), others untouched.
"$K" -e 3 -e 143 -- sh -c 'exit 3'
a=$?
"$K" -e 3 -e 143 -- sh -c 'kill -TERM $$'
b=$?
"$K" -e 3 -- sh -c 'exit 4'
c=$?
[ "$a$b$c" = 004 ] && ok "-e remaps exit codes to 0" || not_ok "-e" "got $a $b $c"

# 8. -g: a signal to PID 1 reaches a grandchild in the child's process group; without -g it does not.
for mode in g plain; do
	rm -f "$tmp/gc" "$tmp/up"
	flag=()
	[ $mode = g ] && flag=(-g)
	start_ns "${flag[@]}" -- sh -c "
		sh -c 'trap \"echo got > $tmp/gc; exit 0\" USR1; echo up > $tmp/up; while :; do sleep 0.02; done' &
		trap 'sleep 0.3; kill \$! 2>/dev/null; exit 0' USR1
		wait; wait"
	wait_file "$tmp/up"
	kill -USR1 "$KPID"
	wait_exit "$UPID"
	if [ $mode = g ]; then got_g=$([ -e "$tmp/gc" ] && echo yes || echo no); else
		got_plain=$([ -e "$tmp/gc" ] && echo yes || echo no); fi
done
[ "$got_g" = yes ] && [ "$got_plain" = no ] && ok "-g forwards to the child's process group" ||
	not_ok "-g" "with -g: $got_g, without: $got_plain"

# 9. A child that ignores SIGTERM is killed after the grace; exit 128+9.
rm -f "$tmp/up"
export KNEXT_GRACE_MS=400
start_ns -- sh -c "trap '' TERM; echo up > $tmp/up; while :; do sleep 0.05; done"
unset KNEXT_GRACE_MS
wait_file "$tmp/up"
t0=$(date +%s%N)
kill -TERM "$KPID"
wait_exit "$UPID" 500
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
[ "$WAITED" = 137 ] && [ "$ms" -ge 300 ] && ok "TERM-ignoring child killed after the grace (${ms} ms, exit 137)" ||
	not_ok "grace then KILL" "exit=$WAITED after ${ms} ms"

# 10. After the main child exits, a setsid escapee gets SIGTERM (as PID 1).
rm -f "$tmp/esc" "$tmp/up"
KNEXT_GRACE_MS=3000 "${NS[@]}" "$K" -- sh -c "
	setsid sh -c 'trap \"echo term > $tmp/esc; exit 0\" TERM; echo up > $tmp/up; while :; do sleep 0.02; done' &
	while [ ! -e $tmp/up ]; do sleep 0.01; done
	exit 5" 2>/dev/null
r=$?
[ "$r" = 5 ] && grep -q term "$tmp/esc" 2>/dev/null && ok "setsid escapee gets SIGTERM, exit code kept" ||
	not_ok "setsid escapee" "exit=$r esc=$(cat "$tmp/esc" 2>/dev/null)"

# 11. Not PID 1: subreaper; an escapee that ignores TERM is KILLed and nothing outlives the init.
rm -f "$tmp/escpid"
KNEXT_GRACE_MS=300 "$K" -- sh -c "
	setsid sh -c 'trap \"\" TERM; while :; do sleep 0.02; done' &
	echo \$! > $tmp/escpid; sleep 0.1; exit 0" 2>/dev/null
r=$?
esc=$(cat "$tmp/escpid")
sleep 0.05
if kill -0 "$esc" 2>/dev/null; then
	kill -KILL "$esc"
	not_ok "subreaper kills a TERM-ignoring escapee" "pid $esc still alive"
else
	[ "$r" = 0 ] && ok "subreaper: TERM-ignoring setsid escapee killed after the grace" ||
		not_ok "subreaper escapee" "exit=$r"
fi

# 12. Not PID 1: orphans are re-parented to knext-init (child subreaper).
out=$("$K" -- sh -c '
	sh -c "sleep 1 & echo \$! > '"$tmp"'/orphan"
	sleep 0.2
	ppid=$(awk "/^PPid:/ {print \$2}" /proc/$(cat '"$tmp"'/orphan)/status)
	kill $(cat '"$tmp"'/orphan)
	[ "$ppid" = "$PPID" ] && echo reparented || echo "ppid=$ppid want $PPID"' 2>&1)
[ "$out" = reparented ] && ok "not PID 1: registers as child subreaper" || not_ok "subreaper" "$out"

# 13. The child starts with the caller's signal mask and ignored set.
want=$(bash -c 'trap "" HUP; grep -E "^Sig(Blk|Ign)" /proc/self/status')
got=$(bash -c "trap '' HUP; exec $K -- grep -E '^Sig(Blk|Ign)' /proc/self/status" 2>/dev/null)
[ "$want" = "$got" ] && ok "child gets the caller's signal mask and ignored signals" ||
	not_ok "signal mask restored" "want: $want" "got: $got"

# 14. Options end at the first non-option: the program's own flags reach it.
out=$("$K" sh -c 'echo "$0 $1"' -v --x 2>&1)
[ "$out" = "-v --x" ] && ok "options end at the first non-option" || not_ok "option end" "$out"

# 15. Unknown flag: usage on stderr, exit 1.
"$K" -Z >/dev/null 2>"$tmp/e"
r=$?
[ "$r" = 1 ] && grep -q Usage "$tmp/e" && ok "unknown flag: usage, exit 1" || not_ok "unknown flag" "exit=$r"

# 16. -w logs tini's "Reaped zombie process with pid=" line.
out=$("${NS[@]}" "$K" -w -- sh -c '(sleep 0.05 &); sleep 0.3' 2>&1)
echo "$out" | grep -q "Reaped zombie process with pid=" && ok "-w reports reaped zombies" ||
	not_ok "-w" "$out"

# 17. -p SIG: knext-init gets SIG when its parent dies, forwards it, exits.
rm -f "$tmp/kpid"
sh -c "$K -p SIGTERM -- sleep 30 2>/dev/null & echo \$! > $tmp/kpid; sleep 30" &
parent=$!
disown "$parent"
pids+=("$parent")
wait_file "$tmp/kpid"
sleep 0.2
kpid=$(cat "$tmp/kpid")
kill -KILL "$parent"
gone=no
for _ in $(seq 200); do kill -0 "$kpid" 2>/dev/null || { gone=yes; break; }; sleep 0.01; done
[ "$gone" = yes ] && ok "-p SIGTERM: exits when its parent dies" || { kill -KILL "$kpid"; not_ok "-p" "still alive"; }

# 18. --version, -h, -l.
"$K" --version | grep -q '^knext-init version ' && "$K" -h | grep -q Usage && "$K" -l | grep -q Apache &&
	ok "--version, -h, -l" || not_ok "--version, -h, -l"

# 19. TINI_* environment: TINI_KILL_PROCESS_GROUP behaves as -g, TINI_VERBOSITY is accepted.
rm -f "$tmp/gc" "$tmp/up"
TINI_KILL_PROCESS_GROUP=1 TINI_VERBOSITY=0 start_ns -- sh -c "
	sh -c 'trap \"echo got > $tmp/gc; exit 0\" USR1; echo up > $tmp/up; while :; do sleep 0.02; done' &
	trap 'sleep 0.3; kill \$! 2>/dev/null; exit 0' USR1
	wait; wait"
wait_file "$tmp/up"
kill -USR1 "$KPID"
wait_exit "$UPID"
[ -e "$tmp/gc" ] && ok "TINI_KILL_PROCESS_GROUP=1 acts as -g" || not_ok "TINI_KILL_PROCESS_GROUP"

# 20b. A terminal on stdin: the child becomes its foreground process group (job control works).
if command -v script >/dev/null; then
	out=$(script -qec "$K -- sh -c 'ps -o pgid= -o tpgid= -p \$\$'" /dev/null 2>&1 | tr -d '\r')
	set -- $out
	[ -n "${1:-}" ] && [ "$1" = "${2:-}" ] && ok "TTY: the child is the terminal's foreground group" ||
		not_ok "TTY foreground" "pgid/tpgid: $out"
else
	skip "TTY: the child is the terminal's foreground group" "script(1) missing"
fi

# --- embedded Node.js ---------------------------------------------------------------------------

# 20-21. Missing app directory / entry: one line naming the path, exit 1.
KNEXT_APP_DIR=/nonexistent/app "$K" 2>"$tmp/e"
r=$?
[ "$r" = 1 ] && grep -q '/nonexistent/app' "$tmp/e" && [ "$(wc -l <"$tmp/e")" -le 2 ] &&
	ok "missing app dir: exit 1, names the path" || not_ok "missing app dir" "exit=$r $(cat "$tmp/e")"
mkdir -p "$tmp/emptyapp"
KNEXT_APP_DIR="$tmp/emptyapp" "$K" 2>"$tmp/e"
r=$?
[ "$r" = 1 ] && grep -q "$tmp/emptyapp/server.js" "$tmp/e" && ok "missing server.js: exit 1, names the path" ||
	not_ok "missing entry" "exit=$r $(cat "$tmp/e")"

# 22. Missing libnode JS files (hidden by an empty tmpfs in a private mount namespace): exit 1.
echo 'process.exit(0)' >"$tmp/emptyapp/server.js"
if [ "$RUNTIME" = libnode18 ]; then
	unshare --mount sh -c "mount -t tmpfs none /usr/share/nodejs && KNEXT_APP_DIR=$tmp/emptyapp $K" 2>"$tmp/e"
	r=$?
	[ "$r" = 1 ] && grep -q '/usr/share/nodejs/' "$tmp/e" && ok "missing libnode JS files: exit 1, names the path" ||
		not_ok "missing libnode JS" "exit=$r $(cat "$tmp/e")"
else
	unshare --mount sh -c "mount -t tmpfs none /usr/share/nodejs && KNEXT_APP_DIR=$tmp/emptyapp $K" 2>"$tmp/e"
	r=$?
	[ "$r" = 0 ] && ok "official Node.js needs nothing under /usr/share/nodejs" ||
		not_ok "official Node.js needs nothing under /usr/share/nodejs" "exit=$r $(cat "$tmp/e")"
fi

# 23. Missing runtime library (libnode's directory hidden, or a knext-node without the shim
# library beside it): exit 1 with a line naming it.
if [ "$RUNTIME" = libnode18 ]; then
	lib=libnode
	libdir=$(ldd "$(dirname "$K")/knext-node" | awk '/libnode/ {print $3}' | xargs dirname)
	unshare --mount sh -c "mount -t tmpfs none $libdir && KNEXT_APP_DIR=$tmp/emptyapp $K" 2>"$tmp/e"
else
	lib=libknext-node.so
	mkdir -p "$tmp/bin"
	ln "$(dirname "$K")/knext-node" "$tmp/bin/" 2>/dev/null || cp "$(dirname "$K")/knext-node" "$tmp/bin/"
	KNEXT_NODE_HELPER="$tmp/bin/knext-node" KNEXT_APP_DIR="$tmp/emptyapp" "$K" 2>"$tmp/e"
fi
r=$?
[ "$r" = 1 ] && grep -q "$lib" "$tmp/e" && ok "missing $lib: exit 1, names it" ||
	not_ok "missing $lib" "exit=$r $(cat "$tmp/e")"

# 24. A plain script under embedded Node: its exit code passes up.
echo 'process.exitCode = 42' >"$tmp/emptyapp/server.js"
KNEXT_APP_DIR="$tmp/emptyapp" "${NS[@]}" "$K" 2>/dev/null
r=$?
[ "$r" = 42 ] && ok "embedded Node: the script's exit code passes up" || not_ok "embedded exit code" "exit=$r"

# NODE_EXTRA_CA_CERTS still applies although knext-node initialises OpenSSL lazily.
mkdir -p "$tmp/tls"
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/tls/key.pem" \
	-out "$tmp/tls/cert.pem" -days 2 -subj /CN=localhost 2>/dev/null; then
	cat >"$tmp/tls/server.js" <<'JS'
const tls = require('tls'), fs = require('fs');
const opts = { key: fs.readFileSync(__dirname + '/key.pem'), cert: fs.readFileSync(__dirname + '/cert.pem') };
const srv = tls.createServer(opts, (s) => s.end('hi'));
srv.listen(0, '127.0.0.1', () => {
	const c = tls.connect({ port: srv.address().port, host: '127.0.0.1', servername: 'localhost' });
	c.on('secureConnect', () => { console.log('verified'); c.end(); srv.close(); });
	c.on('error', (e) => { console.log(e.code); srv.close(); });
});
JS
	with=$(NODE_EXTRA_CA_CERTS="$tmp/tls/cert.pem" KNEXT_APP_DIR="$tmp/tls" "$K" 2>/dev/null)
	without=$(env -u NODE_EXTRA_CA_CERTS KNEXT_APP_DIR="$tmp/tls" "$K" 2>/dev/null)
	[ "$with" = verified ] && ok "NODE_EXTRA_CA_CERTS is trusted" || not_ok "NODE_EXTRA_CA_CERTS" "$with"
	[ "$without" = DEPTH_ZERO_SELF_SIGNED_CERT ] && ok "without it, the same certificate is refused" ||
		not_ok "untrusted without NODE_EXTRA_CA_CERTS" "$without"
else
	skip "NODE_EXTRA_CA_CERTS is trusted" "openssl(1) missing"
	skip "without it, the same certificate is refused" "openssl(1) missing"
fi

# 25-27. The fixture Next.js app under embedded Node as PID 1: 200 on / and /api/health, then
# SIGTERM → exit 0 within the grace.
if [ -z "$APP" ] || [ ! -e "$APP/server.js" ]; then
	skip "fixture app answers 200 on /" "fixture not built"
	skip "fixture app answers 200 on /api/health" "fixture not built"
	skip "fixture app exits 0 on SIGTERM within the grace" "fixture not built"
else
	port=$((20000 + RANDOM % 20000))
	HOSTNAME=pod-name-123 PORT=$port KNEXT_APP_DIR="$APP" start_ns
	code=000
	for _ in $(seq 1000); do
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" 2>/dev/null)
		[ "$code" = 200 ] && break
		sleep 0.02
	done
	[ "$code" = 200 ] && ok "fixture app answers 200 on / (HOSTNAME from the pod ignored)" ||
		not_ok "fixture /" "code=$code" "$(tail -5 "$tmp/err")"
	body=$(curl -s "http://127.0.0.1:$port/api/health")
	if [ "$RUNTIME" = libnode18 ]; then want=v18.; else want=$("$(dirname "$K")/knext-node" -p process.version); fi
	echo "$body" | grep -q '"status":"ok"' && echo "$body" | grep -qF "\"$want" &&
		ok "fixture app answers /api/health on embedded Node ($want)" || not_ok "fixture /api/health" "$body"
	t0=$(date +%s%N)
	kill -TERM "$KPID"
	wait_exit "$UPID" 600
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$WAITED" = 0 ] && [ "$ms" -lt 5000 ] && grep -q '"event":"listening"' "$tmp/err" &&
		ok "fixture app exits 0 on SIGTERM (${ms} ms)" ||
		not_ok "fixture SIGTERM" "exit=$WAITED after ${ms} ms" "$(tail -5 "$tmp/err")"
fi

done_testing
