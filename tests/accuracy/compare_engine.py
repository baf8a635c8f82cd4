#!/usr/bin/python3
"""Differential check: the findings of logsift's Sigma engine (prefilter + confirm) must equal
the reference evaluator's plain field-by-field evaluation, event for event.

    compare_engine.py --logsift build/scanner/cli/logsift [-r RULES] [--correlations] INPUT...
    compare_engine.py --findings engine.jsonl [-r RULES] [--correlations] INPUT...

With GeoIP: --geoip DB (repeatable) is passed to logsift, and --geoip-networks FILE (the
networks JSON the DBs were written from, tests/data/geoip/make_mmdb.pl) to the reference.

Runs `logsift scan -r RULES -o jsonl INPUT...` (or reads its JSON-lines findings from a file)
and sigma_ref over the same inputs, and compares the multisets of (rule, input, event ordinal).
A rule is named by its file stem whether the engine reports the Sigma id or the title.
Per-event rules only unless --correlations; either way rules that only feed correlations make
no findings (Sigma's generate: false), so give -r the same rules the engine loads. Exit 0 when equal, 1 with the differences listed,
2 on a usage or rule error.
"""
import argparse
import collections
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sigma_ref as S  # noqa: E402


def key(f, stem_of):
    return (stem_of.get(f["rule"], f["rule"]), os.path.normpath(f["source"]), f["ordinal"])


def main(argv=None):
    ap = argparse.ArgumentParser(description="logsift Sigma engine vs reference evaluator")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--logsift", help="the logsift binary to run")
    src.add_argument("--findings", help="logsift's JSON-lines findings over the same inputs")
    ap.add_argument("-r", "--rules", default=os.path.join(HERE, "..", "..", "patterns", "packs"))
    ap.add_argument("--correlations", action="store_true", help="compare correlations too")
    ap.add_argument("--geoip", action="append", default=[], metavar="DB",
                    help="MaxMind DB for logsift --geoip (repeatable)")
    ap.add_argument("--geoip-networks", metavar="FILE",
                    help="the networks JSON the --geoip DBs were written from, for the reference")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args(argv)
    S.set_geoip_networks(a.geoip_networks)
    try:
        rules, corrs = S.load_rules([a.rules])
        want = S.evaluate(rules, corrs, S.input_files(a.inputs))
    except S.SigmaError as e:
        print("compare_engine: %s" % e, file=sys.stderr)
        return 2
    stem_of = {}
    for r in rules + corrs:
        stem = os.path.splitext(os.path.basename(r.path))[0]
        stem_of[r.id] = stem_of[r.title] = stem
    corr_ids = {c.id for c in corrs} | {c.title for c in corrs}
    if a.logsift:
        # The default packs as logsift bundles them (hunting/ left out, as sigma_ref does).
        packs = os.path.realpath(os.path.join(HERE, "..", "..", "patterns", "packs"))
        rule_args = [] if os.path.realpath(a.rules) == packs else ["-r", a.rules]
        geo_args = [x for db in a.geoip for x in ("--geoip", db)]
        p = subprocess.run([a.logsift, "scan", *rule_args, *geo_args, "-o", "jsonl"] + a.inputs,
                           capture_output=True, text=True)
        # 2: some input or record was reported bad (on stderr) and the run went on.
        if p.returncode not in (0, 1, 2):
            print("compare_engine: logsift scan failed (%d): %s" % (p.returncode,
                                                                    p.stderr.strip()),
                  file=sys.stderr)
            return 2
        lines = p.stdout.splitlines()
    else:
        with open(a.findings) as fp:
            lines = fp.read().splitlines()
    got = [json.loads(x) for x in lines if x.strip()]
    if not a.correlations:  # compare per-event rules (building blocks stay silent on both sides)
        got = [f for f in got if f["rule"] not in corr_ids]
        want = [f for f in want if f["rule"] not in corr_ids]
    w = collections.Counter(key(f, stem_of) for f in want)
    g = collections.Counter(key(f, stem_of) for f in got)
    missing, extra = w - g, g - w
    for k, n in sorted(missing.items())[:20]:
        print("only in the reference: %s %s #%d (x%d)" % (k + (n,)))
    for k, n in sorted(extra.items())[:20]:
        print("only in logsift:       %s %s #%d (x%d)" % (k + (n,)))
    print("compare_engine: %d reference findings, %d logsift findings, %d differ" % (
        sum(w.values()), sum(g.values()), sum(missing.values()) + sum(extra.values())))
    return 1 if missing or extra else 0


if __name__ == "__main__":
    sys.exit(main())
