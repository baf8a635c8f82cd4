#!/usr/bin/python3
"""logsift's Sigma engine (prefilter, trigger sets, confirmation from jsmn tokens, correlation
sweep) gives exactly the reference evaluator's findings, event for event, correlations
included: over generated CloudTrail and auth.log with planted attacks and the real Stratus
detonations and auth logs of ../shared/data, with the default packs, and with the opt-in
hunting pack on the generated CloudTrail.

Run by ctest with LOGSIFT_BIN, LOGSIFT_GEN and LSF_SHARED_DATA.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import compare_engine  # noqa: E402

LOGSIFT = os.environ.get("LOGSIFT_BIN", "build/scanner/cli/logsift")
GEN = os.environ.get("LOGSIFT_GEN", "build/bench/logsift-gen")
DATA = os.environ.get("LSF_SHARED_DATA", os.path.join(HERE, "..", "..", "..", "shared", "data"))
HUNTING = os.path.join(HERE, "..", "..", "patterns", "packs", "hunting")
GEO_DIR = os.path.join(HERE, "..", "data", "geoip")


class EngineEqualsReference(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lsf-engine-ref-")
        cls.ct = os.path.join(cls.tmp, "ct")
        cls.auth = os.path.join(cls.tmp, "auth")
        for out, args in [(cls.ct, ["--kind", "cloudtrail", "--size", "8M",
                                    "--attack-rate", "0.03"]),
                          (cls.auth, ["--kind", "auth", "--size", "4M",
                                      "--attack-rate", "0.01"])]:
            subprocess.run([GEN, "--out", out, "--seed", "11", "-q", *args], check=True,
                           timeout=600)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_default_packs_with_correlations(self):
        real = [os.path.join(DATA, "cloudtrail", "stratus-red-team", "detonation-logs"),
                os.path.join(DATA, "auth")]
        self.assertEqual(compare_engine.main(["--logsift", LOGSIFT, "--correlations",
                                              self.ct, self.auth, *real]), 0)

    def test_default_packs_with_geoip(self):
        # GeoIP rules of the default packs (linux_sshd_impossible_travel): logsift with test
        # MaxMind DBs written from networks.json, the reference with networks.json itself.
        subprocess.run(["perl", os.path.join(GEO_DIR, "make_mmdb.pl"), self.tmp], check=True)
        geo = ["--geoip", os.path.join(self.tmp, "LogsiftTest-Country.mmdb"),
               "--geoip", os.path.join(self.tmp, "LogsiftTest-ASN.mmdb"),
               "--geoip-networks", os.path.join(GEO_DIR, "networks.json")]
        real = [os.path.join(DATA, "cloudtrail", "stratus-red-team", "detonation-logs"),
                os.path.join(DATA, "auth", "crowdsec-hub", "sshd-impossible-travel"),
                os.path.join(DATA, "auth", "elastic-examples")]
        # every pack rule's positive and negative test events too (the SSM harvesting
        # sequences have no counterpart in the generated or shared corpora)
        real.append(os.path.join(HERE, "..", "..", "patterns", "packs", "tests"))
        self.assertEqual(compare_engine.main(["--logsift", LOGSIFT, "--correlations", *geo,
                                              self.auth, *real]), 0)
        # and the equality is not vacuous: logsift reports the crowdsec impossible travel
        p = subprocess.run([LOGSIFT, "scan", *geo[:4], "-o", "jsonl", real[1]],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('"rule":"linux_sshd_impossible_travel"', p.stdout)

    def test_hunting_pack_value_count(self):
        self.assertEqual(compare_engine.main(["--logsift", LOGSIFT, "-r", HUNTING,
                                              "--correlations", self.ct]), 0)


if __name__ == "__main__":
    unittest.main()
