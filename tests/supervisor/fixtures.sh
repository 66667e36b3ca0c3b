#!/bin/bash
# Every fixture app (Next 15.5, Next 16, the large one) under knext-init in exec mode with the
# machine's node: every route answers 200, /api/entropy gives fresh randomness per start and the
# greeting of the start's own environment. Usage: fixtures.sh KNEXT_INIT SOURCE_ROOT
set -u
K=$(realpath "$1")
top=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"
. "$here/routes.sh"

tap_workdir
export KNEXT_PROBE_PORT=0
unset NODE_EXTRA_CA_CERTS
NS=(env --default-signal unshare --pid --fork --mount-proc)

# serve APP OUT [ENV...]: knext-init -- node server.js as PID 1 in APP, every route of the app
# fetched into OUT.* (routes_fetch), then SIGTERM.
serve() {
	local app=$1 out=$2
	shift 2
	local port=$((20000 + RANDOM % 20000))
	(cd "$app" && exec env "$@" PORT=$port HOSTNAME=127.0.0.1 "${NS[@]}" "$K" -- \
		node server.js >"$out.log" 2>&1) &
	local u=$!
	pids+=("$u")
	routes_wait "$port"
	routes_fetch "$app" "$port" "$out"
	kill -TERM "$(pgrep -P "$u" | head -1)" 2>/dev/null
	wait "$u"
}

plan 9
for f in app next16 large; do
	app="$top/tests/fixtures/$f/.next/standalone"
	if [ ! -e "$app/server.js" ]; then
		for t in routes entropy greeting; do skip "$f: $t" "fixture not built (make fixture)"; done
		continue
	fi
	serve "$app" "$tmp/$f.a" FIXTURE_GREETING=alpha
	serve "$app" "$tmp/$f.b"
	n=$(wc -l <"$tmp/$f.a.status")
	bad=$(grep -v ' 200$' "$tmp/$f.a.status" "$tmp/$f.b.status")
	[ "$n" -ge 5 ] && [ -z "$bad" ] && ok "$f: $n routes answer 200" ||
		not_ok "$f: every route answers 200" "$bad" "$(tail -5 "$tmp/$f.a.log")"
	a=$(cat "$tmp/$f.a.entropy")
	b=$(cat "$tmp/$f.b.entropy")
	[ -n "$a" ] && [ "$(entropy_field "$a" random)" != "$(entropy_field "$b" random)" ] &&
		[ "$(entropy_field "$a" uuid)" != "$(entropy_field "$b" uuid)" ] &&
		ok "$f: /api/entropy differs per start" || not_ok "$f: /api/entropy differs per start" "$a" "$b"
	[ "$(entropy_field "$a" greeting)" = alpha ] && [ "$(entropy_field "$b" greeting)" = none ] &&
		ok "$f: /api/entropy greets with the start's FIXTURE_GREETING" ||
		not_ok "$f: greeting follows FIXTURE_GREETING" "$a" "$b"
done
done_testing
