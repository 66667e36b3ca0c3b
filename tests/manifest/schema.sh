#!/bin/sh
# Integration test of `knext-init manifest` (through the manifest-cli driver): renders every
# golden NextApp in YAML and JSON through the real CLI, validates each Service against the real
# Knative Service schema (npm @kubernetes-models/knative, via validate.mjs), and checks the CLI's
# exit codes and messages. Prints TAP.
# usage: schema.sh MANIFEST_CLI
set -u
cli=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
digest=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

# shellcheck source=npm-deps.sh
. "$here/npm-deps.sh"

n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	[ -s "$tmp/err" ] && sed 's/^/# /' "$tmp/err" | head -20
}
# expect CODE NAME CMD...: the command exits with CODE
expect() {
	want=$1
	name=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" = "$want" ]; then ok "$name"; else
		echo "exit $got, want $want" >>"$tmp/err"
		not_ok "$name"
	fi
}

# Renders through the CLI, both formats.
for f in "$here"/golden/*.nextapp.*; do
	base=$(basename "$f" | sed 's/\.nextapp\..*//')
	extra=""
	case $base in owner-*) extra="--owner-uid 0b7e4c1e-1111-4d2b-9c55-5e0f00c0ffee" ;; esac
	for fmt in yaml json; do
		# shellcheck disable=SC2086
		expect 0 "render $base -o $fmt" "$cli" manifest -f "$f" -o $fmt $extra
		cp "$tmp/out" "$tmp/$base.service.$fmt"
	done
done
# A NextApp built from flags alone.
expect 0 "render from flags" "$cli" manifest --name flags --namespace zones \
	--image "registry.example/flags@sha256:$digest" --min-scale 1 --max-scale 5 --target 20 \
	--concurrency 40 --timeout 120 --env NODE_ENV=production --env EMPTY= --build-id b7 \
	--port 3000 --probe-port 9100 -o yaml
cp "$tmp/out" "$tmp/flags.service.yaml"
expect 0 "render pvc from flags" "$cli" manifest --name flagpvc \
	--image "registry.example/flags@sha256:$digest" --cache pvc --claim pack --write-back \
	--pvc-enabled --pvc-write-enabled -o json
cp "$tmp/out" "$tmp/flagpvc.service.json"
grep -q '"claimName": "pack"' "$tmp/flagpvc.service.json" && ok "pvc flags mount the claim" ||
	not_ok "pvc flags mount the claim"

