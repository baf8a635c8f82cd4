#!/usr/bin/env python3
"""End-to-end tests of the logsift binary on real logs and on every class of bad input.

Run by ctest with LOGSIFT_BIN (the binary) and LSF_SHARED_DATA (../shared/data, real logs
nobody on the team wrote; see its PROVENANCE.md). Expected counts are computed here with
Python's own json/gzip modules, independently of logsift's framing.
"""
import atexit
import glob
import gzip
import json
import os
import shutil
import subprocess
import tempfile
import unittest

LOGSIFT = os.environ.get("LOGSIFT_BIN", "build/scanner/cli/logsift")
DATA = os.environ.get("LSF_SHARED_DATA", "../shared/data")
STRATUS = os.path.join(DATA, "cloudtrail/stratus-red-team/detonation-logs")


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def count_lines(path, opener=open):
    with opener(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def run(args, stdin=None, env_extra=None):
    env = dict(os.environ)
    env["LOGSIFT_CACHE_DIR"] = CACHE_DIR
    if env_extra:
        env.update(env_extra)
    proc = subprocess.run([LOGSIFT, "scan", "-q", *args], input=stdin, capture_output=True,
                          env=env, timeout=600)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def findings(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def stats(args, tmp):
    path = os.path.join(tmp, "stats.json")
    code, out, err = run(["--stats-json", path, "-o", "none", *args])
    with open(path) as f:
        return code, json.load(f), err


CACHE_DIR = tempfile.mkdtemp(prefix="logsift-cache-")
atexit.register(shutil.rmtree, CACHE_DIR, True)


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="logsift-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return path


class RealLogs(Base):
    def test_stratus_detonations_yield_the_attacks(self):
        code, out, err = run([STRATUS])
        self.assertEqual(code, 0, err)
        by_rule = {}
        for f in findings(out):
            by_rule.setdefault(f["rule"], []).append(f)
        names = " ".join(by_rule)
        for wanted in ("stop_logging", "delete_trail", "console_login"):
            self.assertIn(wanted, names, f"no {wanted} finding; rules seen: {sorted(by_rule)}")
        stop = [f for f in findings(out) if "stop_logging" in f["rule"]]
        self.assertTrue(all(f["source"].endswith("cloudtrail-stop.json") for f in stop))
        self.assertEqual(stop[0]["time"], "2024-07-31T13:06:24.000Z")
        self.assertEqual(stop[0]["format"], "json-array")

    def test_every_event_is_scanned_once_per_format(self):
        expected = {}
        n = sum(len(read_json(p)) for p in glob.glob(os.path.join(STRATUS, "*.json")))
        expected["json-array"] = n
        code, st, err = stats([STRATUS], self.tmp)
        self.assertEqual(st["errors"], 0, err)
        self.assertEqual(st["formats"], {"json-array": 310})
        self.assertEqual(st["events"], expected["json-array"])

        cw = os.path.join(DATA, "cloudwatch/datadog-serverless-functions")
        n = sum(len(read_json(p)["logEvents"]) for p in glob.glob(cw + "/*.json"))
        code, st, err = stats([cw], self.tmp)
        self.assertEqual((st["events"], st["errors"]), (n, 0), err)
        self.assertEqual(st["formats"], {"firehose": n})

        auth = os.path.join(DATA, "auth/elastic-examples/auth.log")
        n = count_lines(auth)
        code, st, err = stats([auth], self.tmp)
        self.assertEqual(st["events"], n, err)
        self.assertEqual(st["formats"], {"syslog": n})

        panther = os.path.join(DATA, "cloudtrail/panther-analysis/panther_cloudtrail_rule_tests.jsonl.gz")
        n = count_lines(panther, gzip.open)
        code, st, err = stats([panther], self.tmp)
        self.assertEqual(st["events"], n, err)
        self.assertEqual(st["formats"], {"json-lines": n})

    def test_all_shared_data_scans_and_only_zips_are_refused(self):
        code, st, err = stats([DATA], self.tmp)
        lines = [line for line in err.splitlines() if line.startswith("logsift: ")]
        # crowdsec's parser.assert files quote log lines without their syslog stamps, so the
        # correlations cannot place them in time: counted out loud, once, not dropped silently.
        untimed = [line for line in lines if line.startswith("logsift: correlations: ")]
        self.assertLessEqual(len(untimed), 1, err)
        for line in untimed:
            self.assertIn("no timestamp", line)
        problems = [line for line in lines if line not in untimed]
        zips = glob.glob(os.path.join(DATA, "**/*.zip"), recursive=True)
        self.assertEqual(len(problems), len(zips), err)
        for line in problems:
            self.assertIn(".zip: zip archive", line)
            self.assertIn("extract", line)
        self.assertEqual(code, 2)
        self.assertGreater(st["events"], 8000)

    def test_cloudtrail_delivery_file_gzip_and_zstd_give_identical_findings(self):
        records = []
        for p in sorted(glob.glob(os.path.join(STRATUS, "*.json"))):
            records.extend(read_json(p))
        body = json.dumps({"Records": records}, separators=(",", ":")).encode()
        self.write("plain/ct.json", body)
        self.write("gz/ct.json.gz", gzip.compress(body))
        zst = self.write("zst/ct", b"")
        subprocess.run(["zstd", "-q", "-f", "-3", os.path.join(self.tmp, "plain/ct.json"), "-o", zst],
                       check=True)
        outs = []
        for sub in ("plain", "gz", "zst"):
            code, out, err = run(["--sort", os.path.join(self.tmp, sub)])
            self.assertEqual(code, 0, err)
            outs.append([(f["rule"], f["offset"], f["ordinal"]) for f in findings(out)])
        self.assertEqual(outs[0], outs[1])
        self.assertEqual(outs[0], outs[2])
        code, st, err = stats([os.path.join(self.tmp, "gz")], self.tmp)
        self.assertEqual(st["formats"], {"cloudtrail": len(records)})


class Determinism(Base):
    def test_sorted_output_is_identical_across_thread_counts_and_chunk_sizes(self):
        base = None
        for args in (["-j", "1"], ["-j", "2"], ["-j", "2", "--chunk-size", "1"],
                     ["-j", "1", "--chunk-size", "7"], ["-j", "2", "--chunk-size", "4K"],
                     ["-j", "2", "--per-event"]):
            code, out, err = run(["--sort", *args, STRATUS, os.path.join(DATA, "auth")])
            self.assertIn(code, (0, 2), err)
            if base is None:
                base = out
                self.assertGreater(len(findings(out)), 10)
            else:
                self.assertEqual(out, base, f"output differs with {args}")

    def test_pattern_planted_across_every_chunk_boundary_is_found(self):
        # 200 events; each carries the needle; with chunk sizes 1..40 every needle byte
        # falls on a window boundary at some point.
        lines = [f"Jan  1 00:00:{i % 60:02d} host app[1]: padding {'x' * (i % 13)} NEEDLE-{i:04d} end"
                 for i in range(200)]
        path = self.write("boundary.log", "\n".join(lines) + "\n")
        rules = self.write("needle.rules", "1:/NEEDLE-\\d{4}\\b/\n")
        for chunk in list(range(1, 41)) + [4096]:
            code, out, err = run(["-r", rules, "--chunk-size", str(chunk), "--sort", path])
            got = [f["ordinal"] for f in findings(out)]
            self.assertEqual(got, list(range(200)), f"chunk {chunk}: {err}")


class BadInput(Base):
    def one_problem(self, path, *words, extra=()):
        code, out, err = run([*extra, path, STRATUS + "/aws.defense-evasion.cloudtrail-stop.json"])
        self.assertEqual(code, 2, err)
        lines = [line for line in err.splitlines() if line.startswith("logsift: ")]
        self.assertEqual(len(lines), 1, err)
        for w in words:
            self.assertIn(w, lines[0])
        # the good file after the bad one is still scanned
        self.assertTrue(any("stop_logging" in f["rule"] for f in findings(out)), out)
        return lines[0], out

    def test_truncated_gzip(self):
        body = "\n".join(f"Jan  1 00:00:00 h sshd[1]: Failed password for root from 10.0.0.{i} port 22 ssh2"
                         for i in range(5000)).encode()
        data = gzip.compress(body)
        path = self.write("trunc.log.gz", data[: len(data) // 2])
        line, out = self.one_problem(path, "trunc.log.gz", "truncated", "events before it were scanned")

    def test_truncated_zstd(self):
        src = self.write("z.log", "\n".join(
            f"Jan  1 00:{i // 60 % 60:02d}:{i % 60:02d} h sshd[1]: Failed password for x from "
            f"10.0.{i // 250 % 250}.{i % 250} port 22 ssh2" for i in range(20000)))
        subprocess.run(["zstd", "-q", "-f", src, "-o", src + ".zst"], check=True)
        data = read_bytes(src + ".zst")
        os.remove(src)
        path = self.write("trunc.zst", data[: len(data) - 100])
        self.one_problem(path, "trunc.zst", "truncated")

    def test_corrupt_record_in_cloudtrail_file_is_reported_and_the_rest_scanned(self):
        records = read_json(STRATUS + "/aws.defense-evasion.cloudtrail-delete.json")
        good = json.dumps(records[0], separators=(",", ":"))
        body = '{"Records":[' + good + ',{"eventVersion":"1.08",]},' + good + "]}"
        path = self.write("corrupt.json", body)
        line, out = self.one_problem(path, "corrupt.json", "byte")
        deletes = [f for f in findings(out) if "delete_trail" in f["rule"]]
        self.assertGreaterEqual(len(deletes), 1)

    def test_cloudtrail_file_cut_after_a_record_is_one_problem(self):
        records = read_json(STRATUS + "/aws.defense-evasion.cloudtrail-stop.json")
        body = ('{"Records":[' + json.dumps(records[0], separators=(",", ":")) + ",").encode()
        path = self.write("cut.json", body)
        for chunk in ("4K", str(len(body))):  # also a window ending exactly at the end
            code, out, err = run(["--chunk-size", chunk, path])
            self.assertEqual(code, 2, err)
            lines = [line for line in err.splitlines() if line.startswith("logsift: ")]
            self.assertEqual(len(lines), 1, err)
            self.assertIn("cut.json", lines[0])
            self.assertEqual(len(findings(out)), 1, out)

    def test_a_100mb_line_is_skipped_with_bounded_memory(self):
        path = os.path.join(self.tmp, "huge.log")
        with open(path, "wb") as f:
            f.write(b"Jan  1 00:00:00 h sshd[1]: Failed password for root from 10.0.0.1 port 22 ssh2\n")
            chunk = b"A" * (1 << 20)
            for _ in range(100):
                f.write(chunk)
            f.write(b"\nJan  1 00:00:01 h sshd[1]: Failed password for root from 10.0.0.2 port 22 ssh2\n")
        code, out, err = run(["--max-event-size", "1M", path])
        self.assertEqual(code, 2, err)
        self.assertIn("max-event-size", err)
        self.assertEqual(len([f for f in findings(out) if "failed_password" in f["rule"]]), 2, out)

    def test_binary_garbage(self):
        path = self.write("garbage.bin", bytes(range(256)) * 64)
        self.one_problem(path, "garbage.bin", "binary")

    def test_unreadable_path(self):
        path = os.path.join(self.tmp, "missing.log")
        os.symlink(os.path.join(self.tmp, "nowhere"), path)
        self.one_problem(path, "missing.log")

    def test_empty_file_is_fine(self):
        path = self.write("empty.log", b"")
        code, st, err = stats([path], self.tmp)
        self.assertEqual((code, st["events"], st["errors"]), (1, 0, 0), err)

    def test_invalid_regex_names_file_line_and_hyperscan_message(self):
        rules = self.write("bad.rules", "# comment\n1:/ok/\n2:/unbalanced(/\n")
        code, out, err = run(["-r", rules, STRATUS])
        self.assertEqual(code, 2)
        self.assertIn("bad.rules:3", err)
        self.assertIn("Hyperscan", err)

    def test_pattern_too_large_for_hyperscan(self):
        rules = self.write("big.rules", "1:/" + "(a|b|c|d)" * 1 + "x{1000000}/\n")
        code, out, err = run(["-r", rules, STRATUS])
        self.assertEqual(code, 2)
        self.assertIn("big.rules:1", err)


class Usage(Base):
    def test_exit_status_like_grep(self):
        rules = self.write("none.rules", "1:/THIS_NEVER_MATCHES_ANYTHING/\n")
        code, out, err = run(["-r", rules, STRATUS])
        self.assertEqual(code, 1, err)
        self.assertEqual(out, "")
        code, out, err = run([STRATUS + "/aws.defense-evasion.cloudtrail-stop.json"])
        self.assertEqual(code, 0, err)

    def test_stdin(self):
        data = read_bytes(STRATUS + "/aws.defense-evasion.cloudtrail-stop.json")
        code, out, err = run(["-"], stdin=gzip.compress(data))
        self.assertEqual(code, 0, err)
        self.assertEqual(findings(out)[0]["source"], "-")

    def test_hsbench_pattern_file_with_combination(self):
        rules = self.write("combo.rules",
                           "1:/\"eventName\"\\s*:\\s*\"ConsoleLogin\"/Q\n"
                           "2:/\"MFAUsed\"\\s*:\\s*\"No\"/iQ\n"
                           "3:/1 & 2/C\n")
        code, out, err = run(["-r", rules, "--sort", STRATUS])
        self.assertEqual(code, 0, err)
        got = findings(out)
        self.assertEqual(len(got), 1, out)
        self.assertTrue(got[0]["source"].endswith("console-login-without-mfa.json"))
        self.assertEqual(got[0]["patterns"], [1, 2])

    def test_anchored_patterns_anchor_at_each_event(self):
        sample = os.path.join(os.path.dirname(__file__), "..", "data", "sample", "auth.log")
        rules = self.write("anchored.rules", "1:/^Mar  2 10:31/\n2:/ssh2$/\n")
        code, out, err = run(["-r", rules, "--sort", sample])
        self.assertEqual(code, 0, err)
        got = findings(out)
        self.assertEqual(len([f for f in got if f["rule"] == "pattern-1"]), 7, out)
        self.assertEqual(len([f for f in got if f["rule"] == "pattern-2"]), 7, out)

    def test_second_run_loads_rules_from_cache(self):
        env = {"LOGSIFT_CACHE_DIR": os.path.join(self.tmp, "cache")}
        for expect in ("compiled", "loaded from cache"):
            proc = subprocess.run([LOGSIFT, "scan", "-o", "none", STRATUS], capture_output=True,
                                  env={**os.environ, **env})
            self.assertIn(expect, proc.stderr.decode())

    def test_table_output(self):
        code, out, err = run(["-o", "table", STRATUS + "/aws.defense-evasion.cloudtrail-stop.json"])
        self.assertEqual(code, 0, err)
        self.assertIn("2024-07-31T13:06:24.000Z", out)
        self.assertIn("high", out)


class BenchPatterns(Base):
    def test_per_pattern_report_ranks_and_flags_costly_shapes(self):
        rules = self.write("tune.rules",
                           "1:/\"eventName\"\\s*:\\s*\"StopLogging\"/\n"
                           "2:/.*sshd/\n"
                           "3:/[A-Za-z0-9+\\/]{80,}/\n")
        sample = os.path.join(os.path.dirname(__file__), "..", "data", "sample")
        proc = subprocess.run([LOGSIFT, "bench", "patterns", rules, sample],
                              capture_output=True, timeout=600)
        out = proc.stdout.decode()
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        self.assertIn("3 patterns", out)
        self.assertIn("database", out)
        self.assertIn("leading .*", out)
        self.assertIn("open bounded repeat at the end", out)
        rows = [line.split() for line in out.splitlines()]
        rows = [r for r in rows if len(r) >= 5 and r[3] in ("PASS", "FAIL")]
        self.assertEqual(sorted(r[0] for r in rows), ["1", "2", "3"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
