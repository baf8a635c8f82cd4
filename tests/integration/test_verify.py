#!/usr/bin/python3
"""End-to-end tests of `logsift verify` and `logsift manifest create`.

CloudTrail fixtures are built per shared/spec/aws-facts.md 7.8 (verify_fixtures.py: own RSA key
pair, gzipped compact digests, signatures over the 7.4 data-to-sign), one scenario per outcome.
Each is checked three ways:
  - as a local copy with <digest>.sig.json sidecars (signatures checked),
  - as a local copy without them (signatures reported NOT CHECKED, never valid),
  - in s3rver with the signatures as x-amz-meta-signature metadata, and public keys from the
    emulator's CloudTrail ListPublicKeys (tests/integration/emulator/cloudtrail.py).
Manifests are checked on a CloudWatch Logs export layout and a Firehose backup built from the
real logs in shared/data.

Run with Debian's python3 (botocore uploads to s3rver). The S3 part skips (with the reason) when
node or s3rver is missing; the local part always runs.
"""
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import verify_fixtures as vf  # noqa: E402

LOGSIFT = os.environ.get("LOGSIFT_BIN", "build/scanner/cli/logsift")
DATA = os.environ.get("LSF_SHARED_DATA", os.path.join(HERE, "../../../shared/data"))
S3RVER_JS = os.environ.get(
    "S3RVER_JS", os.path.join(HERE, "s3rver", "node_modules", "s3rver", "bin", "s3rver.js"))
EMULATOR = os.path.join(HERE, "emulator", "aws_emulator.py")

D = {h: vf.digest_key(h) for h in (11, 12, 13, 14)}
LOG = {11: vf.log_key(11, "Ab12Cd34Ef56Gh78"), 12: vf.log_key(12, "Bc23De45Fg67Hi89"),
       13: vf.log_key(13, "Cd34Ef56Gh78Ij90")}
ALL_DIGESTS = [("digest", "valid", D[h]) for h in (11, 12, 13, 14)]
ALL_LOGS = [("log", "valid", LOG[h]) for h in (11, 12, 13)]

# scenario -> (exit status, verdicts that must appear as (kind, verdict, key))
EXPECTED = {
    "valid": (0, ALL_DIGESTS + ALL_LOGS),
    "tampered_log": (1, ALL_DIGESTS + [("log", "hash_mismatch", LOG[12])]),
    "edited_digest": (1, [("digest", "bad_signature", D[13]), ("digest", "valid", D[14])]),
    "deleted_digest": (1, [("digest", "not_found", D[12]), ("digest", "valid", D[11]),
                           ("log", "unlisted_log", LOG[11])]),
    "two_deleted_digests": (1, [("digest", "not_found", D[13]), ("chain", "missing_digests", D[11]),
                                ("digest", "valid", D[11])]),
    "moved_digest": (1, [("digest", "moved", vf.digest_key(14, day=16)), ("digest", "valid", D[13])]),
    "unknown_fingerprint": (1, [("digest", "public_key_not_found", D[14]),
                                ("digest", "valid", D[13])]),
    # aws-cli hashes what inflates of a cut-off gzip: "hash value doesn't match" (the detail says
    # the archive is truncated)
    "truncated_gzip": (1, ALL_DIGESTS + [("log", "hash_mismatch", LOG[13])]),
    "unlisted_log": (1, ALL_DIGESTS + [("log", "unlisted_log",
                                        vf.log_key(12, "Zz99Yy88Xx77Ww66"))]),
}


def run(args, env=None, timeout=120):
    proc = subprocess.run([LOGSIFT, *args], capture_output=True, env=env, timeout=timeout)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def verdicts(stdout):
    """(kind, verdict, key) of every JSONL item, and the summary object."""
    items, summary = [], None
    for line in stdout.splitlines():
        doc = json.loads(line)
        if "summary" in doc:
            summary = doc
            continue
        key = doc["uri"].split("/", 3)[3] if doc["uri"].startswith("s3://") else doc["uri"]
        items.append((doc["kind"], doc["verdict"], key))
    return items, summary


