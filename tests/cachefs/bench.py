#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Figures for cachefs, interleaved runs, medians, baselines from the same run.

  bench.py BUILD_DIR [ROUNDS]

Records a realistic pack from the fixture app (node + record.js: V8 code cache of every CommonJS
module loaded up to the first render, plus its source), then measures:
  hot:  prefetch into the sealed memfd  vs  `zstd -d -c PACK > /dev/null` (wall time, per process)
  cold: prefetch after POSIX_FADV_DONTNEED on the pack  vs  the same entries as separate files,
        each dropped from the page cache, read one by one
  peak RSS of prefetch against the decompressed size; pack size against the raw entries.
"""
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

top = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, 'build'))
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 21
app = os.path.join(top, 'tests/fixtures/app/.next/standalone')
tools = os.path.join(build, 'tests/cachefs')
work = tempfile.mkdtemp(prefix='knext-cachefs-bench-')


def record():
    rec = os.path.join(work, 'rec')
    os.makedirs(rec)
    env = dict(os.environ, KNEXT_RECORD_DIR=rec, KNEXT_RECORD_APP=app, PORT='3919',
               HOSTNAME='127.0.0.1', NEXT_TELEMETRY_DISABLED='1')
    srv = subprocess.Popen(['node', '--require', os.path.join(top, 'tests/cachefs/record.js'),
                            'server.js'], cwd=app, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen('http://127.0.0.1:3919/', timeout=5).read()
                break
            except OSError:
                time.sleep(0.1)
        urllib.request.urlopen('http://127.0.0.1:3919/', timeout=5).read()
        srv.send_signal(signal.SIGUSR2)
        for _ in range(100):
            if os.path.exists(os.path.join(rec, 'done')):
                break
            time.sleep(0.1)
    finally:
        os.killpg(srv.pid, signal.SIGKILL)
        srv.wait()
    return os.path.join(rec, 'manifest.tsv')


def cpu_ms():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1e3


def run_json(args, cpu=None):
    c0 = cpu_ms()
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    if cpu is not None:
        cpu.append(cpu_ms() - c0)
    return json.loads(out)


def wall(args, cpu=None):
    c0 = cpu_ms()
    t0 = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    if cpu is not None:
        cpu.append(cpu_ms() - c0)
    return (time.perf_counter() - t0) * 1e3


def main():
    manifest = record()
    pack = os.path.join(work, 'app.pack')
    build_id = open(os.path.join(app, '.next/BUILD_ID')).read().strip()
    env = dict(os.environ, BUILD_ID=build_id, RUNTIME_VERSION=subprocess.run(
        ['node', '-p', 'process.versions.node'], capture_output=True, text=True).stdout.strip())
    print(subprocess.run([os.path.join(tools, 'mkpack'), manifest, pack], env=env, check=True,
                         capture_output=True, text=True).stdout.strip())
    files = os.path.join(work, 'files')
    subprocess.run([os.path.join(tools, 'cache_cli_driver'), 'cache', 'unpack', pack, '-o', files],
                   check=True, stdout=subprocess.DEVNULL)
    bp = os.path.join(tools, 'bench_prefetch')
    res = {k: [] for k in ('zstd_wall', 'pf_wall', 'pf_ms', 'pfp_ms', 'cold_files', 'cold_pf',
                           'cold_pfp', 'rss_kb', 'zstd_cpu', 'pf_cpu')}
    info = {}
    for _ in range(rounds):
        res['zstd_wall'].append(wall(['zstd', '-q', '-d', '-c', pack], res['zstd_cpu']))
        t0 = time.perf_counter()
        j = run_json([bp, 'prefetch', pack], res['pf_cpu'])
        res['pf_wall'].append((time.perf_counter() - t0) * 1e3)
        res['pf_ms'].append(j['ms'])
        res['rss_kb'].append(j['rss_kb'])
        info = j
        res['pfp_ms'].append(run_json([bp, 'prefetch', pack, '--pread'])['ms'])
        jf = run_json([bp, 'files', files, '--cold'])
        res['cold_files'].append(jf['ms'])
        res['cold_pf'].append(run_json([bp, 'prefetch', pack, '--cold'])['ms'])
        res['cold_pfp'].append(run_json([bp, 'prefetch', pack, '--cold', '--pread'])['ms'])
    med = {k: statistics.median(v) for k, v in res.items()}
    raw, size = info['raw'], info['file']
    print(f"pack: {jf['files']} entries, raw {raw} B, pack {size} B, ratio {raw / size:.2f}, "
          f"memfd {info['memfd']} B, io_uring {'no' if info['fallback'] else 'yes'}")
    print(f"rounds: {rounds} interleaved, medians")
    print(f"hot:  zstd -d -c > /dev/null {med['zstd_wall']:.2f} ms (process) | prefetch "
          f"{med['pf_wall']:.2f} ms (process), {med['pf_ms']:.2f} ms in-process, pread "
          f"{med['pfp_ms']:.2f} ms | speed-up {med['zstd_wall'] / med['pf_wall']:.2f}x (process), "
          f"{med['zstd_wall'] / med['pf_ms']:.2f}x (in-process)")
    print(f"hot CPU (user+sys per process): zstd {med['zstd_cpu']:.1f} ms, prefetch "
          f"{med['pf_cpu']:.1f} ms; load average {os.getloadavg()[0]:.2f}")
    print(f"cold: {jf['files']} files one by one {med['cold_files']:.2f} ms | prefetch "
          f"{med['cold_pf']:.2f} ms (pread {med['cold_pfp']:.2f} ms) | speed-up "
          f"{med['cold_files'] / med['cold_pf']:.2f}x")
    print(f"peak RSS of the prefetch process: {max(res['rss_kb'])} KiB max, "
          f"{med['rss_kb']:.0f} KiB median; decompressed {raw // 1024} KiB; budget "
          f"{raw // 1024 + 8192} KiB")
    subprocess.run(['rm', '-rf', work])


main()
