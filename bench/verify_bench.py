#!/usr/bin/python3
"""bench/verify_bench.py: CloudTrail log files verified per second, logsift verify against
`aws cloudtrail validate-logs`, on the same trail in a local S3 server (s3rver) in one run.

The trail is built as AWS builds one (shared/spec/aws-facts.md 7.8, tests/integration/
verify_fixtures.py): --digests hourly digests, each listing --logs-per-digest gzipped log files
of real Stratus Red Team CloudTrail records (shared/data), signed with a key pair made for the
run and served with ListPublicKeys by the project's emulator. Both tools see the same objects;
their verdict counts are checked to agree (all valid) before a time counts. Times are the best
of --runs. Also timed: logsift on a local copy of the same bucket (sidecar signatures).

    /usr/bin/python3 bench/verify_bench.py --logsift build/scanner/cli/logsift
"""
import argparse
import glob
import gzip
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import test_verify as tv  # noqa: E402  (server helpers)
import verify_fixtures as vf  # noqa: E402


def stratus_records(data):
    records = []
    for path in sorted(glob.glob(os.path.join(data, "cloudtrail/stratus-red-team/detonation-logs/*.json"))):
        with open(path) as f:
            records.extend(json.load(f))
    return records


def build_trail(n_digests, logs_per, keys, records, records_per_log=20):
    """{key: {"body", "metadata"}} of a trail of n_digests hourly digests."""
    objects = {}
    prev = None
    t0 = 1705312800  # 2024-01-15T10:00:00Z
    for d in range(n_digests):
        start, end = t0 + 3600 * d, t0 + 3600 * (d + 1)
        fmt = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        day = time.strftime("%Y/%m/%d", time.gmtime(end))
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(end))
        dkey = (f"AWSLogs/{vf.ACCOUNT}/CloudTrail-Digest/{vf.REGION}/{day}/{vf.ACCOUNT}_CloudTrail-Digest_"
                f"{vf.REGION}_{vf.TRAIL}_{vf.REGION}_{stamp}.json.gz")
        logs = []
        for i in range(logs_per):
            n = d * logs_per + i
            chunk = [records[(n * 7 + j) % len(records)] for j in range(records_per_log)]
            plain = json.dumps({"Records": chunk}, separators=(",", ":")).encode()
            lday = time.strftime("%Y/%m/%d", time.gmtime(start + 60 * i))
            lstamp = time.strftime("%Y%m%dT%H%MZ", time.gmtime(start + 60 * i))
            lkey = (f"AWSLogs/{vf.ACCOUNT}/CloudTrail/{vf.REGION}/{lday}/{vf.ACCOUNT}_CloudTrail_"
                    f"{vf.REGION}_{lstamp}_{n:016d}.json.gz")
            objects[lkey] = {"body": gzip.compress(plain, mtime=0), "metadata": {}}
            logs.append({"s3Bucket": vf.BUCKET, "s3Object": lkey,
                         "hashValue": hashlib.sha256(plain).hexdigest(), "hashAlgorithm": "SHA-256"})
        doc = {"awsAccountId": vf.ACCOUNT, "digestStartTime": fmt(start), "digestEndTime": fmt(end),
               "digestS3Bucket": vf.BUCKET, "digestS3Object": dkey,
               "digestPublicKeyFingerprint": keys.fingerprint,
               "digestSignatureAlgorithm": "SHA256withRSA",
               "previousDigestS3Bucket": vf.BUCKET if prev else None,
               "previousDigestS3Object": prev["key"] if prev else None,
               "previousDigestHashValue": prev["sha"] if prev else None,
               "previousDigestHashAlgorithm": "SHA-256" if prev else None,
               "previousDigestSignature": prev["sig"] if prev else None,
               "logFiles": logs}
        raw = json.dumps(doc, separators=(",", ":")).encode()
        sha = hashlib.sha256(raw).hexdigest()
        sig = keys.sign("\n".join([fmt(end), f"{vf.BUCKET}/{dkey}", sha,
                                   prev["sig"] if prev else "null"]).encode())
        objects[dkey] = {"body": gzip.compress(raw, mtime=0),
                         "metadata": {"signature": sig, "signature-algorithm": "SHA256withRSA"}}
        prev = {"key": dkey, "sha": sha, "sig": sig}
    return objects, fmt(t0), fmt(t0 + 3600 * n_digests)


