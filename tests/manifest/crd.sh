#!/bin/sh
# The NextApp CRD against golden and invalid NextApps (schema + CEL rules), see crd.mjs. TAP.
# usage: crd.sh MANIFEST_CLI
set -u
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# shellcheck source=npm-deps.sh
. "$here/npm-deps.sh"
node "$here/crd.mjs" "$1"
