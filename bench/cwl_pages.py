#!/usr/bin/python3
"""FilterLogEvents (and GetLogEvents) pages per second of `logsift scan logs://...` against the
project's emulator.

Starts the emulator (tests/integration/emulator) twice on 127.0.0.1, once plain and once with
--aws-quotas (AWS's 5 TPS FilterLogEvents quota enforced), loads a log group with the real
auth.log from ../shared/data, and times logsift reading it in small pages at several
--cwl-tps settings, with either API. Pages/s counts the pages the emulator served (throttled
requests are reported apart). Best of N runs per row.

    bench/cwl_pages.py [--logsift build/scanner/cli/logsift] [--runs 3] [--page-events 100]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import test_cwl  # noqa: E402  (the emulator wrapper and the env the tests use)


def measure(emu, logsift, api, tps, page_events, runs):
    best = None
    for _ in range(runs):
        before = len(emu.requests()["requests"])
        cmd = [logsift, "scan", "-q", "-o", "none", "--endpoint-url", emu.url,
               "--cache-dir", os.path.join(test_cwl.EMU["tmp"], "cache"),
               "logs://bench" + ("/s" if api == "get" else ""), "--cwl-api", api,
               "--since", "1d", "--lag", "0", "--cwl-page-events", str(page_events)]
        if tps:
            cmd += ["--cwl-tps", str(tps)]
        t = time.monotonic()
        r = subprocess.run(cmd, capture_output=True, text=True,
                           env=test_cwl.env(AWS_MAX_ATTEMPTS="10"))
        elapsed = time.monotonic() - t
        if r.returncode not in (0, 1):
            raise SystemExit("logsift failed: " + r.stderr)
        reqs = [q for q in emu.requests()["requests"][before:]
                if q.get("operation") in ("FilterLogEvents", "GetLogEvents")]
        ok = sum(1 for q in reqs if q.get("status") == 200)
        throttled = sum(1 for q in reqs if q.get("error") == "ThrottlingException")
        row = (ok / elapsed, ok, throttled, elapsed)
        if best is None or row[0] > best[0]:
            best = row
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logsift", default=os.path.join(HERE, "..", "build", "scanner", "cli",
                                                      "logsift"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--page-events", type=int, default=100)
    args = ap.parse_args()
    test_cwl.EMU["tmp"] = tempfile.mkdtemp(prefix="lsf-cwl-bench-")
    lines = test_cwl.read_lines(test_cwl.AUTH_LOG)
    print("%d events, %d per page; best of %d" % (len(lines), args.page_events, args.runs))
    print("%-14s %-7s %-11s %9s %6s %10s %8s" % ("emulator", "api", "--cwl-tps", "pages/s",
                                                 "pages", "throttled", "seconds"))
    try:
        for flags, label in (((), "plain"), (("--aws-quotas",), "--aws-quotas")):
            emu = test_cwl.Emulator(*flags)
            try:
                base = test_cwl.now_ms() - 30 * 60 * 1000
                emu.seed("bench", "s", [(base + i, m) for i, m in enumerate(lines)])
                for api, tps in (("filter", None), ("filter", 20), ("filter", 1000),
                                 ("get", None), ("get", 1000)):
                    rate, ok, throttled, secs = measure(emu, args.logsift, api, tps,
                                                        args.page_events, args.runs)
                    default = "default(%d)" % (10 if api == "get" else 5)
                    print("%-14s %-7s %-11s %9.2f %6d %10d %8.2f" % (
                        label, api, default if tps is None else tps, rate, ok, throttled, secs),
                        flush=True)
            finally:
                emu.stop()
    finally:
        shutil.rmtree(test_cwl.EMU["tmp"], ignore_errors=True)


if __name__ == "__main__":
    main()
