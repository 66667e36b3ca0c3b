#!/bin/sh
# knext-operator with 1,000 NextApps against the fake API server, RUNS times (default 3):
# RSS, CPU, initial sync time, change -> apply latency (p50, p99) against a bare apply PATCH
# measured in the same runs, interleaved. Prints each run's JSON, then the medians.
# Usage: tests/operator/bench.sh [BUILD_DIR] [RUNS] [N_APPS] [N_CHANGES]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
runs=${2:-3}
napps=${3:-1000}
nchanges=${4:-200}
case $build in /*) ;; *) build="$top/$build" ;; esac
bench="$build/tests/operator/operator-bench"
operator="$build/container/operator/knext-operator"
[ -x "$bench" ] && [ -x "$operator" ] || meson compile -C "$build" \
	tests/operator/operator-bench container/operator/knext-operator:executable >/dev/null
out=$(mktemp /tmp/knext-operator-bench.XXXXXX)
trap 'rm -f "$out"' EXIT INT TERM
i=0
while [ "$i" -lt "$runs" ]; do
	"$bench" "$operator" "$napps" "$nchanges" | tee -a "$out"
	i=$((i + 1))
done
python3 - "$out" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
med = lambda f: statistics.median(f(r) for r in runs)
print(f"knext-operator, {runs[0]['napps']} NextApps, {runs[0]['changes']} changes, "
      f"median of {len(runs)} runs:")
rows = [
    ("initial sync (all Ready)", f"{med(lambda r: r['sync_ms']):.0f} ms"),
    ("CPU for the initial sync", f"{med(lambda r: r['sync_cpu_ms']):.0f} ms"),
    ("CPU while idle", f"{med(lambda r: r['idle_cpu_ms_per_s']):.2f} ms/s"),
    ("RSS after sync / peak", f"{med(lambda r: r['rss_kb'])/1024:.1f} / "
                             f"{med(lambda r: r['hwm_kb'])/1024:.1f} MiB"),
    ("CPU for the changes", f"{med(lambda r: r['change_cpu_ms']):.0f} ms"),
    ("change -> apply p50 / p99", f"{med(lambda r: r['latency_ms']['p50']):.2f} / "
                                  f"{med(lambda r: r['latency_ms']['p99']):.2f} ms"),
    ("baseline bare apply p50 / p99", f"{med(lambda r: r['baseline_apply_ms']['p50']):.2f} / "
                                      f"{med(lambda r: r['baseline_apply_ms']['p99']):.2f} ms"),
    ("burst of N/2 changes p50 / p99 / last", f"{med(lambda r: r['burst']['p50']):.0f} / "
                                  f"{med(lambda r: r['burst']['p99']):.0f} / "
                                  f"{med(lambda r: r['burst']['last']):.0f} ms"),
    ("applies per change", f"{med(lambda r: r['operator_applies_for_changes'] / r['changes']):.2f}"),
]
for k, v in rows:
    print(f"  {k:38s} {v}")
PY