# Every render against the Knative schema.
for s in "$tmp"/*.service.*; do
	if (cd "$here" && node validate.mjs "$s") >"$tmp/err" 2>&1; then
		ok "knative schema: $(basename "$s")"
	else
		not_ok "knative schema: $(basename "$s")"
	fi
done

# The goldens are what the CLI prints.
for g in "$here"/golden/*.service.*; do
	if cmp -s "$g" "$tmp/$(basename "$g")"; then ok "golden $(basename "$g")"; else
		diff "$g" "$tmp/$(basename "$g")" >"$tmp/err"
		not_ok "golden $(basename "$g")"
	fi
done

# Unpinned images exit 1 and say how to pin.
sed "s|registry.example/hello@sha256:$digest|registry.example/hello:latest|" \
	"$here/golden/minimal.nextapp.yaml" >"$tmp/latest.yaml"
expect 1 "latest image exits 1" "$cli" manifest -f "$tmp/latest.yaml"
grep -q "spec.image: .*:latest" "$tmp/err" && grep -q "pin the image by digest" "$tmp/err" &&
	ok "latest image message says how to pin" || not_ok "latest image message says how to pin"
expect 1 "tag-only image exits 1" "$cli" manifest --name x --image registry.example/xy:1.0
grep -q "pinned only by a tag" "$tmp/err" && ok "tag-only message" || not_ok "tag-only message"
expect 0 "--image overrides the file's tag" "$cli" manifest -f "$tmp/latest.yaml" \
	--image "registry.example/hello@sha256:$digest"
printf 'apiVersion: knext.dev/v1alpha1\nkind: NextApp\nmetadata: {name: a}\nspec:\n  image: r/a@sha256:%s\n  replicas: 2\n' \
	"$digest" >"$tmp/unknown.yaml"
expect 1 "unknown field exits 1" "$cli" manifest -f "$tmp/unknown.yaml"
grep -q "spec.replicas: unknown field" "$tmp/err" && ok "unknown field named" ||
	not_ok "unknown field named"
expect 0 "reads stdin" sh -c "\"$cli\" manifest -f - -o json < \"$here/golden/minimal.nextapp.yaml\""
node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$tmp/out" 2>"$tmp/err" &&
	ok "-o json is JSON" || not_ok "-o json is JSON"
expect 2 "bad -o exits 2" "$cli" manifest -f "$here/golden/minimal.nextapp.yaml" -o xml
expect 2 "missing file exits 2" "$cli" manifest -f "$tmp/nope.yaml"
expect 2 "no input exits 2" "$cli" manifest -o yaml
expect 0 "--help" "$cli" manifest --help
expect 1 "--check refuses a PVC on a stock cluster" "$cli" manifest \
	--check "$here/golden/pvc-readonly.service.yaml"
expect 0 "--check passes it with the PVC flag" "$cli" manifest \
	--check "$here/golden/pvc-readonly.service.yaml" --pvc-enabled

# A file of several objects: every one is rendered (a YAML stream, or a JSON List), or none is.
app() { printf 'apiVersion: knext.dev/v1alpha1\nkind: NextApp\nmetadata: {name: %s}\nspec: {image: "registry.example/%s@sha256:%s"}\n' "$1" "$2" "$digest"; }
{ app one one; echo ---; app two two; echo ---; } >"$tmp/stream.yaml"
expect 0 "a YAML stream renders" "$cli" manifest -f "$tmp/stream.yaml"
[ "$(grep -c '^kind: Service' "$tmp/out")" = 2 ] && [ "$(grep -c '^---$' "$tmp/out")" = 1 ] &&
	ok "both documents rendered, one separator" || not_ok "both documents rendered, one separator"
cp "$tmp/out" "$tmp/stream.service.yaml"
expect 0 "--check checks every document" "$cli" manifest --check "$tmp/stream.service.yaml"
[ "$(grep -c 'document [12]: passes' "$tmp/out")" = 2 ] && ok "--check names both documents" ||
	not_ok "--check names both documents"
expect 0 "a YAML stream renders as a JSON List" "$cli" manifest -f "$tmp/stream.yaml" -o json
node -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	if (l.kind !== "List" || l.items.map((i) => i.metadata.name).join() !== "one,two") process.exit(1)' \
	"$tmp/out" 2>"$tmp/err" && ok "JSON List holds both Services" || not_ok "JSON List holds both Services"
cp "$tmp/out" "$tmp/list.service.json"
expect 0 "--check reads a JSON List" "$cli" manifest --check "$tmp/list.service.json"
node -e '
	console.log(JSON.stringify({apiVersion: "v1", kind: "List", items: [
	  {apiVersion: "knext.dev/v1alpha1", kind: "NextApp", metadata: {name: "l1"}, spec: {image: process.argv[2]}},
	  {apiVersion: "knext.dev/v1alpha1", kind: "NextApp", metadata: {name: "l2"}, spec: {image: process.argv[2]}}]}))' \
	x "registry.example/app@sha256:$digest" >"$tmp/list.json"
expect 0 "a List of NextApps renders" "$cli" manifest -f "$tmp/list.json"
[ "$(grep -c '^kind: Service' "$tmp/out")" = 2 ] && ok "both items rendered" || not_ok "both items rendered"
{ app one one; echo ---; app 2bad two; } >"$tmp/stream-bad.yaml"
expect 1 "a stream with one invalid document exits 1" "$cli" manifest -f "$tmp/stream-bad.yaml"
grep -q "document 2: metadata.name" "$tmp/err" && [ ! -s "$tmp/out" ] &&
	ok "names the document, prints nothing" || not_ok "names the document, prints nothing"
sed 's/^  name: one$/  name: 1one/' "$tmp/stream.service.yaml" >"$tmp/stream-bad.service.yaml"
expect 1 "--check refuses a stream with one bad Service" "$cli" manifest \
	--check "$tmp/stream-bad.service.yaml"
grep -q "document 1: metadata.name" "$tmp/err" && ok "--check names the bad document" ||
	not_ok "--check names the bad document"

# A value with U+0000 is refused with its path, not cut short.
printf '{"apiVersion":"knext.dev/v1alpha1","kind":"NextApp","metadata":{"name":"a"},"spec":{"image":"registry.example/aa@sha256:%s","env":[{"name":"A","value":"a\\u0000b"}]}}' \
	"$digest" >"$tmp/nul.json"
expect 1 "a NUL in a value exits 1" "$cli" manifest -f "$tmp/nul.json"
grep -q "spec.env\[0\].value: must not contain U+0000" "$tmp/err" && ok "NUL refused at its path" ||
	not_ok "NUL refused at its path"

echo "1..$n"
[ "$failed" = 0 ]
