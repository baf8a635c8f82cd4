#!/usr/bin/env python3
"""Sigma rules end to end: the differential test (Hyperscan prefilter + confirmation gives
exactly the findings of confirming every rule on every event), `logsift rules check`, and
refusals through the CLI.

Run by ctest with LOGSIFT_BIN, LOGSIFT_GEN (bench/gen.c), LSF_SHARED_DATA (../shared/data) and
LSF_SOURCE_DIR (the repository, for tests/data/sigma). The rules in tests/data/sigma are
SigmaHQ-style and use every supported feature; the packs under patterns/packs join the
differential run through --default-rules.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import zipfile

LOGSIFT = os.environ.get("LOGSIFT_BIN", "build/scanner/cli/logsift")
GEN = os.environ.get("LOGSIFT_GEN", "build/bench/logsift-gen")
DATA = os.environ.get("LSF_SHARED_DATA", "../shared/data")
SRC = os.environ.get("LSF_SOURCE_DIR", ".")
RULES = os.path.join(SRC, "tests/data/sigma")
EVENTS = os.path.join(SRC, "tests/data/sigma-events/escapes.jsonl")
PACKS = os.path.join(SRC, "patterns/packs")

TMP = tempfile.mkdtemp(prefix="lsf-sigma-")


def _sigma_ids():
    """File stem -> Sigma id of the one-rule test files: logsift names such a rule after its
    file, and the tests below pick rules by the id written in them."""
    ids = {}
    for root, _, names in os.walk(RULES):
        for n in names:
            if n.endswith(".yml"):
                with open(os.path.join(root, n)) as f:
                    found = [l.split(":", 1)[1].strip() for l in f if l.startswith("id:")]
                if len(found) == 1:
                    ids[n[:-4]] = found[0]
    return ids


SIGMA_IDS = _sigma_ids()


def rule_of(f):
    """A finding's rule as its Sigma id when the test files give it one."""
    return SIGMA_IDS.get(f["rule"], f["rule"])


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


def run(args):
    env = dict(os.environ, LOGSIFT_CACHE_DIR=os.path.join(TMP, "cache"))
    proc = subprocess.run([LOGSIFT, *args], capture_output=True, env=env, timeout=1200)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def scan(paths, extra=()):
    rc, out, err = run(["scan", "-q", "-j", "2", "--sort", "-r", RULES, *extra, *paths])
    return rc, [json.loads(line) for line in out.splitlines() if line.strip()], err


def rule_args():
    """Our test rules, plus the bundled packs when the packs helper's rules are present."""
    if os.path.isdir(PACKS) and any(f.endswith((".yml", ".yaml"))
                                     for _, _, fs in os.walk(PACKS) for f in fs):
        return ["--default-rules"]
    return []


