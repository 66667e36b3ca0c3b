#!/usr/bin/env python3
"""Counts test cases in meson's JUnit logs and prints 'N passed, N failed, N skipped'.

The failed cases are named first, one a line (at most 40), so the end of a run's output says what
failed without the logs.

meson writes one <testcase> per TAP subtest (Criterion and our shell suites speak TAP), and one per
plain test executable, so the figure counts real cases, not binaries. A suite whose cases all pass
but which itself ends in error (a sanitizer's leak report at exit, a crash after the last case) is
one failed case more: meson's testlog.json beside each JUnit log says so.
"""
import json
import os
import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = 0
names = []
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"summary: cannot read {path}: {e}", file=sys.stderr)
        failed += 1
        continue
    failing_suites = set()
    for suite in root.iter("testsuite"):
        cases = list(suite.iter("testcase"))
        for case in cases:
            if case.find("skipped") is not None:
                skipped += 1
            elif case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                failing_suites.add(suite.get("name", "?"))
                names.append(f"{suite.get('name', '?')}: {case.get('name', '?')}")
            else:
                passed += 1
    log = os.path.join(os.path.dirname(path), "testlog.json")
    try:
        with open(log, encoding="utf-8") as f:
            runs = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError):
        runs = []
    for run in runs:
        name, result = run.get("name", "?"), run.get("result", "OK")
        if result in ("OK", "SKIP", "EXPECTEDFAIL"):
            continue
        if any(s.endswith(name) for s in failing_suites):
            continue
        failed += 1
        names.append(f"{name}: the suite ended in {result} ({run.get('returncode', '?')}) "
                     "with no failed case")

for name in names[:40]:
    print(f"failed: {name}")
if len(names) > 40:
    print(f"failed: ... and {len(names) - 40} more")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
