#!/bin/sh
# mkknext-node.sh NODE SHIM OUT: knext-node for the official runtime, a copy of the official `node`
# executable NODE whose dynamic section names the shared library SHIM first, found beside it
# ($ORIGIN). Two patchelf calls: patchelf 0.14 writes a wrong RUNPATH when --add-needed and
# --set-rpath are one call. Never strip the result: the patched executable then crashes.
set -eu
node=$1
shim=$2
out=$3

rm -f "$out.tmp"
cp "$node" "$out.tmp"
chmod u+w "$out.tmp"
patchelf --add-needed "$(basename "$shim")" "$out.tmp"
patchelf --set-rpath '$ORIGIN' "$out.tmp"
mv -f "$out.tmp" "$out"