class Fixtures:
    root = None
    keys = None
    other = None

    @classmethod
    def make(cls):
        if cls.root is None:
            cls.root = tempfile.mkdtemp(prefix="logsift-verify-")
            cls.keys = vf.KeyPair(cls.root, "trail-key")
            cls.other = vf.KeyPair(cls.root, "other-key")
            cls.objects = {}
            for s in vf.SCENARIOS:
                cls.objects[s] = vf.build(os.path.join(cls.root, "signed", s), s, cls.keys, cls.other)
                vf.write_sidecars(os.path.join(cls.root, "signed", s), cls.objects[s])
                vf.build(os.path.join(cls.root, "unsigned", s), s, cls.keys, cls.other)
        return cls


class LocalDigestTest(unittest.TestCase):
    """Each outcome on a local copy whose signatures come from sidecars."""

    @classmethod
    def setUpClass(cls):
        cls.fx = Fixtures.make()

    def check(self, scenario, where="signed"):
        path = os.path.join(self.fx.root, where, scenario)
        code, out, err = run(["verify", "--public-key", self.fx.keys.pub_pem, "-o", "jsonl", path])
        items, summary = verdicts(out)
        want_code, want = EXPECTED[scenario]
        self.assertEqual(code, want_code, err + out)
        for item in want:
            self.assertIn(item, items, f"{scenario}: {item} missing from {items}")
        failed = [i for i in items if i[1] not in ("valid", "gap", "note")]
        self.assertEqual(bool(failed), want_code == 1, items)
        self.assertEqual(summary["failed"], want_code == 1)
        return items

    def test_valid_chain_is_all_valid(self):
        items = self.check("valid")
        self.assertEqual(len([i for i in items if i[0] == "digest"]), 4)
        self.assertEqual(len([i for i in items if i[0] == "log"]), 3)

    def test_tampered_log_hash_does_not_match(self):
        self.check("tampered_log")

    def test_edited_digest_fails_its_signature_and_its_logs_are_not_checked(self):
        items = self.check("edited_digest")
        self.assertNotIn(("log", "valid", LOG[12]), items)

    def test_deleted_digest_is_not_found(self):
        self.check("deleted_digest")

    def test_two_consecutive_deleted_digests_are_both_reported(self):
        # aws-cli reports only the newer one (aws-cli#7054); logsift adds the run it skipped.
        self.check("two_deleted_digests")

    def test_moved_digest_is_reported_moved(self):
        self.check("moved_digest")

    def test_unknown_fingerprint_is_public_key_not_found(self):
        self.check("unknown_fingerprint")

    def test_truncated_gzip_log_is_a_hash_mismatch_saying_truncated(self):
        code, out, err = run(["verify", "--public-key", self.fx.keys.pub_pem,
                              os.path.join(self.fx.root, "signed", "truncated_gzip")])
        self.check("truncated_gzip")
        self.assertIn("INVALID: hash value doesn't match", err)
        self.assertIn("archive truncated", err)

    def test_log_in_no_digest_is_reported(self):
        self.check("unlisted_log")

    def test_text_summary_reads_like_validate_logs(self):
        code, out, err = run(["verify", "--public-key", self.fx.keys.pub_der,
                              os.path.join(self.fx.root, "signed", "tampered_log")])
        self.assertEqual(code, 1)
        self.assertIn("4/4 digest files valid", out)
        self.assertIn("2/3 log files valid, 1/3 log files INVALID", out)
        self.assertIn(f"Log file\ts3://{vf.BUCKET}/{LOG[12]}\tINVALID: hash value doesn't match", err)

    def test_pkcs1_der_and_spki_pem_keys_both_work(self):
        for key in (self.fx.keys.pub_der, self.fx.keys.pub_pem):
            code, out, err = run(["verify", "--public-key", key,
                                  os.path.join(self.fx.root, "signed", "valid")])
            self.assertEqual(code, 0, err)

    def test_unsigned_local_copy_is_never_called_valid(self):
        code, out, err = run(["verify", "-o", "jsonl",
                              os.path.join(self.fx.root, "unsigned", "valid")])
        items, summary = verdicts(out)
        self.assertEqual(code, 0, err)
        self.assertEqual(sorted(i[1] for i in items if i[0] == "digest"), ["unsigned"] * 4)
        self.assertEqual(summary["summary"]["digest"]["valid"], 0)
        self.assertEqual(summary["summary"]["digest"]["signature_not_checked"], 4)
        code, out, _ = run(["verify", os.path.join(self.fx.root, "unsigned", "valid")])
        self.assertIn("0/4 digest files valid, 4/4 digest files with signatures NOT CHECKED", out)

    def test_unsigned_copy_still_catches_a_tampered_log_and_a_broken_link(self):
        code, out, _ = run(["verify", "-o", "jsonl",
                            os.path.join(self.fx.root, "unsigned", "tampered_log")])
        self.assertEqual(code, 1)
        self.assertIn(("log", "hash_mismatch", LOG[12]), verdicts(out)[0])
        # edited digest without signatures: the newer digest's previousDigestHashValue catches it
        code, out, _ = run(["verify", "-o", "jsonl",
                            os.path.join(self.fx.root, "unsigned", "edited_digest")])
        self.assertEqual(code, 1)
        self.assertIn(("digest", "link_mismatch", D[13]), verdicts(out)[0])

    def test_subfolder_of_the_copy_finds_the_root(self):
        path = os.path.join(self.fx.root, "signed", "valid", "AWSLogs", vf.ACCOUNT)
        code, out, err = run(["verify", "--public-key", self.fx.keys.pub_pem, path])
        self.assertEqual(code, 0, err)
        self.assertIn("4/4 digest files valid", out)

    def test_since_until_limit_the_walk(self):
        code, out, err = run(["verify", "--public-key", self.fx.keys.pub_pem, "-o", "jsonl",
                              "--since", "2024-01-15T12:30:00Z", "--until", "2024-01-15T13:00:00Z",
                              os.path.join(self.fx.root, "signed", "valid")])
        self.assertEqual(code, 0, err)
        digests = [i[2] for i in verdicts(out)[0] if i[0] == "digest"]
        self.assertEqual(digests, [D[14], D[13]])

    def scan_verify(self, scenario, env=None, src=None):
        cache = os.path.join(self.fx.root, "rule-cache")
        code, out, err = run(["scan", "--verify", "--public-key", self.fx.keys.pub_pem,
                              src or os.path.join(self.fx.root, "signed", scenario)],
                             env=dict(env or os.environ, LOGSIFT_CACHE_DIR=cache))
        lines = [json.loads(line) for line in out.splitlines()]
        integrity = [(d["rule"], d["source"].split("AWSLogs/", 1)[1]) for d in lines
                     if d["rule"].startswith("logsift.integrity.")]
        threats = [d for d in lines if not d["rule"].startswith("logsift.integrity.")]
        return code, integrity, threats, err

    def test_scan_verify_hashes_the_scanned_bytes_and_reports_a_tampered_log_as_a_finding(self):
        code, integrity, threats, err = self.scan_verify("tampered_log")
        self.assertEqual(code, 0, err)  # grep semantics: findings were found
        self.assertEqual(integrity, [("logsift.integrity.hash_mismatch", LOG[12].split("AWSLogs/", 1)[1])])
        self.assertIn("2/3 scanned log files match their digests", err)
        # the threat hunt ran over the same bytes: the 7.8 log is a root console login
        self.assertTrue(any(d["rule"] == "aws_signin_root_console_login" for d in threats))

    def test_scan_verify_integrity_findings_reach_ocsf_and_the_report(self):
        # They go through the same sink as the detections, so every output and the alert
        # spool see them, not only the JSON lines.
        report = os.path.join(self.fx.root, "tampered-report.html")
        code, out, err = run(["scan", "--verify", "--public-key", self.fx.keys.pub_pem,
                              "-o", "ocsf", "--report", report,
                              os.path.join(self.fx.root, "signed", "tampered_log")],
                             env=dict(os.environ, LOGSIFT_CACHE_DIR=os.path.join(self.fx.root, "rule-cache")))
        self.assertEqual(code, 0, err)
        docs = [json.loads(line) for line in out.splitlines()]
        integrity = [d for d in docs if d["finding_info"]["title"] == "hash value doesn't match"
                     or "integrity" in json.dumps(d["finding_info"])]
        self.assertEqual(len(integrity), 1, out)
        self.assertEqual(integrity[0]["class_uid"], 2004)
        with open(report) as f:
            self.assertIn("logsift.integrity.hash_mismatch", f.read())

    def test_scan_verify_of_a_valid_trail_adds_no_finding(self):
        code, integrity, threats, err = self.scan_verify("valid")
        self.assertEqual(integrity, [], err)
        self.assertIn("3/3 scanned log files match their digests", err)
        _, _, plain_threats, _ = self.scan_verify("valid")
        code2, out2, _ = run(["scan", os.path.join(self.fx.root, "signed", "valid")],
                             env=dict(os.environ, LOGSIFT_CACHE_DIR=os.path.join(self.fx.root, "rule-cache")))
        self.assertEqual(len(threats), len(out2.splitlines()))

    def test_scan_verify_reports_digest_failures_as_findings(self):
        code, integrity, _, err = self.scan_verify("edited_digest")
        self.assertIn(("logsift.integrity.bad_signature", D[13].split("AWSLogs/", 1)[1]), integrity)

    def test_bad_key_file_is_a_usage_error(self):
        bad = os.path.join(self.fx.root, "not-a-key.pem")
        with open(bad, "w") as f:
            f.write("hello\n")
        code, _, err = run(["verify", "--public-key", bad, os.path.join(self.fx.root, "signed", "valid")])
        self.assertEqual(code, 2)
        self.assertIn("not an RSA public key", err)

    def test_missing_source_is_a_usage_error(self):
        code, _, err = run(["verify", os.path.join(self.fx.root, "nope")])
        self.assertEqual(code, 2)
        self.assertIn("not a directory", err)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start")
            time.sleep(0.1)