def best_of(runs, fn, cpu=False):
    """Best wall time of runs (or, with cpu, best user+sys CPU time of the child processes,
    which other load on the machine disturbs less)."""
    best = None
    for _ in range(runs):
        t = time.monotonic()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = fn()
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        dt = ((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime) if cpu
              else time.monotonic() - t)
        best = dt if best is None or dt < best else best
    return best, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--logsift", default=os.path.join(ROOT, "build/scanner/cli/logsift"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    # s3rver 3.7 fails ListObjectsV2 past its first 1000-key page (botocore fails the same way),
    # so the default trail stays under 1000 objects
    ap.add_argument("--digests", type=int, default=45)
    ap.add_argument("--logs-per-digest", type=int, default=20)
    ap.add_argument("--records-per-log", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=8)
    a = ap.parse_args()
    tv.LOGSIFT = os.path.abspath(a.logsift)

    servers = tv.AwsCliDifferentialTest
    servers.setUpClass()
    tmp = tempfile.mkdtemp(prefix="logsift-verify-bench-")
    try:
        keys = vf.KeyPair(tmp, "bench-key")
        servers.set_keys([keys])
        objects, t_start, t_end = build_trail(a.digests, a.logs_per_digest, keys,
                                              stratus_records(a.data), a.records_per_log)
        n_logs = a.digests * a.logs_per_digest
        for key, obj in objects.items():
            servers.client.put_object(Bucket=vf.BUCKET, Key=key, Body=obj["body"],
                                      Metadata=obj["metadata"])
            path = os.path.join(tmp, "copy", key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(obj["body"])
        vf.write_sidecars(os.path.join(tmp, "copy"), objects)
        plain_mb = sum(len(gzip.decompress(o["body"])) for k, o in objects.items()
                       if "/CloudTrail/" in k) / 1e6

        def logsift_s3():
            proc = subprocess.run([tv.LOGSIFT, "verify", "-j", str(a.jobs), "-o", "jsonl",
                                   f"s3://{vf.BUCKET}/AWSLogs/"], capture_output=True,
                                  env=servers.env, timeout=3600)
            if not proc.stdout.strip():
                raise RuntimeError(proc.stderr.decode())
            return proc.returncode, json.loads(proc.stdout.decode().splitlines()[-1])["summary"]

        def logsift_local():
            proc = subprocess.run([tv.LOGSIFT, "verify", "-j", str(a.jobs), "-o", "jsonl",
                                   "--public-key", keys.pub_pem, os.path.join(tmp, "copy")],
                                  capture_output=True, timeout=3600)
            return proc.returncode, json.loads(proc.stdout.decode().splitlines()[-1])["summary"]

        def aws_cli():
            proc = subprocess.run(
                ["aws", "cloudtrail", "validate-logs", "--trail-arn", vf.TRAIL_ARN,
                 "--s3-bucket", vf.BUCKET, "--start-time", t_start, "--end-time", t_end,
                 "--endpoint-url", f"http://127.0.0.1:{servers.emu_port}"],
                capture_output=True, env=servers.aws_env, timeout=3600)
            return proc.returncode, proc.stdout.decode()

        t_s3, (code, summary) = best_of(a.runs, logsift_s3)
        assert code == 0 and summary["log"]["valid"] == n_logs, summary
        t_local, (code, summary) = best_of(a.runs, logsift_local)
        assert code == 0 and summary["log"]["valid"] == n_logs, summary
        cache = os.path.join(tmp, "rule-cache")

        def scan(verify):
            args = [tv.LOGSIFT, "scan", "-q", "-o", "none", "--stats-json",
                    os.path.join(tmp, "stats.json")]
            if verify:
                args += ["--verify", "--public-key", keys.pub_pem]
            proc = subprocess.run(args + [os.path.join(tmp, "copy")], capture_output=True,
                                  env=dict(os.environ, LOGSIFT_CACHE_DIR=cache), timeout=3600)
            with open(os.path.join(tmp, "stats.json")) as f:
                return proc.returncode, json.load(f)["findings"], proc.stderr.decode()

        scan(False)  # compile the rules into the cache once
        t_scan, (_, n_plain, _) = best_of(a.runs, lambda: scan(False))
        t_scan_v, (_, n_verify, err_v) = best_of(a.runs, lambda: scan(True))
        c_scan, _ = best_of(a.runs, lambda: scan(False), cpu=True)
        c_scan_v, _ = best_of(a.runs, lambda: scan(True), cpu=True)
        assert n_plain == n_verify, (n_plain, n_verify)  # integrity findings are printed apart
        t_aws, (code, out) = best_of(1 if a.runs > 1 else a.runs, aws_cli)
        assert code == 0 and f"{n_logs}/{n_logs} log files valid" in out, out
        print(f"trail: {a.digests} digests, {n_logs} log files, {plain_mb:.1f} MB decompressed "
              f"(s3rver on 127.0.0.1, {os.cpu_count()} cores)")
        print(f"{'tool':44s} {'seconds':>8s} {'logs/s':>9s}")
        for name, t in ((f"aws cloudtrail validate-logs (s3rver)", t_aws),
                        (f"logsift verify -j{a.jobs} (s3rver)", t_s3),
                        (f"logsift verify -j{a.jobs} (local copy)", t_local)):
            print(f"{name:44s} {t:8.2f} {n_logs / t:9.0f}")
        print(f"ratio logsift/aws-cli on s3rver: {t_aws / t_s3:.1f}x faster")
        print(f"logsift scan (local copy, {n_plain} findings):         {t_scan:8.2f} s")
        print(f"logsift scan --verify (same, digests + hashing):  {t_scan_v:8.2f} s "
              f"({100 * (t_scan_v / t_scan - 1):+.1f}% vs scan)")
        print(f"CPU time: scan {c_scan:.2f} s, scan --verify {c_scan_v:.2f} s "
              f"({100 * (c_scan_v / c_scan - 1):+.1f}%)")
    finally:
        servers.tearDownClass()
        shutil.rmtree(tmp, True)


if __name__ == "__main__":
    main()
