#!/bin/sh
# House style: every C and C++ file of the tree is as clang-format (.clang-format) leaves it.
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
if ! command -v clang-format >/dev/null; then
	echo "1..0 # SKIP clang-format missing"
	exit 0
fi
files=$(git ls-files '*.c' '*.h' '*.cc' 2>/dev/null || find . -name '*.[ch]' -o -name '*.cc')
echo "1..$(echo "$files" | wc -l)"
n=0
for f in $files; do
	n=$((n + 1))
	if clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "ok $n - $f"
	else
		echo "not ok $n - $f (run clang-format -i $f)"
	fi
done
