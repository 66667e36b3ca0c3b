# Sourced by the manifest tests that need node: installs tests/manifest's npm packages from the
# committed lockfile when node_modules is missing, or skips the test visibly (TAP) when it cannot.
# Needs $here (tests/manifest) and $tmp.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "1..0 # SKIP node and npm are needed"
	exit 0
fi
if [ ! -d "$here/node_modules/@kubernetes-models/knative" ] ||
	[ ! -d "$here/node_modules/@marcbachmann/cel-js" ]; then
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >"$tmp/npm.log" 2>&1) || {
		echo "1..0 # SKIP npm ci failed: $(tail -1 "$tmp/npm.log")"
		exit 0
	}
fi
