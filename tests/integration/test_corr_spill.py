#!/usr/bin/env python3
"""Correlation entries past the memory budget spill to disk (scanner/engine/scan_corr.c).

The default packs over the shared real auth and CloudTrail logs plus a generated corpus give
byte-identical findings with a tiny budget (LOGSIFT_CORR_SPILL_BYTES: many sorted runs
merged) and with the default one, at -j1 and -j2. A spill file that cannot be made or
written (a directory that is not one, a file size limit as a full disk would give) stops the
run with one clear line and a non-zero exit, and no correlation finding is written from part
of the entries.

Run by ctest with LOGSIFT_BIN, LOGSIFT_GEN (bench/gen.c) and LSF_SHARED_DATA (../shared/data).
"""
import json
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import unittest

LOGSIFT = os.environ.get("LOGSIFT_BIN", "build/scanner/cli/logsift")
GEN = os.environ.get("LOGSIFT_GEN", "build/bench/logsift-gen")
DATA = os.environ.get("LSF_SHARED_DATA", "../shared/data")

TMP = tempfile.mkdtemp(prefix="lsf-corr-spill-")
TINY = "4096"  # bytes for the whole run: a sorted run every few dozen entries


def setUpModule():
    gen = os.path.join(TMP, "gen")
    for name, args in [("auth", ["--kind", "auth", "--size", "8M", "--attack-rate", "0.05"]),
                       ("ct", ["--kind", "cloudtrail", "--size", "8M",
                               "--attack-rate", "0.01"])]:
        subprocess.run([GEN, "--out", os.path.join(gen, name), "--seed", "11", "-q", *args],
                       check=True, timeout=600)


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


PATHS = [os.path.join(DATA, "auth"), os.path.join(DATA, "cloudtrail"), os.path.join(TMP, "gen")]


def scan(budget=None, workers=1, tmpdir=None, preexec_fn=None):
    env = dict(os.environ, LOGSIFT_CACHE_DIR=os.path.join(TMP, "cache"))
    env.pop("LOGSIFT_CORR_SPILL_BYTES", None)
    if budget is not None:
        env["LOGSIFT_CORR_SPILL_BYTES"] = budget
    if tmpdir is not None:
        env["TMPDIR"] = tmpdir
    stats = os.path.join(TMP, "stats.json")
    if os.path.exists(stats):
        os.unlink(stats)
    proc = subprocess.run([LOGSIFT, "scan", "-q", "--sort", "-j", str(workers),
                           "--default-rules", "--stats-json", stats, *PATHS],
                          capture_output=True, env=env, timeout=900, preexec_fn=preexec_fn)
    st = None
    if os.path.exists(stats):
        with open(stats) as f:
            st = json.load(f)
    return proc.returncode, proc.stdout, proc.stderr.decode(), st


def correlations(out):
    return [l for l in out.splitlines() if b'"event":"{\\"correlation\\"' in l]


def spill_lines(err):
    return [l for l in err.splitlines() if "spill file" in l]


class SameFindings(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.base = scan()

    def test_tiny_budget_and_default_give_the_same_bytes(self):
        rc, out, err, st = self.base
        self.assertEqual(st["corr_spill_runs"], 0, "the default budget holds this corpus")
        n_corr = len(correlations(out))
        self.assertGreaterEqual(n_corr, 50, "the packs' correlations fire on this corpus")
        for budget, workers in [(None, 2), (TINY, 1), (TINY, 2), ("65536", 2)]:
            with self.subTest(budget=budget, workers=workers):
                rc2, out2, err2, st2 = scan(budget, workers)
                self.assertEqual(rc2, rc, err2)
                self.assertEqual(spill_lines(err2), [])
                if budget is not None:
                    self.assertGreaterEqual(st2["corr_spill_runs"], 10)
                    self.assertGreater(st2["corr_spilled"], 10 * n_corr)
                self.assertEqual(len(correlations(out2)), n_corr)
                self.assertTrue(out2 == out, "findings differ with budget %s at -j%d"
                                % (budget, workers))


class SpillFailures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.base = scan()  # also compiles the rule cache, so the runs below only read it

    def test_spill_dir_that_is_not_a_directory(self):
        not_dir = os.path.join(TMP, "plain-file")
        with open(not_dir, "w") as f:
            f.write("x")
        rc, out, err, _ = scan(TINY, 2, tmpdir=not_dir)
        self.assertNotEqual(rc, 0)
        lines = spill_lines(err)
        self.assertEqual(len(lines), 1, err)
        self.assertIn("cannot create a spill file in %s (Not a directory)" % not_dir, lines[0])
        self.assertIn("TMPDIR", lines[0])
        self.assertEqual(correlations(out), [])
        # the default budget never needs the disk for this corpus
        rc, out, err, _ = scan(None, 2, tmpdir=not_dir)
        self.assertEqual((rc, out), self.base[:2], err)

    def test_write_error_stops_the_run(self):
        def small_files():
            # a file may grow to 64 KiB, as on a full disk; the write fails (EFBIG) instead
            # of the signal killing the process
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))

        rc, out, err, _ = scan(TINY, 2, preexec_fn=small_files)
        self.assertNotEqual(rc, 0)
        lines = spill_lines(err)
        self.assertEqual(len(lines), 1, err)
        self.assertRegex(lines[0], r"writing the spill file in \S+ failed after \d+ bytes "
                                   r"\(File too large\); free space there")
        self.assertEqual(correlations(out), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
