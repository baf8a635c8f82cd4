#!/usr/bin/env python3
"""Scan time of the full default Sigma packs against their literals alone, in one run.

What issue 3 asks of the Sigma compiler: the default packs (Hyperscan prefilter, then field
confirmation of the events a rule's trigger literals hit, then correlations) must scan near the
speed of the literals they compile to. The literals are what `logsift rules export --default`
writes; they are scanned twice: through logsift as plain hsbench rules (same reading, framing
and matching, nothing to confirm) and by logsift-bare (a bare hs_scan over preloaded bytes).
A confirm-only run (every rule on every event) shows what the prefilter saves.

Figures: best of N `elapsed_s` of `logsift scan -q -o none` (the scan itself, cache warm), and
logsift-bare's median hs_scan time; GB/s of decompressed bytes on one core unless --jobs.

    bench/sigma_bench.py [--size 256M] [--runs 5] [--jobs 1] [--corpus DIR]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def scan(a, extra, stats, cache):
    subprocess.run([a.logsift, "scan", "-q", "-o", "none", "--cache-dir", cache,
                    "-j", str(a.jobs), "--stats-json", stats, *extra, a.corpus],
                   check=False, stdout=subprocess.DEVNULL)
    with open(stats) as f:
        return json.load(f)


def best_of(a, extra, stats, cache, runs):
    scan(a, extra, stats, cache)  # warm-up: page cache and the compiled-rule cache
    best = None
    for _ in range(runs):
        st = scan(a, extra, stats, cache)
        if best is None or st["elapsed_s"] < best["elapsed_s"]:
            best = st
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="256M")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--corpus", help="CloudTrail folder (default: logsift-gen seed 1, --size)")
    ap.add_argument("--logsift", default=os.path.join(ROOT, "build/scanner/cli/logsift"))
    ap.add_argument("--gen", default=os.path.join(ROOT, "build/bench/logsift-gen"))
    ap.add_argument("--bare", default=os.path.join(ROOT, "build/bench/logsift-bare"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lsf-sigma-bench-") as tmp:
        if a.corpus is None:
            a.corpus = os.path.join(tmp, "corpus")
            subprocess.run([a.gen, "--out", a.corpus, "--kind", "cloudtrail", "--size", a.size,
                            "--seed", "1", "-q"], check=True)
        literals = os.path.join(tmp, "literals.rules")
        with open(literals, "w") as f:
            subprocess.run([a.logsift, "rules", "export", "--default"], check=True, stdout=f)
        stats, cache = os.path.join(tmp, "stats.json"), os.path.join(tmp, "cache")
        packs = best_of(a, [], stats, cache, a.runs)
        alone = best_of(a, ["-r", literals], stats, cache, a.runs)
        confirm_only = best_of(a, ["--sigma-confirm-only"], stats, cache, 1)
        bare = json.loads(subprocess.run(
            [a.bare, "-p", literals, "--runs", str(a.runs), "--json", a.corpus],
            check=True, capture_output=True, text=True).stdout)
        nbytes = packs["bytes"]
        rows = [("default packs (prefilter + confirm)", packs["elapsed_s"]),
                ("their literals through logsift", alone["elapsed_s"]),
                ("their literals, bare hs_scan", bare["median_s"]),
                ("default packs, confirm-only (1 run)", confirm_only["elapsed_s"])]
        print(f"corpus {nbytes / 1e6:.1f} MB, {packs['events']} events, -j{a.jobs}; "
              f"{bare['patterns']} literals compiled")
        for label, t in rows:
            print(f"  {label:38s} {t:7.3f} s  {nbytes / t / 1e9:6.2f} GB/s  "
                  f"{t / rows[0][1]:5.2f}x the packs' time")
        confirms = sum(packs.get("rule_confirms", {}).values())
        print(f"  events parsed for confirmation: {packs['events_parsed']} "
              f"({100.0 * packs['events_parsed'] / max(packs['events'], 1):.1f}%), "
              f"{confirms} rule confirmations, {packs['findings']} findings")
        same = packs["findings"] == confirm_only["findings"] and \
            packs["rules"] == confirm_only["rules"]
        print("  prefilter + confirm and confirm-only agree on every rule's findings:",
              "yes" if same else "NO")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
