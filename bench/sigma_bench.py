#!/usr/bin/env python3
"""Scan throughput of Sigma rules against the same detections written as plain literals.

Takes every single-name CloudTrail rule of patterns/default.rules ('"eventName"\\s?:\\s?"X"')
and writes the same detections three ways: as plain literals '"X"' and as that key+value
regex in hsbench files (Hyperscan reports, nothing to confirm), and as one Sigma rule per name (eventName: X, logsource aws/cloudtrail: Hyperscan
prefilter literal '"X"' + jansson parse + field confirmation of each hit). Both scan the same
logsift-gen CloudTrail corpus; the table gives best-of-N wall time, GB/s and the ratio, and
checks that both find the same number of events (and that repeated runs agree).

    bench/sigma_bench.py [--size 256M] [--runs 5] [--jobs 2] [--logsift PATH] [--gen PATH]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import resource

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def single_name_rules():
    names = []
    with open(os.path.join(ROOT, "patterns/default.rules")) as f:
        for line in f:
            m = re.match(r'^(\d+):/"eventName"\\s\?:\\s\?"([A-Za-z]+)"/$', line.strip())
            if m:
                names.append((int(m.group(1)), m.group(2)))
    return names


def write_packs(tmp, names):
    lit = os.path.join(tmp, "literals.rules")
    with open(lit, "w") as f:
        for pid, name in names:
            f.write(f"#@ id=lit.{name}\n{pid}:/\"{name}\"/\n")
    keyed = os.path.join(tmp, "keyed.rules")
    with open(keyed, "w") as f:
        for pid, name in names:
            f.write(f"#@ id=keyed.{name}\n{pid}:/\"eventName\"\\s?:\\s?\"{name}\"/\n")
    sig = os.path.join(tmp, "sigma")
    os.makedirs(sig)
    for pid, name in names:
        with open(os.path.join(sig, f"{name}.yml"), "w") as f:
            f.write(f"title: {name} called\nid: sigma.{name}\nlogsource:\n  product: aws\n"
                    f"  service: cloudtrail\ndetection:\n  selection:\n    eventName: {name}\n"
                    f"  condition: selection\nlevel: medium\n")
    return lit, keyed, sig


def scan(logsift, rules, corpus, jobs, extra, stats):
    """CPU seconds (user + sys) of one scan: steadier than wall time on a shared machine."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The compiled-rule cache (filled by the warm-up) keeps compile time out of the figures.
    subprocess.run([logsift, "scan", "-q", "-o", "none", "--cache-dir", stats + ".cache",
                    "-j", str(jobs),
                    "--stats-json", stats, "-r", rules, *extra, corpus],
                   check=False, stdout=subprocess.DEVNULL)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    with open(stats) as f:
        st = json.load(f)
    return cpu, st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="256M")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--logsift", default=os.path.join(ROOT, "build/scanner/cli/logsift"))
    ap.add_argument("--gen", default=os.path.join(ROOT, "build/bench/logsift-gen"))
    a = ap.parse_args()
    names = single_name_rules()
    with tempfile.TemporaryDirectory(prefix="lsf-sigma-bench-") as tmp:
        lit, keyed, sig = write_packs(tmp, names)
        corpus = os.path.join(tmp, "corpus")
        subprocess.run([a.gen, "--out", corpus, "--kind", "cloudtrail", "--size", a.size,
                        "--seed", "1", "-q"], check=True)
        stats = os.path.join(tmp, "stats.json")
        rows = []
        for label, rules, extra in [("literals '\"X\"' (hsbench)", lit, []),
                                    ("default.rules style key+value", keyed, []),
                                    ("sigma (prefilter+confirm)", sig, []),
                                    ("sigma (confirm-only)", sig, ["--sigma-confirm-only"])]:
            best, counts, nbytes = None, set(), 0
            runs = a.runs if "confirm-only" not in label else 1
            scan(a.logsift, rules, corpus, a.jobs, extra, stats)  # warm-up
            for _ in range(runs):
                wall, st = scan(a.logsift, rules, corpus, a.jobs, extra, stats)
                best = wall if best is None else min(best, wall)
                counts.add(st.get("events_with_findings", st.get("findings")))
                nbytes = st.get("bytes", 0)
            rows.append((label, best, counts, nbytes))
        print(f"{len(names)} CloudTrail rules, corpus {a.size} (logsift-gen seed 1), -j{a.jobs}, "
              f"best of {a.runs} CPU time (user+sys, includes process start and cache load); "
              f"ratio against the key+value pack, which detects the same events")
        base = rows[1][1]
        for label, best, counts, nbytes in rows:
            gbs = nbytes / best / 1e9 if nbytes else 0
            print(f"  {label:30s} {best:7.3f} s  {gbs:6.2f} GB/s/core  x{best / base:5.2f}  "
                  f"events with findings {sorted(counts)}")
        # The bare literal also fires where the name sits in another field (e.g. a policy
        # text), so only the key+value pack is held to the Sigma rules' counts.
        same = rows[1:]
        agree = len({frozenset(r[2]) for r in same}) == 1 and all(len(r[2]) == 1 for r in rows)
        print("  key+value, sigma and confirm-only find the same events, every run:",
              "yes" if agree else "NO")
        return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