class Differential(unittest.TestCase):
    """Prefilter + confirm must equal confirm-only, finding for finding."""

    def check_same(self, paths, min_findings, min_rules):
        extra = rule_args()
        rc1, fast, err1 = scan(paths, extra)
        rc2, slow, err2 = scan(paths, [*extra, "--sigma-confirm-only"])
        self.assertEqual(rc1, rc2, err1 + err2)
        self.assertEqual(len(fast), len(slow))
        for a, b in zip(fast, slow):
            self.assertEqual((a["source"], a["offset"], a["rule"]),
                             (b["source"], b["offset"], b["rule"]))
        self.assertEqual(fast, slow)
        # The comparison means something only if many rules fire on many events.
        self.assertGreaterEqual(len(fast), min_findings)
        self.assertGreaterEqual(len({f["rule"] for f in fast}), min_rules)
        return fast

    def test_shared_data_all_files(self):
        # Zip archives are not a log format logsift reads: unpack them so their events count.
        unpacked = os.path.join(TMP, "unzipped")
        for root, _, files in os.walk(DATA):
            for f in files:
                if f.endswith(".zip"):
                    with zipfile.ZipFile(os.path.join(root, f)) as z:
                        z.extractall(os.path.join(unpacked, f[:-4]))
        paths = [DATA] + ([unpacked] if os.path.isdir(unpacked) else [])
        self.check_same(paths, min_findings=500, min_rules=8)

    def test_generated_corpus(self):
        out = os.path.join(TMP, "gen")
        kinds = [("ct", ["--kind", "cloudtrail", "--size", "8M"]),
                 ("auth", ["--kind", "auth", "--size", "4M"]),
                 ("fh", ["--kind", "firehose", "--size", "1M", "--compress", "gzip"]),
                 ("cwl", ["--kind", "cwl-export", "--source", "auth", "--size", "1M"])]
        for name, args in kinds:
            subprocess.run([GEN, "--out", os.path.join(out, name), "--attack-rate", "0.01",
                            "--seed", "7", "-q", *args], check=True, timeout=600)
        self.check_same([out], min_findings=1000, min_rules=8)

    def test_escaped_json_is_still_found(self):
        # \u0053topLogging and cloudtrail\u002eamazonaws.com: the raw bytes lack the literal,
        # the escape sentinel sends the record to confirmation anyway.
        fast = self.check_same([EVENTS], min_findings=10, min_rules=8)
        with open(EVENTS, "rb") as f:
            lines = f.read().split(b"\n")
        offsets = {}
        pos = 0
        for line in lines:
            offsets[line] = pos
            pos += len(line) + 1

        def fired(rule_suffix, needle):
            line = next(l for l in lines if needle in l)
            return any(f["offset"] == offsets[line] and rule_of(f).endswith(rule_suffix)
                       for f in fast)

        self.assertTrue(fired("5e01", b"\\u0053topLogging"))
        self.assertTrue(fired("5e01", b"cloudtrail\\u002eamazonaws"))
        self.assertTrue(fired("5e01", b"STOPLOGGING"))  # case-insensitive by default
        self.assertFalse(fired("5e01", b"StartLogging"))
        self.assertTrue(fired("5e03", b"0.0.0.0\\/0"))  # inside arrays, escaped slash
        self.assertTrue(fired("5e03", b"::/0"))
        self.assertFalse(fired("5e03", b"203.0.113.0/24"))
        self.assertTrue(fired("5e02", b'"MFAUsed":"NO"'))
        self.assertFalse(fired("5e02", b"frank"))  # filtered: AssumedRole
        self.assertTrue(fired("5e06", b'"userName":"victim"'))
        self.assertFalse(fired("5e06", b'"userName":"Mallory"'))  # fieldref: same user
        self.assertTrue(fired("5e04", b'"requestParameters":null'))
        self.assertFalse(fired("5e04", b"invokedBy"))
        self.assertTrue(fired("5e10", b'"GetPasswordData"'))
        self.assertFalse(fired("5e10", b'"getpassworddata"'))  # cased


class RulesCheck(unittest.TestCase):
    def test_reports_every_rule_and_how_it_is_prefiltered(self):
        rc, out, err = run(["rules", "check", RULES])
        self.assertEqual(rc, 0, out + err)
        n_files = sum(1 for _, _, fs in os.walk(RULES) for f in fs if f.endswith(".yml"))
        self.assertEqual(out.count("\n    sigma, "), n_files)
        self.assertIn("0 refused", out)
        # A regex with an alternation and a pure negation cannot be prefiltered, and say so;
        # a regex with a mandatory literal is prefiltered by it.
        blocks = out.split("\n")
        for i, line in enumerate(blocks):
            if "regex_alternation.yml" in line or "pure_not.yml" in line:
                self.assertIn("not prefiltered", blocks[i + 1])
            if "stratus_user_agent_re.yml" in line:
                self.assertIn("prefiltered by", blocks[i + 1])
                self.assertIn("STRATUS", blocks[i + 1])
            if "cloudtrail_tampering.yml" in line:
                self.assertIn("prefiltered by", blocks[i + 1])
                self.assertIn("StopLogging", blocks[i + 1])

    def test_correlation_without_its_base_rules_is_refused(self):
        rc, out, _ = run(["rules", "check",
                          os.path.join(RULES, "correlation/iam_user_then_policy.yml")])
        self.assertEqual(rc, 2)
        self.assertIn("'iam_user_created'", out)
        rc, out, _ = run(["rules", "check", os.path.join(RULES, "correlation")])
        self.assertEqual(rc, 0, out)

    def test_refused_rule_is_named_and_others_still_checked(self):
        bad_dir = os.path.join(TMP, "bad")
        os.makedirs(bad_dir, exist_ok=True)
        shutil.copy(os.path.join(RULES, "cloudtrail/cloudtrail_tampering.yml"), bad_dir)
        with open(os.path.join(bad_dir, "zz_bad.yml"), "w") as f:
            f.write("title: t\nlogsource:\n  product: aws\ndetection:\n  sel:\n"
                    "    CommandLine|base64offset|contains: foo\n  condition: sel\n")
        rc, out, _ = run(["rules", "check", bad_dir])
        self.assertEqual(rc, 2)
        self.assertIn("zz_bad.yml:6:", out)
        self.assertIn("base64offset", out)
        self.assertIn("cloudtrail_tampering.yml", out)
        # scan refuses to run with a refused rule, naming it.
        rc, _, err = scan_rules([bad_dir], [EVENTS])
        self.assertEqual(rc, 2)
        self.assertIn("zz_bad.yml:6:", err)