class S3Servers(unittest.TestCase):
    """s3rver (signatures in object metadata) and the emulator (ListPublicKeys) for a class."""

    @classmethod
    def setUpClass(cls):
        if shutil.which("node") is None or not os.path.exists(S3RVER_JS):
            raise unittest.SkipTest("s3rver is not installed (tests/integration/s3rver/install.sh)")
        cls.fx = Fixtures.make()
        cls.tmp = tempfile.mkdtemp(prefix="logsift-verify-s3-")
        cls.s3_port = free_port()
        cls.emu_port = free_port()
        cls.s3log = open(os.path.join(cls.tmp, "s3rver.log"), "wb")
        cls.s3 = subprocess.Popen(
            ["node", S3RVER_JS, "-d", os.path.join(cls.tmp, "data"), "-a", "127.0.0.1",
             "-p", str(cls.s3_port), "--configure-bucket", vf.BUCKET],
            stdout=cls.s3log, stderr=subprocess.STDOUT)
        emu_env = dict(os.environ, LSF_EMU_CREDENTIALS=json.dumps(
            {"credentials": [{"accessKeyId": "S3RVER", "secretAccessKey": "S3RVER"}]}))
        cls.emulog = open(os.path.join(cls.tmp, "emulator.log"), "wb")
        cls.emu = subprocess.Popen(["/usr/bin/python3", EMULATOR, "--port", str(cls.emu_port),
                                    "--quiet"], env=emu_env, stdout=cls.emulog,
                                   stderr=subprocess.STDOUT)
        try:
            wait_port(cls.s3_port, cls.s3, "s3rver")
            wait_port(cls.emu_port, cls.emu, "emulator")
        except RuntimeError:
            cls.tearDownClass()
            raise
        import botocore.session
        cls.client = botocore.session.get_session().create_client(
            "s3", endpoint_url=f"http://127.0.0.1:{cls.s3_port}", region_name="us-east-1",
            aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER")
        cls.set_keys([cls.fx.keys])
        cls.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        cls.env.update({
            "AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{cls.s3_port}",
            "AWS_ENDPOINT_URL_CLOUDTRAIL": f"http://127.0.0.1:{cls.emu_port}",
            "AWS_CONFIG_FILE": os.path.join(cls.tmp, "none"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(cls.tmp, "none"),
            "AWS_EC2_METADATA_DISABLED": "true",
        })

    @classmethod
    def tearDownClass(cls):
        for proc in (getattr(cls, "s3", None), getattr(cls, "emu", None)):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)
        for log in (getattr(cls, "s3log", None), getattr(cls, "emulog", None)):
            if log is not None:
                log.close()
        shutil.rmtree(getattr(cls, "tmp", ""), True)

    @classmethod
    def set_keys(cls, pairs):
        doc = {"keys": [{"Value": p.value, "Fingerprint": p.fingerprint,
                         "ValidityStartTime": 0, "ValidityEndTime": 2 ** 40} for p in pairs]}
        req = urllib.request.Request(f"http://127.0.0.1:{cls.emu_port}/_emulator/cloudtrail/public-keys",
                                     data=json.dumps(doc).encode(), method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def load(self, scenario):
        listed = self.client.list_objects_v2(Bucket=vf.BUCKET).get("Contents", [])
        for obj in listed:
            self.client.delete_object(Bucket=vf.BUCKET, Key=obj["Key"])
        for key, obj in self.fx.objects[scenario].items():
            self.client.put_object(Bucket=vf.BUCKET, Key=key, Body=obj["body"],
                                   Metadata=obj["metadata"])

    def check(self, scenario, extra=()):
        self.load(scenario)
        code, out, err = run(["verify", "-o", "jsonl", *extra, f"s3://{vf.BUCKET}/AWSLogs/"],
                             env=self.env)
        items, _ = verdicts(out)
        want_code, want = EXPECTED[scenario]
        self.assertEqual(code, want_code, err + out)
        for item in want:
            self.assertIn(item, items, f"{scenario}: {item} missing from {items}")
        return items



class S3DigestTest(S3Servers):
    """The same outcomes from s3rver with public keys from the emulator's ListPublicKeys."""

    def test_every_outcome_matches_the_local_copy(self):
        for scenario in vf.SCENARIOS:
            with self.subTest(scenario=scenario):
                self.check(scenario)

    def test_scan_verify_over_s3_reads_each_log_once_and_flags_the_tampered_one(self):
        self.load("tampered_log")
        cache = os.path.join(self.tmp, "rule-cache")
        proc = subprocess.run([LOGSIFT, "scan", "--verify", f"s3://{vf.BUCKET}/AWSLogs/"],
                              capture_output=True, env=dict(self.env, LOGSIFT_CACHE_DIR=cache),
                              timeout=120)
        lines = [json.loads(line) for line in proc.stdout.decode().splitlines()]
        bad = [d["source"] for d in lines if d["rule"] == "logsift.integrity.hash_mismatch"]
        self.assertEqual(bad, [f"s3://{vf.BUCKET}/{LOG[12]}"], proc.stderr.decode())
        self.assertIn("2/3 scanned log files match", proc.stderr.decode())

    def test_copy_to_writes_a_local_copy_that_verifies_offline_with_its_signatures(self):
        self.load("valid")
        copy = os.path.join(self.tmp, "copy")
        shutil.rmtree(copy, True)
        code, _, err = run(["verify", "--copy-to", copy, f"s3://{vf.BUCKET}/AWSLogs/"], env=self.env)
        self.assertEqual(code, 0, err)
        self.assertTrue(os.path.exists(os.path.join(copy, D[12]) + ".sig.json"))
        code, out, err = run(["verify", "-o", "jsonl", "--public-key", self.fx.keys.pub_pem, copy])
        items, summary = verdicts(out)
        self.assertEqual(code, 0, err)
        self.assertEqual(summary["summary"]["digest"]["valid"], 4)
        self.assertEqual(summary["summary"]["log"]["valid"], 3)

    def test_digest_without_signature_metadata_fails_its_signature(self):
        self.load("valid")
        obj = self.fx.objects["valid"][D[12]]
        self.client.put_object(Bucket=vf.BUCKET, Key=D[12], Body=obj["body"])  # no metadata
        code, out, _ = run(["verify", "-o", "jsonl", f"s3://{vf.BUCKET}/AWSLogs/"], env=self.env)
        self.assertEqual(code, 1)
        self.assertIn(("digest", "bad_signature", D[12]), verdicts(out)[0])

    def test_keys_come_from_list_public_keys_or_a_file(self):
        self.set_keys([self.fx.other])  # the trail's key is not listed
        try:
            self.load("valid")
            code, out, _ = run(["verify", "-o", "jsonl", f"s3://{vf.BUCKET}/AWSLogs/"], env=self.env)
            self.assertEqual(code, 1)
            self.assertIn(("digest", "public_key_not_found", D[14]), verdicts(out)[0])
            code, out, err = run(["verify", "-o", "jsonl", "--public-key", self.fx.keys.pub_pem,
                                  f"s3://{vf.BUCKET}/AWSLogs/"], env=self.env)
            self.assertEqual(code, 0, err + out)
        finally:
            self.set_keys([self.fx.keys])

    def test_object_whose_bytes_differ_from_its_etag_is_a_checksum_mismatch(self):
        self.load("valid")
        # s3rver keeps the body in a file beside its metadata (ETag): damage the body only
        body_file = None
        for dirpath, _, files in os.walk(os.path.join(self.tmp, "data")):
            for name in files:
                if name.startswith(os.path.basename(LOG[12])) and name.endswith("object"):
                    body_file = os.path.join(dirpath, name)
        if body_file is None:
            self.skipTest("s3rver's storage layout is not the one expected")
        plain = vf.log_body(12).replace(b"Mozilla", b"Mozillb")
        with open(body_file, "wb") as f:
            f.write(gzip.compress(plain, mtime=0))
        code, out, err = run(["verify", "-o", "jsonl", f"s3://{vf.BUCKET}/AWSLogs/"], env=self.env)
        self.assertEqual(code, 1, err)
        self.assertIn(("log", "checksum_mismatch", LOG[12]), verdicts(out)[0])


def s3_ruleset(port):
    """An S3 endpoint ruleset that sends every request to s3rver, path style. The Debian aws CLI
    (2.9) has no AWS_ENDPOINT_URL_S3, and validate-logs makes its S3 clients without the
    --endpoint-url it gives CloudTrail; botocore reads rulesets from AWS_DATA_PATH first."""
    url = f"http://127.0.0.1:{port}"
    return {"version": "1.0",
            "parameters": {"Bucket": {"required": False, "documentation": "", "type": "String"},
                           "Region": {"builtIn": "AWS::Region", "required": False,
                                      "documentation": "", "type": "String"}},
            "rules": [{"conditions": [{"fn": "isSet", "argv": [{"ref": "Bucket"}]}],
                       "endpoint": {"url": url + "/{Bucket}", "properties": {}, "headers": {}},
                       "type": "endpoint"},
                      {"conditions": [], "endpoint": {"url": url, "properties": {}, "headers": {}},
                       "type": "endpoint"}]}


def validate_logs_verdicts(stdout, stderr):
    """(kind, verdict, key) from aws cloudtrail validate-logs --verbose output (7.7)."""
    names = {"valid": "valid", "INVALID: not found": "not_found",
             "INVALID: signature verification failed": "bad_signature",
             "INVALID: invalid format": "invalid_format",
             "INVALID: has been moved from its original location": "moved",
             "INVALID: hash value doesn't match": "hash_mismatch"}
    items = []
    for line in (stdout + stderr).splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] not in ("Digest file", "Log file"):
            continue
        verdict = names.get(parts[2])
        if verdict is None and parts[2].startswith("INVALID: public key not found"):
            verdict = "public_key_not_found"
        items.append(("digest" if parts[0] == "Digest file" else "log", verdict,
                      parts[1].split("/", 3)[3]))
    return items


class AwsCliDifferentialTest(S3Servers):
    """logsift and `aws cloudtrail validate-logs` give the same verdict on every object of every
    fixture; logsift's extra findings (unlisted logs, missing-digest runs) are its own kinds."""

    @classmethod
    def setUpClass(cls):
        if shutil.which("aws") is None:
            raise unittest.SkipTest("the aws CLI is not installed (Debian: awscli)")
        super().setUpClass()
        data = os.path.join(cls.tmp, "botocore-data", "s3", "2006-03-01")
        os.makedirs(data)
        with open(os.path.join(data, "endpoint-rule-set-1.json"), "w") as f:
            json.dump(s3_ruleset(cls.s3_port), f)
        cls.aws_env = dict(cls.env, AWS_DATA_PATH=os.path.join(cls.tmp, "botocore-data"),
                           AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")

    def aws_validate(self):
        proc = subprocess.run(
            ["aws", "cloudtrail", "validate-logs", "--trail-arn", vf.TRAIL_ARN,
             "--s3-bucket", vf.BUCKET, "--start-time", "2024-01-15T10:00:00Z",
             "--end-time", "2024-01-16T15:00:00Z", "--verbose",
             "--endpoint-url", f"http://127.0.0.1:{self.emu_port}"],
            capture_output=True, env=self.aws_env, timeout=120)
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()

    def test_logsift_and_validate_logs_agree_on_every_fixture(self):
        for scenario in vf.SCENARIOS:
            with self.subTest(scenario=scenario):
                self.load(scenario)
                aws_code, out, err = self.aws_validate()
                theirs = validate_logs_verdicts(out, err)
                self.assertTrue(theirs, f"validate-logs printed no verdicts: {out}{err}")
                code, mine_out, mine_err = run(["verify", "-o", "jsonl",
                                                f"s3://{vf.BUCKET}/AWSLogs/"], env=self.env)
                mine = [i for i in verdicts(mine_out)[0] if i[0] in ("digest", "log")
                        and i[1] not in ("unlisted_log",)]
                self.assertEqual(sorted(mine), sorted(theirs), f"{scenario}:\n{out}{err}")
                self.assertEqual(code != 0, aws_code != 0 or scenario == "unlisted_log"
                                 or scenario == "two_deleted_digests")


def cwl_export(root):
    """A CloudWatch Logs export (aws-facts 5.1) of real sshd lines, and a Firehose backup (5.2)."""
    src = os.path.join(DATA, "auth/crowdsec-hub/ssh-bf/ssh-bf.log")
    with open(src, "rb") as f:
        lines = f.read().splitlines()
    body = b"".join(b"2024-01-15T11:%02d:00.000Z %s\n" % (i % 60, line) for i, line in enumerate(lines))
    os.makedirs(os.path.join(root, "exportedlogs/task-1/sshd/"), exist_ok=True)
    with open(os.path.join(root, "exportedlogs/aws-logs-write-test"), "w") as f:
        f.write("Permission Check Successful")
    for part in range(2):
        with open(os.path.join(root, f"exportedlogs/task-1/sshd/00000{part}.gz"), "wb") as f:
            f.write(gzip.compress(body if part == 0 else body[: len(body) // 2], mtime=0))
    fh = os.path.join(root, "firehose/2024/01/15/11/")
    os.makedirs(fh, exist_ok=True)
    with open(os.path.join(DATA, "cloudwatch/datadog-serverless-functions/cloudwatch_log_cloudtrail.json"), "rb") as f:
        doc = f.read()
    with open(os.path.join(fh, "stream-1-2024-01-15-11-00-00-abcd.gz"), "wb") as f:
        f.write(gzip.compress(doc, mtime=0) + gzip.compress(doc, mtime=0))


class ArchiveTest(unittest.TestCase):
    """verify --archives: every object of a backup checked as an archive, no digests needed."""

    def test_damaged_archives_are_named_with_the_cause_and_unchecked_zstd_frames_noted(self):
        root = tempfile.mkdtemp(prefix="logsift-archives-")
        self.addCleanup(shutil.rmtree, root, True)
        cwl_export(root)
        sshd = os.path.join(root, "exportedlogs/task-1/sshd")
        with open(os.path.join(sshd, "000000.gz"), "rb") as f:
            good = f.read()
        with open(os.path.join(sshd, "cut.gz"), "wb") as f:
            f.write(good[: len(good) // 2])
        with open(os.path.join(sshd, "tail.gz"), "wb") as f:
            f.write(good + b"trailing bytes")
        crc = bytearray(good)
        crc[-8] ^= 0xFF  # the member's CRC-32
        with open(os.path.join(sshd, "crc.gz"), "wb") as f:
            f.write(bytes(crc))
        plain = gzip.decompress(good)
        for name, flag in (("nock.zst", "--no-check"), ("ck.zst", "--check")):
            subprocess.run(["zstd", "-q", flag, "-o", os.path.join(sshd, name)], input=plain,
                           check=True)
        code, out, err = run(["verify", "--archives", "-o", "jsonl", root])
        items = verdicts(out)[0]
        self.assertEqual(code, 1, err)
        got = {(v, k.rsplit("/", 1)[-1]) for kind, v, k in items if kind == "object"}
        for want in (("invalid_format", "cut.gz"), ("invalid_format", "tail.gz"),
                     ("invalid_format", "crc.gz"), ("valid", "000000.gz"), ("valid", "ck.zst"),
                     ("valid", "nock.zst"), ("note", "nock.zst")):
            self.assertIn(want, got)
        self.assertNotIn(("note", "ck.zst"), got)
        self.assertNotIn(("valid", "aws-logs-write-test"), got)  # the permission probe
        code, out, err = run(["verify", "--archives", root])
        self.assertIn("archive truncated", err)
        self.assertIn("garbage after the last gzip member", err)
        self.assertIn("zstd frames carry no content checksum", out)


class ManifestTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="logsift-manifest-")
        self.backup = os.path.join(self.root, "backup")
        cwl_export(self.backup)
        self.secret = os.path.join(self.root, "secret")
        with open(self.secret, "w") as f:
            f.write("correct horse battery staple\n")
        self.manifest = os.path.join(self.root, "backup.manifest")
        code, out, err = run(["manifest", "create", self.backup, "-o", self.manifest,
                              "--manifest-key", self.secret])
        self.assertEqual(code, 0, err)

    def tearDown(self):
        shutil.rmtree(self.root, True)

    def verify(self, *extra):
        code, out, err = run(["verify", "--manifest", self.manifest, "--manifest-key", self.secret,
                              "-o", "jsonl", *extra, self.backup])
        return code, verdicts(out)[0] if code != 2 else [], err

    def test_manifest_records_keys_sizes_hashes_and_event_times(self):
        with open(self.manifest) as f:
            lines = [json.loads(line) for line in f]
        entries = {d["key"]: d for d in lines if "key" in d}
        self.assertNotIn("exportedlogs/aws-logs-write-test", entries)
        e = entries["exportedlogs/task-1/sshd/000000.gz"]
        self.assertEqual(e["size"], os.path.getsize(os.path.join(self.backup, e["key"])))
        self.assertEqual(e["first_event"], "2024-01-15T11:00:00Z")
        n_lines = len(open(os.path.join(DATA, "auth/crowdsec-hub/ssh-bf/ssh-bf.log"), "rb")
                      .read().splitlines())
        self.assertEqual(e["last_event"], "2024-01-15T11:%02d:00Z" % max(i % 60 for i in range(n_lines)))
        self.assertEqual(lines[-1]["signature"]["alg"], "hmac-sha256")
        self.assertEqual(len(entries), 3)

    def test_unchanged_backup_verifies(self):
        code, items, err = self.verify()
        self.assertEqual(code, 0, err)
        self.assertEqual(sorted(i[1] for i in items), ["valid"] * 3)

    def test_removed_added_changed_and_unreadable_are_reported(self):
        os.remove(os.path.join(self.backup, "exportedlogs/task-1/sshd/000001.gz"))
        with open(os.path.join(self.backup, "exportedlogs/task-1/sshd/000002.gz"), "wb") as f:
            f.write(gzip.compress(b"2024-01-15T12:00:00.000Z new\n", mtime=0))
        fh = os.path.join(self.backup, "firehose/2024/01/15/11/stream-1-2024-01-15-11-00-00-abcd.gz")
        with open(fh, "rb") as f:
            body = f.read()
        with open(fh, "wb") as f:
            f.write(body[:-5])
        code, items, err = self.verify()
        self.assertEqual(code, 1, err)
        self.assertIn(("object", "removed", "exportedlogs/task-1/sshd/000001.gz"), items)
        self.assertIn(("object", "added", "exportedlogs/task-1/sshd/000002.gz"), items)
        self.assertIn(("object", "changed",
                       "firehose/2024/01/15/11/stream-1-2024-01-15-11-00-00-abcd.gz"), items)
        self.assertIn(("object", "valid", "exportedlogs/task-1/sshd/000000.gz"), items)

    def test_tampered_manifest_is_refused(self):
        with open(self.manifest) as f:
            text = f.read()
        with open(self.manifest, "w") as f:
            f.write(text.replace('"size":', '"size":1', 1))
        code, _, err = self.verify()
        self.assertEqual(code, 2)
        self.assertIn("does not check", err)

    def test_wrong_key_is_refused_and_env_key_works(self):
        other = os.path.join(self.root, "other")
        with open(other, "w") as f:
            f.write("another secret")
        code, _, err = run(["verify", "--manifest", self.manifest, "--manifest-key", other, self.backup])
        self.assertEqual(code, 2)
        env = dict(os.environ, LOGSIFT_MANIFEST_KEY="correct horse battery staple")
        code, out, err = run(["verify", "--manifest", self.manifest, self.backup], env=env)
        self.assertEqual(code, 0, err)

    def test_ed25519_signed_manifest(self):
        priv = os.path.join(self.root, "ed.pem")
        pub = os.path.join(self.root, "ed.pub.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", priv], check=True)
        subprocess.run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub], check=True)
        code, _, err = run(["manifest", "create", self.backup, "-o", self.manifest, "--manifest-key", priv])
        self.assertEqual(code, 0, err)
        code, _, err = run(["verify", "--manifest", self.manifest, "--manifest-key", pub, self.backup])
        self.assertEqual(code, 0, err)
        os.remove(os.path.join(self.backup, "exportedlogs/task-1/sshd/000000.gz"))
        code, _, err = run(["verify", "--manifest", self.manifest, "--manifest-key", pub, self.backup])
        self.assertEqual(code, 1)
        self.assertIn("INVALID: removed", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