def scan_rules(rule_paths, inputs):
    args = ["scan", "-q"]
    for r in rule_paths:
        args += ["-r", r]
    return run([*args, *inputs])


class Mixing(unittest.TestCase):
    def test_hsbench_and_sigma_files_together(self):
        hs = os.path.join(TMP, "mix.rules")
        with open(hs, "w") as f:
            f.write("#@ id=test.start_logging\n1:/\"StartLogging\"/\n")
        rc, out, err = scan_rules([hs, os.path.join(RULES, "cloudtrail/cloudtrail_tampering.yml")],
                                  [EVENTS])
        self.assertEqual(rc, 0, err)
        rules = {rule_of(json.loads(l)) for l in out.splitlines() if l.strip()}
        self.assertEqual(rules, {"test.start_logging", "6f1f5a1e-0c1d-4c1e-9a51-1d2b3c4d5e01"})

    def test_only_unprefiltered_rules_still_scan(self):
        # Nothing for Hyperscan to look for: every event is confirmed, none is skipped.
        rc, out, err = scan_rules([os.path.join(RULES, "cloudtrail/pure_not.yml")], [EVENTS])
        self.assertEqual(rc, 0, err)
        with open(EVENTS, "rb") as f:
            wanted = sum(1 for line in f if line.strip() and b'"eventVersion":"1.' not in line)
        self.assertEqual(len([l for l in out.splitlines() if l.strip()]), wanted)


STRATUS = os.path.join(DATA, "cloudtrail/stratus-red-team/detonation-logs")
CORR_RULES = os.path.join(RULES, "correlation")


def corr_findings(findings):
    """Correlation findings as (rule, group, count, first, last), order-free."""
    out = []
    for f in findings:
        ev = f.get("event", "")
        if isinstance(ev, str) and ev.startswith('{"correlation"'):
            e = json.loads(ev)
            out.append((rule_of(f), e["group"], e["count"], e["first"], e["last"]))
    return sorted(out)


class Correlation(unittest.TestCase):
    def test_same_findings_whatever_files_chunks_and_workers(self):
        names = ["aws.credential-access.secretsmanager-retrieve-secrets.json",
                 "aws.persistence.iam-create-admin-user.json"]
        whole = [os.path.join(STRATUS, n) for n in names]
        rc, base, err = run_scan_rules([CORR_RULES], whole, ["-j", "1"])
        self.assertEqual(rc, 0, err)
        expected = corr_findings(base)
        # every correlation type fires on these two detonations
        self.assertEqual({r for r, *_ in expected},
                         {"6f1f5a1e-0c1d-4c1e-9a51-1d2b3c4d5e%d" % i for i in range(30, 37)} -
                         {"6f1f5a1e-0c1d-4c1e-9a51-1d2b3c4d5e32",
                          "6f1f5a1e-0c1d-4c1e-9a51-1d2b3c4d5e33"})
        # One record per file, the newest first in name order (out-of-order files).
        split = os.path.join(TMP, "split")
        os.makedirs(split, exist_ok=True)
        records = []
        for p in whole:
            with open(p) as f:
                records += json.load(f)
        records.sort(key=lambda e: e["eventTime"], reverse=True)
        for i, rec in enumerate(records):
            with open(os.path.join(split, "%03d.json" % i), "w") as f:
                json.dump([rec], f)
        for extra in (["-j", "2"], ["-j", "2", "--chunk-size", "4K"]):
            rc, got, err = run_scan_rules([CORR_RULES], [split], extra)
            self.assertEqual(rc, 0, err)
            self.assertEqual(corr_findings(got), expected)

    def test_window_threshold_and_groups(self):
        rules = os.path.join(TMP, "win")
        os.makedirs(rules, exist_ok=True)
        for name, op, frame in (("ge6", ">= 6", "  timeframe: 10m\n"),
                                ("ge7", ">= 7", "  timeframe: 10m\n"),
                                ("whole", "> 16", "")):  # no timeframe: the whole run
            with open(os.path.join(rules, name + ".yml"), "w") as f:
                f.write("title: %s\nid: win.%s\nlogsource:\n  product: aws\n"
                        "detection:\n  sel:\n    eventName: GetSecretValue\n"
                        "%s  condition: sel | count() by userIdentity.arn %s\n"
                        % (name, name, frame, op))
        def ev(arn, minute, second):
            return json.dumps({"eventTime": "2024-05-01T%02d:%02d:%02dZ" % (
                minute // 60, minute % 60, second), "eventName": "GetSecretValue",
                "userIdentity": {"arn": arn}})
        burst1 = [ev("arn:a", 10, s * 9) for s in range(6)]     # 6 within a minute
        burst2 = [ev("arn:a", 130, s * 9) for s in range(6)]    # 6 more, 2 hours later
        spread = [ev("arn:a", 200 + 20 * k, 0) for k in range(6)]  # 6, 20 min apart
        other = [ev("arn:b", 10, s) for s in range(5)]          # 5 for another principal
        inputs = os.path.join(TMP, "win-in")
        os.makedirs(inputs, exist_ok=True)
        # later events in the first file: the sweep must not depend on file order
        with open(os.path.join(inputs, "a.jsonl"), "w") as f:
            f.write("\n".join(burst2 + spread + other[:2]) + "\n")
        with open(os.path.join(inputs, "b.jsonl"), "w") as f:
            f.write("\n".join(burst1 + other[2:]) + "\n")
        rc, got, err = run_scan_rules([rules], [inputs], ["--format", "json-lines"])
        self.assertEqual(rc, 0, err)
        found = corr_findings(got)
        self.assertEqual([(r, g, c) for r, g, c, _, _ in found],
                         [("ge6", "userIdentity.arn=arn:a", 6)] * 2 +
                         [("whole", "userIdentity.arn=arn:a", 17)])
        self.assertEqual([(a, b) for *_, a, b in found],
                         [("2024-05-01T00:10:00.000Z", "2024-05-01T00:10:45.000Z"),
                          ("2024-05-01T02:10:00.000Z", "2024-05-01T02:10:45.000Z"),
                          ("2024-05-01T00:10:00.000Z", "2024-05-01T04:40:00.000Z")])

    def test_ssh_brute_force_and_spraying_by_remote_address(self):
        # crowdsec's ssh-bf test expects an alert for 35.188.49.176 (its scenario.assert).
        rc, got, err = run_scan_rules([CORR_RULES],
                                      [os.path.join(DATA, "auth/crowdsec-hub/ssh-bf")])
        self.assertEqual(rc, 0, err)
        found = {(r[-2:], g) for r, g, *_ in corr_findings(got)}
        self.assertEqual(found, {("37", "rhost=35.188.49.176"), ("38", "rhost=35.188.49.176")})

    def test_unknown_base_rule_is_refused(self):
        bad = os.path.join(TMP, "corr-bad.yml")
        with open(bad, "w") as f:
            f.write("title: t\nid: corr.bad\ncorrelation:\n  type: temporal\n"
                    "  rules: [nothere, alsonot]\n  timespan: 5m\n")
        rc, _, err = scan_rules([bad], [EVENTS])
        self.assertEqual(rc, 2)
        self.assertIn("corr-bad.yml:1:", err)
        self.assertIn("'nothere'", err)


ELASTIC_AUTH = os.path.join(DATA, "auth/elastic-examples/auth.log")
PACK_CORR = os.path.join(PACKS, "correlations")
PACK_TESTS = os.path.join(PACKS, "tests")


class ChainedCorrelation(unittest.TestCase):
    """A correlation over another correlation's firings (brute force then success over the
    failure-burst correlation), with the real binary and the default packs."""

    def test_pack_correlations_on_their_test_events(self):
        texts = {}
        for n in sorted(os.listdir(PACK_CORR)):
            with open(os.path.join(PACK_CORR, n)) as f:
                texts[n] = f.read()
        for n, text in texts.items():
            if "\ncorrelation:" not in text:
                continue
            stem = n[:-4]
            # The correlations folder without those chained on this one, which would
            # silence it (generate: false).
            rule_id = next(l.split(":", 1)[1].strip() for l in text.splitlines()
                           if l.startswith("id:"))
            rules = os.path.join(TMP, "corr-" + stem)
            os.makedirs(rules, exist_ok=True)
            for m, t in texts.items():
                chained_on = m != n and "\ncorrelation:" in t and rule_id in t
                if not chained_on:
                    with open(os.path.join(rules, m), "w") as f:
                        f.write(t)
            with self.subTest(rule=stem):
                tests = os.path.join(PACK_TESTS, stem)
                got = {}
                for kind in ("positive", "negative"):
                    path = next(os.path.join(tests, t) for t in os.listdir(tests)
                                if t.startswith(kind + "."))
                    rc, found, err = run_scan_rules([rules, os.path.join(PACKS, "auth"),
                                                     os.path.join(PACKS, "cloudtrail")], [path])
                    self.assertIn(rc, (0, 1), err)
                    got[kind] = [f for f in found if f["rule"] == stem]
                self.assertTrue(got["positive"], "no finding on the positive events")
                self.assertEqual(got["negative"], [])

    def test_brute_force_then_success_on_real_auth_log(self):
        # PROVENANCE.md section 7: password guessing from 24.151.103.17, then accepted logins.
        rc, found, err = run_scan_rules([], [ELASTIC_AUTH], ["--default-rules", "-j", "1"])
        self.assertIn(rc, (0, 1), err)
        chained = corr_findings(f for f in found
                                if f["rule"] == "linux_sshd_bruteforce_then_success")
        self.assertEqual([(g, c) for _, g, c, _, _ in chained], [("rhost=24.151.103.17", 2)])
        _, _, _, first, last = chained[0]
        # the burst's sixth failure, then the next accepted login from that address
        self.assertTrue(first.endswith("-03-30T15:54:25.000Z"), first)
        self.assertTrue(last.endswith("-03-30T16:01:36.000Z"), last)
        # building blocks stay silent (generate: false)
        self.assertFalse([f for f in found if f["rule"] in (
            "linux_sshd_failure_burst", "linux_sshd_accepted_login")])
        # Split into 40 files given newest first: the same finding with 2 workers and
        # small chunks (the burst and the login land in different files).
        with open(ELASTIC_AUTH) as f:
            lines = f.readlines()
        split = os.path.join(TMP, "elastic-split")
        os.makedirs(split, exist_ok=True)
        step = (len(lines) + 39) // 40
        for k in range(40):
            with open(os.path.join(split, "%02d.log" % (39 - k)), "w") as f:
                f.writelines(lines[k * step:(k + 1) * step])
        for extra in (["-j", "2"], ["-j", "2", "--chunk-size", "4K"]):
            rc, got, err = run_scan_rules([], [split], ["--default-rules", *extra])
            self.assertIn(rc, (0, 1), err)
            self.assertEqual(corr_findings(
                f for f in got if f["rule"] == "linux_sshd_bruteforce_then_success"), chained)

    def chain_rules(self, name, outer_group, outer_rules):
        d = os.path.join(TMP, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "fail.yml"), "w") as f:
            f.write("title: fail\nname: fail\nlogsource:\n  product: linux\n"
                    "detection:\n  k:\n    - 'Failed password'\n  condition: k\n")
        with open(os.path.join(d, "burst.yml"), "w") as f:
            f.write("title: burst\nname: burst\ncorrelation:\n  type: event_count\n"
                    "  rules: [fail, %s]\n  group-by: rhost\n  timespan: 5m\n"
                    "  condition:\n    gte: 3\n" % ("outer" if outer_rules else "fail"))
        with open(os.path.join(d, "outer.yml"), "w") as f:
            f.write("title: outer\nname: outer\ncorrelation:\n  type: event_count\n"
                    "  rules: burst\n  group-by: %s\n  timespan: 1h\n"
                    "  condition:\n    gte: 2\n" % outer_group)
        return d

    def test_cycle_and_underivable_group_by_are_refused(self):
        cases = [(self.chain_rules("cycle", "rhost", True),
                  ["burst.yml:1:", "burst -> outer -> burst"]),
                 (self.chain_rules("groupby", "user", False),
                  ["outer.yml:1:", "group-by field 'user'", "burst"])]
        for d, want in cases:
            with self.subTest(rules=os.path.basename(d)):
                rc, out, _ = run(["rules", "check", d])
                self.assertEqual(rc, 2, out)
                refused = [l for l in out.splitlines() if l.startswith("REFUSED")]
                self.assertTrue(refused, out)
                for w in want:
                    self.assertIn(w, "\n".join(refused))
                rc, _, err = scan_rules([d], [ELASTIC_AUTH])
                self.assertEqual(rc, 2)
                for w in want:
                    self.assertIn(w, err)


def run_scan_rules(rule_paths, inputs, extra=()):
    args = ["scan", "-q", "--sort", *extra]
    for r in rule_paths:
        args += ["-r", r]
    rc, out, err = run([*args, *inputs])
    return rc, [json.loads(line) for line in out.splitlines() if line.strip()], err


if __name__ == "__main__":
    unittest.main(verbosity=2)
